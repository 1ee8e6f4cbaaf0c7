// ServeUnary: the life of one unary call of the broker's services. The call
// is counted (and refused while the broker drains for shutdown), admitted
// (the caller named, authorized and limited), decided, logged as one
// decision line, and finished with the decision's status, which keeps its
// absl code as the gRPC code.
#ifndef CERTBROKER_BROKER_SERVICE_UNARY_CALL_H_
#define CERTBROKER_BROKER_SERVICE_UNARY_CALL_H_

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "broker/audit/audit_writer.h"
#include "broker/auth/roles.h"
#include "broker/service/admission.h"
#include "broker/service/call_tracker.h"
#include "broker/service/delayed_answers.h"
#include "broker/service/decision_log.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::service {

// Door is how the calls of one service come in: counted by `calls`, and
// admitted by `admission` as calls of `service`. Without an admission
// (handler tests) every call is admitted, with no identity.
struct Door {
  CallTracker& calls;
  Admission* admission = nullptr;
  auth::Service service = auth::Service::kBroker;
  // delayed, when set (tests only), finishes decided calls late.
  DelayedAnswers* delayed = nullptr;
};

// AuditRecordOf is the audit record of `decision` of call `rpc`.
store::AuditRecord AuditRecordOf(absl::string_view rpc,
                                 const Decision& decision);

// ServeUnary runs `decide` for the call of `rpc` behind `context` once the
// door admits it, with Decision::agent set to the caller's identity. With
// `audit` (may be null), every decision is queued for the audit log; when
// the queue is full the call fails with UNAVAILABLE instead of answering
// unrecorded. Refusals at the door are audited by the admission.
grpc::ServerUnaryReactor* ServeUnary(
    const Door& door, audit::AuditWriter* audit,
    grpc::CallbackServerContext* context, absl::string_view rpc,
    absl::FunctionRef<absl::Status(Decision&)> decide);

// ServeChange is ServeUnary for admin changes: the record (of a change made
// or refused) is appended synchronously, so an answered change is always
// recorded; when the append fails the error is logged and the answer says
// the change was made but not audited.
grpc::ServerUnaryReactor* ServeChange(
    const Door& door, audit::AuditWriter* audit,
    grpc::CallbackServerContext* context, absl::string_view rpc,
    absl::FunctionRef<absl::Status(Decision&)> decide);

}  // namespace certbroker::service

#endif  // CERTBROKER_BROKER_SERVICE_UNARY_CALL_H_

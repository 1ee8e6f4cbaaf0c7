// ServeUnary: the life of one unary call of the broker's services. The call
// is counted (and refused while the broker drains for shutdown), decided,
// logged as one decision line, and finished with the decision's status,
// which keeps its absl code as the gRPC code.
#ifndef CERTBROKER_BROKER_SERVICE_UNARY_CALL_H_
#define CERTBROKER_BROKER_SERVICE_UNARY_CALL_H_

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "broker/audit/audit_writer.h"
#include "broker/service/call_tracker.h"
#include "broker/service/decision_log.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::service {

// CallerIdentity is the authenticated identity of the caller behind
// `context`, or empty when it has none.
std::string CallerIdentity(const grpc::CallbackServerContext& context);

// ServeUnary runs `decide` for the call of `rpc` behind `context`, with
// Decision::agent already set to the caller's identity. With `audit` (may
// be null), every decision is queued for the audit log; when the queue is
// full the call fails with UNAVAILABLE instead of answering unrecorded.
grpc::ServerUnaryReactor* ServeUnary(
    CallTracker& calls, audit::AuditWriter* audit,
    grpc::CallbackServerContext* context, absl::string_view rpc,
    absl::FunctionRef<absl::Status(Decision&)> decide);

// ServeChange is ServeUnary for admin changes: the record (of a change made
// or refused) is appended synchronously, so an answered change is always
// recorded; when the append fails the error is logged and the answer says
// the change was made but not audited.
grpc::ServerUnaryReactor* ServeChange(
    CallTracker& calls, audit::AuditWriter* audit,
    grpc::CallbackServerContext* context, absl::string_view rpc,
    absl::FunctionRef<absl::Status(Decision&)> decide);

}  // namespace certbroker::service

#endif  // CERTBROKER_BROKER_SERVICE_UNARY_CALL_H_

// Counting, deciding, logging and finishing one unary call.
#include "broker/service/unary_call.h"

#include <string>

namespace certbroker::service {

std::string CallerIdentity(const grpc::CallbackServerContext& context) {
  // certbrokerd does not authenticate callers yet (no mTLS identity, no
  // SO_PEERCRED mapping), so no caller has an identity and rules naming
  // agents match nobody: fail closed. The security issue fills this in.
  return std::string();
}

grpc::ServerUnaryReactor* ServeUnary(
    CallTracker& calls, grpc::CallbackServerContext* context,
    absl::string_view rpc,
    const std::function<absl::Status(Decision&)>& decide) {
  grpc::ServerUnaryReactor* reactor = calls.StartCall();
  if (reactor == nullptr) return calls.RefuseCall(context);
  Decision decision;
  decision.agent = CallerIdentity(*context);
  absl::Status status = decide(decision);
  if (!status.ok()) {
    decision.verdict = absl::StatusCodeToString(status.code());
    decision.reason = "error";
    decision.detail = std::string(status.message());
  }
  if (decision.id.empty()) decision.id = NewDecisionId();
  LogDecision(rpc, context->peer(), decision);
  reactor->Finish(
      status.ok() ? grpc::Status::OK
                  : grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                                 std::string(status.message())));
  return reactor;
}

}  // namespace certbroker::service

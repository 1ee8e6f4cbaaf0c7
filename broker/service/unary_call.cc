// Counting, deciding, logging and finishing one unary call.
#include "broker/service/unary_call.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/common/log.h"

namespace certbroker::service {
store::AuditRecord AuditRecordOf(absl::string_view rpc,
                                 const Decision& decision) {
  store::AuditRecord record;
  record.time = absl::Now();
  record.decision_id = decision.id;
  record.agent = decision.agent;
  record.rpc = std::string(rpc);
  record.target = decision.target;
  record.leaf_fingerprint = decision.leaf_fingerprint;
  record.rule = decision.rule;
  record.verdict = decision.verdict;
  record.reason = decision.reason;
  record.policy_version = decision.policy_version;
  // The store caps text fields; a detail is never that long, but be sure.
  record.detail = decision.detail.substr(0, store::kMaxAuditFieldBytes);
  return record;
}

namespace {

grpc::ServerUnaryReactor* Serve(
    const Door& door, audit::AuditWriter* audit, bool durable,
    grpc::CallbackServerContext* context, absl::string_view rpc,
    absl::FunctionRef<absl::Status(Decision&)> decide) {
  grpc::ServerUnaryReactor* reactor = door.calls.StartCall();
  if (reactor == nullptr) return door.calls.RefuseCall(context);
  Decision decision;
  Admission::Ticket ticket;
  std::string peer;
  if (door.admission != nullptr) {
    if (auto refusal = door.admission->Admit(*context, door.service, rpc,
                                             decision.agent, ticket, &peer)) {
      reactor->Finish(
          grpc::Status(static_cast<grpc::StatusCode>(refusal->code()),
                       std::string(refusal->message())));
      return reactor;
    }
  }
  absl::Status status = decide(decision);
  if (!status.ok()) {
    decision.verdict = absl::StatusCodeToString(status.code());
    decision.reason = "error";
    decision.detail = std::string(status.message());
  }
  if (decision.id.empty()) decision.id = NewDecisionId();
  if (audit != nullptr && durable) {
    absl::Status appended = audit->AppendNow(AuditRecordOf(rpc, decision));
    if (!appended.ok()) {
      LogError(absl::StrCat("admin change ", decision.id, " (", rpc,
                            ") could not be audited: ", appended.message()));
      if (status.ok()) {
        status = absl::InternalError(absl::StrCat(
            "the change was made, but recording it in the audit log failed: ",
            appended.message()));
      }
    }
  } else if (audit != nullptr && !audit->Submit(AuditRecordOf(rpc, decision))) {
    status = absl::UnavailableError(
        "the audit log is behind and its queue is full: no decision is "
        "answered unrecorded; "
        "retry with backoff");
    decision.verdict = absl::StatusCodeToString(status.code());
    decision.reason = "audit queue full";
  }
  if (door.admission == nullptr) peer = context->peer();
  LogDecision(rpc, peer, decision);
  grpc::Status answer =
      status.ok() ? grpc::Status::OK
                  : grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                                 std::string(status.message()));
  if (door.delayed != nullptr) {
    door.delayed->FinishLater(reactor, std::move(answer));
  } else {
    reactor->Finish(std::move(answer));
  }
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* ServeUnary(
    const Door& door, audit::AuditWriter* audit,
    grpc::CallbackServerContext* context, absl::string_view rpc,
    absl::FunctionRef<absl::Status(Decision&)> decide) {
  return Serve(door, audit, /*durable=*/false, context, rpc, decide);
}

grpc::ServerUnaryReactor* ServeChange(
    const Door& door, audit::AuditWriter* audit,
    grpc::CallbackServerContext* context, absl::string_view rpc,
    absl::FunctionRef<absl::Status(Decision&)> decide) {
  return Serve(door, audit, /*durable=*/true, context, rpc, decide);
}

}  // namespace certbroker::service

// CertificateAdmin: listing the audit log with filters and paging, and
// watching it as records are written.
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "broker/common/status_macros.h"
#include "broker/service/admin_resources.h"
#include "broker/service/certificate_admin_service.h"
#include "broker/service/queued_stream.h"
#include "broker/service/refused_stream.h"

namespace certbroker::service {
namespace {

// A watcher this far behind is ended rather than buffer without bound.
constexpr size_t kMaxWatchBacklog = 10000;

v1::AuditRecord ToApi(const store::AuditRecord& record) {
  v1::AuditRecord out;
  SetTimestamp(record.time, *out.mutable_time());
  out.set_decision_id(record.decision_id);
  out.set_agent(record.agent);
  out.set_rpc(record.rpc);
  out.set_target(record.target);
  out.set_leaf_fingerprint(record.leaf_fingerprint);
  out.set_rule(record.rule);
  out.set_verdict(record.verdict);
  out.set_reason(record.reason);
  out.set_policy_version(record.policy_version);
  out.set_detail(record.detail);
  return out;
}

absl::Status NoAuditLog() {
  return absl::FailedPreconditionError(
      "certbrokerd runs without --data_dir: there is no audit log");
}

// AuditWatch streams the records a subscription delivers, one write at a
// time, ending the call when the watcher falls too far behind.
class AuditWatch final : public QueuedStream<v1::AuditRecord> {
 public:
  AuditWatch(audit::AuditWriter& writer,
             const v1::WatchAuditRecordsRequest& filter,
             Admission::Ticket ticket)
      : writer_(writer), filter_(filter), ticket_(std::move(ticket)) {
    subscription_ = writer_.Subscribe(
        [this](const std::vector<store::AuditRecord>& records) {
          Enqueue(records);
        });
    StartSendInitialMetadata();
  }

  void OnDone() override {
    writer_.Unsubscribe(subscription_);
    delete this;
  }

 private:
  bool Matches(const store::AuditRecord& record) const {
    return (!filter_.has_agent() || record.agent == filter_.agent()) &&
           (!filter_.has_target() || record.target == filter_.target()) &&
           (!filter_.has_verdict() || record.verdict == filter_.verdict());
  }

  void Enqueue(const std::vector<store::AuditRecord>& records) {
    absl::MutexLock lock(&mu_);
    if (FinishedLocked()) return;
    for (const store::AuditRecord& record : records) {
      if (Matches(record)) QueueLocked(ToApi(record));
    }
    if (QueuedLocked() > kMaxWatchBacklog) {
      FinishLocked(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("the watcher fell more than ", kMaxWatchBacklog,
                       " records behind; watch again, and use "
                       "ListAuditRecords for what was missed")));
      return;
    }
    WriteNextLocked();
  }

  audit::AuditWriter& writer_;
  const v1::WatchAuditRecordsRequest filter_;
  int64_t subscription_ = 0;
  // The caller's slot among its calls in flight, held while it watches.
  Admission::Ticket ticket_;
};

using Refused = RefusedStream<v1::AuditRecord>;

}  // namespace

grpc::ServerUnaryReactor* CertificateAdminService::ListAuditRecords(
    Context* context, const v1::ListAuditRecordsRequest* request,
    v1::ListAuditRecordsResponse* response) {
  return Read(context, "ListAuditRecords", [&](Decision&) {
    if (audit_ == nullptr) return NoAuditLog();
    if (request->page_size() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("page_size: ", request->page_size(), " is negative"));
    }
    store::AuditQuery query;
    query.limit = static_cast<size_t>(request->page_size());
    query.page_token = request->page_token();
    if (request->has_start_time()) {
      query.filter.since = FromTimestamp(request->start_time());
    }
    if (request->has_end_time()) {
      query.filter.until = FromTimestamp(request->end_time());
    }
    if (request->has_agent()) query.filter.agent = request->agent();
    if (request->has_target()) query.filter.target = request->target();
    if (request->has_verdict()) query.filter.verdict = request->verdict();
    CB_ASSIGN_OR_RETURN(store::AuditPage page, audit_->log().ListAudit(query));
    for (const store::AuditRecord& record : page.records) {
      *response->add_records() = ToApi(record);
    }
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<v1::AuditRecord>*
CertificateAdminService::WatchAuditRecords(
    Context* context, const v1::WatchAuditRecordsRequest* request) {
  Admission::Ticket ticket;
  std::string agent;
  if (door_.admission != nullptr) {
    if (auto refusal = door_.admission->Admit(
            *context, door_.service, "WatchAuditRecords", agent, ticket)) {
      return new Refused(*refusal);
    }
  }
  if (simulation_only_) {
    return new Refused(SimulationOnlyError());
  }
  if (audit_ == nullptr) return new Refused(NoAuditLog());
  return new AuditWatch(*audit_, *request, std::move(ticket));
}

}  // namespace certbroker::service

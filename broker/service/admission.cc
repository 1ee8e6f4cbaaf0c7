// Naming, authorizing and limiting each call.
#include "broker/service/admission.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/common/log.h"
#include "broker/service/decision_log.h"

namespace certbroker::service {
namespace {

// AddressKey is the limiter key of an unauthenticated caller: its address
// without the port ("ipv4:10.0.0.1"), or its Unix credentials.
std::string AddressKey(const auth::Caller& caller) {
  std::string key = caller.Transport();
  size_t colon = key.rfind(':');
  if (absl::StrContains(key, "ipv") && colon != std::string::npos) {
    key.resize(colon);
  }
  return absl::StrCat("unauthenticated ", key);
}

}  // namespace

Admission::Ticket& Admission::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    if (slot_ != nullptr) auth::CallerLimiter::Release(slot_);
    slot_ = other.slot_;
    other.slot_ = nullptr;
  }
  return *this;
}

Admission::Ticket::~Ticket() {
  if (slot_ != nullptr) auth::CallerLimiter::Release(slot_);
}

bool Admission::ShouldAuditLimit(const std::string& key, absl::Time now,
                                 int& count) {
  absl::MutexLock lock(&mutex_);
  if (limit_audits_.size() > 100000) limit_audits_.clear();
  LimitAudit& audit = limit_audits_[key];
  audit.unaudited += 1;
  if (now - audit.last < absl::Seconds(1)) return false;
  audit.last = now;
  count = audit.unaudited;
  audit.unaudited = 0;
  return true;
}

std::optional<absl::Status> Admission::Admit(grpc::ServerContextBase& context,
                                             auth::Service service,
                                             absl::string_view rpc,
                                             std::string& agent, Ticket& ticket,
                                             std::string* peer) {
  std::shared_ptr<const policy::PolicySnapshot> snapshot = current_.Get();
  auth::Caller caller =
      resolver_.Resolve(context, snapshot->access(), snapshot->version());
  bool record = true;
  std::optional<absl::Status> refusal =
      Decide(context, service, rpc, caller, snapshot->access().limits(), ticket,
             record);
  if (refusal && record) Record(rpc, caller, *refusal);
  agent = std::move(caller.identity);
  if (peer != nullptr) *peer = std::move(caller.peer);
  return refusal;
}

std::optional<absl::Status> Admission::Decide(grpc::ServerContextBase& context,
                                              auth::Service service,
                                              absl::string_view rpc,
                                              const auth::Caller& caller,
                                              const auth::CallerLimits& limits,
                                              Ticket& ticket, bool& record) {
  std::string address_key;
  if (caller.identity.empty()) address_key = AddressKey(caller);
  const std::string& key =
      caller.identity.empty() ? address_key : caller.identity;
  absl::Time now = absl::Now();
  // Development callers share one identity: they pass the limiter, but
  // without bounds.
  static const auth::CallerLimits kUnbounded{1e12, 1e12, UINT32_MAX};
  auth::CallerLimiter::Admission admitted = limiter_.Admit(
      key,
      caller.identity == auth::CallerResolver::kDevIdentity ? kUnbounded
                                                            : limits,
      now);
  if (!admitted.admitted) {
    int64_t retry_ms = absl::ToInt64Milliseconds(admitted.retry_after);
    context.AddTrailingMetadata("retry-after-ms", std::to_string(retry_ms));
    int count = 0;
    record = ShouldAuditLimit(key, now, count);
    return absl::ResourceExhaustedError(absl::StrCat(
        admitted.why, "; retry after ", retry_ms, " ms",
        record && count > 1 ? absl::StrCat(" (", count,
                                           " calls refused since the last "
                                           "recorded one)")
                            : ""));
  }
  ticket.slot_ = admitted.slot;
  if (caller.identity.empty()) {
    return absl::UnauthenticatedError(caller.refusal);
  }
  auth::RoleSet allowed = auth::RolesAllowed(service, rpc);
  if ((caller.roles & allowed) == 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "'", caller.identity, "' (roles ", auth::RoleNames(caller.roles),
        ") may not call ", rpc, ", which needs ",
        allowed == (auth::kAdmin | auth::kAuditor) ? "ADMIN or AUDITOR"
                                                   : auth::RoleNames(allowed),
        " (access.roles)"));
  }
  return std::nullopt;
}

void Admission::Record(absl::string_view rpc, const auth::Caller& caller,
                       const absl::Status& refusal) {
  std::string code = absl::StatusCodeToString(refusal.code());
  LogInfo(
      absl::StrCat("refused rpc=", rpc, " caller=", LogValue(caller.identity),
                   " transport=", LogValue(caller.Transport()), " code=", code,
                   " detail=", LogValue(refusal.message())));
  if (audit_ == nullptr) return;
  store::AuditRecord record;
  record.time = absl::Now();
  record.decision_id = NewDecisionId();
  record.agent = caller.identity;
  record.rpc = std::string(rpc);
  record.target = caller.Transport().substr(0, store::kMaxAuditFieldBytes);
  record.verdict = "denied";
  record.reason = code;
  record.detail =
      std::string(refusal.message()).substr(0, store::kMaxAuditFieldBytes);
  audit_->Submit(std::move(record));
}

}  // namespace certbroker::service

// Validation of audit records, shared by every AuditLog implementation.
#include "broker/store/audit_log.h"

#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"

namespace certbroker::store {

bool AuditRecord::operator==(const AuditRecord& other) const {
  auto tie = [](const AuditRecord& r) {
    return std::tie(r.time, r.decision_id, r.agent, r.rpc, r.target,
                    r.leaf_fingerprint, r.rule, r.verdict, r.reason,
                    r.policy_version, r.detail);
  };
  return tie(*this) == tie(other);
}

absl::Status ValidateAuditRecord(const AuditRecord& record) {
  if (record.time == absl::InfinitePast() ||
      record.time == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "audit record ", record.decision_id, ": time must be finite"));
  }
  const std::pair<const char*, const std::string*> fields[] = {
      {"decision_id", &record.decision_id},
      {"agent", &record.agent},
      {"rpc", &record.rpc},
      {"target", &record.target},
      {"leaf_fingerprint", &record.leaf_fingerprint},
      {"rule", &record.rule},
      {"verdict", &record.verdict},
      {"reason", &record.reason},
      {"policy_version", &record.policy_version},
      {"detail", &record.detail},
  };
  for (const auto& [name, value] : fields) {
    if (value->size() > kMaxAuditFieldBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "audit record ", record.decision_id.substr(0, 100), ": ", name,
          " is ", value->size(), " bytes; the limit is ", kMaxAuditFieldBytes));
    }
  }
  return absl::OkStatus();
}

}  // namespace certbroker::store

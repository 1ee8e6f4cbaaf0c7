// AuditLog: the append-only record of decisions and admin changes, kept in
// the store. Records are plain structs; the store only appends, lists
// (newest first, filtered, paged) and prunes for retention. Nothing edits a
// record once appended.
#ifndef CERTBROKER_BROKER_STORE_AUDIT_LOG_H_
#define CERTBROKER_BROKER_STORE_AUDIT_LOG_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace certbroker::store {

// kMaxAuditFieldBytes caps each text field of a record, and
// kMaxAuditBatch the records of one AppendAudit.
inline constexpr size_t kMaxAuditFieldBytes = 64 << 10;
inline constexpr size_t kMaxAuditBatch = 10000;

// AuditRecord is one audited event. Text fields may be empty (an
// unauthenticated caller has no agent; an admin change has no leaf).
struct AuditRecord {
  absl::Time time;  // When it happened; finite; kept to the microsecond.
  std::string decision_id;       // As returned to the agent.
  std::string agent;             // The caller's identity.
  std::string rpc;               // e.g. "OnServerCertificate".
  std::string target;            // e.g. "https://api.example.test:443".
  std::string leaf_fingerprint;  // Hex SHA-256 of the leaf, if any.
  std::string rule;
  std::string verdict;  // e.g. "accept", "reject".
  std::string reason;   // The stable reason code, e.g. "ACCEPTED".
  std::string policy_version;
  std::string detail;

  bool operator==(const AuditRecord& other) const;
};

// ValidateAuditRecord returns INVALID_ARGUMENT naming the field when `record`
// has an infinite time or a field longer than kMaxAuditFieldBytes.
absl::Status ValidateAuditRecord(const AuditRecord& record);

// AuditFilter selects records; every set condition must hold.
struct AuditFilter {
  absl::Time since = absl::InfinitePast();    // time >= since.
  absl::Time until = absl::InfiniteFuture();  // time < until.
  std::optional<std::string> agent;           // Exact match; "" is allowed.
  std::optional<std::string> target;          // Exact match.
  std::optional<std::string> verdict;         // Exact match.
};

// AuditQuery is one ListAudit call. limit 0 means 100; larger than 1000 is
// coerced to 1000.
struct AuditQuery {
  AuditFilter filter;
  size_t limit = 0;
  std::string page_token;  // Empty, or a previous next_page_token.
};

// AuditPage holds records newest first (by time, then by order of
// appending). next_page_token is empty on the last page; it is opaque and
// stays valid while the records it points after exist or not.
struct AuditPage {
  std::vector<AuditRecord> records;
  std::string next_page_token;
};

// AuditLog is implemented by SqliteStore. Thread-safe; the failure codes of
// Store apply as well.
class AuditLog {
 public:
  virtual ~AuditLog() = default;

  // AppendAudit appends `records` (at most kMaxAuditBatch) in one
  // transaction: all or none. An empty batch does nothing.
  virtual absl::Status AppendAudit(absl::Span<const AuditRecord> records) = 0;

  // ListAudit returns one page of the records `query.filter` selects.
  // INVALID_ARGUMENT for a malformed page token.
  virtual absl::StatusOr<AuditPage> ListAudit(const AuditQuery& query) = 0;

  // PruneAudit deletes the records older than `older_than`
  // (absl::InfinitePast() spares all), then all but the newest
  // `keep_at_most` of the rest, in one transaction, and returns how many it
  // deleted.
  virtual absl::StatusOr<size_t> PruneAudit(absl::Time older_than,
                                            size_t keep_at_most) = 0;
};

}  // namespace certbroker::store

#endif  // CERTBROKER_BROKER_STORE_AUDIT_LOG_H_

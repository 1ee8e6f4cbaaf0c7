// SqliteStore's audit log: appends in one transaction, newest-first pages
// keyed by (time, id), and retention by age and count. Times are stored as
// Unix microseconds.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "broker/common/status_macros.h"
#include "broker/store/sqlite_connection.h"
#include "broker/store/sqlite_store.h"

namespace certbroker::store {
namespace {

using sqlite::Connection;
using sqlite::Statement;
using sqlite::Transaction;

constexpr const char* kInsertAudit =
    "INSERT INTO audit (time_us, decision_id, agent, rpc, target, "
    "leaf_fingerprint, rule, verdict, reason, policy_version, detail) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
constexpr const char* kPruneByAge = "DELETE FROM audit WHERE time_us < ?1";
constexpr const char* kPruneByCount =
    "DELETE FROM audit WHERE id IN (SELECT id FROM audit "
    "ORDER BY time_us DESC, id DESC LIMIT -1 OFFSET ?1)";

// The query is assembled from these constant fragments only; every value is
// a bound parameter: ?1 since, ?2 until, ?3 agent, ?4 target, ?5 verdict,
// ?6 and ?7 the page token's time and id, ?8 the limit.
constexpr const char* kListAuditHead =
    "SELECT id, time_us, decision_id, agent, rpc, target, leaf_fingerprint, "
    "rule, verdict, reason, policy_version, detail FROM audit "
    "WHERE time_us >= ?1 AND time_us < ?2";
constexpr const char* kByAgent = " AND agent = ?3";
constexpr const char* kByTarget = " AND target = ?4";
constexpr const char* kByVerdict = " AND verdict = ?5";
constexpr const char* kAfterToken = " AND (time_us, id) < (?6, ?7)";
constexpr const char* kListAuditTail =
    " ORDER BY time_us DESC, id DESC LIMIT ?8";

struct AuditCursor {
  int64_t time_us = 0;
  int64_t id = 0;
};

std::string EncodeCursor(const AuditCursor& cursor) {
  return absl::StrCat(cursor.time_us, ":", cursor.id);
}

absl::StatusOr<AuditCursor> DecodeCursor(absl::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, ':');
  AuditCursor cursor;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &cursor.time_us) ||
      !absl::SimpleAtoi(parts[1], &cursor.id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit page token \"", token.substr(0, 100),
                     "\" is malformed; pass back a next_page_token unchanged"));
  }
  return cursor;
}

}  // namespace

absl::Status SqliteStore::AppendAudit(absl::Span<const AuditRecord> records) {
  if (records.empty()) return absl::OkStatus();
  if (records.size() > kMaxAuditBatch) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit batch has ", records.size(),
                     " records; the limit is ", kMaxAuditBatch));
  }
  for (const AuditRecord& record : records) {
    CB_RETURN_IF_ERROR(ValidateAuditRecord(record));
  }
  absl::MutexLock lock(&write_mu_);
  Connection& db = *writer_;
  CB_ASSIGN_OR_RETURN(Transaction transaction,
                      Transaction::Begin(db, Transaction::Mode::kImmediate));
  for (const AuditRecord& r : records) {
    CB_ASSIGN_OR_RETURN(Statement insert, db.Prepare(kInsertAudit));
    CB_RETURN_IF_ERROR(
        insert.Bind(1, absl::ToUnixMicros(r.time))
            .BindText(2, r.decision_id)
            .BindText(3, r.agent)
            .BindText(4, r.rpc)
            .BindText(5, r.target)
            .BindText(6, r.leaf_fingerprint)
            .BindText(7, r.rule)
            .BindText(8, r.verdict)
            .BindText(9, r.reason)
            .BindText(10, r.policy_version)
            .BindText(11, r.detail)
            .Run(absl::StrCat("appending audit record ", r.decision_id)));
  }
  return transaction.Commit();
}

absl::StatusOr<AuditPage> SqliteStore::ListAudit(const AuditQuery& query) {
  std::optional<AuditCursor> after;
  if (!query.page_token.empty()) {
    CB_ASSIGN_OR_RETURN(after, DecodeCursor(query.page_token));
  }
  const AuditFilter& filter = query.filter;
  std::string sql = kListAuditHead;
  if (filter.agent) sql += kByAgent;
  if (filter.target) sql += kByTarget;
  if (filter.verdict) sql += kByVerdict;
  if (after) sql += kAfterToken;
  sql += kListAuditTail;
  size_t limit = query.limit == 0 ? kDefaultPageSize : query.limit;
  if (limit > kMaxPageSize) limit = kMaxPageSize;

  CB_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  CB_ASSIGN_OR_RETURN(Statement select, (*reader).Prepare(sql));
  select.Bind(1, absl::ToUnixMicros(filter.since))
      .Bind(2, absl::ToUnixMicros(filter.until))
      .Bind(8, static_cast<int64_t>(limit + 1));
  if (filter.agent) select.BindText(3, *filter.agent);
  if (filter.target) select.BindText(4, *filter.target);
  if (filter.verdict) select.BindText(5, *filter.verdict);
  if (after) select.Bind(6, after->time_us).Bind(7, after->id);

  AuditPage page;
  AuditCursor last;
  while (true) {
    CB_ASSIGN_OR_RETURN(bool row, select.Step("listing audit records"));
    if (!row) break;
    if (page.records.size() == limit) {
      page.next_page_token = EncodeCursor(last);
      break;
    }
    last.id = select.ColumnInt(0);
    last.time_us = select.ColumnInt(1);
    AuditRecord record;
    record.time = absl::FromUnixMicros(last.time_us);
    record.decision_id = select.ColumnString(2);
    record.agent = select.ColumnString(3);
    record.rpc = select.ColumnString(4);
    record.target = select.ColumnString(5);
    record.leaf_fingerprint = select.ColumnString(6);
    record.rule = select.ColumnString(7);
    record.verdict = select.ColumnString(8);
    record.reason = select.ColumnString(9);
    record.policy_version = select.ColumnString(10);
    record.detail = select.ColumnString(11);
    page.records.push_back(std::move(record));
  }
  return page;
}

absl::StatusOr<size_t> SqliteStore::PruneAudit(absl::Time older_than,
                                               size_t keep_at_most) {
  absl::MutexLock lock(&write_mu_);
  Connection& db = *writer_;
  CB_ASSIGN_OR_RETURN(Transaction transaction,
                      Transaction::Begin(db, Transaction::Mode::kImmediate));
  size_t deleted = 0;
  {
    CB_ASSIGN_OR_RETURN(Statement by_age, db.Prepare(kPruneByAge));
    CB_RETURN_IF_ERROR(by_age.Bind(1, absl::ToUnixMicros(older_than))
                           .Run("pruning audit records by age"));
    deleted += static_cast<size_t>(sqlite3_changes64(db.db()));
  }
  if (keep_at_most < static_cast<size_t>(std::numeric_limits<int64_t>::max())) {
    CB_ASSIGN_OR_RETURN(Statement by_count, db.Prepare(kPruneByCount));
    CB_RETURN_IF_ERROR(by_count.Bind(1, static_cast<int64_t>(keep_at_most))
                           .Run("pruning audit records by count"));
    deleted += static_cast<size_t>(sqlite3_changes64(db.db()));
  }
  CB_RETURN_IF_ERROR(transaction.Commit());
  return deleted;
}

}  // namespace certbroker::store

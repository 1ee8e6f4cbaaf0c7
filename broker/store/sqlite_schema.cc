// Migrations of the SQLite store's schema. Append new migrations to
// kMigrations; never edit one that has shipped.
#include "broker/store/sqlite_schema.h"

#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"

namespace certbroker::store::sqlite {
namespace {

// Migration 1: the key-value table, the store's counters and the audit log.
//
// kv holds every key ever written that has not been compacted away. A delete
// keeps the row as a tombstone (deleted = 1, empty value) carrying the
// revision of the delete, so ChangesSince sees deletions with a single
// index range scan on kv_by_revision; Compact removes old tombstones and
// raises meta.compacted_revision. meta.revision is the store's revision,
// kept apart from MAX(kv.revision) so that it never goes back when the
// newest rows are compacted.
//
// audit is append-only; AUTOINCREMENT keeps ids growing after pruning, so
// page tokens (time, id) never point at a reused id.
constexpr const char* kMigration1 = R"sql(
CREATE TABLE meta (
  name TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (name, value) VALUES ('revision', 0), ('compacted_revision', 0);
CREATE TABLE kv (
  key TEXT PRIMARY KEY NOT NULL,
  value BLOB NOT NULL,
  revision INTEGER NOT NULL CHECK (revision > 0),
  deleted INTEGER NOT NULL CHECK (deleted IN (0, 1))
);
CREATE INDEX kv_by_revision ON kv (revision, key);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time_us INTEGER NOT NULL,
  decision_id TEXT NOT NULL,
  agent TEXT NOT NULL,
  rpc TEXT NOT NULL,
  target TEXT NOT NULL,
  leaf_fingerprint TEXT NOT NULL,
  rule TEXT NOT NULL,
  verdict TEXT NOT NULL,
  reason TEXT NOT NULL,
  policy_version TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit (time_us, id);
CREATE INDEX audit_by_agent ON audit (agent, time_us, id);
CREATE INDEX audit_by_target ON audit (target, time_us, id);
)sql";

// kMigrations[i] takes the schema from version i to version i + 1.
constexpr const char* kMigrations[] = {kMigration1};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion,
              "kSchemaVersion must equal the number of migrations");

}  // namespace

absl::Status Migrate(Connection& connection, absl::Time now) {
  CB_ASSIGN_OR_RETURN(
      Transaction transaction,
      Transaction::Begin(connection, Transaction::Mode::kImmediate));
  CB_RETURN_IF_ERROR(
      connection.Exec("creating the schema_migrations table",
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      "  version INTEGER PRIMARY KEY NOT NULL,"
                      "  applied_at_us INTEGER NOT NULL)"));
  int64_t version = 0;
  {
    CB_ASSIGN_OR_RETURN(
        Statement query,
        connection.Prepare(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    CB_ASSIGN_OR_RETURN(bool row, query.Step("reading the schema version"));
    if (row) version = query.ColumnInt(0);
  }
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store database ", connection.path(), " has schema version ", version,
        ", newer than version ", kSchemaVersion,
        " that this certbrokerd knows; run a newer certbrokerd or restore a "
        "backup made with this version"));
  }
  for (int64_t next = version; next < kSchemaVersion; ++next) {
    std::string what = absl::StrCat("applying schema migration ", next + 1);
    CB_RETURN_IF_ERROR(connection.Exec(what, kMigrations[next]));
    CB_ASSIGN_OR_RETURN(
        Statement record,
        connection.Prepare("INSERT INTO schema_migrations (version, "
                           "applied_at_us) VALUES (?1, ?2)"));
    CB_RETURN_IF_ERROR(
        record.Bind(1, next + 1).Bind(2, absl::ToUnixMicros(now)).Run(what));
  }
  return transaction.Commit();
}

}  // namespace certbroker::store::sqlite

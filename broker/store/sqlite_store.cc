// SqliteStore: opening, the connection pool, and the key-value operations.
// The audit log's methods are in sqlite_audit.cc.
#include "broker/store/sqlite_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/store/sqlite_connection.h"
#include "broker/store/sqlite_schema.h"

namespace certbroker::store {
namespace {

using sqlite::Connection;
using sqlite::Statement;
using sqlite::Transaction;

constexpr const char* kReadRevision =
    "SELECT value FROM meta WHERE name = 'revision'";
constexpr const char* kReadCompactedRevision =
    "SELECT value FROM meta WHERE name = 'compacted_revision'";
constexpr const char* kWriteRevision =
    "UPDATE meta SET value = ?1 WHERE name = 'revision'";
constexpr const char* kWriteCompactedRevision =
    "UPDATE meta SET value = ?1 WHERE name = 'compacted_revision'";
constexpr const char* kGetLive =
    "SELECT value, revision FROM kv WHERE key = ?1 AND deleted = 0";
constexpr const char* kGetState =
    "SELECT revision, deleted FROM kv WHERE key = ?1";
constexpr const char* kUpsert =
    "INSERT INTO kv (key, value, revision, deleted) VALUES (?1, ?2, ?3, 0) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
    "revision = excluded.revision, deleted = 0";
constexpr const char* kTombstone =
    "UPDATE kv SET value = x'', revision = ?2, deleted = 1 WHERE key = ?1";
// ?1 prefix, ?2 page token (keys are never empty, so "" starts at the
// beginning), ?3 the first string after every key with the prefix, ?4 limit.
constexpr const char* kListBounded =
    "SELECT key, value, revision FROM kv WHERE deleted = 0 AND key >= ?1 "
    "AND key > ?2 AND key < ?3 ORDER BY key LIMIT ?4";
constexpr const char* kListUnbounded =
    "SELECT key, value, revision FROM kv WHERE deleted = 0 AND key >= ?1 "
    "AND key > ?2 ORDER BY key LIMIT ?4";
constexpr const char* kChangesAfter =
    "SELECT key, value, revision, deleted FROM kv WHERE revision > ?1 "
    "ORDER BY revision, key LIMIT ?2";
constexpr const char* kChangesRestOfRevision =
    "SELECT key, value, revision, deleted FROM kv WHERE revision = ?1 "
    "AND key > ?2 ORDER BY key";
constexpr const char* kAnyChangeAfter =
    "SELECT EXISTS (SELECT 1 FROM kv WHERE revision > ?1)";
constexpr const char* kDropTombstones =
    "DELETE FROM kv WHERE deleted = 1 AND revision <= ?1";

size_t PageSize(size_t limit) {
  if (limit == 0) return kDefaultPageSize;
  return limit < kMaxPageSize ? limit : kMaxPageSize;
}

// ReadCounter returns one of the meta counters.
absl::StatusOr<int64_t> ReadCounter(Connection& connection, const char* sql,
                                    absl::string_view what) {
  CB_ASSIGN_OR_RETURN(Statement query, connection.Prepare(sql));
  CB_ASSIGN_OR_RETURN(bool row, query.Step(what));
  if (!row) {
    return absl::DataLossError(absl::StrCat(
        "store database ", connection.path(), ": ", what, ": the row is gone"));
  }
  return query.ColumnInt(0);
}

absl::Status WriteCounter(Connection& connection, const char* sql,
                          int64_t value, absl::string_view what) {
  CB_ASSIGN_OR_RETURN(Statement update, connection.Prepare(sql));
  return update.Bind(1, value).Run(what);
}

// LiveRevision returns the revision of `key`, 0 when it does not exist.
absl::StatusOr<int64_t> LiveRevision(Connection& connection,
                                     absl::string_view key) {
  CB_ASSIGN_OR_RETURN(Statement query, connection.Prepare(kGetState));
  std::string what = absl::StrCat("reading key ", QuoteKey(key));
  CB_ASSIGN_OR_RETURN(bool row, query.BindText(1, key).Step(what));
  if (!row || query.ColumnInt(1) != 0) return 0;
  return query.ColumnInt(0);
}

absl::Status CheckExpected(absl::string_view key, int64_t expected,
                           int64_t actual) {
  if (expected == actual) return absl::OkStatus();
  std::string prefix =
      absl::StrCat("key ", QuoteKey(key), ": expected revision ", expected);
  if (expected == 0) {
    return absl::AbortedError(absl::StrCat(
        prefix, " (must not exist), but it exists at revision ", actual));
  }
  if (actual == 0) {
    return absl::AbortedError(
        absl::StrCat(prefix, ", but it does not exist (revision 0)"));
  }
  return absl::AbortedError(
      absl::StrCat(prefix, ", but it is at revision ", actual));
}

// PrefixEnd returns the smallest string greater than every string starting
// with `prefix`, or nullopt when there is none (empty prefix). Key bytes are
// ASCII, so the last byte can always be incremented.
std::optional<std::string> PrefixEnd(absl::string_view prefix) {
  if (prefix.empty()) return std::nullopt;
  std::string end(prefix);
  end.back() = static_cast<char>(end.back() + 1);
  return end;
}

Change ReadChange(const Statement& row) {
  Change change;
  change.key = row.ColumnString(0);
  change.value = row.ColumnString(1);
  change.revision = row.ColumnInt(2);
  change.deleted = row.ColumnInt(3) != 0;
  return change;
}

absl::Status PrepareDirectory(const std::string& dir) {
  struct stat info;
  if (::stat(dir.c_str(), &info) != 0) {
    if (errno != ENOENT) {
      return absl::FailedPreconditionError(absl::StrCat(
          "store directory ", dir, " cannot be examined: ", strerror(errno)));
    }
    if (::mkdir(dir.c_str(), 0700) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "store directory ", dir, " cannot be created: ", strerror(errno)));
    }
    return absl::OkStatus();
  }
  if (!S_ISDIR(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("store directory ", dir, " is not a directory"));
  }
  // SQLite creates the -wal and -shm files next to the database, so a
  // read-only directory would fail later with a vaguer message.
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("store directory ", dir, " is not writable (",
                     strerror(errno), "); certbrokerd creates ",
                     kSqliteFileName, " and its -wal and -shm files there"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> OpenSqliteStore(
    const std::string& dir, const SqliteStoreOptions& options) {
  if (dir.empty()) {
    return absl::InvalidArgumentError("store directory is empty");
  }
  if (options.max_readers < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "store max_readers is ", options.max_readers, "; it must be >= 1"));
  }
  CB_RETURN_IF_ERROR(PrepareDirectory(dir));
  std::string path = absl::StrCat(dir, "/", kSqliteFileName);
  CB_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer,
                      Connection::Open(path, options.busy_timeout));
  CB_RETURN_IF_ERROR(sqlite::Migrate(*writer, absl::Now()));
  return std::unique_ptr<SqliteStore>(
      new SqliteStore(std::move(path), options, std::move(writer)));
}

SqliteStore::SqliteStore(std::string path, const SqliteStoreOptions& options,
                         std::unique_ptr<Connection> writer)
    : path_(std::move(path)), options_(options), writer_(std::move(writer)) {}

SqliteStore::~SqliteStore() = default;

SqliteStore::ReaderLease::ReaderLease(SqliteStore* store,
                                      std::unique_ptr<Connection> connection)
    : store_(store), connection_(std::move(connection)) {}

SqliteStore::ReaderLease::ReaderLease(ReaderLease&& other) noexcept
    : store_(other.store_), connection_(std::move(other.connection_)) {}

SqliteStore::ReaderLease::~ReaderLease() {
  if (connection_ == nullptr) return;
  absl::MutexLock lock(&store_->readers_mu_);
  store_->idle_readers_.push_back(std::move(connection_));
}

bool SqliteStore::ReaderAvailable() {
  return !idle_readers_.empty() || open_readers_ < options_.max_readers;
}

absl::StatusOr<SqliteStore::ReaderLease> SqliteStore::AcquireReader() {
  {
    absl::MutexLock lock(&readers_mu_);
    readers_mu_.Await(absl::Condition(this, &SqliteStore::ReaderAvailable));
    if (!idle_readers_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return ReaderLease(this, std::move(connection));
    }
    ++open_readers_;
  }
  absl::StatusOr<std::unique_ptr<Connection>> opened =
      Connection::Open(path_, options_.busy_timeout);
  if (!opened.ok()) {
    absl::MutexLock lock(&readers_mu_);
    --open_readers_;
    return opened.status();
  }
  return ReaderLease(this, *std::move(opened));
}

absl::StatusOr<Entry> SqliteStore::Get(absl::string_view key) {
  CB_RETURN_IF_ERROR(ValidateKey(key));
  CB_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  CB_ASSIGN_OR_RETURN(Statement query, (*reader).Prepare(kGetLive));
  CB_ASSIGN_OR_RETURN(bool row, query.BindText(1, key).Step(absl::StrCat(
                                    "reading key ", QuoteKey(key))));
  if (!row) {
    return absl::NotFoundError(
        absl::StrCat("key ", QuoteKey(key), " does not exist"));
  }
  Entry entry;
  entry.key = std::string(key);
  entry.value = query.ColumnString(0);
  entry.revision = query.ColumnInt(1);
  return entry;
}

absl::StatusOr<int64_t> SqliteStore::Commit(absl::Span<const Op> ops) {
  CB_RETURN_IF_ERROR(ValidateOps(ops));
  absl::MutexLock lock(&write_mu_);
  CB_ASSIGN_OR_RETURN(
      Transaction transaction,
      Transaction::Begin(*writer_, Transaction::Mode::kImmediate));
  CB_ASSIGN_OR_RETURN(int64_t revision, ApplyOps(ops));
  CB_RETURN_IF_ERROR(transaction.Commit());
  return revision;
}

absl::StatusOr<int64_t> SqliteStore::ApplyOps(absl::Span<const Op> ops) {
  Connection& db = *writer_;
  // Every precondition first: a failure leaves nothing to undo.
  bool writes = false;
  for (const Op& op : ops) {
    CB_ASSIGN_OR_RETURN(int64_t actual, LiveRevision(db, op.key));
    if (op.expected_revision.has_value()) {
      CB_RETURN_IF_ERROR(CheckExpected(op.key, *op.expected_revision, actual));
    }
    if (op.type == Op::Type::kDelete && actual == 0) {
      return absl::NotFoundError(absl::StrCat(
          "key ", QuoteKey(op.key), " does not exist; nothing to delete"));
    }
    writes = writes || op.type != Op::Type::kCheck;
  }
  CB_ASSIGN_OR_RETURN(int64_t revision,
                      ReadCounter(db, kReadRevision, "reading the revision"));
  if (!writes) return revision;
  ++revision;
  for (const Op& op : ops) {
    std::string what = absl::StrCat("writing key ", QuoteKey(op.key));
    if (op.type == Op::Type::kPut) {
      CB_ASSIGN_OR_RETURN(Statement upsert, db.Prepare(kUpsert));
      CB_RETURN_IF_ERROR(upsert.BindText(1, op.key)
                             .BindBlob(2, op.value)
                             .Bind(3, revision)
                             .Run(what));
    } else if (op.type == Op::Type::kDelete) {
      CB_ASSIGN_OR_RETURN(Statement tombstone, db.Prepare(kTombstone));
      CB_RETURN_IF_ERROR(
          tombstone.BindText(1, op.key).Bind(2, revision).Run(what));
    }
  }
  CB_RETURN_IF_ERROR(
      WriteCounter(db, kWriteRevision, revision, "advancing the revision"));
  return revision;
}

absl::StatusOr<ListResult> SqliteStore::List(const ListOptions& options) {
  CB_RETURN_IF_ERROR(ValidatePrefix(options.prefix));
  if (!options.page_token.empty()) {
    absl::Status token_status = ValidateKey(options.page_token);
    if (!token_status.ok() ||
        !absl::StartsWith(options.page_token, options.prefix)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "page token ", QuoteKey(options.page_token),
          " does not belong to prefix ", QuoteKey(options.prefix)));
    }
  }
  const size_t limit = PageSize(options.limit);
  const std::optional<std::string> end = PrefixEnd(options.prefix);
  CB_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  Connection& db = *reader;
  CB_ASSIGN_OR_RETURN(Transaction transaction,
                      Transaction::Begin(db, Transaction::Mode::kDeferred));
  ListResult result;
  CB_ASSIGN_OR_RETURN(result.revision,
                      ReadCounter(db, kReadRevision, "reading the revision"));
  {
    CB_ASSIGN_OR_RETURN(Statement query,
                        db.Prepare(end ? kListBounded : kListUnbounded));
    query.BindText(1, options.prefix)
        .BindText(2, options.page_token)
        .Bind(4, static_cast<int64_t>(limit + 1));
    if (end) query.BindText(3, *end);
    std::string what =
        absl::StrCat("listing keys with prefix ", QuoteKey(options.prefix));
    while (true) {
      CB_ASSIGN_OR_RETURN(bool row, query.Step(what));
      if (!row) break;
      if (result.entries.size() == limit) {
        result.next_page_token = result.entries.back().key;
        break;
      }
      Entry entry;
      entry.key = query.ColumnString(0);
      entry.value = query.ColumnString(1);
      entry.revision = query.ColumnInt(2);
      result.entries.push_back(std::move(entry));
    }
  }
  CB_RETURN_IF_ERROR(transaction.Commit());
  return result;
}

absl::StatusOr<int64_t> SqliteStore::CurrentRevision() {
  CB_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  return ReadCounter(*reader, kReadRevision, "reading the revision");
}

absl::StatusOr<Changes> SqliteStore::ChangesSince(int64_t after_revision,
                                                  size_t limit) {
  if (after_revision < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("changes since revision ", after_revision,
                     ": a revision cannot be negative"));
  }
  const size_t page = PageSize(limit);
  CB_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  Connection& db = *reader;
  CB_ASSIGN_OR_RETURN(Transaction transaction,
                      Transaction::Begin(db, Transaction::Mode::kDeferred));
  CB_ASSIGN_OR_RETURN(int64_t current,
                      ReadCounter(db, kReadRevision, "reading the revision"));
  CB_ASSIGN_OR_RETURN(int64_t compacted,
                      ReadCounter(db, kReadCompactedRevision,
                                  "reading the compacted revision"));
  if (after_revision > current) {
    return absl::OutOfRangeError(absl::StrCat(
        "changes since revision ", after_revision,
        ": the store is only at revision ", current,
        " (was it replaced or restored from a backup?); list every key again"));
  }
  if (after_revision < compacted) {
    return absl::OutOfRangeError(
        absl::StrCat("changes since revision ", after_revision,
                     ": the store is compacted up to revision ", compacted,
                     ", so deletions may be missing; list every key again"));
  }
  std::string what =
      absl::StrCat("reading changes since revision ", after_revision);
  Changes result;
  bool full = false;
  {
    CB_ASSIGN_OR_RETURN(Statement query, db.Prepare(kChangesAfter));
    query.Bind(1, after_revision).Bind(2, static_cast<int64_t>(page));
    while (true) {
      CB_ASSIGN_OR_RETURN(bool row, query.Step(what));
      if (!row) break;
      result.changes.push_back(ReadChange(query));
    }
    full = result.changes.size() == page;
  }
  if (!full) {
    result.next_revision = current;
    CB_RETURN_IF_ERROR(transaction.Commit());
    return result;
  }
  // The page is full: finish its last revision so that no page splits one,
  // then see whether anything newer remains.
  const int64_t last = result.changes.back().revision;
  {
    CB_ASSIGN_OR_RETURN(Statement rest, db.Prepare(kChangesRestOfRevision));
    rest.Bind(1, last).BindText(2, result.changes.back().key);
    while (true) {
      CB_ASSIGN_OR_RETURN(bool row, rest.Step(what));
      if (!row) break;
      result.changes.push_back(ReadChange(rest));
    }
  }
  {
    CB_ASSIGN_OR_RETURN(Statement newer, db.Prepare(kAnyChangeAfter));
    CB_ASSIGN_OR_RETURN(bool row, newer.Bind(1, last).Step(what));
    result.more = row && newer.ColumnInt(0) != 0;
  }
  result.next_revision = result.more ? last : current;
  CB_RETURN_IF_ERROR(transaction.Commit());
  return result;
}

absl::Status SqliteStore::Compact(int64_t revision) {
  absl::MutexLock lock(&write_mu_);
  Connection& db = *writer_;
  CB_ASSIGN_OR_RETURN(Transaction transaction,
                      Transaction::Begin(db, Transaction::Mode::kImmediate));
  CB_ASSIGN_OR_RETURN(int64_t current,
                      ReadCounter(db, kReadRevision, "reading the revision"));
  if (revision < 0 || revision > current) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot compact to revision ", revision,
        ": it must be between 0 and the store's revision ", current));
  }
  CB_ASSIGN_OR_RETURN(int64_t compacted,
                      ReadCounter(db, kReadCompactedRevision,
                                  "reading the compacted revision"));
  if (revision <= compacted) return absl::OkStatus();
  std::string what = absl::StrCat("compacting to revision ", revision);
  {
    CB_ASSIGN_OR_RETURN(Statement drop, db.Prepare(kDropTombstones));
    CB_RETURN_IF_ERROR(drop.Bind(1, revision).Run(what));
  }
  CB_RETURN_IF_ERROR(WriteCounter(db, kWriteCompactedRevision, revision, what));
  return transaction.Commit();
}

absl::StatusOr<SqliteSettings> SqliteStore::Settings() {
  absl::MutexLock lock(&write_mu_);
  Connection& db = *writer_;
  SqliteSettings settings;
  CB_ASSIGN_OR_RETURN(
      settings.journal_mode,
      db.QueryText("reading journal_mode", "PRAGMA journal_mode"));
  const std::pair<const char*, int64_t*> numbers[] = {
      {"PRAGMA synchronous", &settings.synchronous},
      {"PRAGMA foreign_keys", &settings.foreign_keys},
      {"PRAGMA busy_timeout", &settings.busy_timeout_ms},
  };
  for (const auto& [sql, out] : numbers) {
    CB_ASSIGN_OR_RETURN(std::string text, db.QueryText(sql, sql));
    if (!absl::SimpleAtoi(text, out)) {
      return absl::InternalError(absl::StrCat("store database ", path_, ": ",
                                              sql, " answered '", text, "'"));
    }
  }
  return settings;
}

absl::Status SqliteStore::CheckIntegrity() {
  absl::MutexLock lock(&write_mu_);
  CB_ASSIGN_OR_RETURN(
      std::string answer,
      writer_->QueryText("checking integrity", "PRAGMA integrity_check"));
  if (answer != "ok") {
    return absl::DataLossError(absl::StrCat(
        "store database ", path_, " failed its integrity check: ", answer));
  }
  return absl::OkStatus();
}

}  // namespace certbroker::store

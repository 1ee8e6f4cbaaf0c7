// SqliteStore: the embedded default Store and AuditLog, one SQLite database
// file (certbroker.db) in a directory the broker owns.
#ifndef CERTBROKER_BROKER_STORE_SQLITE_STORE_H_
#define CERTBROKER_BROKER_STORE_SQLITE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "broker/store/audit_log.h"
#include "broker/store/store.h"

namespace certbroker::store {

namespace sqlite {
class Connection;
}  // namespace sqlite

// kSqliteFileName is the database's name inside the store directory. SQLite
// keeps certbroker.db-wal and certbroker.db-shm next to it; back up the
// three together, or use SQLite's online backup.
inline constexpr char kSqliteFileName[] = "certbroker.db";

struct SqliteStoreOptions {
  // How long a write waits for another process's write lock before failing
  // with UNAVAILABLE.
  absl::Duration busy_timeout = absl::Seconds(5);
  // Reader connections opened at most; further reads wait for one.
  int max_readers = 4;
};

// SqliteSettings reports what the writer connection actually runs with.
struct SqliteSettings {
  std::string journal_mode;   // "wal".
  int64_t synchronous = -1;   // 2: FULL.
  int64_t foreign_keys = -1;  // 1: on.
  int64_t busy_timeout_ms = -1;
};

// SqliteStore implements Store and AuditLog on SQLite.
//
// Durability: WAL journal mode with synchronous=FULL, so a write is on disk
// (the WAL synced) before it is acknowledged. Every multi-row change runs in
// one BEGIN IMMEDIATE transaction.
//
// Threads: one writer connection, guarded by a mutex, serializes all writes
// in this process; reads use a pool of up to max_readers reader connections
// which, thanks to WAL, neither wait for nor block the writer. Each read
// that takes several statements (List, ChangesSince, ListAudit) runs in one
// read transaction, so it sees one consistent snapshot. Other processes may
// open the same file (a backup, an offline admin command): SQLite's file
// locks serialize writers across processes, and revisions are read inside
// each write transaction, never cached.
//
// Deletions: a deleted key stays as a tombstone row carrying the revision
// of its deletion until Compact; see sqlite_schema.cc for the schema.
class SqliteStore final : public Store, public AuditLog {
 public:
  ~SqliteStore() override;

  // Store.
  absl::StatusOr<Entry> Get(absl::string_view key) override;
  absl::StatusOr<int64_t> Commit(absl::Span<const Op> ops) override;
  absl::StatusOr<ListResult> List(const ListOptions& options) override;
  absl::StatusOr<int64_t> CurrentRevision() override;
  absl::StatusOr<Changes> ChangesSince(int64_t after_revision,
                                       size_t limit) override;
  absl::Status Compact(int64_t revision) override;

  // AuditLog.
  absl::Status AppendAudit(absl::Span<const AuditRecord> records) override;
  absl::StatusOr<AuditPage> ListAudit(const AuditQuery& query) override;
  absl::StatusOr<size_t> PruneAudit(absl::Time older_than,
                                    size_t keep_at_most) override;

  // path returns the database file's path.
  const std::string& path() const { return path_; }

  // Settings reads the writer connection's pragmas.
  absl::StatusOr<SqliteSettings> Settings();

  // CheckIntegrity runs SQLite's integrity_check: OK when it answers "ok",
  // DATA_LOSS with its first complaint otherwise.
  absl::Status CheckIntegrity();

 private:
  friend absl::StatusOr<std::unique_ptr<SqliteStore>> OpenSqliteStore(
      const std::string& dir, const SqliteStoreOptions& options);

  // ReaderLease lends a reader connection and gives it back when destroyed.
  class ReaderLease {
   public:
    ReaderLease(SqliteStore* store,
                std::unique_ptr<sqlite::Connection> connection);
    ReaderLease(ReaderLease&& other) noexcept;
    ReaderLease& operator=(ReaderLease&&) = delete;
    ~ReaderLease();
    sqlite::Connection& operator*() const { return *connection_; }

   private:
    SqliteStore* store_;
    std::unique_ptr<sqlite::Connection> connection_;
  };

  SqliteStore(std::string path, const SqliteStoreOptions& options,
              std::unique_ptr<sqlite::Connection> writer);

  absl::StatusOr<ReaderLease> AcquireReader();
  bool ReaderAvailable() ABSL_EXCLUSIVE_LOCKS_REQUIRED(readers_mu_);

  // ApplyOps checks and applies validated ops inside the writer's open
  // write transaction.
  absl::StatusOr<int64_t> ApplyOps(absl::Span<const Op> ops)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  const std::string path_;
  const SqliteStoreOptions options_;

  absl::Mutex write_mu_;
  std::unique_ptr<sqlite::Connection> writer_ ABSL_GUARDED_BY(write_mu_);

  absl::Mutex readers_mu_;
  std::vector<std::unique_ptr<sqlite::Connection>> idle_readers_
      ABSL_GUARDED_BY(readers_mu_);
  int open_readers_ ABSL_GUARDED_BY(readers_mu_) = 0;
};

// OpenSqliteStore opens the store in `dir`, creating the directory (mode
// 0700, parent must exist) and dir/certbroker.db when missing, and migrates
// the schema. Fails with FAILED_PRECONDITION when the directory cannot be
// created or written, when the database is read-only, or when its schema is
// newer than this build's; DATA_LOSS when certbroker.db is not an SQLite
// database or is corrupt; UNAVAILABLE when another process holds the write
// lock past the busy timeout. Every message names the path.
absl::StatusOr<std::unique_ptr<SqliteStore>> OpenSqliteStore(
    const std::string& dir, const SqliteStoreOptions& options = {});

}  // namespace certbroker::store

#endif  // CERTBROKER_BROKER_STORE_SQLITE_STORE_H_

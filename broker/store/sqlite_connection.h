// RAII over SQLite's C API for the SQLite store: a connection with its
// per-connection settings and a cache of prepared statements, a statement
// borrowed from that cache with typed binds, a transaction that rolls back
// unless committed, and the mapping of SQLite result codes to absl::Status.
// Data only ever reaches SQL as bound parameters.
#ifndef CERTBROKER_BROKER_STORE_SQLITE_CONNECTION_H_
#define CERTBROKER_BROKER_STORE_SQLITE_CONNECTION_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace certbroker::store::sqlite {

// SqliteCode maps an SQLite result code to a status code by abseil's retry
// guidance: BUSY and LOCKED (the busy timeout expired) → UNAVAILABLE;
// CORRUPT and NOTADB → DATA_LOSS; FULL → RESOURCE_EXHAUSTED; READONLY,
// CANTOPEN, PERM and AUTH → FAILED_PRECONDITION (fix the file or directory);
// TOOBIG → INVALID_ARGUMENT; anything else → INTERNAL.
absl::StatusCode SqliteCode(int result_code);

// StatementDeleter finalizes an owned prepared statement.
struct StatementDeleter {
  void operator()(sqlite3_stmt* statement) const {
    sqlite3_finalize(statement);
  }
};

class Connection;

// Statement is a prepared statement borrowed from its Connection's cache;
// it is reset and its bindings cleared when it goes out of scope, so it
// must not outlive the Connection. Bound text and blobs are not copied:
// they must stay alive until the last Step. A failed bind is reported by
// the next Step.
class Statement {
 public:
  // Statement borrows `statement`, which `connection` owns.
  Statement(Connection* connection, sqlite3_stmt* statement)
      : connection_(connection), statement_(statement) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Bind sets the 1-based parameter `index`.
  Statement& Bind(int index, int64_t value);
  Statement& BindText(int index, absl::string_view value);
  Statement& BindBlob(int index, absl::string_view value);

  // Step advances to the next row: true when there is one, false when the
  // statement is done. `what` names the operation for error messages.
  absl::StatusOr<bool> Step(absl::string_view what);

  // Run steps until done, ignoring rows.
  absl::Status Run(absl::string_view what);

  // Column reads of the current row (0-based).
  int64_t ColumnInt(int column) const;
  std::string ColumnString(int column) const;

 private:
  Connection* connection_;
  sqlite3_stmt* statement_;
  int bind_error_ = SQLITE_OK;
};

// Connection is one open database connection. Not thread-safe: its owner
// serializes access (see SqliteStore).
class Connection {
 public:
  // Open opens (creating it when missing) the database at `path` read-write
  // and applies the store's settings: WAL journal mode, synchronous=FULL,
  // foreign keys on, `busy_timeout`, extended result codes. A file that is
  // not a database fails with DATA_LOSS naming the path; a read-only file
  // with FAILED_PRECONDITION.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const std::string& path, absl::Duration busy_timeout);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const { return db_; }
  const std::string& path() const { return path_; }

  // Prepare returns the cached statement for `sql`, preparing it once.
  absl::StatusOr<Statement> Prepare(absl::string_view sql);

  // Exec runs `sql`, one or more statements of constant text without
  // parameters (schema changes, pragmas, BEGIN/COMMIT).
  absl::Status Exec(absl::string_view what, const char* sql);

  // QueryText runs constant `sql` and returns the first column of its first
  // row as text ("" when it returns no row).
  absl::StatusOr<std::string> QueryText(absl::string_view what,
                                        absl::string_view sql);

  // Error returns the status for `result_code` from an operation described
  // by `what`: "store database <path>: <what>: <SQLite's message>".
  absl::Status Error(int result_code, absl::string_view what) const;

 private:
  Connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::string path_;
  absl::flat_hash_map<std::string,
                      std::unique_ptr<sqlite3_stmt, StatementDeleter>>
      statements_;
};

// Transaction is an SQL transaction on a Connection that rolls back when it
// goes out of scope uncommitted. Immediate transactions take the write lock
// at BEGIN (waiting up to the busy timeout, then UNAVAILABLE), so a
// read-modify-write never fails half-way on a lock upgrade; deferred ones
// are for consistent reads.
class Transaction {
 public:
  enum class Mode { kDeferred, kImmediate };

  static absl::StatusOr<Transaction> Begin(Connection& connection, Mode mode);

  Transaction(Transaction&& other) noexcept
      : connection_(other.connection_), open_(other.open_) {
    other.open_ = false;
  }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  // Commit makes the transaction's writes durable (synchronous=FULL: the
  // WAL is synced before Commit returns).
  absl::Status Commit();

 private:
  explicit Transaction(Connection& connection)
      : connection_(&connection), open_(true) {}

  Connection* connection_;
  bool open_;
};

}  // namespace certbroker::store::sqlite

#endif  // CERTBROKER_BROKER_STORE_SQLITE_CONNECTION_H_

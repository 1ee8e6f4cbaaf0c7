// SQLite connections, cached statements, transactions and error mapping.
#include "broker/store/sqlite_connection.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"

namespace certbroker::store::sqlite {
namespace {

// Bound instead of an empty string_view's data(), which may be null: a null
// pointer would bind NULL, not an empty string or blob.
constexpr char kEmpty[] = "";

}  // namespace

absl::StatusCode SqliteCode(int result_code) {
  switch (result_code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::StatusCode::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    case SQLITE_FULL:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::StatusCode::kFailedPrecondition;
    case SQLITE_TOOBIG:
      return absl::StatusCode::kInvalidArgument;
    default:
      return absl::StatusCode::kInternal;
  }
}

Statement::~Statement() {
  if (statement_ != nullptr) {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
}

Statement::Statement(Statement&& other) noexcept
    : connection_(other.connection_),
      statement_(other.statement_),
      bind_error_(other.bind_error_) {
  other.statement_ = nullptr;
}

Statement& Statement::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(statement_, index, value);
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::BindText(int index, absl::string_view value) {
  int rc = sqlite3_bind_text64(statement_, index,
                               value.empty() ? kEmpty : value.data(),
                               value.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::BindBlob(int index, absl::string_view value) {
  int rc = sqlite3_bind_blob64(statement_, index,
                               value.empty() ? kEmpty : value.data(),
                               value.size(), SQLITE_STATIC);
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

absl::StatusOr<bool> Statement::Step(absl::string_view what) {
  if (bind_error_ != SQLITE_OK) {
    return connection_->Error(bind_error_, absl::StrCat(what, " (binding)"));
  }
  int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return connection_->Error(rc, what);
}

absl::Status Statement::Run(absl::string_view what) {
  while (true) {
    CB_ASSIGN_OR_RETURN(bool row, Step(what));
    if (!row) return absl::OkStatus();
  }
}

int64_t Statement::ColumnInt(int column) const {
  return sqlite3_column_int64(statement_, column);
}

std::string Statement::ColumnString(int column) const {
  // Blob first, then bytes: the documented order that avoids conversions.
  const void* data = sqlite3_column_blob(statement_, column);
  int size = sqlite3_column_bytes(statement_, column);
  if (data == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(
    const std::string& path, absl::Duration busy_timeout) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return absl::Status(
        SqliteCode(rc),
        absl::StrCat("store database ", path, ": cannot open: ", message));
  }
  std::unique_ptr<Connection> connection(new Connection(db, path));
  sqlite3_extended_result_codes(db, 1);
  if (sqlite3_db_readonly(db, "main") == 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("store database ", path,
                     " is read-only; certbrokerd must be able to write it"));
  }
  sqlite3_busy_timeout(
      db, static_cast<int>(absl::ToInt64Milliseconds(busy_timeout)));
  // The first statement reads the file's header: this is where a file that
  // is not a database is found.
  CB_ASSIGN_OR_RETURN(std::string mode,
                      connection->QueryText("setting journal_mode=WAL",
                                            "PRAGMA journal_mode=WAL"));
  if (absl::AsciiStrToLower(mode) != "wal") {
    return absl::FailedPreconditionError(absl::StrCat(
        "store database ", path, ": journal mode is '", mode,
        "' instead of 'wal' (WAL needs a local file system with shared "
        "memory)"));
  }
  CB_RETURN_IF_ERROR(
      connection->Exec("applying connection settings",
                       "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  return connection;
}

Connection::~Connection() {
  statements_.clear();  // Finalized before the close.
  sqlite3_close_v2(db_);
}

absl::StatusOr<Statement> Connection::Prepare(absl::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(raw);
      return Error(rc, absl::StrCat("preparing \"", sql, "\""));
    }
    it = statements_.emplace(std::string(sql), raw).first;
  }
  return Statement(this, it->second.get());
}

absl::Status Connection::Exec(absl::string_view what, const char* sql) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, what);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Connection::QueryText(absl::string_view what,
                                                  absl::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()),
                              &raw, nullptr);
  std::unique_ptr<sqlite3_stmt, StatementDeleter> statement(raw);
  if (rc != SQLITE_OK) return Error(rc, what);
  rc = sqlite3_step(raw);
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return Error(rc, what);
  const unsigned char* text = sqlite3_column_text(raw, 0);
  return text == nullptr ? std::string()
                         : std::string(reinterpret_cast<const char*>(text));
}

absl::Status Connection::Error(int result_code, absl::string_view what) const {
  // The connection's message is more precise than the code's generic text,
  // but only describes this error if the codes agree.
  const char* message = sqlite3_extended_errcode(db_) == result_code
                            ? sqlite3_errmsg(db_)
                            : sqlite3_errstr(result_code);
  std::string hint;
  if ((result_code & 0xff) == SQLITE_BUSY) {
    hint = " (another writer held the database past the busy timeout)";
  }
  return absl::Status(
      SqliteCode(result_code),
      absl::StrCat("store database ", path_, ": ", what, ": ", message, hint));
}

absl::StatusOr<Transaction> Transaction::Begin(Connection& connection,
                                               Mode mode) {
  CB_RETURN_IF_ERROR(connection.Exec(
      mode == Mode::kImmediate ? "starting a write transaction"
                               : "starting a read transaction",
      mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"));
  return Transaction(connection);
}

Transaction::~Transaction() {
  // After some errors (e.g. a full disk) SQLite has already rolled back.
  if (open_ && sqlite3_get_autocommit(connection_->db()) == 0) {
    sqlite3_exec(connection_->db(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

absl::Status Transaction::Commit() {
  open_ = false;
  absl::Status status = connection_->Exec("committing", "COMMIT");
  if (!status.ok() && sqlite3_get_autocommit(connection_->db()) == 0) {
    sqlite3_exec(connection_->db(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  return status;
}

}  // namespace certbroker::store::sqlite

// Tests of opening the SQLite store: the connection's settings, schema
// migrations and a newer schema refused, files that are not databases,
// directories it cannot use, and a busy database.
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "broker/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "tests/broker/store/store_test_util.h"
#include "tests/support/temp_dir.h"

namespace certbroker::store {
namespace {

using ::absl::StatusCode;

// RawDb is a plain SQLite connection for preparing and inspecting files
// behind the store's back.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK) << path;
  }
  ~RawDb() { sqlite3_close(db_); }

  // Exec runs constant SQL, returning SQLite's result code.
  int Exec(const char* sql) {
    return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  }

  // Int returns the first column of the first row of `sql`, or -1.
  int64_t Int(const char* sql) {
    sqlite3_stmt* statement = nullptr;
    int64_t value = -1;
    if (sqlite3_prepare_v2(db_, sql, -1, &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW) {
      value = sqlite3_column_int64(statement, 0);
    }
    sqlite3_finalize(statement);
    return value;
  }

 private:
  sqlite3* db_ = nullptr;
};

TEST(SqliteOpenTest, ConnectionRunsWalWithFullSync) {
  testing::TempDir dir;
  SqliteStoreOptions options;
  options.busy_timeout = absl::Milliseconds(1234);
  std::unique_ptr<SqliteStore> store = OpenOrNull(dir.Path("s"), options);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->path(), dir.Path("s/certbroker.db"));
  absl::StatusOr<SqliteSettings> settings = store->Settings();
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->journal_mode, "wal");
  EXPECT_EQ(settings->synchronous, 2);  // FULL.
  EXPECT_EQ(settings->foreign_keys, 1);
  EXPECT_EQ(settings->busy_timeout_ms, 1234);
  EXPECT_TRUE(store->CheckIntegrity().ok());

  struct stat info;
  ASSERT_EQ(::stat(dir.Path("s").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);  // Created private.
}

TEST(SqliteOpenTest, MigrationIsRecordedOnce) {
  testing::TempDir dir;
  for (int i = 0; i < 2; ++i) {
    ASSERT_NE(OpenOrNull(dir.path()), nullptr);
  }
  RawDb raw(dir.Path("certbroker.db"));
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM schema_migrations"), 1);
  EXPECT_EQ(raw.Int("SELECT MAX(version) FROM schema_migrations"), 1);
  EXPECT_EQ(raw.Int("SELECT value FROM meta WHERE name = 'revision'"), 0);
}

TEST(SqliteOpenTest, RefusesNewerSchemaVersion) {
  testing::TempDir dir;
  {
    std::unique_ptr<SqliteStore> store = OpenOrNull(dir.path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Put("kept", "v").ok());
  }
  {
    RawDb raw(dir.Path("certbroker.db"));
    ASSERT_EQ(raw.Exec("INSERT INTO schema_migrations VALUES (7, 0)"),
              SQLITE_OK);
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      OpenSqliteStore(dir.path());
  EXPECT_TRUE(
      HasStatus(store, StatusCode::kFailedPrecondition,
                absl::StrCat("store database ", dir.Path("certbroker.db"),
                             " has schema version 7, newer than "
                             "version 1 that this certbrokerd knows")));
  RawDb raw(dir.Path("certbroker.db"));
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM schema_migrations"), 2);
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM kv"), 1);
}

TEST(SqliteOpenTest, RefusesAFileThatIsNotADatabase) {
  testing::TempDir dir;
  std::string garbage;
  for (int i = 0; i < 200; ++i) garbage += "this is not an SQLite database. ";
  const std::string path = dir.Write("certbroker.db", garbage);
  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      OpenSqliteStore(dir.path());
  EXPECT_TRUE(HasStatus(store, StatusCode::kDataLoss,
                        absl::StrCat("store database ", path,
                                     ": setting journal_mode=WAL: file is not "
                                     "a database")));
}

TEST(SqliteOpenTest, CorruptPagesAreDataLoss) {
  testing::TempDir dir;
  {
    std::unique_ptr<SqliteStore> store = OpenOrNull(dir.path());
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(
          store->Put(absl::StrCat("k", i), std::string(3000, 'v')).ok());
    }
  }  // The last connection checkpoints the WAL into the file.
  const std::string path = dir.Path("certbroker.db");
  FILE* file = std::fopen(path.c_str(), "r+b");
  ASSERT_NE(file, nullptr);
  // Keep page 1 (header and schema); overwrite the rest.
  std::fseek(file, 0, SEEK_END);
  const int64_t size = std::ftell(file);
  ASSERT_GT(size, 8192);
  std::fseek(file, 4096, SEEK_SET);
  const std::string junk(size - 4096, '\xab');
  std::fwrite(junk.data(), 1, junk.size(), file);
  std::fclose(file);

  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      OpenSqliteStore(dir.path());
  if (!store.ok()) {
    EXPECT_TRUE(HasStatus(store, StatusCode::kDataLoss, path));
    return;
  }
  absl::Status integrity = (*store)->CheckIntegrity();
  absl::StatusOr<Entry> read = (*store)->Get("k1");
  EXPECT_TRUE(HasStatus(integrity, StatusCode::kDataLoss,
                        "failed its integrity check") ||
              HasStatus(integrity, StatusCode::kDataLoss, path))
      << integrity;
  EXPECT_TRUE(HasStatus(read, StatusCode::kDataLoss, path)) << read.status();
}

TEST(SqliteOpenTest, RefusesUnusableDirectories) {
  testing::TempDir dir;
  const std::string file = dir.Write("plain-file", "x");
  EXPECT_TRUE(
      HasStatus(OpenSqliteStore(file), StatusCode::kFailedPrecondition,
                absl::StrCat("store directory ", file, " is not a directory")));
  const std::string orphan = dir.Path("missing/store");
  EXPECT_TRUE(HasStatus(OpenSqliteStore(orphan),
                        StatusCode::kFailedPrecondition,
                        absl::StrCat("store directory ", orphan,
                                     " cannot be created: No such file or "
                                     "directory")));
  EXPECT_TRUE(HasStatus(OpenSqliteStore(""), StatusCode::kInvalidArgument,
                        "store directory is empty"));
}

// OpenAsNobody runs OpenSqliteStore(dir) in a child process with uid and
// gid 65534, since root ignores directory permissions, and returns its
// status code and message.
std::pair<int, std::string> OpenAsNobody(const std::string& dir) {
  int fds[2];
  if (::pipe(fds) != 0) return {-1, "pipe failed"};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string out = "setuid failed";
    int code = -1;
    if (::setgid(65534) == 0 && ::setuid(65534) == 0) {
      absl::Status status = OpenSqliteStore(dir).status();
      code = static_cast<int>(status.code());
      out = std::string(status.message());
    }
    std::string line = absl::StrCat(code, " ", out);
    if (::write(fds[1], line.data(), line.size()) < 0) ::_exit(2);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string line;
  char buffer[512];
  ssize_t n;
  while ((n = ::read(fds[0], buffer, sizeof(buffer))) > 0) {
    line.append(buffer, n);
  }
  ::close(fds[0]);
  int wait_status = 0;
  ::waitpid(pid, &wait_status, 0);
  size_t space = line.find(' ');
  if (space == std::string::npos) return {-1, line};
  return {std::stoi(line.substr(0, space)), line.substr(space + 1)};
}

TEST(SqliteOpenTest, RefusesAReadOnlyDirectory) {
  testing::TempDir dir;
  const std::string read_only = dir.Path("ro");
  ASSERT_EQ(::mkdir(read_only.c_str(), 0555), 0);
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);  // Let the child look in.
  std::pair<int, std::string> result;
  if (::geteuid() == 0) {
    result = OpenAsNobody(read_only);
  } else {
    absl::Status status = OpenSqliteStore(read_only).status();
    result = {static_cast<int>(status.code()), std::string(status.message())};
  }
  EXPECT_EQ(result.first, static_cast<int>(StatusCode::kFailedPrecondition))
      << result.second;
  EXPECT_EQ(result.second,
            absl::StrCat("store directory ", read_only,
                         " is not writable (Permission denied); certbrokerd "
                         "creates certbroker.db and its -wal and -shm files "
                         "there"));
  ASSERT_EQ(::chmod(read_only.c_str(), 0755), 0);  // So TempDir can clean up.
}

TEST(SqliteOpenTest, WriteLockHeldPastBusyTimeoutIsUnavailable) {
  testing::TempDir dir;
  SqliteStoreOptions options;
  options.busy_timeout = absl::Milliseconds(200);
  std::unique_ptr<SqliteStore> store = OpenOrNull(dir.path(), options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put("k", "before").ok());

  RawDb other(dir.Path("certbroker.db"));
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), SQLITE_OK);
  const absl::Time start = absl::Now();
  absl::StatusOr<int64_t> put = store->Put("k", "during");
  const absl::Duration waited = absl::Now() - start;
  EXPECT_TRUE(HasStatus(put, StatusCode::kUnavailable,
                        "starting a write transaction: database is locked "
                        "(another writer held the database past the busy "
                        "timeout)"));
  EXPECT_GE(waited, absl::Milliseconds(150));
  // Readers are not blocked by the writer under WAL.
  absl::StatusOr<Entry> read = store->Get("k");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->value, "before");

  ASSERT_EQ(other.Exec("COMMIT"), SQLITE_OK);
  EXPECT_EQ(store->Put("k", "after").value_or(-1), 2);
}

}  // namespace
}  // namespace certbroker::store

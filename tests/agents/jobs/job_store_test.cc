// The job journal on its own: round trips, reopening, and files that are
// not a journal (never a crash, never a change to them).
#include "agents/jobs/job_store.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agents/jobs/job_test_support.h"
#include "tests/support/temp_dir.h"

namespace certbroker::jobs {
namespace {

using ::testing::HasSubstr;

agent::v1::Job MakeJob(const std::string& id, int64_t created) {
  agent::v1::Job job;
  job.set_id(id);
  job.set_state(agent::v1::QUEUED);
  job.mutable_create_time()->set_seconds(created);
  job.add_files()->mutable_spec()->set_url("https://a.test/" + id);
  return job;
}

TEST(JobStoreTest, KeepsJobsAcrossReopeningOldestFirst) {
  testing::TempDir dir;
  std::string path = dir.Path("jobs.db");
  {
    auto store = JobStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Put(MakeJob("b", 20)).ok());
    agent::v1::Job a = MakeJob("a", 10), c = MakeJob("c", 30);
    ASSERT_TRUE((*store)->Put({&c, &a}).ok());
    agent::v1::Job changed = MakeJob("b", 20);
    changed.set_state(agent::v1::TRANSFERRED);
    ASSERT_TRUE((*store)->Put(changed).ok());
  }
  auto store = JobStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  auto jobs = (*store)->LoadAll();
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 3u);
  EXPECT_EQ((*jobs)[0].id(), "a");
  EXPECT_EQ((*jobs)[1].id(), "b");
  EXPECT_EQ((*jobs)[1].state(), agent::v1::TRANSFERRED);
  EXPECT_EQ((*jobs)[2].id(), "c");
}

TEST(JobStoreTest, RefusesAFileThatIsNotADatabaseAndLeavesIt) {
  testing::TempDir dir;
  std::string junk(8192, 'x');
  std::string path = dir.Write("jobs.db", junk);
  auto store = JobStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(), HasSubstr(path));
  EXPECT_EQ(testing::ReadFile(path), junk);
}

TEST(JobStoreTest, RefusesANewerSchema) {
  testing::TempDir dir;
  std::string path = dir.Path("jobs.db");
  ASSERT_TRUE(JobStore::Open(path).ok());
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(db, "PRAGMA user_version = 9", nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = JobStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.status().message(),
            absl::StrCat("job journal ", path,
                         " has schema version 9, newer than this "
                         "certbroker-agent's 1: use the newer "
                         "certbroker-agent, or another --database"));
}

TEST(JobStoreTest, ReportsARecordThatDoesNotParse) {
  testing::TempDir dir;
  std::string path = dir.Path("jobs.db");
  ASSERT_TRUE(JobStore::Open(path).ok());
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "INSERT INTO jobs (id, created, job) VALUES "
                           "('j1', 1, x'ffffffff')",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = JobStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  auto jobs = (*store)->LoadAll();
  ASSERT_FALSE(jobs.ok());
  EXPECT_EQ(jobs.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(jobs.status().message(),
            absl::StrCat("job journal ", path,
                         ": the record of job j1 does not parse"));
}

}  // namespace
}  // namespace certbroker::jobs

// Tests of AuditWriter over a real SQLite store: everything submitted is
// written by Stop; a full queue refuses (fail closed) and counts; a failing
// append keeps its records and retries them.
#include "broker/audit/audit_writer.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "broker/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace certbroker::audit {
namespace {

store::AuditRecord Record(int i) {
  store::AuditRecord record;
  record.time = absl::FromUnixSeconds(1800000000 + i);
  record.decision_id = absl::StrCat("decision-", i);
  record.rpc = "OnServerCertificate";
  record.target = "https://api.example.test:443";
  record.verdict = "accept";
  record.reason = "ACCEPTED";
  return record;
}

size_t CountRecords(store::AuditLog& log) {
  size_t total = 0;
  store::AuditQuery query;
  query.limit = 1000;
  while (true) {
    auto page = log.ListAudit(query);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return total;
    total += page->records.size();
    if (page->next_page_token.empty()) return total;
    query.page_token = page->next_page_token;
  }
}

// GatedAuditLog forwards to a real store, but holds appends until opened
// and fails the first `failures` of them: the slow or failing disk.
class GatedAuditLog final : public store::AuditLog {
 public:
  GatedAuditLog(store::AuditLog& inner, int failures)
      : inner_(inner), failures_(failures) {}
  absl::Status AppendAudit(
      absl::Span<const store::AuditRecord> records) override {
    open_.WaitForNotification();
    if (failures_-- > 0) return absl::UnavailableError("disk is busy");
    return inner_.AppendAudit(records);
  }
  absl::StatusOr<store::AuditPage> ListAudit(
      const store::AuditQuery& query) override {
    return inner_.ListAudit(query);
  }
  absl::StatusOr<size_t> PruneAudit(absl::Time older_than,
                                    size_t keep) override {
    return inner_.PruneAudit(older_than, keep);
  }
  void Open() { open_.Notify(); }

 private:
  store::AuditLog& inner_;
  std::atomic<int> failures_;
  absl::Notification open_;
};

class AuditWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::OpenSqliteStore(dir_.Path("data"));
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = std::move(opened).value();
  }
  testing::TempDir dir_;
  std::unique_ptr<store::SqliteStore> store_;
};

TEST_F(AuditWriterTest, StopWritesEverythingSubmitted) {
  AuditWriterOptions options;
  options.batch_size = 100;
  AuditWriter writer(*store_, options);
  for (int i = 0; i < 1234; ++i) ASSERT_TRUE(writer.Submit(Record(i)));
  writer.Stop();
  EXPECT_EQ(writer.written(), 1234u);
  EXPECT_EQ(writer.refused(), 0u);
  EXPECT_EQ(CountRecords(*store_), 1234u);
  EXPECT_FALSE(
      writer.Submit(Record(9999)));  // Stopped: refused, not lost silently.
  EXPECT_EQ(writer.refused(), 1u);
}

TEST_F(AuditWriterTest, FullQueueRefusesAndCounts) {
  GatedAuditLog gated(*store_, /*failures=*/0);
  AuditWriterOptions options;
  options.queue_capacity = 3;
  options.batch_size = 1;
  options.flush_interval = absl::Milliseconds(1);
  AuditWriter writer(gated, options);
  ASSERT_TRUE(writer.Submit(Record(0)));
  absl::SleepFor(
      absl::Milliseconds(100));  // The writer takes it and waits at the gate.
  for (int i = 1; i <= 3; ++i) EXPECT_TRUE(writer.Submit(Record(i))) << i;
  EXPECT_FALSE(writer.Submit(Record(4)));
  EXPECT_EQ(writer.refused(), 1u);
  gated.Open();
  writer.Stop();
  EXPECT_EQ(writer.written(), 4u);
  EXPECT_EQ(CountRecords(*store_), 4u);
}

TEST_F(AuditWriterTest, FailedAppendsAreRetriedNotLost) {
  GatedAuditLog failing(*store_, /*failures=*/2);
  failing.Open();
  AuditWriter writer(failing, AuditWriterOptions());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer.Submit(Record(i)));
  writer.Stop();
  EXPECT_EQ(writer.append_failures(), 2u);
  EXPECT_EQ(writer.written(), 10u);
  EXPECT_EQ(CountRecords(*store_), 10u);
}

TEST_F(AuditWriterTest, PrunesByCount) {
  AuditWriterOptions options;
  options.max_records = 5;
  options.prune_interval = absl::Milliseconds(10);
  AuditWriter writer(*store_, options);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(writer.Submit(Record(i)));
  absl::SleepFor(absl::Milliseconds(300));
  writer.Stop();
  EXPECT_EQ(CountRecords(*store_), 5u);
}

}  // namespace
}  // namespace certbroker::audit

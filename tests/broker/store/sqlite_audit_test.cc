// Tests of SqliteStore's audit log: appending, listing newest first with
// each filter and with paging, pruning by age and by count, and the limits
// on records.
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "broker/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "tests/broker/store/store_test_util.h"
#include "tests/support/temp_dir.h"

namespace certbroker::store {
namespace {

using ::absl::StatusCode;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01.

AuditRecord Record(int n, absl::Time time, std::string agent,
                   std::string target, std::string verdict) {
  AuditRecord record;
  record.time = time;
  record.decision_id = absl::StrCat("d", n);
  record.agent = std::move(agent);
  record.rpc = "OnServerCertificate";
  record.target = std::move(target);
  record.leaf_fingerprint = std::string(64, static_cast<char>('a' + n % 6));
  record.rule = "example-test";
  record.verdict = std::move(verdict);
  record.reason = record.verdict == "accept" ? "ACCEPTED" : "UNTRUSTED_ROOT";
  record.policy_version = "v1";
  record.detail = absl::StrCat("detail of ", n);
  return record;
}

class SqliteAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrNull(dir_.path());
    ASSERT_NE(store_, nullptr);
  }

  // Ids lists the decision ids `query` selects, all pages, checking that
  // each page has at most `query.limit` records.
  std::vector<std::string> Ids(AuditQuery query) {
    std::vector<std::string> ids;
    for (int pages = 0; pages < 100; ++pages) {
      absl::StatusOr<AuditPage> page = store_->ListAudit(query);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      if (query.limit > 0) {
        EXPECT_LE(page->records.size(), query.limit);
      }
      for (const AuditRecord& r : page->records) ids.push_back(r.decision_id);
      if (page->next_page_token.empty()) break;
      query.page_token = page->next_page_token;
    }
    return ids;
  }

  // AppendMix appends d0..d11 at kT0 + n seconds: agents cycle through
  // "spiffe://a", "spiffe://b" and "" (unauthenticated), targets alternate,
  // every third is a rejection.
  void AppendMix() {
    std::vector<AuditRecord> records;
    const char* agents[] = {"spiffe://a", "spiffe://b", ""};
    for (int n = 0; n < 12; ++n) {
      records.push_back(
          Record(n, kT0 + absl::Seconds(n), agents[n % 3],
                 n % 2 == 0 ? "https://one.test:443" : "https://two.test:443",
                 n % 3 == 2 ? "reject" : "accept"));
    }
    ASSERT_TRUE(store_->AppendAudit(records).ok());
  }

  testing::TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteAuditTest, AppendsAndListsNewestFirst) {
  std::vector<AuditRecord> records;
  for (int n = 0; n < 5; ++n) {
    records.push_back(Record(n, kT0 + absl::Microseconds(1500 * n), "agent",
                             "https://api.example.test:443", "accept"));
  }
  ASSERT_TRUE(store_->AppendAudit(records).ok());
  absl::StatusOr<AuditPage> page = store_->ListAudit(AuditQuery{});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->records.size(), 5u);
  for (int n = 0; n < 5; ++n) {
    EXPECT_EQ(page->records[n], records[4 - n]) << "record " << n;
  }
  EXPECT_TRUE(page->next_page_token.empty());
  EXPECT_TRUE(store_->AppendAudit({}).ok());

  // The log survives a reopen.
  store_.reset();
  store_ = OpenOrNull(dir_.path());
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(Ids(AuditQuery{}),
            (std::vector<std::string>{"d4", "d3", "d2", "d1", "d0"}));
}

TEST_F(SqliteAuditTest, FiltersByTimeAgentTargetAndVerdict) {
  AppendMix();
  AuditQuery by_agent;
  by_agent.filter.agent = "spiffe://b";
  EXPECT_EQ(Ids(by_agent), (std::vector<std::string>{"d10", "d7", "d4", "d1"}));
  AuditQuery unauthenticated;
  unauthenticated.filter.agent = "";
  EXPECT_EQ(Ids(unauthenticated),
            (std::vector<std::string>{"d11", "d8", "d5", "d2"}));
  AuditQuery by_target;
  by_target.filter.target = "https://two.test:443";
  EXPECT_EQ(Ids(by_target),
            (std::vector<std::string>{"d11", "d9", "d7", "d5", "d3", "d1"}));
  AuditQuery by_verdict;
  by_verdict.filter.verdict = "reject";
  EXPECT_EQ(Ids(by_verdict),
            (std::vector<std::string>{"d11", "d8", "d5", "d2"}));
  AuditQuery by_time;  // [3 s, 7 s): since inclusive, until exclusive.
  by_time.filter.since = kT0 + absl::Seconds(3);
  by_time.filter.until = kT0 + absl::Seconds(7);
  EXPECT_EQ(Ids(by_time), (std::vector<std::string>{"d6", "d5", "d4", "d3"}));
  AuditQuery combined;
  combined.filter.agent = "spiffe://a";
  combined.filter.target = "https://one.test:443";
  combined.filter.since = kT0 + absl::Seconds(1);
  combined.limit = 1;
  EXPECT_EQ(Ids(combined), (std::vector<std::string>{"d6"}));
  AuditQuery nothing;
  nothing.filter.verdict = "maybe";
  EXPECT_TRUE(Ids(nothing).empty());
}

TEST_F(SqliteAuditTest, PagesThroughRecordsWithEqualTimes) {
  std::vector<AuditRecord> records;
  std::vector<std::string> want;
  for (int n = 0; n < 25; ++n) {
    // Five records per second: ties are ordered by appending, newest first.
    records.push_back(
        Record(n, kT0 + absl::Seconds(n / 5), "agent", "t", "accept"));
  }
  for (int n = 24; n >= 0; --n) want.push_back(absl::StrCat("d", n));
  ASSERT_TRUE(store_->AppendAudit(records).ok());

  AuditQuery query;
  query.limit = 10;
  absl::StatusOr<AuditPage> first = store_->ListAudit(query);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->records.size(), 10u);
  ASSERT_FALSE(first->next_page_token.empty());
  // A record appended while paging is newer than the token: not repeated,
  // and nothing older is skipped.
  ASSERT_TRUE(store_
                  ->AppendAudit({Record(99, kT0 + absl::Seconds(60), "agent",
                                        "t", "accept")})
                  .ok());
  std::vector<std::string> got;
  for (const AuditRecord& r : first->records) got.push_back(r.decision_id);
  query.page_token = first->next_page_token;
  for (const std::string& id : Ids(query)) got.push_back(id);
  EXPECT_EQ(got, want);

  query.page_token = "not-a-token";
  EXPECT_TRUE(HasStatus(store_->ListAudit(query), StatusCode::kInvalidArgument,
                        "audit page token \"not-a-token\" is malformed"));
}

TEST_F(SqliteAuditTest, PrunesByAgeThenByCount) {
  AppendMix();  // d0..d11 at kT0 + 0..11 s.
  absl::StatusOr<size_t> pruned =
      store_->PruneAudit(kT0 + absl::Seconds(3), 1000);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 3u);  // d0, d1, d2.
  AuditQuery all;
  std::vector<std::string> ids = Ids(all);
  ASSERT_EQ(ids.size(), 9u);
  EXPECT_EQ(ids.back(), "d3");

  pruned = store_->PruneAudit(absl::InfinitePast(), 4);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 5u);
  EXPECT_EQ(Ids(all), (std::vector<std::string>{"d11", "d10", "d9", "d8"}));

  pruned = store_->PruneAudit(absl::InfinitePast(),
                              std::numeric_limits<size_t>::max());
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 0u);

  // Both at once: age first (d8), then the newest two of what is left.
  pruned = store_->PruneAudit(kT0 + absl::Seconds(9), 2);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 2u);
  EXPECT_EQ(Ids(all), (std::vector<std::string>{"d11", "d10"}));
}

TEST_F(SqliteAuditTest, RejectsInvalidRecordsAndKeepsTheBatchOut) {
  std::vector<AuditRecord> batch = {
      Record(0, kT0, "a", "t", "accept"),
      Record(1, kT0, "a", "t", "accept"),
  };
  batch[1].detail = std::string(kMaxAuditFieldBytes + 1, 'x');
  EXPECT_TRUE(HasStatus(store_->AppendAudit(batch),
                        StatusCode::kInvalidArgument,
                        "audit record d1: detail is 65537 bytes; the limit is "
                        "65536"));
  batch[1].detail = "fine";
  batch[1].time = absl::InfiniteFuture();
  EXPECT_TRUE(HasStatus(store_->AppendAudit(batch),
                        StatusCode::kInvalidArgument,
                        "audit record d1: time must be finite"));
  EXPECT_TRUE(Ids(AuditQuery{}).empty());
}

}  // namespace
}  // namespace certbroker::store

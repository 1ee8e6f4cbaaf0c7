// Tests of SqliteStore under contention and crashes: writers in several
// threads doing read-modify-write with expected revisions lose no update,
// and a writer process killed with SIGKILL at random times loses no
// acknowledged write and leaves an intact database.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "broker/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "tests/broker/store/store_test_util.h"
#include "tests/support/temp_dir.h"

namespace certbroker::store {
namespace {

TEST(SqliteDurabilityTest, ConcurrentReadModifyWriteLosesNoIncrement) {
  testing::TempDir dir;
  std::unique_ptr<SqliteStore> store = OpenOrNull(dir.path());
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 4;
  constexpr int kIncrements = 100;
  std::atomic<int> conflicts{0};
  std::atomic<int> failures{0};

  auto increment = [&] {
    for (int done = 0; done < kIncrements;) {
      int64_t value = 0;
      int64_t expected = 0;  // Absent: the first writer creates it.
      absl::StatusOr<Entry> entry = store->Get("counter");
      if (entry.ok()) {
        if (!absl::SimpleAtoi(entry->value, &value)) ++failures;
        expected = entry->revision;
      } else if (entry.status().code() != absl::StatusCode::kNotFound) {
        ++failures;
        return;
      }
      absl::StatusOr<int64_t> put =
          store->Put("counter", absl::StrCat(value + 1), expected);
      if (put.ok()) {
        ++done;
      } else if (put.status().code() == absl::StatusCode::kAborted) {
        ++conflicts;  // Someone else won: read again.
      } else {
        ++failures;
        return;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(increment);
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(failures.load(), 0);
  absl::StatusOr<Entry> counter = store->Get("counter");
  ASSERT_TRUE(counter.ok()) << counter.status();
  EXPECT_EQ(counter->value, absl::StrCat(kThreads * kIncrements));
  // Only successful puts advance the revision.
  EXPECT_EQ(counter->revision, kThreads * kIncrements);
  EXPECT_EQ(store->CurrentRevision().value_or(-1), kThreads * kIncrements);
  std::cout << "concurrent increments: " << kThreads * kIncrements
            << " committed, " << conflicts.load() << " ABORTED and retried\n";
}

// ValueFor is the deterministic value the crash child writes under `key`:
// sizes vary from a few bytes to several pages.
std::string ValueFor(absl::string_view key, int i) {
  std::string value;
  const size_t size = 16 + (static_cast<size_t>(i) * 7919) % 20000;
  while (value.size() < size) absl::StrAppend(&value, key, ";");
  value.resize(size);
  return value;
}

// kKeysPerTransaction is the width of the crash child's transactions: wide
// enough that a kill usually lands between a transaction's first and last
// row, where a commit that is not atomic would leave part of it behind.
constexpr int kKeysPerTransaction = 8;

// CrashKey is key `j` of the crash child's transaction `i`.
std::string CrashKey(absl::string_view prefix, int i, int j) {
  return absl::StrCat(prefix, i, "/", j);
}

// RunCrashChild is the child process: it commits, in a loop, transaction i
// putting CrashKey(prefix, i, 0..kKeysPerTransaction-1), and after each
// acknowledgement writes "<i>\n" to `fd`. It only ends by being killed (or
// on an error, reported as "!message\n").
[[noreturn]] void RunCrashChild(const std::string& dir,
                                const std::string& prefix, int fd) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = OpenSqliteStore(dir);
  auto report = [fd](const std::string& line) {
    if (::write(fd, line.data(), line.size()) < 0) ::_exit(3);
  };
  if (!store.ok()) {
    report(absl::StrCat("!", store.status().ToString(), "\n"));
    ::_exit(1);
  }
  for (int i = 0; i < 1000000; ++i) {
    std::vector<Op> ops;
    for (int j = 0; j < kKeysPerTransaction; ++j) {
      const std::string key = CrashKey(prefix, i, j);
      ops.push_back(Op::Put(key, ValueFor(key, i + j), 0));
    }
    absl::StatusOr<int64_t> revision = (*store)->Commit(ops);
    if (!revision.ok()) {
      report(absl::StrCat("!", revision.status().ToString(), "\n"));
      ::_exit(1);
    }
    report(absl::StrCat(i, "\n"));
  }
  ::_exit(0);
}

// KillAfterFirstAcknowledgement reads the child's acknowledgements until
// a random delay after the first one (so that opening the store is not
// what gets interrupted), kills it with SIGKILL, drains what it
// acknowledged before dying, and returns the acknowledged transactions.
std::vector<int> KillAfterFirstAcknowledgement(pid_t pid, int fd,
                                               absl::Duration delay) {
  std::string received;
  absl::Time kill_at = absl::InfiniteFuture();
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (true) {
    const absl::Time now = absl::Now();
    const absl::Time until = std::min(kill_at, give_up);
    if (now >= until) break;
    pollfd poll_fd = {fd, POLLIN, 0};
    const int timeout_ms =
        static_cast<int>(absl::ToInt64Milliseconds(until - now)) + 1;
    if (::poll(&poll_fd, 1, timeout_ms) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n <= 0) break;
    received.append(buffer, static_cast<size_t>(n));
    if (kill_at == absl::InfiniteFuture()) kill_at = absl::Now() + delay;
  }
  ::kill(pid, SIGKILL);
  int wait_status = 0;
  EXPECT_EQ(::waitpid(pid, &wait_status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL)
      << "the child ended on its own: " << received;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) {
    received.append(buffer, static_cast<size_t>(n));
  }
  std::vector<int> acknowledged;
  for (absl::string_view line : absl::StrSplit(received, '\n')) {
    if (line.empty()) continue;
    int i = 0;
    EXPECT_TRUE(absl::SimpleAtoi(line, &i)) << "child reported: " << line;
    acknowledged.push_back(i);
  }
  return acknowledged;
}

TEST(SqliteDurabilityTest, SigkillLosesNoAcknowledgedWrite) {
  testing::TempDir dir;
  const std::string store_dir = dir.Path("store");
  const unsigned seed = static_cast<unsigned>(absl::ToUnixNanos(absl::Now()));
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> delay_ms(5, 100);
  constexpr int kRounds = 20;
  int total_acknowledged = 0;
  absl::Duration slowest_reopen;
  const absl::Time start = absl::Now();

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round, ", seed ", seed));
    const std::string prefix = absl::StrCat("crash/", round, "/");
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      RunCrashChild(store_dir, prefix, fds[1]);
    }
    ::close(fds[1]);
    const std::vector<int> acknowledged = KillAfterFirstAcknowledgement(
        pid, fds[0], absl::Milliseconds(delay_ms(random)));
    ::close(fds[0]);
    ASSERT_FALSE(acknowledged.empty());
    total_acknowledged += static_cast<int>(acknowledged.size());

    const absl::Time reopen_start = absl::Now();
    std::unique_ptr<SqliteStore> store = OpenOrNull(store_dir);
    slowest_reopen = std::max(slowest_reopen, absl::Now() - reopen_start);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->CheckIntegrity().ok()) << store->CheckIntegrity();
    for (int i : acknowledged) {
      for (int j = 0; j < kKeysPerTransaction; ++j) {
        const std::string key = CrashKey(prefix, i, j);
        absl::StatusOr<Entry> entry = store->Get(key);
        ASSERT_TRUE(entry.ok())
            << "acknowledged " << key << " lost: " << entry.status();
        ASSERT_EQ(entry->value, ValueFor(key, i + j)) << key;
      }
    }
    // Atomicity, acknowledged or not: each transaction's keys are all
    // there, at one revision, or all missing.
    std::map<std::string, std::set<int64_t>> transactions;
    size_t present = 0;
    ListOptions options;
    options.prefix = prefix;
    options.limit = kMaxPageSize;
    while (true) {
      absl::StatusOr<ListResult> page = store->List(options);
      ASSERT_TRUE(page.ok()) << page.status();
      for (const Entry& entry : page->entries) {
        // The transaction is the key without its last segment.
        transactions[entry.key.substr(0, entry.key.rfind('/'))].insert(
            entry.revision);
        ++present;
      }
      if (page->next_page_token.empty()) break;
      options.page_token = page->next_page_token;
    }
    EXPECT_EQ(present, transactions.size() * kKeysPerTransaction)
        << "a transaction is partly present";
    for (const auto& [transaction, revisions] : transactions) {
      EXPECT_EQ(revisions.size(), 1u) << transaction << " spans revisions";
    }
    EXPECT_GE(transactions.size(), acknowledged.size());
  }
  std::cout << "crash test: " << kRounds << " SIGKILLs, " << total_acknowledged
            << " acknowledged transactions of " << kKeysPerTransaction
            << " keys, all present and whole; slowest reopen "
            << absl::FormatDuration(slowest_reopen) << "; total "
            << absl::FormatDuration(absl::Now() - start) << " (seed " << seed
            << ")\n";
}

}  // namespace
}  // namespace certbroker::store

// The asynchronous Download and its ConnectionPool against a real nginx
// (ssl_verify_client on) and a real certbrokerd: several downloads at once
// on one io_context, keep-alive reuse (nginx logs its connection numbers),
// Cancel mid-body and the resume from the part file, truncate_to, the
// verified part file kept (commit=false) and committed later, a chunked
// response.
#include "agents/transfer/download.h"

#include <openssl/sha.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agents/transfer/part_file.h"
#include "broker/x509/certificate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agents/tls/tls_test_env.h"
#include "tests/agents/transfer/transfer_test_support.h"
#include "tests/support/file_probes.h"

namespace certbroker::testing {
namespace {

using x509::Sha256Hex;

using ::testing::HasSubstr;
using transfer::ConnectionPool;
using transfer::Download;
using transfer::DownloadCallbacks;
using transfer::DownloadOptions;
using transfer::ErrorContext;
using transfer::FetchResult;

class DownloadTest : public BrokerBackedTest {
 protected:
  void SetUp() override {
    BrokerBackedTest::SetUp();
    if (HasFatalFailure()) return;
    data_ = MakeData(4 << 20, 1);
    dir_.Write("www/files/data.bin", data_);
    NginxOptions options;
    options.access_log = dir_.Path("nginx/access.log");
    options.log_connection = true;
    options.locations = TransferLocations(dir_.Path("www/files/"));
    auto nginx = StartNginx(dir_, options, port_);
    ASSERT_TRUE(nginx.ok()) << nginx.status();
    nginx_ = std::move(nginx).value();
    dir_.Write("out/.keep", "");
    auto binding = agent::TlsBinding::Create(*client_, {});
    ASSERT_TRUE(binding.ok()) << binding.status();
    binding_ = std::move(binding).value();
    auto pool = ConnectionPool::Create(io_, *binding_);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = std::move(pool).value();
  }

  void TearDown() override {
    pool_.reset();
    BrokerBackedTest::TearDown();
  }

  DownloadOptions Options(const std::string& path, const std::string& out) {
    DownloadOptions options;
    options.url = absl::StrCat("https://exportable.test:", port_, path);
    options.output_path = dir_.Path("out/" + out);
    options.resolve["exportable.test"] = "127.0.0.1";
    options.connect_timeout = absl::Seconds(30);
    options.idle_timeout = absl::Seconds(30);
    return options;
  }

  // Run runs the loop until `done` (at most 90 s).
  void Run(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      // A loop that ran out of work stops, and runs nothing more until
      // restarted.
      if (io_.stopped()) io_.restart();
      io_.run_one_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(done()) << "the downloads did not finish within 90 s";
  }

  // Fetch runs one download to its end.
  FetchResult Fetch(DownloadOptions options, DownloadCallbacks callbacks = {}) {
    std::optional<FetchResult> result;
    callbacks.on_done = [&](FetchResult done) { result = std::move(done); };
    Download::Start(*pool_, std::move(options), std::move(callbacks));
    Run([&] { return result.has_value(); });
    return result.value_or(FetchResult());
  }

  std::vector<std::string> AccessLog() {
    return absl::StrSplit(ReadFile(dir_.Path("nginx/access.log")), '\n',
                          absl::SkipEmpty());
  }

  // Connection is the conn= field of an access log line.
  static std::string Connection(const std::string& line) {
    size_t at = line.rfind(" conn=");
    return at == std::string::npos ? "" : line.substr(at + 6);
  }

  // CancelPartWay starts a download of /slow/data.bin into `out` and
  // cancels it once 256 KiB have arrived; returns its result.
  FetchResult CancelPartWay(const std::string& out) {
    std::shared_ptr<Download> download;
    bool asked = false;
    DownloadCallbacks callbacks;
    callbacks.on_progress = [&](uint64_t bytes, int64_t) {
      if (bytes < (256 << 10) || asked) return;
      asked = true;
      // Cancel from outside the download's own handler.
      boost::asio::post(io_, [&] { download->Cancel(); });
    };
    std::optional<FetchResult> result;
    callbacks.on_done = [&](FetchResult done) { result = std::move(done); };
    download =
        Download::Start(*pool_, Options("/slow/data.bin", out), callbacks);
    Run([&] { return result.has_value(); });
    return result.value_or(FetchResult());
  }

  std::string data_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> nginx_;
  std::unique_ptr<agent::TlsBinding> binding_;
  boost::asio::io_context io_;
  std::unique_ptr<ConnectionPool> pool_;
};

TEST_F(DownloadTest, SeveralDownloadsRunConcurrentlyOnOneLoop) {
  constexpr int kFiles = 4;
  std::vector<std::string> contents;
  for (int i = 0; i < kFiles; ++i) {
    contents.push_back(MakeData((1 << 20) + i * 4099, 10 + i));
    dir_.Write(absl::StrCat("www/files/f", i, ".bin"), contents.back());
  }
  std::vector<std::optional<FetchResult>> results(kFiles);
  int transferring = 0;
  int most_at_once = 0;
  for (int i = 0; i < kFiles; ++i) {
    DownloadOptions options =
        Options(absl::StrCat("/slow/f", i, ".bin"), absl::StrCat("f", i));
    options.sha256_hex = Sha256Hex(contents[i]);
    DownloadCallbacks callbacks;
    callbacks.on_phase = [&](transfer::DownloadPhase phase) {
      if (phase != transfer::DownloadPhase::kTransferring) return;
      most_at_once = std::max(most_at_once, ++transferring);
    };
    callbacks.on_done = [&, i](FetchResult done) {
      --transferring;
      results[i] = std::move(done);
    };
    Download::Start(*pool_, std::move(options), std::move(callbacks));
  }
  Run([&] {
    for (const auto& result : results) {
      if (!result.has_value()) return false;
    }
    return true;
  });
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_TRUE(results[i].has_value());
    ASSERT_FALSE(results[i]->error.has_value())
        << results[i]->error->ToString();
    EXPECT_EQ(results[i]->sha256_hex, Sha256Hex(contents[i]));
    EXPECT_TRUE(ReadFile(dir_.Path(absl::StrCat("out/f", i))) == contents[i]);
  }
  // Each file takes about 4 s at nginx's 256 KiB/s: they overlapped.
  EXPECT_EQ(most_at_once, kFiles);
  EXPECT_EQ(pool_->connections_opened(), static_cast<uint64_t>(kFiles));
}

TEST_F(DownloadTest, KeepAliveReusesOneConnectionForTheSameHost) {
  DownloadOptions first = Options("/files/data.bin", "a");
  first.sha256_hex = Sha256Hex(data_);
  FetchResult a = Fetch(first);
  ASSERT_FALSE(a.error.has_value()) << a.error->ToString();
  // A redirect, then the file: both on the same connection again.
  DownloadOptions second = Options("/old/data.bin", "b");
  second.sha256_hex = Sha256Hex(data_);
  FetchResult b = Fetch(second);
  ASSERT_FALSE(b.error.has_value()) << b.error->ToString();
  EXPECT_EQ(b.redirects, 1);
  EXPECT_TRUE(ReadFile(dir_.Path("out/b")) == data_);

  EXPECT_EQ(pool_->connections_opened(), 1u);
  EXPECT_EQ(pool_->connections_reused(), 2u);
  EXPECT_EQ(binding_->stats().server_verdicts, 1u);
  std::vector<std::string> log = AccessLog();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_THAT(log[1], HasSubstr("GET /old/data.bin HTTP/1.1 302"));
  EXPECT_FALSE(Connection(log[0]).empty());
  EXPECT_EQ(Connection(log[1]), Connection(log[0]));
  EXPECT_EQ(Connection(log[2]), Connection(log[0]));
}

TEST_F(DownloadTest, NoReuseOnceTheVerdictMayNoLongerBeReused) {
  // Rule brief gives its verdicts a cache_ttl of 1 s: a connection idle
  // past it is not reused, and the next request gets a fresh verdict.
  DownloadOptions first = Options("/files/data.bin", "a");
  first.url = absl::StrCat("https://brief.test:", port_, "/files/data.bin");
  first.resolve["brief.test"] = "127.0.0.1";
  FetchResult a = Fetch(first);
  ASSERT_FALSE(a.error.has_value()) << a.error->ToString();
  absl::SleepFor(absl::Milliseconds(1500));
  DownloadOptions second = first;
  second.output_path = dir_.Path("out/b");
  FetchResult b = Fetch(second);
  ASSERT_FALSE(b.error.has_value()) << b.error->ToString();
  EXPECT_EQ(pool_->connections_opened(), 2u);
  EXPECT_EQ(pool_->connections_reused(), 0u);
  EXPECT_EQ(binding_->stats().server_verdicts, 2u);
}

TEST_F(DownloadTest, CancelledMidBodyResumesFromThePartFile) {
  FetchResult cancelled = CancelPartWay("data.bin");
  ASSERT_TRUE(cancelled.error.has_value());
  EXPECT_EQ(cancelled.error->context, ErrorContext::kTransport);
  EXPECT_EQ(cancelled.error->message, "cancelled");
  std::string out = dir_.Path("out/data.bin");
  int64_t partial = FileSize(out + ".certbroker-part");
  EXPECT_GE(partial, 256 << 10);
  EXPECT_LT(partial, static_cast<int64_t>(data_.size()));
  EXPECT_GT(FileSize(out + ".certbroker-part.meta"), 0);
  EXPECT_EQ(FileSize(out), -1);

  DownloadOptions options = Options("/slow/data.bin", "data.bin");
  options.sha256_hex = Sha256Hex(data_);
  std::vector<std::string> notices;
  DownloadCallbacks callbacks;
  callbacks.on_notice = [&](const std::string& text) {
    notices.push_back(text);
  };
  FetchResult resumed = Fetch(options, callbacks);
  ASSERT_FALSE(resumed.error.has_value()) << resumed.error->ToString();
  EXPECT_EQ(resumed.resumed_from, static_cast<uint64_t>(partial));
  EXPECT_EQ(resumed.received, data_.size() - partial);
  EXPECT_THAT(notices, ::testing::ElementsAre(
                           absl::StrCat("resuming at byte ", partial)));
  EXPECT_TRUE(ReadFile(out) == data_);
  EXPECT_EQ(FileSize(out + ".certbroker-part"), -1);
}

TEST_F(DownloadTest, TruncatesThePartFileToTheJournalledSize) {
  ASSERT_TRUE(CancelPartWay("data.bin").error.has_value());
  std::string out = dir_.Path("out/data.bin");
  int64_t journalled = FileSize(out + ".certbroker-part");
  ASSERT_GT(journalled, 0);
  // Bytes past the journalled size that did not survive a crash intact.
  {
    std::ofstream garbage(out + ".certbroker-part",
                          std::ios::binary | std::ios::app);
    garbage << std::string(1000, 'x');
  }
  DownloadOptions options = Options("/slow/data.bin", "data.bin");
  options.sha256_hex = Sha256Hex(data_);
  options.truncate_to = journalled;
  FetchResult result = Fetch(options);
  ASSERT_FALSE(result.error.has_value()) << result.error->ToString();
  EXPECT_EQ(result.resumed_from, static_cast<uint64_t>(journalled));
  EXPECT_TRUE(ReadFile(out) == data_);
}

TEST_F(DownloadTest, PartFileShorterThanJournalledRestartsFromZero) {
  ASSERT_TRUE(CancelPartWay("data.bin").error.has_value());
  std::string out = dir_.Path("out/data.bin");
  int64_t size = FileSize(out + ".certbroker-part");
  // Not rate-limited: the whole file comes again.
  DownloadOptions options = Options("/files/data.bin", "data.bin");
  options.truncate_to = size + 1;
  std::vector<std::string> notices;
  DownloadCallbacks callbacks;
  callbacks.on_notice = [&](const std::string& text) {
    notices.push_back(text);
  };
  options.compute_sha256 = true;
  FetchResult result = Fetch(options, callbacks);
  ASSERT_FALSE(result.error.has_value()) << result.error->ToString();
  std::string why = absl::StrCat("the partial file (", size,
                                 " bytes) is shorter than its journalled size "
                                 "of ",
                                 size + 1, " bytes");
  EXPECT_EQ(result.restarted, why);
  EXPECT_THAT(notices, ::testing::ElementsAre("restarting from zero: " + why));
  EXPECT_EQ(result.resumed_from, 0u);
  EXPECT_EQ(result.sha256_hex, Sha256Hex(data_));
}

TEST_F(DownloadTest, KeepsTheVerifiedPartFileUntilCommitPartFile) {
  DownloadOptions options = Options("/files/data.bin", "kept.bin");
  options.sha256_hex = Sha256Hex(data_);
  options.commit = false;
  std::shared_ptr<Download> download;
  std::optional<FetchResult> result;
  DownloadCallbacks callbacks;
  callbacks.on_done = [&](FetchResult done) { result = std::move(done); };
  download = Download::Start(*pool_, options, callbacks);
  Run([&] { return result.has_value(); });
  ASSERT_FALSE(result->error.has_value()) << result->error->ToString();
  std::string out = dir_.Path("out/kept.bin");
  EXPECT_EQ(FileSize(out), -1);
  EXPECT_TRUE(ReadFile(out + ".certbroker-part") == data_);
  auto checkpoint = download->Checkpoint();
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(*checkpoint, data_.size());

  ASSERT_TRUE(transfer::CommitPartFile(out).ok());
  EXPECT_TRUE(ReadFile(out) == data_);
  EXPECT_EQ(FileSize(out + ".certbroker-part"), -1);
  EXPECT_EQ(FileSize(out + ".certbroker-part.meta"), -1);
  absl::Status again = transfer::CommitPartFile(out);
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound) << again;
  EXPECT_THAT(again.message(), HasSubstr(out + ".certbroker-part"));
}

TEST_F(DownloadTest, RemovePartFileDropsPartAndSidecar) {
  ASSERT_TRUE(CancelPartWay("gone.bin").error.has_value());
  std::string out = dir_.Path("out/gone.bin");
  ASSERT_GT(FileSize(out + ".certbroker-part"), 0);
  ASSERT_TRUE(transfer::RemovePartFile(out).ok());
  EXPECT_EQ(FileSize(out + ".certbroker-part"), -1);
  EXPECT_EQ(FileSize(out + ".certbroker-part.meta"), -1);
  EXPECT_TRUE(transfer::RemovePartFile(out).ok());
}

TEST_F(DownloadTest, ReadsAChunkedResponse) {
  std::string text;
  for (int i = 0; i < 50000; ++i) absl::StrAppend(&text, "line ", i, " FOO\n");
  dir_.Write("www/files/text.txt", text);
  std::string expected = absl::StrReplaceAll(text, {{"FOO", "BAR"}});
  DownloadOptions options = Options("/chunked/text.txt", "text.txt");
  options.sha256_hex = Sha256Hex(expected);
  int64_t last_total = 0;
  DownloadCallbacks callbacks;
  callbacks.on_progress = [&](uint64_t, int64_t total) { last_total = total; };
  FetchResult result = Fetch(options, callbacks);
  ASSERT_FALSE(result.error.has_value()) << result.error->ToString();
  EXPECT_EQ(result.size, expected.size());
  EXPECT_EQ(last_total, -1);
  EXPECT_TRUE(ReadFile(dir_.Path("out/text.txt")) == expected);
  EXPECT_THAT(AccessLog(),
              ::testing::ElementsAre(HasSubstr("te=\"chunked\" conn=")));
  // A chunked response ends cleanly: its connection is kept.
  FetchResult again = Fetch(options);
  ASSERT_FALSE(again.error.has_value()) << again.error->ToString();
  EXPECT_EQ(pool_->connections_opened(), 1u);
}

TEST_F(DownloadTest, CancelBeforeTheLoopRunsFinishesOnce) {
  int done = 0;
  DownloadCallbacks callbacks;
  std::optional<FetchResult> result;
  callbacks.on_done = [&](FetchResult finished) {
    ++done;
    result = std::move(finished);
  };
  auto download =
      Download::Start(*pool_, Options("/files/data.bin", "x"), callbacks);
  EXPECT_EQ(done, 0);  // Never inside Start.
  download->Cancel();
  download->Cancel();
  Run([&] { return result.has_value(); });
  io_.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(done, 1);
  EXPECT_EQ(result->error->message, "cancelled");
  EXPECT_THAT(AccessLog(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace certbroker::testing

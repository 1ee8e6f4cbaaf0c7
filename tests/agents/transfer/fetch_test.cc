// certbroker-agent fetch against a real nginx (ssl_verify_client on) and a
// real certbrokerd: downloads with broker-supplied client certificates,
// the broker's rejections and absence, HTTP errors, resume through Range
// and If-Range after a killed run, redirects, and bad input. nginx's
// access log shows what reached it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "broker/x509/certificate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agents/tls/tls_test_env.h"
#include "tests/agents/transfer/transfer_test_support.h"
#include "tests/support/command_runner.h"
#include "tests/support/file_probes.h"

namespace certbroker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAgent[] = CERTBROKER_AGENT_PATH;

using x509::Sha256Hex;

class FetchTest : public BrokerBackedTest {
 protected:
  void SetUp() override {
    BrokerBackedTest::SetUp();
    if (HasFatalFailure()) return;
    data_ = MakeData(4 << 20, 1);
    dir_.Write("www/files/data.bin", data_);
    NginxOptions options;
    options.access_log = dir_.Path("nginx/access.log");
    options.locations = TransferLocations(dir_.Path("www/files/")) + R"(
    location = /loop { return 302 /loop; }
    location = /elsewhere {
      return 302 https://untrusted.test:$server_port/files/data.bin;
    })";
    auto nginx = StartNginx(dir_, options, port_);
    ASSERT_TRUE(nginx.ok()) << nginx.status();
    nginx_ = std::move(nginx).value();
    out_ = dir_.Path("out/data.bin");
    dir_.Write("out/.keep", "");
  }

  std::string Url(const std::string& host, const std::string& path) {
    return absl::StrCat("https://", host, ":", port_, path);
  }

  std::vector<std::string> Args(const std::string& url,
                                const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {kAgent,
                                     "fetch",
                                     url,
                                     "-o",
                                     out_,
                                     "--broker=" + broker_->addresses()[0],
                                     "--connect_timeout=30",
                                     "--idle_timeout=30"};
    for (const char* host :
         {"exportable.test", "keyless.test", "untrusted.test", "mismatch.test",
          "lenient.test", "nocert.test"}) {
      argv.push_back(absl::StrCat("--resolve=", host, ":127.0.0.1"));
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  CommandResult Fetch(const std::string& url,
                      const std::vector<std::string>& extra = {}) {
    return RunCommand(Args(url, extra), absl::Seconds(90));
  }

  // AccessLog returns nginx's access log lines.
  std::vector<std::string> AccessLog() {
    std::string text = ReadFile(dir_.Path("nginx/access.log"));
    return absl::StrSplit(text, '\n', absl::SkipEmpty());
  }

  // RangedRequest returns the one access log line of a request with a
  // Range (the killed request's line may come before or after it).
  std::string RangedRequest() {
    std::string found;
    for (const std::string& line : AccessLog()) {
      if (!absl::StrContains(line, "range=\"bytes=")) continue;
      EXPECT_TRUE(found.empty())
          << "two ranged requests: " << found << "; " << line;
      found = line;
    }
    EXPECT_FALSE(found.empty()) << "no ranged request in the access log";
    return found;
  }

  // KillPartWay starts a fetch of /slow/data.bin and SIGKILLs it once the
  // part file holds at least 256 KiB (and its sidecar exists).
  void KillPartWay() {
    std::vector<std::string> argv =
        Args(Url("exportable.test", "/slow/data.bin"));
    auto child = ChildProcess::Start(argv, dir_.Path("killed-fetch.log"));
    ASSERT_TRUE(child.ok()) << child.status();
    std::string part = out_ + ".certbroker-part";
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline &&
           (FileSize(part) < (256 << 10) || !Exists(part + ".meta"))) {
      ASSERT_LT((*child)->Wait(absl::ZeroDuration()), 0)
          << "the fetch ended before it was killed: " << (*child)->Log();
      absl::SleepFor(absl::Milliseconds(10));
    }
    ::kill((*child)->pid(), SIGKILL);
    EXPECT_EQ((*child)->Wait(absl::Seconds(10)), 128 + SIGKILL);
    ASSERT_GE(FileSize(part), 256 << 10);
    ASSERT_LT(FileSize(part), static_cast<int64_t>(data_.size()));
    ASSERT_FALSE(Exists(out_));
  }

  void ExpectNoOutput() {
    EXPECT_FALSE(Exists(out_));
    EXPECT_FALSE(Exists(out_ + ".certbroker-part"));
    EXPECT_FALSE(Exists(out_ + ".certbroker-part.meta"));
  }

  std::string data_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> nginx_;
  std::string out_;
};

TEST_F(FetchTest, DownloadsWithExportableClientCertificate) {
  CommandResult result =
      Fetch(Url("exportable.test", "/files/data.bin"),
            {"--sha256=" + Sha256Hex(data_),
             absl::StrCat("--expected_size=", data_.size())});
  ASSERT_EQ(result.exit_code, 0) << result.err << nginx_->Log();
  EXPECT_EQ(result.out,
            absl::StrCat("fetched ", Url("exportable.test", "/files/data.bin"),
                         " -> ", out_, " (", data_.size(), " bytes, sha256 ",
                         Sha256Hex(data_), ")\n"));
  EXPECT_TRUE(ReadFile(out_) == data_);
  EXPECT_FALSE(Exists(out_ + ".certbroker-part"));
  EXPECT_FALSE(Exists(out_ + ".certbroker-part.meta"));
  // Not a terminal: plain progress lines, the last one complete.
  EXPECT_THAT(result.err,
              HasSubstr(absl::StrCat("progress: ", data_.size(), " of ",
                                     data_.size(), " bytes (100%)\n")));
  EXPECT_THAT(result.err, Not(HasSubstr("\r")));
  EXPECT_THAT(AccessLog(),
              ::testing::ElementsAre(
                  "GET /files/data.bin HTTP/1.1 200 range=\"-\" if_range=\"-\" "
                  "client=\"CN=sdk-client\" te=\"-\""));
}

TEST_F(FetchTest, DownloadsWithKeylessClientCertificate) {
  v1::GetClientCertificateRequest request;
  *request.mutable_target() = MakeTarget("keyless.test", port_);
  auto answer = client_->GetClientCertificate(request);
  if (!answer.ok() &&
      absl::StrContains(answer.status().message(), "not exportable")) {
    GTEST_SKIP() << "this certbrokerd gives no key handles: "
                 << answer.status();
  }
  ASSERT_TRUE(answer.ok()) << answer.status();
  ASSERT_TRUE(answer->private_key().empty());
  CommandResult result = Fetch(Url("keyless.test", "/files/data.bin"),
                               {"--sha256=" + Sha256Hex(data_)});
  ASSERT_EQ(result.exit_code, 0) << result.err << nginx_->Log();
  EXPECT_TRUE(ReadFile(out_) == data_);
  EXPECT_THAT(AccessLog(),
              ::testing::ElementsAre(HasSubstr("200 range=\"-\" if_range=\"-\" "
                                               "client=\"CN=sdk-client\"")));
}

TEST_F(FetchTest, BrokerRejectsServerCertificateBeforeAnyRequest) {
  CommandResult result = Fetch(Url("untrusted.test", "/files/data.bin"));
  EXPECT_EQ(result.exit_code, 5) << result.err;
  EXPECT_THAT(result.err, HasSubstr("context: SERVER_CERTIFICATE\n"));
  EXPECT_THAT(result.err, HasSubstr("broker_reason: UNTRUSTED_ROOT\n"));
  EXPECT_THAT(result.err, HasSubstr("broker_decision_id: "));
  EXPECT_THAT(result.err,
              HasSubstr(absl::StrCat(
                  "SERVER_CERTIFICATE: the broker rejected the certificate of "
                  "untrusted.test:",
                  port_, ": UNTRUSTED_ROOT")));
  ExpectNoOutput();
  EXPECT_THAT(AccessLog(), ::testing::IsEmpty());
}

TEST_F(FetchTest, NoClientCertificateFromTheBrokerIsClientCertificateError) {
  // The broker's rule for nocert.test gives no client certificate; nginx
  // requires one and answers 400 without.
  CommandResult result = Fetch(Url("nocert.test", "/files/data.bin"));
  EXPECT_EQ(result.exit_code, 7) << result.err;
  EXPECT_THAT(result.err, HasSubstr("context: CLIENT_CERTIFICATE\n"));
  EXPECT_THAT(
      result.err,
      HasSubstr(absl::StrCat("CLIENT_CERTIFICATE: the server asked for a "
                             "client certificate and the broker has none for "
                             "nocert.test:",
                             port_, " (the server answered 400 Bad Request)")));
  ExpectNoOutput();
}

TEST_F(FetchTest, BrokerStoppedIsBrokerUnavailable) {
  std::string address = broker_->addresses()[0];
  broker_->Stop();
  CommandResult result = RunCommand(
      Args(Url("exportable.test", "/files/data.bin"), {"--broker=" + address}),
      absl::Seconds(90));
  EXPECT_EQ(result.exit_code, 6) << result.err;
  EXPECT_THAT(result.err, HasSubstr("context: BROKER_UNAVAILABLE\n"));
  EXPECT_THAT(result.err, HasSubstr("broker unavailable"));
  ExpectNoOutput();
  EXPECT_THAT(AccessLog(), ::testing::IsEmpty());
}

TEST_F(FetchTest, NotFoundIsRemoteFile) {
  CommandResult result = Fetch(Url("exportable.test", "/files/missing.bin"));
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_THAT(result.err,
              HasSubstr("context: REMOTE_FILE\nhttp_status: 404\n"));
  EXPECT_THAT(result.err, HasSubstr("/files/missing.bin: 404 Not Found"));
  ExpectNoOutput();
}

TEST_F(FetchTest, ResumesAKilledDownloadWithRange) {
  KillPartWay();
  int64_t partial = FileSize(out_ + ".certbroker-part");
  CommandResult result = Fetch(Url("exportable.test", "/slow/data.bin"),
                               {"--sha256=" + Sha256Hex(data_)});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(ReadFile(out_) == data_);
  EXPECT_FALSE(Exists(out_ + ".certbroker-part"));
  EXPECT_FALSE(Exists(out_ + ".certbroker-part.meta"));
  // The part file may have grown between the size check and the kill.
  std::string ranged = RangedRequest();
  EXPECT_THAT(ranged,
              HasSubstr("GET /slow/data.bin HTTP/1.1 206 range=\"bytes="));
  EXPECT_THAT(ranged, HasSubstr("if_range=\"\\x22"));  // nginx escapes '"'.
  int64_t resumed_at = 0;
  std::string range = ranged.substr(ranged.find("bytes=") + 6);
  ASSERT_TRUE(absl::SimpleAtoi(range.substr(0, range.find('-')), &resumed_at));
  EXPECT_GE(resumed_at, partial);
  EXPECT_THAT(result.out,
              HasSubstr(absl::StrCat("resumed at byte ", resumed_at)));
  EXPECT_THAT(result.err,
              HasSubstr(absl::StrCat("resuming at byte ", resumed_at)));
}

TEST_F(FetchTest, ResumesWithoutHashing) {
  KillPartWay();
  CommandResult result = Fetch(Url("exportable.test", "/slow/data.bin"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(ReadFile(out_) == data_);
  EXPECT_THAT(result.out, HasSubstr(", resumed at byte "));
  EXPECT_THAT(result.out, Not(HasSubstr("sha256")));
  EXPECT_THAT(RangedRequest(), HasSubstr(" 206 range="));
}

TEST_F(FetchTest, RestartsFromZeroWhenTheFileChanged) {
  KillPartWay();
  std::string changed = MakeData(data_.size() + 1000, 2);
  dir_.Write("www/files/data.bin", changed);
  struct timeval times[2];
  ::gettimeofday(&times[0], nullptr);
  times[0].tv_sec += 100;  // A new mtime, so a new ETag and Last-Modified.
  times[1] = times[0];
  ASSERT_EQ(::utimes(dir_.Path("www/files/data.bin").c_str(), times), 0);
  CommandResult result = Fetch(Url("exportable.test", "/slow/data.bin"),
                               {"--sha256=" + Sha256Hex(changed)});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(ReadFile(out_) == changed);
  EXPECT_FALSE(Exists(out_ + ".certbroker-part"));
  EXPECT_FALSE(Exists(out_ + ".certbroker-part.meta"));
  // The Range was sent with If-Range, and nginx answered the whole file.
  std::string ranged = RangedRequest();
  EXPECT_THAT(ranged,
              HasSubstr("GET /slow/data.bin HTTP/1.1 200 range=\"bytes="));
  EXPECT_THAT(ranged, HasSubstr("if_range=\"\\x22"));
  EXPECT_THAT(result.err, HasSubstr("restarting from zero: the server sent the "
                                    "whole file instead of the range"));
  EXPECT_THAT(result.out, HasSubstr("restarted from zero"));
}

TEST_F(FetchTest, UnwritableDestinationIsLocalFile) {
  out_ = dir_.Path("no/such/dir/data.bin");
  CommandResult result = Fetch(Url("exportable.test", "/files/data.bin"));
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_THAT(result.err, HasSubstr("context: LOCAL_FILE\n"));
  EXPECT_THAT(result.err,
              HasSubstr(absl::StrCat("cannot create ", out_,
                                     ".certbroker-part: No such file or "
                                     "directory")));
  EXPECT_FALSE(Exists(dir_.Path("no")));
  EXPECT_THAT(AccessLog(), ::testing::IsEmpty());
}

TEST_F(FetchTest, WrongSha256LeavesNothing) {
  std::string wrong(64, '0');
  CommandResult result =
      Fetch(Url("exportable.test", "/files/data.bin"), {"--sha256=" + wrong});
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_THAT(result.err,
              HasSubstr(absl::StrCat("REMOTE_FILE: SHA-256 mismatch: expected ",
                                     wrong, ", got ", Sha256Hex(data_))));
  ExpectNoOutput();
}

TEST_F(FetchTest, WrongExpectedSizeLeavesNothing) {
  CommandResult result = Fetch(Url("exportable.test", "/files/data.bin"),
                               {"--expected_size=1000"});
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_THAT(result.err,
              HasSubstr("the file is larger than the expected 1000 bytes"));
  ExpectNoOutput();
}

TEST_F(FetchTest, MalformedUrlIsUsageError) {
  struct Case {
    std::string url;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"not a url", "contains spaces or control characters"},
           {"exportable.test/files/data.bin", "not an absolute URL"},
           {"http://exportable.test/x", "scheme \"http\" is not supported"},
           {"https://exportable.test:99999/x", "invalid port \"99999\""},
           {"https:///x", "no host"},
           {"https://user@exportable.test/x", "user information"}}) {
    CommandResult result = Fetch(c.url);
    EXPECT_EQ(result.exit_code, 1) << c.url << ": " << result.err;
    EXPECT_THAT(result.err, HasSubstr(absl::StrCat(
                                "certbroker-agent fetch: malformed URL \"",
                                c.url, "\": ", c.message)));
  }
  ExpectNoOutput();
  EXPECT_THAT(AccessLog(), ::testing::IsEmpty());
}

TEST_F(FetchTest, BadFlagsAreUsageErrors) {
  CommandResult result =
      RunCommand({kAgent, "fetch", Url("exportable.test", "/x")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("fetch needs -o FILE"));
  result = RunCommand({kAgent, "fetch", Url("exportable.test", "/x"), "-o",
                       out_, "--sha256=abc"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("--sha256 must be 64 hex digits"));
  result = RunCommand({kAgent, "fetch", "--bogus"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("unknown flag \"--bogus\""));
  result = RunCommand({kAgent, "fetch", "--help"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_THAT(result.out, HasSubstr("  5  SERVER_CERTIFICATE"));
  EXPECT_THAT(result.out, HasSubstr("  6  BROKER_UNAVAILABLE"));
}

TEST_F(FetchTest, FollowsARedirect) {
  CommandResult result = Fetch(Url("exportable.test", "/old/data.bin"),
                               {"--sha256=" + Sha256Hex(data_)});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(ReadFile(out_) == data_);
  EXPECT_THAT(result.err, HasSubstr(absl::StrCat(
                              "redirected (302) to ",
                              Url("exportable.test", "/files/data.bin"))));
  std::vector<std::string> log = AccessLog();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_THAT(log[0], HasSubstr("GET /old/data.bin HTTP/1.1 302"));
  EXPECT_THAT(log[1], HasSubstr("GET /files/data.bin HTTP/1.1 200"));
}

TEST_F(FetchTest, RedirectToAnotherHostGetsItsOwnBrokerDecision) {
  CommandResult result = Fetch(Url("exportable.test", "/elsewhere"));
  EXPECT_EQ(result.exit_code, 5) << result.err;
  EXPECT_THAT(result.err, HasSubstr(absl::StrCat(
                              "redirected (302) to ",
                              Url("untrusted.test", "/files/data.bin"))));
  EXPECT_THAT(result.err, HasSubstr("broker_reason: UNTRUSTED_ROOT\n"));
  EXPECT_THAT(result.err,
              HasSubstr(absl::StrCat(
                  "url: ", Url("untrusted.test", "/files/data.bin"), "\n")));
  // Only the first request reached nginx.
  EXPECT_THAT(AccessLog(),
              ::testing::ElementsAre(HasSubstr("GET /elsewhere HTTP/1.1 302")));
  ExpectNoOutput();
}

TEST_F(FetchTest, RedirectLoopIsBounded) {
  CommandResult result = Fetch(Url("exportable.test", "/loop"));
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_THAT(result.err, HasSubstr("too many redirects (more than 5)"));
  EXPECT_EQ(AccessLog().size(), 6u);
  ExpectNoOutput();
}

TEST_F(FetchTest, ReadsAChunkedResponse) {
  std::string text;
  for (int i = 0; i < 50000; ++i) absl::StrAppend(&text, "line ", i, " FOO\n");
  dir_.Write("www/files/text.txt", text);
  std::string expected = absl::StrReplaceAll(text, {{"FOO", "BAR"}});
  CommandResult result = Fetch(Url("exportable.test", "/chunked/text.txt"),
                               {"--sha256=" + Sha256Hex(expected)});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(ReadFile(out_) == expected);
  // No Content-Length: progress lines without a total.
  EXPECT_THAT(result.err, HasSubstr(absl::StrCat("progress: ", expected.size(),
                                                 " bytes\n")));
  EXPECT_THAT(AccessLog(), ::testing::ElementsAre(HasSubstr(
                               "GET /chunked/text.txt HTTP/1.1 200 range=\"-\" "
                               "if_range=\"-\" client=\"CN=sdk-client\" "
                               "te=\"chunked\"")));
}

TEST_F(FetchTest, IgnoresALocalErrorOnlyWhenAskedAndAllowed) {
  // lenient.test: mode BOTH, the rule allows HOSTNAME_MISMATCH, nginx's
  // certificate does not name it.
  std::string trust = "--trust_store=" + dir_.Path("pki/server-root.pem");
  CommandResult refused =
      Fetch(Url("lenient.test", "/files/data.bin"), {trust});
  EXPECT_EQ(refused.exit_code, 5) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("broker_reason: AGENT_REJECTED\n"));
  EXPECT_THAT(refused.err, HasSubstr("(local check: Hostname mismatch)"));
  EXPECT_THAT(AccessLog(), ::testing::IsEmpty());

  CommandResult result = Fetch(Url("lenient.test", "/files/data.bin"),
                               {trust, "--ignore_local_error=HOSTNAME_MISMATCH",
                                "--sha256=" + Sha256Hex(data_)});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(ReadFile(out_) == data_);

  CommandResult bad = Fetch(Url("lenient.test", "/files/data.bin"),
                            {"--ignore_local_error=NOPE"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err,
              HasSubstr("--ignore_local_error must be a local check error"));
}

TEST_F(FetchTest, SilentServerTimesOutInTheHandshake) {
  // A listening socket nobody accepts: TCP connects, TLS never answers.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length),
            0);
  int silent_port = ntohs(address.sin_port);
  std::vector<std::string> argv =
      Args(absl::StrCat("https://exportable.test:", silent_port, "/x"),
           {"--connect_timeout=1"});
  absl::Time start = absl::Now();
  CommandResult result = RunCommand(argv, absl::Seconds(60));
  ::close(fd);
  EXPECT_EQ(result.exit_code, 4) << result.err;
  EXPECT_THAT(result.err, HasSubstr(absl::StrCat(
                              "TRANSPORT: timed out in the TLS handshake with "
                              "exportable.test:",
                              silent_port)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
  ExpectNoOutput();
}

}  // namespace
}  // namespace certbroker::testing

// certbroker-agent daemon and job end to end: the real daemon binary on a
// temporary Unix socket, driven by the real job CLI, downloading from a
// real nginx (ssl_verify_client on) with certificates decided by a real
// certbrokerd. Also the daemon's socket rules and its clean stop.
#include <signal.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "broker/x509/certificate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agents/tls/tls_test_env.h"
#include "tests/support/command_runner.h"
#include "tests/support/file_probes.h"

namespace certbroker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAgent[] = CERTBROKER_AGENT_PATH;

using x509::Sha256Hex;

class DaemonTest : public BrokerBackedTest {
 protected:
  void SetUp() override {
    BrokerBackedTest::SetUp();
    if (HasFatalFailure()) return;
    data_ = MakeData(2 << 20, 7);
    dir_.Write("www/files/data.bin", data_);
    dir_.Write("out/.keep", "");
    NginxOptions options;
    // /slow/ is rate-limited, so a job can be caught transferring.
    options.locations = absl::StrCat(R"(
    location /files/ { }
    location /slow/ {
      alias )",
                                     dir_.Path("www/files/"), R"(;
      limit_rate 128k;
    })");
    auto nginx = StartNginx(dir_, options, port_);
    ASSERT_TRUE(nginx.ok()) << nginx.status();
    nginx_ = std::move(nginx).value();
    socket_ = dir_.Path("run/agent.sock");
    StartDaemon();
  }

  void TearDown() override {
    if (daemon_ != nullptr) {
      ::kill(daemon_->pid(), SIGTERM);
      EXPECT_EQ(daemon_->Wait(absl::Seconds(30)), 0) << daemon_->Log();
    }
  }

  std::vector<std::string> DaemonArgs() {
    return {kAgent,
            "daemon",
            "--socket",
            socket_,
            "--database",
            dir_.Path("agent.db"),
            "--broker=" + broker_->addresses()[0],
            "--connect_timeout=30",
            "--idle_timeout=30",
            "--min_retry_delay=1"};
  }

  void StartDaemon() {
    auto daemon = ChildProcess::Start(DaemonArgs(), dir_.Path("daemon.log"));
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = std::move(daemon).value();
    ASSERT_TRUE(daemon_->WaitForLog("serving on unix:", absl::Seconds(30)))
        << daemon_->Log();
  }

  std::string Url(const std::string& path) {
    return absl::StrCat("https://exportable.test:", port_, path);
  }

  CommandResult Job(std::vector<std::string> args,
                    absl::Duration timeout = absl::Seconds(60)) {
    std::vector<std::string> argv = {kAgent, "job"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--socket=" + socket_);
    return RunCommand(argv, timeout);
  }

  // Create makes a job with exportable.test resolved to nginx and returns
  // its id.
  std::string Create(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"create", "--name", "test job",
                                     "--resolve=exportable.test:127.0.0.1"};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult created = Job(args);
    EXPECT_EQ(created.exit_code, 0) << created.err;
    return std::string(absl::StripTrailingAsciiWhitespace(created.out));
  }

  std::string data_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> nginx_;
  std::unique_ptr<ChildProcess> daemon_;
  std::string socket_;
};

TEST_F(DaemonTest, CreateAddResumeWatchCompletePutsTheFileInPlace) {
  std::string id = Create();
  ASSERT_EQ(id.size(), 36u) << id;
  std::string out = dir_.Path("out/data.bin");
  CommandResult added =
      Job({"add", id, Url("/files/data.bin"), out, "--sha256", Sha256Hex(data_),
           "--expected_size", std::to_string(data_.size())});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_THAT(added.out, HasSubstr("SUSPENDED  files 0/1"));
  ASSERT_EQ(Job({"resume", id}).exit_code, 0);

  CommandResult watched = Job({"watch", id}, absl::Seconds(90));
  ASSERT_EQ(watched.exit_code, 0) << watched.err;
  EXPECT_EQ(watched.out, "TRANSFERRED\n");
  EXPECT_THAT(watched.err, HasSubstr("TRANSFERRED  files 1/1"));
  EXPECT_FALSE(Exists(out)) << "in place before CompleteJob";

  CommandResult listed = Job({"list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out,
            absl::StrCat("ID                                    STATE          "
                         "  FILES    BYTES                  NAME\n",
                         id,
                         "  TRANSFERRED      1/1      2.0 MiB / 2.0 MiB      "
                         "test job\n"));

  CommandResult shown = Job({"show", id});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("state: TRANSFERRED\n"));
  EXPECT_THAT(shown.out, HasSubstr("name: test job\n"));
  EXPECT_THAT(shown.out,
              HasSubstr(absl::StrCat("file 0: ", Url("/files/data.bin"), " -> ",
                                     out, "\n")));
  EXPECT_THAT(shown.out,
              HasSubstr(absl::StrCat("  sha256: ", Sha256Hex(data_), "\n")));

  CommandResult completed = Job({"complete", id});
  ASSERT_EQ(completed.exit_code, 0) << completed.err;
  EXPECT_THAT(completed.out, HasSubstr("ACKNOWLEDGED"));
  EXPECT_EQ(Sha256Hex(ReadFile(out)), Sha256Hex(data_));
  EXPECT_FALSE(Exists(out + ".certbroker-part"));

  CommandResult json = Job({"show", id, "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"state\": \"ACKNOWLEDGED\""));
  EXPECT_THAT(Job({"list"}).out, Not(HasSubstr(id)));
  EXPECT_THAT(Job({"list", "--all"}).out, HasSubstr(id));
}

TEST_F(DaemonTest, SuspendStopsAndResumeFinishes) {
  std::string out = dir_.Path("out/slow.bin");
  std::string id = Create({"--resume", Url("/slow/data.bin"), out});
  CommandResult transferring =
      Job({"watch", id, "--until", "TRANSFERRING"}, absl::Seconds(60));
  ASSERT_EQ(transferring.exit_code, 0) << transferring.err;
  EXPECT_EQ(transferring.out, "TRANSFERRING\n");
  CommandResult suspended = Job({"suspend", id});
  ASSERT_EQ(suspended.exit_code, 0) << suspended.err;
  EXPECT_THAT(suspended.out, HasSubstr("SUSPENDED"));
  EXPECT_THAT(Job({"show", id}).out, HasSubstr("state: SUSPENDED\n"));
  ASSERT_EQ(Job({"resume", id}).exit_code, 0);
  CommandResult watched = Job({"watch", id}, absl::Seconds(120));
  ASSERT_EQ(watched.exit_code, 0) << watched.err;
  ASSERT_EQ(Job({"complete", id}).exit_code, 0);
  EXPECT_EQ(Sha256Hex(ReadFile(out)), Sha256Hex(data_));
}

TEST_F(DaemonTest, CancelRemovesThePartFile) {
  std::string out = dir_.Path("out/cancelled.bin");
  std::string id = Create({"--resume", Url("/slow/data.bin"), out});
  ASSERT_EQ(Job({"watch", id, "--until", "TRANSFERRING"}).exit_code, 0);
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (FileSize(out + ".certbroker-part") <= 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_GT(FileSize(out + ".certbroker-part"), 0);
  CommandResult cancelled = Job({"cancel", id});
  ASSERT_EQ(cancelled.exit_code, 0) << cancelled.err;
  EXPECT_THAT(cancelled.out, HasSubstr("CANCELLED"));
  EXPECT_FALSE(Exists(out + ".certbroker-part"));
  EXPECT_FALSE(Exists(out));
  CommandResult watched = Job({"watch", id});
  EXPECT_EQ(watched.exit_code, 8) << watched.err;
  EXPECT_THAT(watched.err, HasSubstr("was cancelled"));
}

TEST_F(DaemonTest, NotFoundIsRemoteFileErrorAndExitCode3) {
  std::string id =
      Create({"--resume", Url("/files/missing.bin"), dir_.Path("out/m.bin")});
  CommandResult watched = Job({"watch", id}, absl::Seconds(90));
  EXPECT_EQ(watched.exit_code, 3) << watched.err;
  EXPECT_EQ(watched.out, "ERROR\n");
  EXPECT_THAT(watched.err,
              HasSubstr("context: REMOTE_FILE\nhttp_status: 404\n"));
  CommandResult shown = Job({"show", id});
  EXPECT_THAT(shown.out, HasSubstr("state: ERROR\n"));
  EXPECT_THAT(shown.out, HasSubstr("  context: REMOTE_FILE\n"));
  EXPECT_THAT(shown.out, HasSubstr("  http_status: 404\n"));
  EXPECT_FALSE(Exists(dir_.Path("out/m.bin")));
}

TEST_F(DaemonTest, MalformedUrlIsRefusedByAdd) {
  std::string id = Create();
  CommandResult added =
      Job({"add", id, "http://exportable.test/x", dir_.Path("out/x")});
  EXPECT_EQ(added.exit_code, 1);
  EXPECT_THAT(added.err, HasSubstr("certbroker-agent job: "));
  EXPECT_THAT(added.err,
              HasSubstr(".url: malformed URL \"http://exportable.test/x\": "
                        "scheme \"http\" is not supported (only https)"));
  CommandResult unknown = Job({"show", "no-such-job"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("certbroker-agent job: "));
}

TEST_F(DaemonTest, SocketIsPrivateAndASecondDaemonIsRefused) {
  struct stat st {};
  ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir_.Path("run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::vector<std::string> second = DaemonArgs();
  second[5] = dir_.Path("other.db");
  CommandResult refused = RunCommand(second, absl::Seconds(30));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(
      refused.err,
      HasSubstr(absl::StrCat("another agent daemon is serving on ", socket_)));
  EXPECT_EQ(Job({"list"}).exit_code, 0) << "the first daemon was disturbed";
}

TEST_F(DaemonTest, StopsCleanlyAndTheCliSaysItIsGone) {
  std::string id = Create();
  ::kill(daemon_->pid(), SIGTERM);
  EXPECT_EQ(daemon_->Wait(absl::Seconds(30)), 0) << daemon_->Log();
  EXPECT_THAT(daemon_->Log(), HasSubstr("stopped (SIGTERM)"));
  daemon_.reset();
  EXPECT_FALSE(Exists(socket_));
  CommandResult gone = Job({"list"});
  EXPECT_EQ(gone.exit_code, 9);
  EXPECT_THAT(gone.err, HasSubstr(absl::StrCat(
                            "cannot reach the agent daemon at unix:", socket_,
                            ": is `certbroker-agent daemon` running?")));
  // The job survives a restart.
  StartDaemon();
  EXPECT_THAT(Job({"show", id}).out, HasSubstr("state: SUSPENDED\n"));
}

}  // namespace
}  // namespace certbroker::testing

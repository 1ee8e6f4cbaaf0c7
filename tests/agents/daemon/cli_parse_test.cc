// The parsing and rendering of `certbroker-agent job` and `daemon`, without
// a daemon: command lines into requests and options, the list table, and
// watch's exit codes.
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agents/agent/daemon_command.h"
#include "agents/agent/exit_codes.h"
#include "agents/agent/flag_parser.h"
#include "agents/agent/job_command.h"
#include "agents/agent/job_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace certbroker::agent_cli {
namespace {

namespace v1 = ::certbroker::agent::v1;
using ::testing::HasSubstr;

TEST(ParseArgsTest, SplitsValuedBooleanAndPositional) {
  auto parsed = ParseArgs({"a", "--x=1", "--y", "2", "-z", "b", "--", "--c"},
                          {"x", "y"}, {"z"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->positional, (std::vector<std::string>{"a", "b", "--c"}));
  ASSERT_EQ(parsed->flags.size(), 3u);
  EXPECT_EQ(parsed->flags[0], (std::pair<std::string, std::string>{"x", "1"}));
  EXPECT_EQ(parsed->flags[1], (std::pair<std::string, std::string>{"y", "2"}));
  EXPECT_EQ(parsed->flags[2], (std::pair<std::string, std::string>{"z", ""}));
}

TEST(ParseArgsTest, RejectsUnknownMissingValueAndValuedBoolean) {
  EXPECT_EQ(ParseArgs({"--nope"}, {"x"}).status().message(),
            "unknown flag \"--nope\"");
  EXPECT_EQ(ParseArgs({"--x"}, {"x"}).status().message(),
            "flag \"--x\" needs a value");
  EXPECT_EQ(ParseArgs({"--z=1"}, {}, {"z"}).status().message(),
            "flag \"--z\" takes no value");
}

TEST(ParseValuesTest, ChecksEachKind) {
  EXPECT_EQ(*ParseSeconds("t", "1.5"), absl::Milliseconds(1500));
  EXPECT_EQ(ParseSeconds("t", "0").status().message(),
            "--t must be a positive number of seconds, not \"0\"");
  EXPECT_EQ(ParseByteCount("n", "-1").status().message(),
            "--n must be a number of bytes, not \"-1\"");
  EXPECT_EQ(*ParseSha256(std::string(64, 'A')), std::string(64, 'a'));
  EXPECT_EQ(ParseSha256("abc").status().message(),
            "--sha256 must be 64 hex digits, not \"abc\"");
  EXPECT_EQ(ParseInt("n", "51", 0, 50).status().message(),
            "--n must be 0..50, not \"51\"");
}

TEST(JobCommandLineTest, CreateBuildsTheRequest) {
  auto line = ParseJobCommandLine(
      {"create", "--name", "nightly", "--priority=high",
       "--min_retry_delay=2.5", "--no_progress_timeout", "600",
       "--ignore_local_error", "hostname_mismatch", "--resolve",
       "Files.Test:127.0.0.1", "--resume", "https://a.test/x", "out/x",
       "https://a.test/y", "/abs/y", "--socket", "/run/s.sock"},
      "/home/u");
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->subcommand, "create");
  EXPECT_EQ(line->socket_path, "/run/s.sock");
  EXPECT_TRUE(line->resume_after_create);
  const v1::CreateJobRequest& request = line->create;
  EXPECT_EQ(request.display_name(), "nightly");
  EXPECT_EQ(request.priority(), v1::HIGH);
  ASSERT_EQ(request.files_size(), 2);
  EXPECT_EQ(request.files(0).url(), "https://a.test/x");
  EXPECT_EQ(request.files(0).local_path(), "/home/u/out/x");
  EXPECT_EQ(request.files(1).local_path(), "/abs/y");
  EXPECT_EQ(request.options().min_retry_delay().seconds(), 2);
  EXPECT_EQ(request.options().min_retry_delay().nanos(), 500000000);
  EXPECT_EQ(request.options().no_progress_timeout().seconds(), 600);
  ASSERT_EQ(request.options().ignore_local_errors_size(), 1);
  EXPECT_EQ(request.options().ignore_local_errors(0),
            certbroker::v1::HOSTNAME_MISMATCH);
  EXPECT_EQ(request.options().resolve().at("files.test"), "127.0.0.1");
}

TEST(JobCommandLineTest, AddTakesOneFileWithItsChecks) {
  auto line = ParseJobCommandLine(
      {"add", "J1", "https://a.test/x", "./x.bin", "--sha256",
       std::string(64, 'F'), "--expected_size=42"},
      "/work");
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->add.job_id(), "J1");
  ASSERT_EQ(line->add.files_size(), 1);
  EXPECT_EQ(line->add.files(0).local_path(), "/work/x.bin");
  EXPECT_EQ(line->add.files(0).sha256(), std::string(64, 'f'));
  EXPECT_EQ(line->add.files(0).expected_size(), 42u);
  EXPECT_EQ(line->socket_path, "var/certbroker-agent.sock");
}

TEST(JobCommandLineTest, RejectsBadCommandLinesNamingTheProblem) {
  auto message = [](const std::vector<std::string>& args) {
    return std::string(ParseJobCommandLine(args, "/").status().message());
  };
  EXPECT_EQ(message({}), "job needs a subcommand");
  EXPECT_EQ(message({"frobnicate"}), "unknown subcommand \"frobnicate\"");
  EXPECT_EQ(message({"create", "https://a.test/x"}),
            "create takes files as URL PATH pairs: the last URL has no PATH");
  EXPECT_EQ(message({"add", "J1", "https://a.test/x"}),
            "add takes ID URL PATH (one file per add), got 2 arguments");
  EXPECT_EQ(message({"resume"}), "resume takes one job ID, got 0 arguments");
  EXPECT_EQ(message({"list", "x"}), "list takes no arguments");
  EXPECT_EQ(message({"show", "J1", "--sha256=x"}),
            "unknown flag \"--sha256=x\"");
  EXPECT_EQ(message({"create", "--priority", "urgent"}),
            "--priority must be foreground, high, normal or low, not "
            "\"urgent\"");
  EXPECT_THAT(message({"watch", "J1", "--until", "DONE"}),
              HasSubstr("--until must be a job state"));
  EXPECT_THAT(message({"create", "--ignore_local_error", "SLOPPY"}),
              HasSubstr("--ignore_local_error must be a local check error"));
}

TEST(JobCommandLineTest, WatchUntilAndListAll) {
  auto watch = ParseJobCommandLine(
      {"watch", "J1", "--until", "transferring", "--until=SUSPENDED"}, "/");
  ASSERT_TRUE(watch.ok()) << watch.status();
  EXPECT_EQ(watch->until,
            (std::vector<v1::JobState>{v1::TRANSFERRING, v1::SUSPENDED}));
  auto list = ParseJobCommandLine({"list", "--all"}, "/");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_TRUE(list->include_ended);
}

TEST(WatchExitCodeTest, FollowsTheFinalState) {
  v1::Job job;
  job.set_state(v1::TRANSFERRED);
  EXPECT_EQ(WatchExitCode(job, {}), kExitOk);
  job.set_state(v1::ERROR);
  job.mutable_error()->set_context(v1::REMOTE_FILE);
  EXPECT_EQ(WatchExitCode(job, {}), kExitRemoteFile);
  job.mutable_error()->set_context(v1::SERVER_CERTIFICATE);
  EXPECT_EQ(WatchExitCode(job, {}), kExitServerCertificate);
  job.set_state(v1::CANCELLED);
  EXPECT_EQ(WatchExitCode(job, {}), kExitCancelled);
  job.set_state(v1::SUSPENDED);
  EXPECT_EQ(WatchExitCode(job, {v1::SUSPENDED}), kExitOk);
  EXPECT_EQ(WatchExitCode(job, {}), kExitNoDaemon);
}

TEST(JobFormatTest, TableShowsProgressPerJob) {
  v1::Job job;
  job.set_id("0b5c6a40-0000-4000-8000-000000000001");
  job.set_display_name("nightly");
  job.set_state(v1::TRANSFERRING);
  v1::JobFile* done = job.add_files();
  done->set_transferred(true);
  done->set_bytes_transferred(1024);
  done->set_bytes_total(1024);
  v1::JobFile* going = job.add_files();
  going->set_bytes_transferred(1024);
  going->set_bytes_total(3072);
  std::string table = FormatJobTable({job});
  EXPECT_THAT(table, HasSubstr("ID"));
  EXPECT_THAT(table, HasSubstr("0b5c6a40-0000-4000-8000-000000000001  "
                               "TRANSFERRING     1/2      2.0 KiB / 4.0 KiB"));
  EXPECT_THAT(table, HasSubstr("nightly"));
  going->set_bytes_total(-1);
  EXPECT_THAT(FormatJobTable({job}), HasSubstr("2.0 KiB "));
}

TEST(JobFormatTest, ShowHasTheErrorsDetails) {
  v1::Job job;
  job.set_state(v1::ERROR);
  v1::JobError& error = *job.mutable_error();
  error.set_context(v1::SERVER_CERTIFICATE);
  error.set_message("the broker rejected the server's certificate");
  error.set_broker_reason(certbroker::v1::UNTRUSTED_ROOT);
  error.set_decision_id("d-42");
  error.set_rule_name("untrusted");
  error.set_url("https://untrusted.test/x");
  std::string shown = FormatJob(job);
  EXPECT_THAT(shown, HasSubstr("state: ERROR\n"));
  EXPECT_THAT(shown, HasSubstr("  context: SERVER_CERTIFICATE\n"));
  EXPECT_THAT(shown, HasSubstr("  broker_reason: UNTRUSTED_ROOT\n"));
  EXPECT_THAT(shown, HasSubstr("  broker_decision_id: d-42\n"));
  EXPECT_THAT(shown, HasSubstr("  broker_rule: untrusted\n"));
  EXPECT_THAT(shown, HasSubstr("  message: the broker rejected"));
}

TEST(DaemonArgsTest, ReadsEveryFlag) {
  auto parsed =
      ParseDaemonArgs({"--socket=/run/a.sock", "--database", "/var/a.db",
                       "--broker=127.0.0.1:1", "--trust_store=/roots.pem",
                       "--max_concurrent_jobs=2", "--checkpoint_interval=0.5",
                       "--connect_timeout=3", "--idle_timeout=4",
                       "--min_retry_delay=5", "--no_progress_timeout=6"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const daemon::DaemonOptions& options = parsed->options;
  EXPECT_EQ(options.socket_path, "/run/a.sock");
  EXPECT_EQ(options.jobs.database_path, "/var/a.db");
  EXPECT_EQ(options.broker.address, "127.0.0.1:1");
  EXPECT_EQ(options.trust_store_pem_file, "/roots.pem");
  EXPECT_EQ(options.jobs.max_concurrent_jobs, 2);
  EXPECT_EQ(options.jobs.checkpoint_interval, absl::Milliseconds(500));
  EXPECT_EQ(options.jobs.connect_timeout, absl::Seconds(3));
  EXPECT_EQ(options.jobs.idle_timeout, absl::Seconds(4));
  EXPECT_EQ(options.jobs.default_min_retry_delay, absl::Seconds(5));
  EXPECT_EQ(options.jobs.default_no_progress_timeout, absl::Seconds(6));
}

TEST(DaemonArgsTest, DefaultsAndErrors) {
  auto parsed = ParseDaemonArgs({});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->options.socket_path, "var/certbroker-agent.sock");
  EXPECT_EQ(parsed->options.jobs.database_path, "var/certbroker-agent.db");
  EXPECT_EQ(parsed->options.broker.address, "unix:var/certbrokerd.sock");
  EXPECT_EQ(ParseDaemonArgs({"--max_concurrent_jobs=0"}).status().message(),
            "--max_concurrent_jobs must be 1..1000, not \"0\"");
  EXPECT_EQ(ParseDaemonArgs({"extra"}).status().message(),
            "daemon takes no arguments, got \"extra\"");
}

}  // namespace
}  // namespace certbroker::agent_cli

// The JobManager against a real nginx (ssl_verify_client on) and a real
// certbrokerd: jobs that transfer and complete, the broker's rejections and
// absence (and the retries that follow), a server file that changes
// between runs, a restart resuming from the journal, concurrency and
// priority, cancel, a full disk, and bad requests. nginx's access log
// shows what reached the server.
#include "agents/jobs/job_manager.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "broker/common/proto_duration.h"
#include "broker/x509/certificate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agents/jobs/job_test_support.h"
#include "tests/agents/tls/tls_test_env.h"

namespace certbroker::testing {
namespace {

using x509::Sha256Hex;

using agent::v1::Job;
using agent::v1::JobState;
using ::testing::HasSubstr;
using ::testing::Not;

class JobManagerTest : public JobPeersTest {
 protected:
  void SetUp() override {
    JobPeersTest::SetUp();
    if (HasFatalFailure()) return;
    OpenManager();
  }

  void OpenManager(int max_concurrent_jobs = 4) {
    jobs::JobManagerOptions options;
    options.database_path = dir_.Path("agent.db");
    options.max_concurrent_jobs = max_concurrent_jobs;
    options.checkpoint_interval = absl::Milliseconds(200);
    options.connect_timeout = absl::Seconds(20);
    options.idle_timeout = absl::Seconds(20);
    options.default_min_retry_delay = absl::Seconds(1);
    auto manager = jobs::JobManager::Open(options, *binding_);
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = std::move(manager).value();
  }

  // NewJob creates a job with `files` ({url, local_path} pairs) and
  // `options`, and resumes it unless `resume` is false.
  std::string NewJob(const std::vector<agent::v1::FileSpec>& files,
                     const agent::v1::JobOptions& options = {},
                     agent::v1::Priority priority = agent::v1::NORMAL,
                     bool resume = true) {
    agent::v1::CreateJobRequest request;
    request.set_display_name("test job");
    request.set_priority(priority);
    for (const auto& file : files) *request.add_files() = file;
    *request.mutable_options() = options;
    (*request.mutable_options()->mutable_resolve())["exportable.test"] =
        "127.0.0.1";
    for (const char* host : {"keyless.test", "untrusted.test", "nginx.test",
                             "lenient.test", "strict.test", "nocert.test"}) {
      (*request.mutable_options()->mutable_resolve())[host] = "127.0.0.1";
    }
    auto job = manager_->Create(request);
    EXPECT_TRUE(job.ok()) << job.status();
    if (!job.ok()) return "";
    EXPECT_EQ(job->state(), agent::v1::SUSPENDED);
    if (resume) {
      auto resumed = manager_->Resume(job->id());
      EXPECT_TRUE(resumed.ok()) << resumed.status();
    }
    return job->id();
  }

  // WaitFor polls the job until `done` holds (at most `timeout`) and
  // returns it as last seen.
  Job WaitFor(const std::string& id,
              const std::function<bool(const Job&)>& done,
              absl::Duration timeout = absl::Seconds(60)) {
    absl::Time deadline = absl::Now() + timeout;
    Job job;
    while (absl::Now() < deadline) {
      auto got = manager_->Get(id);
      EXPECT_TRUE(got.ok()) << got.status();
      if (!got.ok()) return job;
      job = *got;
      if (done(job)) return job;
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << "timed out; the job is " << job.DebugString()
                  << "\nnginx: " << nginx_->Log();
    return job;
  }

  Job WaitForState(const std::string& id, JobState state,
                   absl::Duration timeout = absl::Seconds(60)) {
    return WaitFor(
        id, [state](const Job& job) { return job.state() == state; }, timeout);
  }

  std::unique_ptr<jobs::JobManager> manager_;
};

TEST_F(JobManagerTest, TransfersTwoFilesOverOneConnectionAndCompletes) {
  std::string first = Out("first.bin"), second = Out("second.bin");
  std::string id = NewJob(
      {File(Url("exportable.test", "/files/data.bin"), first, Sha256Hex(data_)),
       File(Url("exportable.test", "/files/small.bin"), second)});
  Job job = WaitForState(id, agent::v1::TRANSFERRED);
  ASSERT_EQ(job.files_size(), 2);
  EXPECT_TRUE(job.files(0).transferred());
  EXPECT_EQ(job.files(0).sha256(), Sha256Hex(data_));
  EXPECT_EQ(job.files(0).bytes_transferred(), data_.size());
  EXPECT_EQ(job.files(0).bytes_total(), static_cast<int64_t>(data_.size()));
  EXPECT_EQ(job.files(1).sha256(), Sha256Hex(small_));
  EXPECT_FALSE(job.has_error());
  EXPECT_TRUE(job.has_transfer_completion_time());
  // Until the job is completed, the files wait beside their targets.
  EXPECT_FALSE(Exists(first));
  EXPECT_TRUE(Exists(first + ".certbroker-part"));

  auto completed = manager_->Complete(id);
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_EQ(completed->state(), agent::v1::ACKNOWLEDGED);
  EXPECT_TRUE(ReadFile(first) == data_);
  EXPECT_TRUE(ReadFile(second) == small_);
  EXPECT_FALSE(Exists(first + ".certbroker-part"));
  EXPECT_FALSE(Exists(first + ".certbroker-part.meta"));
  std::vector<std::string> log = AccessLog();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_THAT(log[0], HasSubstr("GET /files/data.bin HTTP/1.1 200"));
  EXPECT_THAT(log[1], HasSubstr("GET /files/small.bin HTTP/1.1 200"));
  EXPECT_THAT(log[0], HasSubstr("client=\"CN=sdk-client\""));
  // Ended jobs are listed only when asked.
  EXPECT_TRUE(manager_->List(false).empty());
  ASSERT_EQ(manager_->List(true).size(), 1u);
  auto again = manager_->Complete(id);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.status().message(),
            absl::StrCat("job ", id,
                         " is ACKNOWLEDGED; only a TRANSFERRED job can be "
                         "completed"));
}

TEST_F(JobManagerTest, CompleteGoesOnFromWhereAFailedOneStopped) {
  std::string first = Out("c1.bin"), second = Out("c2.bin");
  std::string id =
      NewJob({File(Url("exportable.test", "/files/data.bin"), first),
              File(Url("exportable.test", "/files/small.bin"), second)});
  WaitForState(id, agent::v1::TRANSFERRED);
  // The second file's part goes missing: the first is put in place, the
  // job stays TRANSFERRED and says which file failed.
  ASSERT_EQ(::rename((second + ".certbroker-part").c_str(),
                     (second + ".aside").c_str()),
            0);
  auto failed = manager_->Complete(id);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(failed.status().message(),
              HasSubstr(": LOCAL_FILE: cannot put file 1 in place: no part "
                        "file "));
  Job job = *manager_->Get(id);
  EXPECT_EQ(job.state(), agent::v1::TRANSFERRED);
  EXPECT_TRUE(job.files(0).in_place());
  EXPECT_FALSE(job.files(1).in_place());
  EXPECT_EQ(job.error().context(), agent::v1::LOCAL_FILE);
  EXPECT_EQ(job.error().file_index(), 1);
  EXPECT_TRUE(ReadFile(first) == data_);

  // As if a crash came between the second rename and its journal entry:
  // the file is at its destination with the right SHA-256.
  ASSERT_EQ(::rename((second + ".aside").c_str(), second.c_str()), 0);
  auto completed = manager_->Complete(id);
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_EQ(completed->state(), agent::v1::ACKNOWLEDGED);
  EXPECT_TRUE(completed->files(1).in_place());
  EXPECT_FALSE(completed->has_error());
  EXPECT_TRUE(ReadFile(second) == small_);
}

TEST_F(JobManagerTest, TransfersWithKeylessClientCertificate) {
  v1::GetClientCertificateRequest request;
  *request.mutable_target() = MakeTarget("keyless.test", port_);
  auto answer = client_->GetClientCertificate(request);
  ASSERT_TRUE(answer.ok()) << answer.status();
  ASSERT_TRUE(answer->private_key().empty());
  std::string out = Out("keyless.bin");
  std::string id = NewJob(
      {File(Url("keyless.test", "/files/data.bin"), out, Sha256Hex(data_))});
  Job job = WaitForState(id, agent::v1::TRANSFERRED);
  EXPECT_EQ(job.files(0).sha256(), Sha256Hex(data_));
  ASSERT_TRUE(manager_->Complete(id).ok());
  EXPECT_TRUE(ReadFile(out) == data_);
  EXPECT_THAT(AccessLog(),
              ::testing::ElementsAre(HasSubstr("200 range=\"-\" if_range=\"-\" "
                                               "client=\"CN=sdk-client\"")));
}

TEST_F(JobManagerTest, RejectedServerCertificateIsTransientUntilPolicyFixed) {
  agent::v1::JobOptions options;
  SetWholeSeconds(absl::Hours(1), *options.mutable_min_retry_delay());
  std::string out = Out("untrusted.bin");
  std::string id =
      NewJob({File(Url("untrusted.test", "/files/data.bin"), out)}, options);
  Job job = WaitForState(id, agent::v1::TRANSIENT_ERROR);
  EXPECT_EQ(job.error().context(), agent::v1::SERVER_CERTIFICATE);
  EXPECT_EQ(job.error().broker_reason(), v1::UNTRUSTED_ROOT);
  EXPECT_EQ(job.error().rule_name(), "untrusted");
  EXPECT_FALSE(job.error().decision_id().empty());
  EXPECT_TRUE(job.error().transient());
  EXPECT_EQ(job.error().file_index(), 0);
  EXPECT_THAT(
      job.error().message(),
      HasSubstr("the broker rejected the certificate of untrusted.test"));
  EXPECT_EQ(job.error_count(), 1);
  EXPECT_TRUE(job.has_next_retry_time());
  EXPECT_TRUE(AccessLog().empty()) << "a request reached the server";

  ReloadBroker(absl::StrReplaceAll(
      BrokerConfig(), {{"trust_bundles: [other-roots], mode: BROKER",
                        "trust_bundles: [server-roots], mode: BROKER"}}));
  ASSERT_TRUE(manager_->Resume(id).ok());
  job = WaitForState(id, agent::v1::TRANSFERRED);
  EXPECT_EQ(job.files(0).sha256(), Sha256Hex(data_));
  // The last error stays visible until the job transfers.
  EXPECT_FALSE(job.has_error());
}

TEST_F(JobManagerTest, BrokerDownMidJobRetriesByItselfWithoutSending) {
  // File 0 comes slowly over a connection verified before the broker
  // stops; file 1 is on another host, whose connection needs the broker.
  std::string slow = Out("slow.bin"), other = Out("other.bin");
  std::string id =
      NewJob({File(Url("exportable.test", "/slow/small.bin"), slow),
              File(Url("nginx.test", "/files/data.bin"), other)});
  WaitFor(id, [](const Job& job) {
    return job.state() == agent::v1::TRANSFERRING &&
           job.files(0).bytes_transferred() > 0;
  });
  StopBroker();
  Job job = WaitForState(id, agent::v1::TRANSIENT_ERROR);
  EXPECT_EQ(job.error().context(), agent::v1::BROKER_UNAVAILABLE)
      << job.DebugString();
  EXPECT_EQ(job.error().file_index(), 1);
  EXPECT_TRUE(job.files(0).transferred());
  EXPECT_FALSE(job.files(1).transferred());
  EXPECT_THAT(job.error().message(),
              HasSubstr("the broker could not be asked about nginx.test"));
  for (const std::string& line : AccessLog()) {
    EXPECT_THAT(line, Not(HasSubstr("/files/data.bin"))) << "sent unverified";
  }

  StartBrokerOnSamePort();
  job = WaitForState(id, agent::v1::TRANSFERRED);
  EXPECT_EQ(job.files(1).sha256(), Sha256Hex(data_));
}

TEST_F(JobManagerTest, ChangedServerFileRestartsThroughIfRange) {
  std::string out = Out("changing.bin");
  std::string id =
      NewJob({File(Url("exportable.test", "/slow/small.bin"), out)});
  WaitFor(id, [](const Job& job) {
    return job.files(0).bytes_transferred() >= (64 << 10);
  });
  ASSERT_TRUE(manager_->Suspend(id).ok());
  std::string changed = MakeData(small_.size() + 1000, 7);
  ReplaceServedFile("small.bin", changed);
  ASSERT_TRUE(manager_->Resume(id).ok());
  Job job = WaitForState(id, agent::v1::TRANSFERRED);
  EXPECT_EQ(job.files(0).sha256(), Sha256Hex(changed));
  EXPECT_EQ(job.files(0).restarts(), 1);
  EXPECT_THAT(job.files(0).last_notice(),
              HasSubstr("restarted from zero: the server sent the whole file"));
  // The resumed request carried Range and If-Range; nginx answered 200.
  bool ranged = false;
  for (const std::string& line : AccessLog()) {
    if (absl::StrContains(line, "range=\"bytes=")) {
      ranged = true;
      EXPECT_THAT(line, HasSubstr(" 200 "));
      EXPECT_THAT(line, Not(HasSubstr("if_range=\"-\"")));
    }
  }
  EXPECT_TRUE(ranged);
  ASSERT_TRUE(manager_->Complete(id).ok());
  EXPECT_TRUE(ReadFile(out) == changed);
}

TEST_F(JobManagerTest, RestartResumesFromTheJournal) {
  std::string out = Out("resumed.bin");
  std::string id =
      NewJob({File(Url("exportable.test", "/slow/small.bin"), out)});
  WaitFor(id, [](const Job& job) {
    return job.files(0).bytes_transferred() >= (128 << 10);
  });
  manager_.reset();  // Journals the progress and stops.
  OpenManager();
  auto recovered = manager_->Get(id);
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_GE(recovered->files(0).bytes_transferred(), 64u << 10);
  Job job = WaitForState(id, agent::v1::TRANSFERRED);
  EXPECT_EQ(job.files(0).sha256(), Sha256Hex(small_));
  EXPECT_EQ(job.files(0).restarts(), 0);
  bool resumed = false;
  for (const std::string& line : AccessLog()) {
    if (absl::StrContains(line, " 206 ")) resumed = true;
  }
  EXPECT_TRUE(resumed) << "no 206 in the access log";
}

TEST_F(JobManagerTest, IgnoresALocalErrorOnlyWhereTheRuleAllowsIt) {
  // Rules lenient and strict (BrokerConfig) are in mode BOTH: the local
  // check must pass too. The server's certificate names neither host; only
  // lenient tolerates that.
  agent::v1::JobOptions ignoring;
  ignoring.add_ignore_local_errors(v1::HOSTNAME_MISMATCH);
  SetWholeSeconds(absl::Hours(1), *ignoring.mutable_min_retry_delay());
  agent::v1::JobOptions not_ignoring;
  SetWholeSeconds(absl::Hours(1), *not_ignoring.mutable_min_retry_delay());

  std::string unasked =
      NewJob({File(Url("lenient.test", "/files/small.bin"), Out("unasked"))},
             not_ignoring);
  Job job = WaitForState(unasked, agent::v1::TRANSIENT_ERROR);
  EXPECT_EQ(job.error().context(), agent::v1::SERVER_CERTIFICATE);
  EXPECT_THAT(job.error().message(), HasSubstr("local check"));

  std::string not_allowed =
      NewJob({File(Url("strict.test", "/files/small.bin"), Out("not-allowed"))},
             ignoring);
  job = WaitForState(not_allowed, agent::v1::TRANSIENT_ERROR);
  EXPECT_EQ(job.error().context(), agent::v1::SERVER_CERTIFICATE);
  EXPECT_THAT(job.error().message(),
              HasSubstr("does not allow HOSTNAME_MISMATCH"));
  EXPECT_TRUE(AccessLog().empty()) << "a request reached the server";

  std::string allowed =
      NewJob({File(Url("lenient.test", "/files/small.bin"), Out("allowed"))},
             ignoring);
  job = WaitForState(allowed, agent::v1::TRANSFERRED);
  EXPECT_EQ(job.files(0).sha256(), Sha256Hex(small_));
}

TEST_F(JobManagerTest, NoClientCertificateIsATransientClientCertificateError) {
  agent::v1::JobOptions options;
  SetWholeSeconds(absl::Hours(1), *options.mutable_min_retry_delay());
  std::string id = NewJob(
      {File(Url("nocert.test", "/files/small.bin"), Out("nocert"))}, options);
  Job job = WaitForState(id, agent::v1::TRANSIENT_ERROR);
  EXPECT_EQ(job.error().context(), agent::v1::CLIENT_CERTIFICATE);
  EXPECT_EQ(job.error().http_status(), 400);
  EXPECT_THAT(job.error().message(),
              HasSubstr("the server asked for a client certificate and the "
                        "broker has none for nocert.test"));
  EXPECT_TRUE(job.error().transient());
}

TEST_F(JobManagerTest, NotFoundIsAPermanentError) {
  std::string id =
      NewJob({File(Url("exportable.test", "/files/missing.bin"), Out("m"))});
  Job job = WaitForState(id, agent::v1::ERROR);
  EXPECT_EQ(job.error().context(), agent::v1::REMOTE_FILE);
  EXPECT_EQ(job.error().http_status(), 404);
  EXPECT_FALSE(job.error().transient());
  EXPECT_FALSE(job.has_next_retry_time());
  EXPECT_FALSE(Exists(Out("m") + ".certbroker-part"));
}

TEST_F(JobManagerTest, GivesUpAfterTheNoProgressTimeout) {
  agent::v1::JobOptions options;
  SetWholeSeconds(absl::Seconds(1), *options.mutable_min_retry_delay());
  SetWholeSeconds(absl::Seconds(2), *options.mutable_no_progress_timeout());
  std::string url = absl::StrCat("https://exportable.test:", FreePort(), "/x");
  std::string id = NewJob({File(url, Out("x"))}, options);
  Job job = WaitForState(id, agent::v1::ERROR, absl::Seconds(30));
  EXPECT_EQ(job.error().context(), agent::v1::TRANSPORT);
  EXPECT_FALSE(job.error().transient());
  EXPECT_THAT(job.error().message(), HasSubstr("giving up: no progress for"));
  EXPECT_GE(job.error_count(), 2);
}

TEST_F(JobManagerTest, CancelRemovesPartialFiles) {
  std::string out = Out("cancelled.bin");
  std::string id =
      NewJob({File(Url("exportable.test", "/slow/small.bin"), out)});
  WaitFor(id, [](const Job& job) {
    return job.files(0).bytes_transferred() >= (32 << 10);
  });
  auto cancelled = manager_->Cancel(id);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state(), agent::v1::CANCELLED);
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  // The download stops on the loop thread and then removes its files.
  while ((Exists(out + ".certbroker-part") ||
          Exists(out + ".certbroker-part.meta")) &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_FALSE(Exists(out + ".certbroker-part"));
  EXPECT_FALSE(Exists(out + ".certbroker-part.meta"));
  EXPECT_FALSE(Exists(out));
  EXPECT_EQ(manager_->Resume(id).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(JobManagerTest, QueuedJobsTakeFreeSlotsByPriority) {
  manager_.reset();
  OpenManager(/*max_concurrent_jobs=*/1);
  std::string slow =
      NewJob({File(Url("exportable.test", "/slow/small.bin"), Out("slow"))});
  WaitForState(slow, agent::v1::TRANSFERRING);
  std::string low =
      NewJob({File(Url("exportable.test", "/files/small.bin"), Out("low"))}, {},
             agent::v1::LOW);
  std::string high =
      NewJob({File(Url("exportable.test", "/files/data.bin"), Out("high"))}, {},
             agent::v1::HIGH);
  EXPECT_EQ(manager_->Get(low)->state(), agent::v1::QUEUED);
  EXPECT_EQ(manager_->Get(high)->state(), agent::v1::QUEUED);
  Job low_job = WaitForState(low, agent::v1::TRANSFERRED);
  Job high_job = WaitForState(high, agent::v1::TRANSFERRED);
  EXPECT_LT(FromTimestamp(high_job.transfer_completion_time()),
            FromTimestamp(low_job.transfer_completion_time()));
  std::vector<std::string> log = AccessLog();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_THAT(log[0], HasSubstr("/slow/small.bin"));
  EXPECT_THAT(log[1], HasSubstr("/files/data.bin"));
  EXPECT_THAT(log[2], HasSubstr("/files/small.bin"));
}

TEST_F(JobManagerTest, FullDiskIsALocalFileError) {
  std::string small_disk = dir_.Path("small-disk");
  ::mkdir(small_disk.c_str(), 0700);
  if (::mount("tmpfs", small_disk.c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs root and "
                    "CAP_SYS_ADMIN): "
                 << std::strerror(errno);
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{small_disk};
  std::string out = small_disk + "/data.bin";
  std::string id =
      NewJob({File(Url("exportable.test", "/files/data.bin"), out)});
  Job job = WaitForState(id, agent::v1::ERROR);
  EXPECT_EQ(job.error().context(), agent::v1::LOCAL_FILE);
  EXPECT_THAT(job.error().message(), HasSubstr("No space left on device"));
  EXPECT_FALSE(job.error().transient());
  EXPECT_FALSE(Exists(out));
  // The journal and the other jobs are untouched.
  std::string fine = NewJob(
      {File(Url("exportable.test", "/files/small.bin"), Out("fine.bin"))});
  EXPECT_EQ(WaitForState(fine, agent::v1::TRANSFERRED).files(0).sha256(),
            Sha256Hex(small_));
  EXPECT_EQ(manager_->Get(id)->state(), agent::v1::ERROR);
}

TEST_F(JobManagerTest, RejectsBadRequestsNamingTheField) {
  auto create = [&](const agent::v1::FileSpec& file) {
    agent::v1::CreateJobRequest request;
    *request.add_files() = file;
    return manager_->Create(request).status();
  };
  absl::Status status = create(File("ftp://exportable.test/x", Out("a")));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("files[0].url: "));
  status = create(File(Url("exportable.test", "/x"), "relative/a"));
  EXPECT_EQ(status.message(),
            "files[0].local_path must be an absolute path, not \"relative/a\"");
  status = create(File(Url("exportable.test", "/x"), "/nonexistent-dir/a"));
  EXPECT_EQ(status.message(),
            "files[0].local_path: directory /nonexistent-dir: No such file or "
            "directory");
  std::string regular = dir_.Write("regular", "x");
  status = create(File(Url("exportable.test", "/x"), regular + "/a"));
  EXPECT_EQ(status.message(), absl::StrCat("files[0].local_path: ", regular,
                                           " is not a directory"));
  agent::v1::FileSpec bad_hash = File(Url("exportable.test", "/x"), Out("h"));
  bad_hash.set_sha256("abc");
  EXPECT_EQ(create(bad_hash).message(),
            "files[0].sha256 must be 64 hex digits, not \"abc\"");

  agent::v1::CreateJobRequest request;
  request.mutable_options()->add_ignore_local_errors(v1::REVOKED);
  EXPECT_THAT(manager_->Create(request).status().message(),
              HasSubstr("options.ignore_local_errors: REVOKED is not a local "
                        "verification error"));

  // One destination belongs to one job at a time.
  std::string taken = Out("taken");
  NewJob({File(Url("exportable.test", "/files/small.bin"), taken)}, {},
         agent::v1::NORMAL, /*resume=*/false);
  status = create(File(Url("exportable.test", "/x"), taken));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("is already a destination of job"));

  EXPECT_EQ(manager_->Get("no-such-job").status().message(),
            "no job \"no-such-job\"");
  auto empty = manager_->Create(agent::v1::CreateJobRequest());
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(manager_->Resume(empty->id()).status().message(),
            absl::StrCat("job ", empty->id(), " has no files: add some first"));
}

TEST_F(JobManagerTest, WatchSeesEveryStateChange) {
  std::string id =
      NewJob({File(Url("exportable.test", "/files/small.bin"), Out("watched"))},
             {}, agent::v1::NORMAL, /*resume=*/false);
  absl::Mutex mu;
  std::vector<JobState> seen;
  auto watch = manager_->Watch(id, absl::Seconds(10), [&](const Job& job) {
    absl::MutexLock lock(&mu);
    if (seen.empty() || seen.back() != job.state()) seen.push_back(job.state());
  });
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE(manager_->Resume(id).ok());
  WaitForState(id, agent::v1::TRANSFERRED);
  ASSERT_TRUE(manager_->Complete(id).ok());
  manager_->Unwatch(*watch);
  absl::MutexLock lock(&mu);
  EXPECT_THAT(seen, ::testing::ElementsAre(
                        agent::v1::SUSPENDED, agent::v1::QUEUED,
                        agent::v1::CONNECTING, agent::v1::TRANSFERRING,
                        agent::v1::TRANSFERRED, agent::v1::ACKNOWLEDGED));
  EXPECT_EQ(manager_->Watch("nope", absl::Seconds(1), [](const Job&) {})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace certbroker::testing

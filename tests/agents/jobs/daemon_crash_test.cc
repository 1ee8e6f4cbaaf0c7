// `certbroker-agent daemon` SIGKILLed at random points of a 200 MB job, ten
// times, restarted each time on the same journal: the job is never lost,
// resumes from its journalled progress (losing at most about a checkpoint
// interval of bytes each time), and the final file's SHA-256 is right.
// Driven through the daemon's TransferAgent API on its Unix socket.
#include <signal.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/x509/certificate.h"
#include "certbroker/agent/v1/agent.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/agents/jobs/job_test_support.h"

namespace certbroker::testing {
namespace {

using x509::Sha256Hex;

using agent::v1::Job;

constexpr char kAgent[] = CERTBROKER_AGENT_PATH;
constexpr size_t kFileSize = 200 << 20;
constexpr int kKills = 10;

class DaemonCrashTest : public JobPeersTest {
 protected:
  void StartDaemon() {
    stub_ = nullptr;
    daemon_ = nullptr;
    auto daemon = ChildProcess::Start(
        {kAgent, "daemon", "--socket=" + socket_,
         "--database=" + dir_.Path("agent.db"),
         absl::StrCat("--broker=127.0.0.1:", broker_port_),
         "--trust_store=" + dir_.Path("pki/server-root.pem"),
         "--checkpoint_interval=0.2", "--min_retry_delay=1"},
        dir_.Path(absl::StrCat("daemon-", starts_++, ".log")));
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = std::move(daemon).value();
    // A channel of its own: from the global subchannel pool it could get
    // the killed daemon's connection, not yet known to be broken.
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
    auto channel = grpc::CreateCustomChannel(
        "unix:" + socket_, grpc::InsecureChannelCredentials(), arguments);
    ASSERT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() +
                                          std::chrono::seconds(30)))
        << daemon_->Log();
    stub_ = agent::v1::TransferAgent::NewStub(channel);
  }

  Job Get(const std::string& id) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    agent::v1::JobRef ref;
    ref.set_job_id(id);
    Job job;
    grpc::Status status = stub_->GetJob(&context, ref, &job);
    EXPECT_TRUE(status.ok()) << status.error_message() << daemon_->Log();
    return job;
  }

  std::string socket_ = dir_.Path("agent/agent.sock");
  std::unique_ptr<ChildProcess> daemon_;
  std::unique_ptr<agent::v1::TransferAgent::Stub> stub_;
  int starts_ = 0;
};

TEST_F(DaemonCrashTest, TenKillsLoseNoJobAndTheFileIsRight) {
  std::string big = MakeData(kFileSize, 9);
  dir_.Write("www/files/big.bin", big);
  std::string want = Sha256Hex(big);
  big.clear();
  StartDaemon();
  ASSERT_NE(stub_, nullptr);

  agent::v1::CreateJobRequest create;
  create.set_display_name("200 MB under fire");
  agent::v1::FileSpec* file = create.add_files();
  file->set_url(Url("exportable.test", "/paced/big.bin"));
  file->set_local_path(Out("big.bin"));
  file->set_sha256(want);
  (*create.mutable_options()->mutable_resolve())["exportable.test"] =
      "127.0.0.1";
  Job job;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->CreateJob(&context, create, &job).ok());
  }
  std::string id = job.id();
  {
    grpc::ClientContext context;
    agent::v1::JobRef ref;
    ref.set_job_id(id);
    ASSERT_TRUE(stub_->ResumeJob(&context, ref, &job).ok());
  }

  std::mt19937 random(20261122);
  std::uniform_int_distribution<int> pause_ms(150, 900);
  uint64_t last_seen = 0;
  std::vector<uint64_t> seen;
  for (int kill = 0; kill < kKills; ++kill) {
    int pause = pause_ms(random);
    absl::SleepFor(absl::Milliseconds(pause));
    Job before = Get(id);
    ASSERT_NE(before.state(), agent::v1::TRANSFERRED)
        << "the transfer ended before kill " << kill << "; slow it down";
    ::kill(daemon_->pid(), SIGKILL);
    EXPECT_EQ(daemon_->Wait(absl::Seconds(10)), 128 + SIGKILL);
    StartDaemon();
    ASSERT_NE(stub_, nullptr);
    Job after = Get(id);
    ASSERT_EQ(after.id(), id) << "the job was lost by kill " << kill;
    seen.push_back(before.files(0).bytes_transferred());
    std::cout << "kill " << kill << " after " << pause << " ms at byte "
              << seen.back() << "\n";
    EXPECT_GE(seen.back(), last_seen) << "progress went backwards";
    last_seen = seen.back();
  }
  absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline) {
    job = Get(id);
    if (job.state() == agent::v1::TRANSFERRED ||
        job.state() == agent::v1::ERROR) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(job.state(), agent::v1::TRANSFERRED) << job.DebugString();
  EXPECT_EQ(job.files(0).sha256(), want);
  EXPECT_EQ(job.files(0).restarts(), 0) << job.files(0).last_notice();
  {
    grpc::ClientContext context;
    agent::v1::JobRef ref;
    ref.set_job_id(id);
    ASSERT_TRUE(stub_->CompleteJob(&context, ref, &job).ok());
  }
  EXPECT_EQ(FileSize(Out("big.bin")), static_cast<int64_t>(kFileSize));
  EXPECT_EQ(Sha256Hex(ReadFile(Out("big.bin"))), want);
  // Every restart resumed with a ranged request that nginx honoured, from
  // the journalled size: at most a checkpoint interval (0.2 s, 2 MiB at
  // nginx's pace) plus the time between our look and the kill before the
  // byte count we saw.
  std::vector<uint64_t> starts;
  for (const std::string& line : AccessLog()) {
    size_t at = line.find("range=\"bytes=");
    if (at == std::string::npos) continue;
    EXPECT_NE(line.find(" 206 "), std::string::npos) << line;
    uint64_t start = 0;
    EXPECT_TRUE(absl::SimpleAtoi(
        line.substr(at + 13, line.find('-', at + 13) - (at + 13)), &start))
        << line;
    starts.push_back(start);
  }
  ASSERT_EQ(starts.size(), seen.size())
      << "one resume per kill expected (a kill before the request was sent "
         "leaves none)";
  for (size_t i = 0; i < starts.size(); ++i) {
    EXPECT_LE(seen[i], starts[i] + (8u << 20))
        << "kill " << i << " lost more than a checkpoint's worth";
  }
}

}  // namespace
}  // namespace certbroker::testing

// certbrokerd's lifecycle against the real binary: start-up refusals with a
// clear message, health, SIGHUP reload (good and bad configurations, under
// load), and graceful shutdown.
#include <signal.h>

#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "certbroker/v1/admin.grpc.pb.h"
#include "gmock/gmock.h"
#include "tests/integration/broker_fixture.h"
#include "tests/support/grpc_probes.h"

namespace certbroker::testing {
namespace {

using ::testing::HasSubstr;

std::string PolicyVersion(v1::CertificateBroker::Stub& stub,
                          const std::string& host,
                          std::string* rule = nullptr) {
  v1::GetCertificatePolicyRequest request;
  request.mutable_target()->set_host(host);
  v1::GetCertificatePolicyResponse response;
  grpc::Status status =
      stub.GetCertificatePolicy(Context().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  if (rule != nullptr) *rule = response.rule_name();
  return response.policy_version();
}

class BrokerLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = TestPki::Generate();
    pki_.Write(dir_);
    config_ = dir_.Write("config.yaml", BrokerConfigFor(pki_));
  }

  std::unique_ptr<BrokerProcess> StartBroker(
      std::vector<std::string> extra = {}) {
    std::vector<std::string> arguments = {
        "--config=" + config_,
        "--listen=127.0.0.1:0,unix:" + dir_.Path("b.sock")};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    auto broker = BrokerProcess::Start(arguments, dir_.path());
    EXPECT_TRUE(broker.ok()) << broker.status();
    return broker.ok() ? std::move(broker).value() : nullptr;
  }

  TempDir dir_;
  TestPki pki_;
  std::string config_;
};

TEST_F(BrokerLifecycleTest, ServesHealthAndReflectionAndStopsGracefully) {
  auto broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  auto channel = [](const std::string& address) {
    return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  };
  EXPECT_EQ(HealthStatus(channel(broker->addresses()[0]), ""), 1);
  EXPECT_EQ(HealthStatus(channel(broker->addresses()[1]),
                         "certbroker.v1.CertificateBroker"),
            1);
  EXPECT_THAT(ReflectionServiceList(channel(broker->addresses()[1])),
              HasSubstr("certbroker.v1.CertificateBroker"));
  // An unknown service is NOT_FOUND: the probe reports an error.
  EXPECT_EQ(HealthStatus(channel(broker->addresses()[0]), "no.such.Service"),
            -1);
  EXPECT_EQ(broker->Stop(), 0);
  EXPECT_THAT(broker->Log(), HasSubstr("received SIGTERM, shutting down"));
  EXPECT_THAT(broker->Log(), HasSubstr("INFO stopped"));
}

TEST_F(BrokerLifecycleTest, StopsWithoutWaitingForIdleClientConnections) {
  // gRPC alone would wait for connected clients until the grace period ends;
  // the broker waits only for calls in flight. Stop() kills (exit 137) after
  // 20 s, well inside the 30 s grace.
  auto broker = StartBroker({"--shutdown_grace=30s"});
  ASSERT_NE(broker, nullptr);
  auto tcp = MakeStub(broker->addresses()[0]);
  auto unix_socket = MakeStub(broker->addresses()[1]);
  PolicyVersion(*tcp, "api.example.test");
  PolicyVersion(*unix_socket, "api.example.test");
  EXPECT_EQ(broker->Stop(absl::Seconds(20)), 0) << broker->Log();
  EXPECT_THAT(broker->Log(),
              ::testing::Not(HasSubstr("still running after the grace")));
}

TEST_F(BrokerLifecycleTest, SimulationIsOffUnlessEnabled) {
  auto broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  auto admin = v1::CertificateAdmin::NewStub(grpc::CreateChannel(
      broker->addresses()[0], grpc::InsecureChannelCredentials()));
  v1::SimulateServerCertificateRequest request;
  request.mutable_target()->set_host("api.example.test");
  request.add_certificate_chain(pki_.server.Der());
  v1::SimulateServerCertificateResponse response;
  grpc::Status status =
      admin->SimulateServerCertificate(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(broker->Stop(), 0);
  EXPECT_THAT(broker->Log(), ::testing::Not(HasSubstr("policy simulation")));
}

TEST_F(BrokerLifecycleTest, SigintAlsoStopsGracefully) {
  auto broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  broker->Signal(SIGINT);
  EXPECT_TRUE(broker->WaitForLog("INFO stopped"));
  EXPECT_EQ(broker->Stop(), 0);
}

TEST_F(BrokerLifecycleTest, ReloadsOnSighupAndKeepsOldPolicyWhenNewIsBad) {
  auto broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  auto stub = MakeStub(broker->addresses()[0]);
  std::string rule;
  std::string first = PolicyVersion(*stub, "new.example.org", &rule);
  EXPECT_EQ(rule, "");

  dir_.Write("config.yaml",
             absl::StrReplaceAll(
                 BrokerConfigFor(pki_),
                 {{"\ncrls:\n",
                   "\n  - name: added\n"
                   "    match: { hosts: [new.example.org] }\n"
                   "    server_validation: { trust_bundles: [test-roots] }\n"
                   "crls:\n"}}));
  broker->Signal(SIGHUP);
  ASSERT_TRUE(broker->WaitForLog("reloaded policy_version=")) << broker->Log();
  std::string second = PolicyVersion(*stub, "new.example.org", &rule);
  EXPECT_EQ(rule, "added");
  EXPECT_NE(second, first);

  dir_.Write("config.yaml", "rules: [{name: broken, colour: red}]\n");
  broker->Signal(SIGHUP);
  ASSERT_TRUE(broker->WaitForLog("reload failed")) << broker->Log();
  EXPECT_THAT(broker->Log(),
              HasSubstr(absl::StrCat("reload failed, keeping policy_version=",
                                     second)));
  EXPECT_THAT(broker->Log(), HasSubstr("rules[0].colour: unknown field"));
  EXPECT_EQ(PolicyVersion(*stub, "new.example.org", &rule), second);
  EXPECT_EQ(rule, "added");
  EXPECT_EQ(broker->Stop(), 0);
}

TEST_F(BrokerLifecycleTest, AnswersEveryCallWhileReloading) {
  auto broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<int> accepted{0}, failed{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t) {
    callers.emplace_back([&] {
      auto stub = MakeStub(broker->addresses()[0]);
      while (!stop.load()) {
        v1::OnServerCertificateRequest request;
        request.mutable_target()->set_host("api.example.test");
        request.add_certificate_chain(pki_.server.Der());
        request.add_certificate_chain(pki_.intermediate.Der());
        v1::OnServerCertificateResponse response;
        grpc::Status status =
            stub->OnServerCertificate(Context().get(), request, &response);
        (status.ok() && response.accepted() ? accepted : failed)++;
      }
    });
  }
  for (int i = 0; i < 5; ++i) {
    broker->Signal(SIGHUP);
    absl::SleepFor(absl::Milliseconds(100));
  }
  stop = true;
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(accepted.load(), 0);
  EXPECT_EQ(broker->Stop(), 0);
}

struct StartupFailure {
  std::vector<std::string> arguments;  // "CONFIG" is replaced by the path.
  int exit_code;
  const char* message;
  BrokerAccess access = BrokerAccess::kDevLoopback;
};

class BrokerStartupTest : public BrokerLifecycleTest,
                          public ::testing::WithParamInterface<StartupFailure> {
};

TEST_P(BrokerStartupTest, RefusesWithClearMessage) {
  dir_.Write("bad.yaml",
             "rules:\n  - name: r\n    match: {hosts: [a.example]}\n");
  dir_.Write("mismatch.yaml",
             "trust_bundles: [{name: r, pem_file: pki/ca.pem}]\n"
             "certificates: [{id: c, chain_pem_file: pki/client-chain.pem, "
             "key_pem_file: pki/expired-client.key}]\n");
  std::vector<std::string> arguments;
  for (const std::string& argument : GetParam().arguments) {
    std::string replaced = argument;
    for (const char* name : {"bad.yaml", "mismatch.yaml", "config.yaml"}) {
      size_t at = replaced.find(name);
      if (at != std::string::npos)
        replaced.replace(at, strlen(name), dir_.Path(name));
    }
    arguments.push_back(replaced);
  }
  std::string log;
  auto code = BrokerProcess::RunToExit(arguments, dir_.path(), log,
                                       absl::Seconds(20), GetParam().access);
  ASSERT_TRUE(code.ok()) << code.status() << log;
  EXPECT_EQ(*code, GetParam().exit_code) << log;
  EXPECT_THAT(log, HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BrokerStartupTest,
    ::testing::Values(
        StartupFailure{
            {"--listen=127.0.0.1:0"},
            2,
            "give --config FILE, or --data_dir DIR to keep the policy in a "
            "store"},
        StartupFailure{{"--config=config.yaml"}, 2, "--listen is required"},
        // Dashes spell the same flags as underscores.
        StartupFailure{{"--config=config.yaml", "--ready-file=/nonexistent/r",
                        "--listen=127.0.0.1:0"},
                       1,
                       "cannot write --ready_file"},
        StartupFailure{
            {"--config=config.yaml", "--no-such-flag", "--listen=127.0.0.1:0"},
            1,
            "no_such_flag"},
        StartupFailure{{"--config=config.yaml", "--seed_config=config.yaml",
                        "--data_dir=data", "--listen=127.0.0.1:0"},
                       1,
                       "--config and --seed_config cannot be combined"},
        StartupFailure{{"--config=config.yaml", "--seed_config=config.yaml",
                        "--listen=127.0.0.1:0"},
                       1,
                       "--config and --seed_config cannot be combined"},
        StartupFailure{{"--data_dir=data", "--seed_config=/nonexistent/s.yaml",
                        "--listen=127.0.0.1:0"},
                       1,
                       "--seed_config: cannot open /nonexistent/s.yaml"},
        StartupFailure{{"--data_dir=data", "--kek_file=/nonexistent/kek",
                        "--listen=127.0.0.1:0"},
                       1,
                       "--kek_file: "},
        StartupFailure{{"--data_dir=data", "--previous_kek_files=config.yaml",
                        "--listen=127.0.0.1:0"},
                       1,
                       "--previous_kek_files needs --kek_file"},
        StartupFailure{{"--config=config.yaml", "--listen=0.0.0.0:0"},
                       1,
                       "listen address '0.0.0.0:0': a TCP listener needs "
                       "access.tls in the policy (plaintext is never served "
                       "beyond loopback)"},
        StartupFailure{{"--config=config.yaml", "--listen=192.0.2.1:8443"},
                       1,
                       "plaintext is never served beyond loopback"},
        StartupFailure{{"--config=config.yaml", "--listen=127.0.0.1:0"},
                       1,
                       "listen address '127.0.0.1:0': a TCP listener needs "
                       "access.tls in the policy (or, for development only, "
                       "--insecure_dev_loopback)",
                       BrokerAccess::kAsConfigured},
        StartupFailure{{"--config=config.yaml", "--listen=nonsense"},
                       1,
                       "expected HOST:PORT or unix:PATH"},
        StartupFailure{{"--config=/nonexistent/x.yaml", "--listen=127.0.0.1:0"},
                       1,
                       "cannot open /nonexistent/x.yaml"},
        StartupFailure{{"--config=bad.yaml", "--listen=127.0.0.1:0"},
                       1,
                       "rules[0].server_validation.trust_bundles: required "
                       "unless mode is AGENT"},
        StartupFailure{{"--config=mismatch.yaml", "--listen=127.0.0.1:0"},
                       1,
                       "does not match the leaf certificate"},
        StartupFailure{
            {"--config=config.yaml", "--listen=127.0.0.1:0", "extra"},
            2,
            "unexpected argument: extra"}));

}  // namespace
}  // namespace certbroker::testing

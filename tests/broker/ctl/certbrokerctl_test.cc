// certbrokerctl end to end: the real binary against a real certbrokerd
// (with --enable_simulation), asserting output, JSON and exit codes, and
// every kind of usage error.
#include "certbroker/v1/admin.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"
#include "tests/support/command_runner.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class CertbrokerctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    devpki::Issued root = MustIssue(devpki::RootSpec("Ctl Root"), nullptr);
    devpki::Issued intermediate =
        MustIssue(devpki::IntermediateSpec("Ctl Intermediate"), &root);
    devpki::Issued leaf =
        MustIssue(devpki::ServerSpec("api.example.test", {"api.example.test"}),
                  &intermediate);
    dir_->Write("pki/ca.pem", root.CertificatePem());
    dir_->Write("chain.pem",
                leaf.CertificatePem() + intermediate.CertificatePem());
    dir_->Write("leaf-only.pem", leaf.CertificatePem());
    std::string config = dir_->Write(
        "config.yaml",
        "trust_bundles: [{name: roots, pem_file: pki/ca.pem}]\n"
        "rules: [{name: example, match: {hosts: ['*.example.test']}, "
        "server_validation: {trust_bundles: [roots]}}]\n");
    dir_->Write("candidate.yaml",
                "rules: [{name: candidate, match: {hosts: ['*.example.test']}, "
                "action: DENY}]\n");
    auto broker =
        BrokerProcess::Start({"--config=" + config, "--enable_simulation",
                              "--listen=unix:" + dir_->Path("b.sock")},
                             dir_->path());
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(broker).value().release();
  }

  static void TearDownTestSuite() {
    if (broker_ != nullptr) {
      EXPECT_EQ(broker_->Stop(), 0);
    }
    delete broker_;
    delete dir_;
  }

  static CommandResult Ctl(std::vector<std::string> arguments) {
    std::vector<std::string> argv = {CERTBROKERCTL_PATH, "--broker",
                                     broker_->addresses()[0]};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    return RunCommand(argv);
  }

  static TempDir* dir_;
  static BrokerProcess* broker_;
};

TempDir* CertbrokerctlTest::dir_ = nullptr;
BrokerProcess* CertbrokerctlTest::broker_ = nullptr;

TEST_F(CertbrokerctlTest, SimulateAcceptedChainShowsThePathAndExitsZero) {
  CommandResult result = Ctl({"simulate", "--host", "api.example.test",
                              "--chain", dir_->Path("chain.pem")});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out,
              StartsWith("verdict:  ACCEPTED (ACCEPTED)\nrule:     example\n"));
  EXPECT_THAT(result.out, HasSubstr("(live)"));
  EXPECT_THAT(result.out, HasSubstr("  [0]    CN=api.example.test  sha256:"));
  EXPECT_THAT(result.out, HasSubstr("  trust  CN=Ctl Root  sha256:"));
}

TEST_F(CertbrokerctlTest, SimulateAtAFutureTimeRejectsAndExitsThree) {
  CommandResult result =
      Ctl({"simulate", "--host", "api.example.test", "--chain",
           dir_->Path("chain.pem"), "--at", "2099-01-01T00:00:00Z"});
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_THAT(result.out, StartsWith("verdict:  REJECTED (EXPIRED)"));
  EXPECT_THAT(result.out, HasSubstr("time:     2099-01-01T00:00:00+00:00"));
  EXPECT_THAT(result.out, HasSubstr("checks that failed:"));
}

TEST_F(CertbrokerctlTest, JsonOutputIsTheResponseMessage) {
  CommandResult result =
      Ctl({"-o", "json", "simulate", "--host", "api.example.test", "--chain",
           dir_->Path("leaf-only.pem")});
  EXPECT_EQ(result.exit_code, 3) << result.err;
  v1::SimulateServerCertificateResponse response;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(result.out, &response).ok())
      << result.out;
  EXPECT_EQ(response.reason(), v1::INCOMPLETE_CHAIN);
  EXPECT_EQ(response.rule_name(), "example");
  EXPECT_GE(response.failures_size(), 1);
}

TEST_F(CertbrokerctlTest, CandidatePolicyFileIsEvaluatedInsteadOfTheLiveOne) {
  CommandResult result =
      Ctl({"simulate", "--host", "api.example.test", "--chain",
           dir_->Path("chain.pem"), "--policy", dir_->Path("candidate.yaml")});
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_THAT(result.out,
              StartsWith("verdict:  REJECTED (DENIED)\nrule:     candidate\n"));
  EXPECT_THAT(result.out, HasSubstr("(from --policy)"));
}

struct UsageCase {
  std::vector<std::string> arguments;
  std::string message;
};

TEST_F(CertbrokerctlTest, UsageErrorsExitTwoAndSayWhatIsWrong) {
  std::vector<UsageCase> cases = {
      {{"simulate", "--hots", "x"}, "certbrokerctl: unknown option --hots"},
      {{"simulate", "--host", "api.example.test"}, "--chain FILE is required"},
      {{"simulate", "--chain", dir_->Path("chain.pem")},
       "give --host or --url"},
      {{"simulate", "--host", "a.example.test", "--chain",
        dir_->Path("chain.pem"), "--at", "tomorrow"},
       "--at: 'tomorrow' is not an RFC 3339 time"},
      {{"simulate", "--host", "a.example.test", "--chain",
        dir_->Path("missing.pem")},
       "cannot open " + dir_->Path("missing.pem")},
      {{"simulate", "--host", "a.example.test", "--chain",
        dir_->Path("config.yaml")},
       "holds no PEM certificate"},
      {{"simulate", "--host", "a.example.test", "--port", "99999", "--chain",
        dir_->Path("chain.pem")},
       "--port: '99999' is not a port"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"-o", "yaml", "simulate"}, "-o: 'yaml' is not table or json"},
      {{"--timeout", "soon", "simulate"},
       "--timeout: 'soon' is not a duration"},
  };
  for (const UsageCase& c : cases) {
    CommandResult result = Ctl(c.arguments);
    EXPECT_EQ(result.exit_code, 2) << c.message << "\n" << result.err;
    EXPECT_THAT(result.err, HasSubstr(c.message));
    EXPECT_EQ(result.out, "");
  }
}

TEST_F(CertbrokerctlTest, HelpExitsZeroAndListsOptions) {
  CommandResult help = Ctl({"simulate", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("--policy FILE"));
  CommandResult global = RunCommand({CERTBROKERCTL_PATH, "--help"});
  EXPECT_EQ(global.exit_code, 0);
  EXPECT_THAT(global.out, HasSubstr("simulate   evaluate a server chain"));
}

TEST_F(CertbrokerctlTest, UnreachableBrokerExitsOne) {
  CommandResult result = RunCommand(
      {CERTBROKERCTL_PATH, "--broker", "unix:" + dir_->Path("nobody.sock"),
       "--timeout", "2s", "simulate", "--host", "api.example.test", "--chain",
       dir_->Path("chain.pem")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("certbrokerctl: UNAVAILABLE:"));
}

}  // namespace
}  // namespace certbroker::testing

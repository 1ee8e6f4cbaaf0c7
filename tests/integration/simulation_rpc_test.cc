// CertificateAdmin/SimulateServerCertificate against the real certbrokerd
// (started with --enable_simulation): the live policy at a chosen time, an
// inline policy, every failed check and the built path reported, and bad
// inline policies refused with their field path.
#include "absl/strings/str_replace.h"
#include "certbroker/v1/admin.grpc.pb.h"
#include "gmock/gmock.h"
#include "tests/integration/broker_fixture.h"

namespace certbroker::testing {
namespace {

using ::testing::HasSubstr;

class SimulationRpcTest : public BrokerFixture {
 protected:
  void SetUp() override {
    admin_ = v1::CertificateAdmin::NewStub(grpc::CreateChannel(
        broker_->addresses()[1], grpc::InsecureChannelCredentials()));
  }

  v1::SimulateServerCertificateRequest Request(
      const std::string& host,
      std::initializer_list<const devpki::Issued*> chain) {
    v1::SimulateServerCertificateRequest request;
    request.mutable_target()->set_host(host);
    request.set_server_name("api.example.test");
    for (const std::string& der : ChainOf(chain))
      request.add_certificate_chain(der);
    return request;
  }

  grpc::Status Simulate(const v1::SimulateServerCertificateRequest& request,
                        v1::SimulateServerCertificateResponse& response) {
    return admin_->SimulateServerCertificate(Context().get(), request,
                                             &response);
  }

  std::unique_ptr<v1::CertificateAdmin::Stub> admin_;
};

TEST_F(SimulationRpcTest, LivePolicyNowAcceptsAndShowsThePath) {
  v1::SimulateServerCertificateResponse response;
  ASSERT_TRUE(Simulate(Request("api.example.test",
                               {&pki_->server, &pki_->intermediate}),
                       response)
                  .ok());
  EXPECT_TRUE(response.accepted());
  EXPECT_EQ(response.reason(), v1::ACCEPTED);
  EXPECT_EQ(response.rule_name(), "example-test");
  EXPECT_EQ(response.failures_size(), 0);
  ASSERT_EQ(response.path_size(), 3);
  EXPECT_EQ(response.path(0).chain_index(), 0);
  EXPECT_EQ(response.path(1).subject(), "CN=Integration Intermediate");
  EXPECT_EQ(response.path(2).chain_index(), -1);
  EXPECT_EQ(response.path(2).subject(), "CN=Integration Root");
  EXPECT_EQ(response.path(0).sha256_fingerprint().size(), 64u);
}

TEST_F(SimulationRpcTest, ChosenTimeAfterExpiryReportsEveryExpiredCertificate) {
  auto request =
      Request("api.example.test", {&pki_->server, &pki_->intermediate});
  request.mutable_validation_time()->set_seconds(
      absl::ToUnixSeconds(absl::Now() + absl::Hours(24 * 800)));
  v1::SimulateServerCertificateResponse response;
  ASSERT_TRUE(Simulate(request, response).ok());
  EXPECT_EQ(response.reason(), v1::EXPIRED);
  EXPECT_EQ(response.validation_time().seconds(),
            request.validation_time().seconds());
  int expired = 0;
  for (const auto& failure : response.failures())
    expired += failure.reason() == v1::EXPIRED;
  EXPECT_EQ(expired, 3);  // Leaf, intermediate and root are all past notAfter.
  // The same chain, now, through the live RPC, is still accepted: nothing
  // was cached or changed by the simulation.
  v1::OnServerCertificateRequest live;
  live.mutable_target()->set_host("api.example.test");
  *live.mutable_certificate_chain() = request.certificate_chain();
  v1::OnServerCertificateResponse verdict;
  ASSERT_TRUE(tcp_->OnServerCertificate(Context().get(), live, &verdict).ok());
  EXPECT_EQ(verdict.reason(), v1::ACCEPTED);
}

TEST_F(SimulationRpcTest, ReportsToleratedFailures) {
  auto request =
      Request("legacy.example.test", {&pki_->server, &pki_->intermediate});
  request.set_server_name("");
  v1::SimulateServerCertificateResponse response;
  ASSERT_TRUE(Simulate(request, response).ok());
  EXPECT_TRUE(response.accepted());
  ASSERT_EQ(response.failures_size(), 1);
  EXPECT_EQ(response.failures(0).reason(), v1::HOSTNAME_MISMATCH);
  EXPECT_TRUE(response.failures(0).tolerated());
}

TEST_F(SimulationRpcTest, InlinePolicyIsEvaluatedInsteadOfTheLiveOne) {
  auto request =
      Request("api.example.test", {&pki_->server, &pki_->intermediate});
  request.set_policy_yaml(
      "trust_bundles: [{name: roots, pem_file: pki/ca.pem}]\n"
      "rules:\n"
      "  - {name: candidate, match: {hosts: [api.example.test]}, action: "
      "DENY}\n");
  v1::SimulateServerCertificateResponse response;
  ASSERT_TRUE(Simulate(request, response).ok());
  EXPECT_EQ(response.reason(), v1::DENIED);
  EXPECT_EQ(response.rule_name(), "candidate");
  v1::GetCertificatePolicyRequest live_request;
  live_request.mutable_target()->set_host("api.example.test");
  v1::GetCertificatePolicyResponse live;
  ASSERT_TRUE(
      tcp_->GetCertificatePolicy(Context().get(), live_request, &live).ok());
  EXPECT_NE(response.policy_version(), live.policy_version());
  EXPECT_EQ(live.rule_name(), "example-test");
}

TEST_F(SimulationRpcTest, BadInlinePolicyNamesTheField) {
  auto request = Request("api.example.test", {&pki_->server});
  request.set_policy_yaml(
      "rules: [{name: r, match: {hosts: [a.example]}, colour: red}]\n");
  v1::SimulateServerCertificateResponse response;
  grpc::Status status = Simulate(request, response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("policy_yaml:1:"));
  EXPECT_THAT(status.error_message(),
              HasSubstr("rules[0].colour: unknown field"));
  request.set_policy_yaml(
      "trust_bundles: [{name: roots, pem_file: pki/missing.pem}]\n");
  status = Simulate(request, response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("trust_bundles[0] (roots).pem_file: cannot open"));
}

TEST_F(SimulationRpcTest, RejectsOutOfRangeValidationTime) {
  auto request = Request("api.example.test", {&pki_->server});
  request.mutable_validation_time()->set_seconds(-99999999999);
  v1::SimulateServerCertificateResponse response;
  grpc::Status status = Simulate(request, response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("validation_time"));
}

}  // namespace
}  // namespace certbroker::testing

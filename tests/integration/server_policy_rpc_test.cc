// Per-rule server policy through the real certbrokerd: the agent's own
// result in modes BOTH and AGENT, DENY rules, key pins, CRLs under hard-fail
// and tolerated errors, each accepted case beside the rejected one.
#include "broker/devpki/ocsp_builder.h"
#include "broker/x509/boringssl.h"
#include "gmock/gmock.h"
#include "tests/integration/broker_fixture.h"

namespace certbroker::testing {
namespace {

using ::testing::HasSubstr;

class ServerPolicyRpcTest : public BrokerFixture {
 protected:
  v1::OnServerCertificateResponse Verdict(
      const std::string& host, const devpki::Issued& leaf,
      const v1::AgentVerification* agent = nullptr) {
    v1::OnServerCertificateRequest request;
    request.mutable_target()->set_host(host);
    request.set_server_name("api.example.test");
    for (const std::string& der : ChainOf({&leaf, &pki_->intermediate})) {
      request.add_certificate_chain(der);
    }
    if (agent != nullptr) *request.mutable_agent_verification() = *agent;
    v1::OnServerCertificateResponse response;
    grpc::Status status =
        tcp_->OnServerCertificate(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  static v1::AgentVerification Agent(bool accepted,
                                     const std::string& detail = "") {
    v1::AgentVerification agent;
    agent.set_accepted(accepted);
    agent.set_detail(detail);
    return agent;
  }
};

TEST_F(ServerPolicyRpcTest, BothModeNeedsTheAgentToAgree) {
  v1::AgentVerification passed = Agent(true);
  v1::OnServerCertificateResponse both =
      Verdict("both.example.test", pki_->server, &passed);
  EXPECT_EQ(both.reason(), v1::ACCEPTED) << both.detail();
  v1::AgentVerification failed = Agent(false, "X509_V_ERR_CERT_UNTRUSTED");
  both = Verdict("both.example.test", pki_->server, &failed);
  EXPECT_EQ(both.reason(), v1::AGENT_REJECTED);
  EXPECT_THAT(both.detail(), HasSubstr("X509_V_ERR_CERT_UNTRUSTED"));
  // The agent's approval never overrides the broker's own rejection.
  both = Verdict("both.example.test", pki_->expired_server, &passed);
  EXPECT_EQ(both.reason(), v1::EXPIRED);
}

TEST_F(ServerPolicyRpcTest, AgentModeTrustsTheAgentButNotDeniedCertificates) {
  v1::AgentVerification passed = Agent(true);
  v1::OnServerCertificateResponse agent =
      Verdict("agent.example.test", pki_->server, &passed);
  EXPECT_EQ(agent.reason(), v1::ACCEPTED);
  EXPECT_THAT(agent.detail(), HasSubstr("leaves validation to the agent"));
  agent = Verdict("agent.example.test", pki_->denied_server, &passed);
  EXPECT_EQ(agent.reason(), v1::DENIED);
}

TEST_F(ServerPolicyRpcTest, DenyRuleRejectsEverythingAndGivesNoCertificate) {
  v1::OnServerCertificateResponse denied =
      Verdict("a.blocked.test", pki_->server);
  EXPECT_EQ(denied.reason(), v1::DENIED);
  EXPECT_EQ(denied.rule_name(), "blocked");
  EXPECT_THAT(denied.detail(), HasSubstr("rule 'blocked' denies this target"));

  v1::GetCertificatePolicyRequest policy_request;
  policy_request.mutable_target()->set_host("a.blocked.test");
  v1::GetCertificatePolicyResponse policy;
  ASSERT_TRUE(
      tcp_->GetCertificatePolicy(Context().get(), policy_request, &policy)
          .ok());
  EXPECT_EQ(policy.validation_mode(), v1::BROKER);
  EXPECT_TRUE(policy.override_automatic_check());

  v1::GetClientCertificateRequest certificate_request;
  certificate_request.mutable_target()->set_host("a.blocked.test");
  v1::GetClientCertificateResponse certificate;
  grpc::Status status = tcp_->GetClientCertificate(
      Context().get(), certificate_request, &certificate);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("rule 'blocked' denies"));
}

TEST_F(ServerPolicyRpcTest, PinnedRuleAcceptsThePinnedPathAndSaysWhich) {
  v1::OnServerCertificateResponse pinned =
      Verdict("pinned.example.test", pki_->server);
  EXPECT_EQ(pinned.reason(), v1::ACCEPTED) << pinned.detail();
  EXPECT_THAT(pinned.detail(), HasSubstr("pinned key sha256/"));
  EXPECT_THAT(pinned.detail(),
              HasSubstr("certificate_chain[1] (CN=Integration Intermediate)"));
  EXPECT_EQ(Verdict("pinned-elsewhere.example.test", pki_->server).reason(),
            v1::PIN_MISMATCH);
}

TEST_F(ServerPolicyRpcTest, HardFailRevocationAcceptsWhenEveryCrlIsHeld) {
  EXPECT_EQ(Verdict("crl.example.test", pki_->server).reason(), v1::ACCEPTED);
  v1::OnServerCertificateResponse revoked =
      Verdict("crl.example.test", pki_->revoked_server);
  EXPECT_EQ(revoked.reason(), v1::REVOKED);
  EXPECT_THAT(
      revoked.detail(),
      HasSubstr("certificate_chain[0] (CN=api.example.test) is revoked"));
}

TEST_F(ServerPolicyRpcTest, StapledOcspTravelsWithTheRequest) {
  devpki::OcspResponseSpec revoked;
  revoked.status = devpki::OcspCertStatus::kRevoked;
  auto staple = devpki::BuildOcspResponse(
      revoked, pki_->server, pki_->intermediate, pki_->intermediate);
  ASSERT_TRUE(staple.ok()) << staple.status();
  v1::OnServerCertificateRequest request;
  request.mutable_target()->set_host("crl.example.test");
  request.set_server_name("api.example.test");
  for (const std::string& der : ChainOf({&pki_->server, &pki_->intermediate})) {
    request.add_certificate_chain(der);
  }
  request.set_ocsp_response(*staple);
  v1::OnServerCertificateResponse response;
  ASSERT_TRUE(
      tcp_->OnServerCertificate(Context().get(), request, &response).ok());
  EXPECT_EQ(response.reason(), v1::REVOKED);
  EXPECT_THAT(response.detail(), HasSubstr("stapled OCSP response"));

  request.set_ocsp_response(std::string(70000, 'x'));
  grpc::Status status =
      tcp_->OnServerCertificate(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("ocsp_response: larger than 65536 bytes"));
}

TEST_F(ServerPolicyRpcTest, RepeatedDecisionIsServedFromTheCache) {
  v1::OnServerCertificateResponse first =
      Verdict("pinned.example.test", pki_->server);
  v1::OnServerCertificateResponse second =
      Verdict("pinned.example.test", pki_->server);
  EXPECT_EQ(second.reason(), first.reason());
  EXPECT_EQ(second.detail(), first.detail());
  EXPECT_NE(second.decision_id(), first.decision_id());
  EXPECT_LE(second.cache_ttl().seconds(), first.cache_ttl().seconds());
  EXPECT_GT(second.cache_ttl().seconds(), 0);
  ASSERT_TRUE(broker_->WaitForLog(absl::StrCat("id=", second.decision_id())));
  std::string log = broker_->Log();
  std::string line =
      log.substr(log.find(absl::StrCat("id=", second.decision_id())));
  EXPECT_THAT(line.substr(0, line.find('\n')), HasSubstr("cached=true"));
  // A different chain for the same target is decided afresh.
  v1::OnServerCertificateResponse other =
      Verdict("pinned.example.test", pki_->expired_server);
  EXPECT_EQ(other.reason(), v1::EXPIRED);
}

// ChainSha256 computes the documented digest independently of the broker.
std::string ChainSha256(const std::vector<std::string>& chain) {
  auto size = [](uint64_t value) {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(value >> (8 * i));
    return bytes;
  };
  std::string input = size(chain.size());
  for (const std::string& der : chain) input += size(der.size()) + der;
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(input.data()), input.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

TEST_F(ServerPolicyRpcTest, ChainNamedByDigestIsAnsweredFromTheCache) {
  std::vector<std::string> chain =
      ChainOf({&pki_->expired_server, &pki_->intermediate});
  v1::OnServerCertificateRequest full;
  full.mutable_target()->set_host("pinned.example.test");
  full.set_server_name("api.example.test");
  for (const std::string& der : chain) full.add_certificate_chain(der);
  v1::OnServerCertificateResponse first;
  ASSERT_TRUE(tcp_->OnServerCertificate(Context().get(), full, &first).ok());
  EXPECT_EQ(first.reason(), v1::EXPIRED);
  ASSERT_EQ(first.certificate_chain_sha256(), ChainSha256(chain));

  v1::OnServerCertificateRequest named = full;
  named.clear_certificate_chain();
  named.set_certificate_chain_sha256(first.certificate_chain_sha256());
  v1::OnServerCertificateResponse again;
  ASSERT_TRUE(tcp_->OnServerCertificate(Context().get(), named, &again).ok());
  EXPECT_FALSE(again.accepted());
  EXPECT_EQ(again.reason(), v1::EXPIRED);
  EXPECT_EQ(again.detail(), first.detail());
  EXPECT_EQ(again.rule_name(), first.rule_name());
  EXPECT_GT(again.cache_ttl().seconds(), 0);
  EXPECT_TRUE(again.certificate_chain_sha256().empty());
  ASSERT_TRUE(broker_->WaitForLog(absl::StrCat("id=", again.decision_id())));

  // Anything else that the verdict depends on needs the chain again.
  v1::OnServerCertificateRequest other_name = named;
  other_name.set_server_name("other.example.test");
  v1::OnServerCertificateResponse required;
  ASSERT_TRUE(
      tcp_->OnServerCertificate(Context().get(), other_name, &required).ok());
  EXPECT_FALSE(required.accepted());
  EXPECT_EQ(required.reason(), v1::CHAIN_REQUIRED);
  EXPECT_THAT(required.detail(), HasSubstr("send the request again with "
                                           "certificate_chain"));
  EXPECT_EQ(required.cache_ttl().seconds(), 0);
  v1::OnServerCertificateRequest unknown = named;
  unknown.set_certificate_chain_sha256(std::string(32, 'x'));
  ASSERT_TRUE(
      tcp_->OnServerCertificate(Context().get(), unknown, &required).ok());
  EXPECT_EQ(required.reason(), v1::CHAIN_REQUIRED);
  // A target no rule covers needs no chain to be refused.
  v1::OnServerCertificateRequest nowhere = named;
  nowhere.mutable_target()->set_host("nowhere.invalid");
  ASSERT_TRUE(
      tcp_->OnServerCertificate(Context().get(), nowhere, &required).ok());
  EXPECT_EQ(required.reason(), v1::NO_MATCHING_RULE);

  v1::OnServerCertificateRequest short_digest = named;
  short_digest.set_certificate_chain_sha256(std::string(31, 'x'));
  grpc::Status status =
      tcp_->OnServerCertificate(Context().get(), short_digest, &required);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("certificate_chain_sha256: must be 32 bytes"));
  v1::OnServerCertificateRequest both = full;
  both.set_certificate_chain_sha256(first.certificate_chain_sha256());
  status = tcp_->OnServerCertificate(Context().get(), both, &required);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("not both"));
}

TEST_F(ServerPolicyRpcTest, ToleratedErrorIsAcceptedAndReported) {
  v1::OnServerCertificateRequest request;
  request.mutable_target()->set_host("legacy.example.test");
  for (const std::string& der : ChainOf({&pki_->server, &pki_->intermediate})) {
    request.add_certificate_chain(der);
  }
  v1::OnServerCertificateResponse response;
  ASSERT_TRUE(
      tcp_->OnServerCertificate(Context().get(), request, &response).ok());
  EXPECT_EQ(response.reason(), v1::ACCEPTED);
  EXPECT_THAT(response.detail(), HasSubstr("tolerated HOSTNAME_MISMATCH"));
  EXPECT_TRUE(broker_->WaitForLog(absl::StrCat("id=", response.decision_id())));
  EXPECT_THAT(broker_->Log(), HasSubstr("tolerated HOSTNAME_MISMATCH"));
}

}  // namespace
}  // namespace certbroker::testing

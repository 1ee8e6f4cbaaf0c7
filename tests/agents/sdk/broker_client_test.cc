// BrokerClient against a real certbrokerd: blocking and asynchronous
// answers, the answer cache and the policy-version rule, options checks,
// and TLS to a broker that requires agents' client certificates.
#include "certbroker/agent/broker_client.h"

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "agents/sdk/client_core.h"
#include "certbroker/v1/broker.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agents/sdk/sdk_broker.h"

namespace certbroker::testing {
namespace {

using ::testing::HasSubstr;

v1::OnServerCertificateRequest VerdictRequest(
    const std::string& host, const std::vector<std::string>& chain) {
  v1::OnServerCertificateRequest request;
  request.mutable_target()->set_host(host);
  for (const std::string& der : chain) request.add_certificate_chain(der);
  return request;
}

v1::GetCertificatePolicyRequest PolicyRequest(const std::string& host) {
  v1::GetCertificatePolicyRequest request;
  request.mutable_target()->set_host(host);
  return request;
}

v1::GetClientCertificateRequest CertificateRequest(const std::string& host) {
  v1::GetClientCertificateRequest request;
  request.mutable_target()->set_host(host);
  return request;
}

class BrokerClientTest : public SdkBrokerTest {
 protected:
  void SetUp() override {
    SdkBrokerTest::SetUp();
    StartBroker();
  }

  // Client makes a client counting its attempts in attempts_.
  std::unique_ptr<agent::BrokerClient> Client(
      const agent::BrokerClientOptions& options) {
    auto client = agent::CreateBrokerClient(
        options, [this](int) { attempts_.fetch_add(1); });
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  std::atomic<int> attempts_{0};
};

TEST_F(BrokerClientTest, BlockingCallsAnswer) {
  auto client = Client(Options(TcpAddress()));
  ASSERT_NE(client, nullptr);
  auto policy = client->GetCertificatePolicy(PolicyRequest("api.example.test"));
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->rule_name(), "example-test");
  EXPECT_EQ(policy->validation_mode(), v1::BROKER);
  EXPECT_TRUE(policy->client_certificate_available());
  EXPECT_EQ(policy->policy_version().size(), 16u);
  EXPECT_EQ(policy->cache_ttl().seconds(), 120);

  auto certificate =
      client->GetClientCertificate(CertificateRequest("api.example.test"));
  ASSERT_TRUE(certificate.ok()) << certificate.status();
  EXPECT_EQ(certificate->certificate_id(), "exportable-client");
  ASSERT_EQ(certificate->certificate_chain_size(), 2);
  EXPECT_EQ(certificate->certificate_chain(0), pki_.client.Der());
  EXPECT_FALSE(certificate->private_key().empty());

  auto verdict = client->OnServerCertificate(
      VerdictRequest("api.example.test", pki_.ServerChain()));
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_TRUE(verdict->accepted()) << verdict->detail();
  EXPECT_EQ(verdict->reason(), v1::ACCEPTED);
  EXPECT_EQ(verdict->rule_name(), "example-test");
  EXPECT_EQ(verdict->policy_version(), policy->policy_version());
  EXPECT_EQ(attempts_.load(), 3);
}

TEST_F(BrokerClientTest, BlockingCallsAnswerOverTheUnixSocket) {
  auto client = Client(Options(UnixAddress()));
  ASSERT_NE(client, nullptr);
  auto verdict = client->OnServerCertificate(VerdictRequest(
      "api.example.test", {pki_.server.Der()}));  // No intermediate.
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_FALSE(verdict->accepted());
  EXPECT_EQ(verdict->reason(), v1::INCOMPLETE_CHAIN);
}

TEST_F(BrokerClientTest, AsyncCallsAnswerOnAnotherThread) {
  auto client = Client(Options(TcpAddress()));
  ASSERT_NE(client, nullptr);
  Answer<v1::GetCertificatePolicyResponse> policy;
  Answer<v1::GetClientCertificateResponse> certificate;
  Answer<v1::OnServerCertificateResponse> verdict;
  client->GetCertificatePolicyAsync(PolicyRequest("api.example.test"),
                                    policy.Callback());
  client->GetClientCertificateAsync(CertificateRequest("api.example.test"),
                                    certificate.Callback());
  client->OnServerCertificateAsync(
      VerdictRequest("api.example.test", pki_.ServerChain()),
      verdict.Callback());
  ASSERT_TRUE(policy.Wait());
  ASSERT_TRUE(certificate.Wait());
  ASSERT_TRUE(verdict.Wait());
  ASSERT_TRUE(policy.result.ok()) << policy.result.status();
  EXPECT_EQ(policy.result->rule_name(), "example-test");
  ASSERT_TRUE(certificate.result.ok()) << certificate.result.status();
  EXPECT_EQ(certificate.result->certificate_id(), "exportable-client");
  ASSERT_TRUE(verdict.result.ok()) << verdict.result.status();
  EXPECT_EQ(verdict.result->reason(), v1::ACCEPTED);
  for (std::thread::id thread :
       {policy.thread, certificate.thread, verdict.thread}) {
    EXPECT_NE(thread, std::this_thread::get_id());
  }
}

TEST_F(BrokerClientTest, AsyncErrorsAnswerOnAnotherThread) {
  auto client = Client(Options(TcpAddress()));
  ASSERT_NE(client, nullptr);
  Answer<v1::GetClientCertificateResponse> denied;
  client->GetClientCertificateAsync(CertificateRequest("nowhere.invalid"),
                                    denied.Callback());
  ASSERT_TRUE(denied.Wait());
  EXPECT_EQ(denied.result.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(denied.thread, std::this_thread::get_id());
}

TEST_F(BrokerClientTest, ServerVerdictIsCachedAndAnsweredWithoutACall) {
  auto client = Client(Options(TcpAddress()));
  ASSERT_NE(client, nullptr);
  auto first = client->OnServerCertificate(
      VerdictRequest("api.example.test", pki_.ServerChain()));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->cache_ttl().seconds(), 120);
  // The same target as the broker matches it: case and trailing dot.
  auto second = client->OnServerCertificate(
      VerdictRequest("API.Example.Test.", pki_.ServerChain()));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->decision_id(), first->decision_id());  // No new decision.
  EXPECT_EQ(attempts_.load(), 1);
  agent::CacheStats stats = client->cache_stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.entries, 1u);

  // An asynchronous cache hit still answers on a client thread.
  Answer<v1::OnServerCertificateResponse> third;
  client->OnServerCertificateAsync(
      VerdictRequest("api.example.test", pki_.ServerChain()), third.Callback());
  ASSERT_TRUE(third.Wait());
  ASSERT_TRUE(third.result.ok()) << third.result.status();
  EXPECT_EQ(third.result->decision_id(), first->decision_id());
  EXPECT_NE(third.thread, std::this_thread::get_id());
  EXPECT_EQ(attempts_.load(), 1);
  EXPECT_EQ(client->cache_stats().hits, 2u);

  // Another chain, server name or agent verification is another question.
  auto other = VerdictRequest("api.example.test", pki_.ServerChain());
  other.set_server_name("127.0.0.1");
  auto by_ip = client->OnServerCertificate(other);
  ASSERT_TRUE(by_ip.ok()) << by_ip.status();
  EXPECT_NE(by_ip->decision_id(), first->decision_id());
  other.mutable_agent_verification()->set_accepted(true);
  auto with_agent = client->OnServerCertificate(other);
  ASSERT_TRUE(with_agent.ok()) << with_agent.status();
  EXPECT_NE(with_agent->decision_id(), by_ip->decision_id());
  EXPECT_EQ(attempts_.load(), 3);
  EXPECT_EQ(client->cache_stats().entries, 3u);
}

TEST_F(BrokerClientTest, PolicyAndClientCertificateAreCached) {
  auto client = Client(Options(TcpAddress()));
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 3; ++i) {
    auto policy =
        client->GetCertificatePolicy(PolicyRequest("api.example.test"));
    ASSERT_TRUE(policy.ok()) << policy.status();
    auto certificate =
        client->GetClientCertificate(CertificateRequest("api.example.test"));
    ASSERT_TRUE(certificate.ok()) << certificate.status();
  }
  // (certificate_cache_ttl's other effects: certificate_cache_test.cc.)
  EXPECT_EQ(attempts_.load(), 1 + 1);
  agent::CacheStats stats = client->cache_stats();
  EXPECT_EQ(stats.hits, 4u);
  EXPECT_EQ(stats.misses, 2u);
  EXPECT_EQ(stats.entries, 2u);
}

TEST_F(BrokerClientTest, ChangedPolicyVersionDropsCachedAnswers) {
  auto client = Client(Options(TcpAddress()));
  ASSERT_NE(client, nullptr);
  auto request = VerdictRequest("api.example.test", pki_.ServerChain());
  auto first = client->OnServerCertificate(request);
  ASSERT_TRUE(first.ok()) << first.status();
  auto policy = client->GetCertificatePolicy(PolicyRequest("api.example.test"));
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(client->cache_stats().entries, 2u);

  Reload(SdkConfig(R"(  - name: added
    match: { hosts: [new.example.org] }
    server_validation: { trust_bundles: [test-roots] }
)"));
  // Until an answer shows the new version, the client cannot know of it.
  auto cached = client->OnServerCertificate(request);
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(cached->decision_id(), first->decision_id());
  // Any answer of the new version (here a certificate, not asked before)
  // drops every cached answer of the old one; only it is left.
  auto certificate =
      client->GetClientCertificate(CertificateRequest("api.example.test"));
  ASSERT_TRUE(certificate.ok()) << certificate.status();
  EXPECT_NE(certificate->policy_version(), first->policy_version());
  EXPECT_EQ(client->cache_stats().entries, 1u);
  auto again = client->OnServerCertificate(request);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(again->decision_id(), first->decision_id());
  EXPECT_EQ(again->policy_version(), certificate->policy_version());
  auto new_policy =
      client->GetCertificatePolicy(PolicyRequest("api.example.test"));
  ASSERT_TRUE(new_policy.ok()) << new_policy.status();
  EXPECT_EQ(new_policy->policy_version(), certificate->policy_version());
  EXPECT_EQ(attempts_.load(), 5);
}

TEST_F(BrokerClientTest, DisabledCacheAsksEveryTime) {
  auto options = Options(TcpAddress());
  options.cache_max_entries = 0;
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  auto request = VerdictRequest("api.example.test", pki_.ServerChain());
  auto first = client->OnServerCertificate(request);
  auto second = client->OnServerCertificate(request);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->decision_id(), second->decision_id());
  EXPECT_EQ(attempts_.load(), 2);
  EXPECT_EQ(client->cache_stats().entries, 0u);
}

TEST_F(BrokerClientTest, ChainRequiredIsNotCached) {
  auto client = Client(Options(TcpAddress()));
  ASSERT_NE(client, nullptr);
  v1::OnServerCertificateRequest by_digest;
  by_digest.mutable_target()->set_host("api.example.test");
  by_digest.set_certificate_chain_sha256(std::string(32, 'x'));
  for (int i = 0; i < 2; ++i) {
    auto verdict = client->OnServerCertificate(by_digest);
    ASSERT_TRUE(verdict.ok()) << verdict.status();
    EXPECT_EQ(verdict->reason(), v1::CHAIN_REQUIRED);
  }
  EXPECT_EQ(attempts_.load(), 2);
  EXPECT_EQ(client->cache_stats().entries, 0u);
}

TEST_F(BrokerClientTest, BrokerRefusalIsNotUnavailable) {
  auto client = Client(Options(TcpAddress()));
  ASSERT_NE(client, nullptr);
  auto denied =
      client->GetClientCertificate(CertificateRequest("nowhere.invalid"));
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(denied.status().message(),
              HasSubstr("no rule gives 'dev:insecure-loopback' a client "
                        "certificate for https://nowhere.invalid:443"));
  EXPECT_FALSE(agent::IsBrokerUnavailable(denied.status()));
  v1::OnServerCertificateRequest empty;
  auto invalid = client->OnServerCertificate(empty);
  EXPECT_EQ(invalid.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(agent::IsBrokerUnavailable(invalid.status()));
  EXPECT_EQ(attempts_.load(), 2);  // Answers are not retried.
}

// The newer methods answer UNIMPLEMENTED until the broker has them; either
// way the client passes the broker's status through unchanged and once.
TEST_F(BrokerClientTest, PassesNewerMethodsStatusThroughUnretried) {
  auto client = Client(Options(TcpAddress()));
  ASSERT_NE(client, nullptr);
  auto stub = v1::CertificateBroker::NewStub(
      grpc::CreateChannel(TcpAddress(), grpc::InsecureChannelCredentials()));
  auto expect_same = [](const absl::Status& got, const grpc::Status& direct) {
    EXPECT_FALSE(direct.ok());
    EXPECT_EQ(static_cast<int>(got.code()),
              static_cast<int>(direct.error_code()));
    EXPECT_EQ(got.message(), direct.error_message());
    EXPECT_FALSE(agent::IsBrokerUnavailable(got));
  };
  v1::SignRequest sign;
  sign.set_key_handle("not-a-handle");
  sign.set_algorithm(0x0403);
  sign.set_input(std::string(32, 'd'));
  {
    grpc::ClientContext context;
    v1::SignResponse response;
    expect_same(client->Sign(sign).status(),
                stub->Sign(&context, sign, &response));
  }
  v1::OnClientCertificateRequest judge;  // No listener: malformed.
  {
    grpc::ClientContext context;
    v1::OnClientCertificateResponse response;
    expect_same(client->OnClientCertificate(judge).status(),
                stub->OnClientCertificate(&context, judge, &response));
  }
  v1::GetNegotiationPolicyRequest negotiate;
  {
    grpc::ClientContext context;
    v1::GetNegotiationPolicyResponse response;
    grpc::Status direct =
        stub->GetNegotiationPolicy(&context, negotiate, &response);
    expect_same(client->GetNegotiationPolicy(negotiate).status(), direct);
  }
  EXPECT_EQ(attempts_.load(), 3);
}

TEST_F(BrokerClientTest, InboundAnswersAreCachedByListenerSniAndChain) {
  auto client = Client(Options(TcpAddress()));
  ASSERT_NE(client, nullptr);
  v1::GetNegotiationPolicyRequest negotiate;
  negotiate.mutable_listener()->set_name("sidecar-in");
  negotiate.mutable_listener()->set_sni("Svc.Example.Test");
  auto mode = client->GetNegotiationPolicy(negotiate);
  ASSERT_TRUE(mode.ok()) << mode.status();
  EXPECT_EQ(mode->mode(), v1::REQUIRE);
  EXPECT_EQ(mode->rule_name(), "sidecar");
  EXPECT_EQ(mode->cache_ttl().seconds(), 60);
  negotiate.mutable_listener()->set_sni("svc.example.test");
  auto again = client->GetNegotiationPolicy(negotiate);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->rule_name(), "sidecar");
  EXPECT_EQ(attempts_.load(), 1);

  v1::OnClientCertificateRequest judge;
  *judge.mutable_listener() = negotiate.listener();
  judge.add_certificate_chain(pki_.client.Der());
  judge.add_certificate_chain(pki_.intermediate.Der());
  auto verdict = client->OnClientCertificate(judge);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_TRUE(verdict->accepted()) << verdict->detail();
  EXPECT_EQ(verdict->reason(), v1::ACCEPTED);
  auto cached = client->OnClientCertificate(judge);
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(cached->decision_id(), verdict->decision_id());
  // No certificate at all is another question (and a rejection).
  v1::OnClientCertificateRequest anonymous;
  *anonymous.mutable_listener() = negotiate.listener();
  auto missing = client->OnClientCertificate(anonymous);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->accepted());
  EXPECT_EQ(missing->reason(), v1::CLIENT_CERTIFICATE_MISSING);
  EXPECT_EQ(attempts_.load(), 3);
  EXPECT_EQ(client->cache_stats().hits, 2u);
}

TEST_F(BrokerClientTest, CreateChecksOptions) {
  agent::BrokerClientOptions options;
  auto no_address = agent::BrokerClient::Create(options);
  EXPECT_EQ(no_address.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(no_address.status().message(),
            "BrokerClientOptions.address is empty");
  options.address = TcpAddress();
  options.max_attempts = 0;
  auto no_attempts = agent::BrokerClient::Create(options);
  EXPECT_EQ(no_attempts.status().message(),
            "BrokerClientOptions.max_attempts must be at least 1, not 0");
  options.max_attempts = 3;
  options.tls_ca_file = dir_.Path("pki/missing.pem");
  auto missing = agent::BrokerClient::Create(options);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(),
              HasSubstr("BrokerClientOptions.tls_ca_file: "));
  EXPECT_THAT(missing.status().message(), HasSubstr("pki/missing.pem"));
  options.tls_ca_file = dir_.Path("pki/broker-ca.pem");
  options.tls_cert_file = dir_.Path("pki/agent.pem");
  auto half = agent::BrokerClient::Create(options);
  EXPECT_EQ(half.status().message(),
            "BrokerClientOptions: tls_cert_file and tls_key_file go together");
}

class BrokerClientTlsTest : public SdkBrokerTest {};

TEST_F(BrokerClientTlsTest, AnswersOverTlsWithAClientCertificate) {
  dir_.Write("config.yaml", SdkConfig("", /*tls=*/true));
  StartBroker(BrokerAccess::kAsConfigured);
  agent::BrokerClientOptions options = Options(TcpAddress());
  options.tls_ca_file = dir_.Path("pki/broker-ca.pem");
  options.tls_cert_file = dir_.Path("pki/agent.pem");
  options.tls_key_file = dir_.Path("pki/agent.key");
  options.tls_server_name = "broker.test";
  auto client = agent::BrokerClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  auto verdict = (*client)->OnServerCertificate(
      VerdictRequest("api.example.test", pki_.ServerChain()));
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->reason(), v1::ACCEPTED);
  auto denied =
      (*client)->GetClientCertificate(CertificateRequest("nowhere.invalid"));
  EXPECT_THAT(denied.status().message(),
              HasSubstr(absl::StrCat("no rule gives '", kSdkAgentId, "'")));

  // Without a client certificate the broker refuses the handshake: the
  // broker cannot be asked, which is "unavailable", not an answer.
  options.tls_cert_file.clear();
  options.tls_key_file.clear();
  options.max_attempts = 2;
  auto anonymous = agent::BrokerClient::Create(options);
  ASSERT_TRUE(anonymous.ok()) << anonymous.status();
  auto refused =
      (*anonymous)->GetCertificatePolicy(PolicyRequest("api.example.test"));
  EXPECT_TRUE(agent::IsBrokerUnavailable(refused.status())) << refused.status();
}

}  // namespace
}  // namespace certbroker::testing

// The three CertificateBroker RPCs against a running certbrokerd, over TCP
// and a Unix socket: exact answers for good requests, exact reasons for bad
// chains, exact codes for bad input, and a broker still serving afterwards.
#include <regex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "broker/x509/boringssl.h"
#include "broker/x509/certificate.h"
#include "gmock/gmock.h"
#include "tests/integration/broker_fixture.h"

namespace certbroker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

v1::Target HostTarget(const std::string& host, uint32_t port = 0) {
  v1::Target target;
  target.set_host(host);
  target.set_port(port);
  return target;
}

class CertificateBrokerRpcTest : public BrokerFixture {
 protected:
  v1::GetCertificatePolicyResponse Policy(v1::CertificateBroker::Stub& stub,
                                          const v1::Target& target) {
    v1::GetCertificatePolicyRequest request;
    *request.mutable_target() = target;
    v1::GetCertificatePolicyResponse response;
    grpc::Status status =
        stub.GetCertificatePolicy(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  grpc::Status ClientCertificate(const v1::Target& target,
                                 v1::GetClientCertificateResponse& response,
                                 std::vector<std::string> issuers = {}) {
    v1::GetClientCertificateRequest request;
    *request.mutable_target() = target;
    for (std::string& issuer : issuers)
      request.add_acceptable_issuers(std::move(issuer));
    return tcp_->GetClientCertificate(Context().get(), request, &response);
  }

  grpc::Status ServerCertificate(const std::string& host,
                                 const std::vector<std::string>& chain,
                                 v1::OnServerCertificateResponse& response,
                                 const std::string& server_name = "") {
    v1::OnServerCertificateRequest request;
    *request.mutable_target() = HostTarget(host);
    request.set_server_name(server_name);
    for (const std::string& der : chain) request.add_certificate_chain(der);
    return tcp_->OnServerCertificate(Context().get(), request, &response);
  }

  v1::OnServerCertificateResponse Verdict(const std::string& host,
                                          const std::vector<std::string>& chain,
                                          const std::string& server_name = "") {
    v1::OnServerCertificateResponse response;
    grpc::Status status = ServerCertificate(host, chain, response, server_name);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }
};

TEST_F(CertificateBrokerRpcTest, PolicyOverTcpAndUnixSocketAgree) {
  for (auto* stub : {tcp_.get(), unix_.get()}) {
    v1::Target target;
    target.set_url("https://api.example.test/v1");
    v1::GetCertificatePolicyResponse policy = Policy(*stub, target);
    EXPECT_EQ(policy.rule_name(), "example-test");
    EXPECT_TRUE(policy.override_automatic_check());
    EXPECT_TRUE(policy.client_certificate_available());
    EXPECT_EQ(policy.validation_mode(), v1::BROKER);
    EXPECT_EQ(policy.policy_version().size(), 16u);
    EXPECT_EQ(policy.cache_ttl().seconds(), 120);
  }
}

TEST_F(CertificateBrokerRpcTest, PolicyReportsModesAndUnavailableCertificates) {
  v1::GetCertificatePolicyResponse both =
      Policy(*tcp_, HostTarget("locked.example.test"));
  EXPECT_EQ(both.validation_mode(), v1::BOTH);
  EXPECT_TRUE(both.override_automatic_check());
  EXPECT_TRUE(both.client_certificate_available());
  v1::GetCertificatePolicyResponse agent =
      Policy(*tcp_, HostTarget("agent.example.test"));
  EXPECT_EQ(agent.validation_mode(), v1::AGENT);
  EXPECT_FALSE(agent.override_automatic_check());
  EXPECT_FALSE(agent.client_certificate_available());
  v1::GetCertificatePolicyResponse old =
      Policy(*tcp_, HostTarget("old.example.test"));
  EXPECT_EQ(old.rule_name(), "old");
  EXPECT_FALSE(old.client_certificate_available());  // Expired.
  EXPECT_EQ(old.allowed_errors_size(), 0);
}

TEST_F(CertificateBrokerRpcTest, PolicyListsTheErrorsTheRuleTolerates) {
  v1::GetCertificatePolicyResponse legacy =
      Policy(*tcp_, HostTarget("legacy.example.test"));
  EXPECT_EQ(legacy.rule_name(), "legacy");
  ASSERT_EQ(legacy.allowed_errors_size(), 1);
  EXPECT_EQ(legacy.allowed_errors(0), v1::HOSTNAME_MISMATCH);
}

TEST_F(CertificateBrokerRpcTest, PolicyWithoutMatchingRuleFailsClosed) {
  v1::GetCertificatePolicyResponse policy =
      Policy(*unix_, HostTarget("nowhere.invalid"));
  EXPECT_EQ(policy.rule_name(), "");
  EXPECT_TRUE(policy.override_automatic_check());
  EXPECT_FALSE(policy.client_certificate_available());
  EXPECT_EQ(policy.validation_mode(), v1::BROKER);
  EXPECT_EQ(policy.cache_ttl().seconds(), 300);
}

TEST_F(CertificateBrokerRpcTest, GivesExportableCertificateWithMatchingKey) {
  v1::GetClientCertificateResponse response;
  grpc::Status status =
      ClientCertificate(HostTarget("api.example.test"), response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.certificate_id(), "exportable-client");
  EXPECT_EQ(response.rule_name(), "example-test");
  ASSERT_EQ(response.certificate_chain_size(), 2);
  EXPECT_EQ(response.certificate_chain(0), pki_->client.Der());
  EXPECT_EQ(response.certificate_chain(1), pki_->intermediate.Der());
  CBS cbs;
  CBS_init(&cbs,
           reinterpret_cast<const uint8_t*>(response.private_key().data()),
           response.private_key().size());
  bssl::UniquePtr<EVP_PKEY> key(EVP_parse_private_key(&cbs));
  ASSERT_NE(key, nullptr) << "private_key is not PKCS#8";
  EXPECT_EQ(X509_check_private_key(pki_->client.certificate.get(), key.get()),
            1);
  EXPECT_EQ(
      response.not_after().seconds(),
      absl::ToUnixSeconds(x509::NotAfter(pki_->client.certificate.get())));
  EXPECT_LT(response.refresh_after().seconds(), response.not_after().seconds());
  EXPECT_GT(response.refresh_after().seconds(),
            absl::ToUnixSeconds(absl::Now()));
}

TEST_F(CertificateBrokerRpcTest, NonExportableKeyStaysBehindAKeyHandle) {
  v1::GetClientCertificateResponse response;
  grpc::Status status =
      ClientCertificate(HostTarget("locked.example.test"), response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.certificate_id(), "locked-client");
  EXPECT_EQ(response.private_key(), "");
  EXPECT_FALSE(response.key_handle().handle().empty());
  EXPECT_EQ(response.certificate_chain(0), pki_->client.Der());
  // Signing through it is covered by sign_rpc_test.cc.
}

TEST_F(CertificateBrokerRpcTest, ClientCertificateNotFoundCases) {
  v1::GetClientCertificateResponse response;
  grpc::Status none =
      ClientCertificate(HostTarget("nowhere.invalid"), response);
  // No rule gives this caller a certificate: PERMISSION_DENIED, so that
  // the answer is the same whether or not another agent has one.
  EXPECT_EQ(none.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(none.error_message(),
              HasSubstr("no rule gives 'dev:insecure-loopback' a client "
                        "certificate for https://nowhere.invalid:443"));
  grpc::Status no_certificate =
      ClientCertificate(HostTarget("agent.example.test"), response);
  EXPECT_EQ(no_certificate.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(no_certificate.error_message(),
              HasSubstr("rule 'agent-only' assigns no client certificate"));
}

TEST_F(CertificateBrokerRpcTest, HonoursAcceptableIssuers) {
  auto name_der = [](const devpki::Issued& issued) {
    return x509::NameToDer(X509_get_subject_name(issued.certificate.get()));
  };
  v1::GetClientCertificateResponse response;
  grpc::Status accepted = ClientCertificate(
      HostTarget("api.example.test"), response,
      {name_der(pki_->stranger_root), name_der(pki_->intermediate)});
  EXPECT_TRUE(accepted.ok()) << accepted.error_message();
  grpc::Status refused =
      ClientCertificate(HostTarget("api.example.test"), response,
                        {name_der(pki_->stranger_root)});
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("is not issued by any of the 1 acceptable issuers"));
  grpc::Status malformed =
      ClientCertificate(HostTarget("api.example.test"), response,
                        {name_der(pki_->intermediate), "garbage"});
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(malformed.error_message(),
              HasSubstr("acceptable_issuers[1]: not a DER distinguished name"));
}

TEST_F(CertificateBrokerRpcTest, RefusesExpiredClientCertificate) {
  v1::GetClientCertificateResponse response;
  grpc::Status status =
      ClientCertificate(HostTarget("old.example.test"), response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(),
              HasSubstr("certificate 'expired-client' expired at"));
}

TEST_F(CertificateBrokerRpcTest, AcceptsGoodServerChainAndLogsTheDecision) {
  v1::OnServerCertificateResponse verdict = Verdict(
      "api.example.test", ChainOf({&pki_->server, &pki_->intermediate}));
  EXPECT_TRUE(verdict.accepted()) << verdict.detail();
  EXPECT_EQ(verdict.reason(), v1::ACCEPTED);
  EXPECT_EQ(verdict.rule_name(), "example-test");
  EXPECT_TRUE(
      std::regex_match(verdict.decision_id(), std::regex("[0-9a-f]{32}")));
  EXPECT_EQ(verdict.cache_ttl().seconds(), 120);
  EXPECT_EQ(verdict.policy_version(),
            Policy(*tcp_, HostTarget("api.example.test")).policy_version());
  EXPECT_TRUE(broker_->WaitForLog(absl::StrCat("id=", verdict.decision_id())));
  std::string log = broker_->Log();
  std::string line =
      log.substr(log.find(absl::StrCat("id=", verdict.decision_id())));
  line = line.substr(0, line.find('\n'));
  EXPECT_THAT(line, HasSubstr("target=https://api.example.test:443"));
  EXPECT_THAT(line, HasSubstr("verdict=accept reason=ACCEPTED"));
}

TEST_F(CertificateBrokerRpcTest, AcceptsIpTargetsByIpSan) {
  v1::OnServerCertificateResponse verdict =
      Verdict("127.0.0.1", ChainOf({&pki_->server, &pki_->intermediate}));
  EXPECT_EQ(verdict.reason(), v1::ACCEPTED) << verdict.detail();
}

TEST_F(CertificateBrokerRpcTest, RejectsBadChainsWithExactReasons) {
  struct Case {
    std::string host;
    std::vector<std::string> chain;
    std::string server_name;
    v1::Reason reason;
  };
  std::vector<Case> cases = {
      {"api.example.test",
       ChainOf({&pki_->expired_server, &pki_->intermediate}), "", v1::EXPIRED},
      {"api.example.test", ChainOf({&pki_->server, &pki_->intermediate}),
       "wrong.example.test", v1::HOSTNAME_MISMATCH},
      {"other.example.test", ChainOf({&pki_->server, &pki_->intermediate}), "",
       v1::HOSTNAME_MISMATCH},
      {"api.example.test",
       ChainOf({&pki_->stranger_server, &pki_->stranger_root}), "",
       v1::UNTRUSTED_ROOT},
      {"api.example.test", ChainOf({&pki_->stranger_server}), "",
       v1::INCOMPLETE_CHAIN},
      {"api.example.test", ChainOf({&pki_->server}), "", v1::INCOMPLETE_CHAIN},
      {"api.example.test",
       ChainOf({&pki_->client_only_server, &pki_->intermediate}), "",
       v1::BAD_EXTENDED_KEY_USAGE},
      {"nowhere.invalid", ChainOf({&pki_->server, &pki_->intermediate}), "",
       v1::NO_MATCHING_RULE},
      {"agent.example.test", ChainOf({&pki_->server, &pki_->intermediate}), "",
       v1::AGENT_RESULT_MISSING},
      {"both.example.test", ChainOf({&pki_->server, &pki_->intermediate}),
       "api.example.test", v1::AGENT_RESULT_MISSING},
      {"x.blocked.test", ChainOf({&pki_->server, &pki_->intermediate}),
       "api.example.test", v1::DENIED},
      {"api.example.test", ChainOf({&pki_->denied_server, &pki_->intermediate}),
       "", v1::DENIED},
      {"pinned-elsewhere.example.test",
       ChainOf({&pki_->server, &pki_->intermediate}), "api.example.test",
       v1::PIN_MISMATCH},
      {"crl.example.test",
       ChainOf({&pki_->revoked_server, &pki_->intermediate}),
       "api.example.test", v1::REVOKED},
      {"api.example.test",
       ChainOf({&pki_->revoked_server, &pki_->intermediate}), "",
       v1::REVOKED},  // Soft-fail still rejects a revoked certificate.
  };
  for (const Case& c : cases) {
    v1::OnServerCertificateResponse verdict =
        Verdict(c.host, c.chain, c.server_name);
    EXPECT_FALSE(verdict.accepted())
        << c.host << " " << v1::Reason_Name(c.reason);
    EXPECT_EQ(verdict.reason(), c.reason)
        << "expected " << v1::Reason_Name(c.reason) << ", got "
        << v1::Reason_Name(verdict.reason()) << ": " << verdict.detail();
    EXPECT_FALSE(verdict.detail().empty());
    EXPECT_EQ(verdict.decision_id().size(), 32u);
  }
}

TEST_F(CertificateBrokerRpcTest, BadInputGetsInvalidArgumentNamingTheField) {
  v1::OnServerCertificateResponse response;
  std::vector<std::string> malformed = ChainOf({&pki_->server});
  malformed.push_back(
      std::string("\x30\x03"
                  "abc",
                  5));
  grpc::Status status =
      ServerCertificate("api.example.test", malformed, response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "certificate_chain[1]: not a DER certificate");

  status = ServerCertificate("api.example.test", {}, response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("certificate_chain: required"));

  std::vector<std::string> too_long(11, pki_->intermediate.Der());
  status = ServerCertificate("api.example.test", too_long, response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("11 certificates, more than the maximum of 10"));

  status = ServerCertificate("", ChainOf({&pki_->server}), response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("target.host: required"));

  status = ServerCertificate("api.example.test", ChainOf({&pki_->server}),
                             response, "not a name");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("server_name: 'not a name'"));
}

TEST_F(CertificateBrokerRpcTest, OversizedRequestIsResourceExhausted) {
  v1::OnServerCertificateResponse response;
  std::vector<std::string> huge = {std::string((1 << 20) + 1024, 'x')};
  grpc::Status status = ServerCertificate("api.example.test", huge, response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
}

TEST_F(CertificateBrokerRpcTest, StillServesAfterBadInput) {
  v1::OnServerCertificateResponse response;
  for (int i = 0; i < 20; ++i) {
    std::string garbage(static_cast<size_t>(i * 37 + 1),
                        static_cast<char>(0x30 + i));
    ServerCertificate("api.example.test", {garbage}, response);
  }
  v1::OnServerCertificateResponse verdict = Verdict(
      "api.example.test", ChainOf({&pki_->server, &pki_->intermediate}));
  EXPECT_EQ(verdict.reason(), v1::ACCEPTED);
}

TEST_F(CertificateBrokerRpcTest, ServesConcurrentCallsOnBothListeners) {
  std::vector<std::thread> threads;
  std::atomic<int> accepted{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto stub = MakeStub(broker_->addresses()[t % 2]);
      for (int i = 0; i < 50; ++i) {
        v1::OnServerCertificateRequest request;
        request.mutable_target()->set_host("api.example.test");
        request.add_certificate_chain(pki_->server.Der());
        request.add_certificate_chain(pki_->intermediate.Der());
        v1::OnServerCertificateResponse response;
        if (stub->OnServerCertificate(Context().get(), request, &response)
                .ok() &&
            response.accepted()) {
          ++accepted;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(accepted.load(), 200);
}

}  // namespace
}  // namespace certbroker::testing

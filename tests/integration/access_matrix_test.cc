// The security matrix, against a real certbrokerd enforcing access: each
// case asserts the exact gRPC code, what the caller learns (nothing about
// other agents' certificates), and the audit record of every denial.
#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "tests/integration/access_fixture.h"
#include "tests/support/command_runner.h"

namespace certbroker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::unique_ptr<grpc::ClientContext> Deadline(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

grpc::Status Policy(const std::shared_ptr<grpc::Channel>& channel,
                    const std::string& host) {
  auto stub = v1::CertificateBroker::NewStub(channel);
  v1::GetCertificatePolicyRequest request;
  request.mutable_target()->set_host(host);
  v1::GetCertificatePolicyResponse response;
  return stub->GetCertificatePolicy(Deadline(absl::Seconds(10)).get(), request,
                                    &response);
}

grpc::Status ClientCertificate(const std::shared_ptr<grpc::Channel>& channel,
                               const std::string& host,
                               v1::GetClientCertificateResponse& response) {
  auto stub = v1::CertificateBroker::NewStub(channel);
  v1::GetClientCertificateRequest request;
  request.mutable_target()->set_host(host);
  return stub->GetClientCertificate(Deadline(absl::Seconds(10)).get(), request,
                                    &response);
}

class AccessMatrixTest : public AccessFixture {
 protected:
  // ExpectHandshakeRefused asserts that presenting `client` gets no answer
  // and that the refusal is audited with `reason`.
  void ExpectHandshakeRefused(const devpki::Issued& client,
                              const std::string& reason) {
    grpc::Status status = Policy(Channel(&client), "a.example.test");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << status.error_message();
    EXPECT_THAT(status.error_message(), Not(HasSubstr("for-a")));
    EXPECT_TRUE(HasAuditRecord([&](const v1::AuditRecord& record) {
      return record.rpc() == "Handshake" && record.verdict() == "refused" &&
             absl::StrContains(record.detail(), reason);
    })) << "no Handshake audit record says "
        << reason;
  }
};

TEST_F(AccessMatrixTest, GoodAgentIsServed) {
  v1::GetClientCertificateResponse response;
  grpc::Status status =
      ClientCertificate(Channel(&pki_->agent_a), "a.example.test", response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.certificate_id(), "cert-a");
  EXPECT_EQ(response.rule_name(), "for-a");
}

TEST_F(AccessMatrixTest, NoClientCertificateIsRefusedAtTheHandshake) {
  grpc::Status status = Policy(Channel(nullptr), "a.example.test");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(AccessMatrixTest, CertificateFromAnUnknownCaIsRefused) {
  ExpectHandshakeRefused(pki_->stranger_agent, "(CN=stranger)");
}

TEST_F(AccessMatrixTest, ExpiredAgentCertificateIsRefused) {
  ExpectHandshakeRefused(pki_->expired_agent, "EXPIRED: ");
}

TEST_F(AccessMatrixTest, RevokedAgentCertificateIsRefused) {
  ExpectHandshakeRefused(pki_->revoked_agent, "REVOKED: ");
}

TEST_F(AccessMatrixTest, SpiffeIdOfAnotherTrustDomainIsRefused) {
  ExpectHandshakeRefused(pki_->foreign_domain_agent,
                         "is of trust domain 'evil.test'");
}

TEST_F(AccessMatrixTest, AgentCannotReachTheAdminApi) {
  auto admin = v1::CertificateAdmin::NewStub(Channel(&pki_->agent_a));
  v1::GetStatusRequest request;
  v1::Status response;
  grpc::Status status =
      admin->GetStatus(Deadline(absl::Seconds(10)).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(),
              HasSubstr(absl::StrCat("'", kAgentA,
                                     "' (roles AGENT) may not "
                                     "call GetStatus")));
  EXPECT_TRUE(HasAuditRecord([](const v1::AuditRecord& record) {
    return record.rpc() == "GetStatus" && record.agent() == kAgentA &&
           record.verdict() == "denied" &&
           record.reason() == "PERMISSION_DENIED";
  }));
}

TEST_F(AccessMatrixTest, AuditorReadsButCannotChange) {
  auto admin = v1::CertificateAdmin::NewStub(Channel(&pki_->auditor));
  v1::Status status_response;
  EXPECT_TRUE(admin
                  ->GetStatus(Deadline(absl::Seconds(10)).get(),
                              v1::GetStatusRequest(), &status_response)
                  .ok());
  v1::UpdatePolicyRequest update;
  v1::Policy policy;
  grpc::Status status =
      admin->UpdatePolicy(Deadline(absl::Seconds(10)).get(), update, &policy);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AccessMatrixTest, AnotherAgentsCertificateIsDeniedWithoutDisclosure) {
  auto channel = Channel(&pki_->agent_a);
  v1::GetClientCertificateResponse response;
  grpc::Status theirs = ClientCertificate(channel, "b.example.test", response);
  EXPECT_EQ(theirs.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(response.certificate_chain().empty());
  EXPECT_TRUE(response.private_key().empty());
  // A target no rule covers at all gets the same answer: the denial says
  // nothing about whether b.example.test has a certificate.
  grpc::Status nobodys = ClientCertificate(channel, "c.example.test", response);
  EXPECT_EQ(nobodys.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(absl::StrReplaceAll(theirs.error_message(), {{"b.example", "X"}}),
            absl::StrReplaceAll(nobodys.error_message(), {{"c.example", "X"}}));
  EXPECT_THAT(theirs.error_message(), Not(HasSubstr("for-b")));
  EXPECT_TRUE(HasAuditRecord([](const v1::AuditRecord& record) {
    return record.rpc() == "GetClientCertificate" &&
           record.agent() == kAgentA &&
           record.target() == "https://b.example.test:443" &&
           record.verdict() == "PERMISSION_DENIED";
  }));
  // Agent B gets it.
  ASSERT_TRUE(
      ClientCertificate(Channel(&pki_->agent_b), "b.example.test", response)
          .ok());
  EXPECT_EQ(response.certificate_id(), "cert-b");
}

TEST_F(AccessMatrixTest, MappedUnixPeerIsItsIdentity) {
  v1::GetClientCertificateResponse response;
  grpc::Status status =
      ClientCertificate(UnixChannel(), "a.example.test", response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.certificate_id(), "cert-a");
}

TEST_F(AccessMatrixTest, UnmappedUnixPeerIsUnauthenticated) {
  TempDir dir;
  std::string config =
      dir.Write("config.yaml",
                "access: {unix_peers: [{uid: 4294967294, identity: x}]}\n");
  auto broker = BrokerProcess::Start(
      {"--config=" + config, "--listen=unix:" + dir.Path("b.sock")}, dir.path(),
      absl::Seconds(20), BrokerAccess::kAsConfigured);
  ASSERT_TRUE(broker.ok()) << broker.status();
  grpc::Status status =
      Policy(grpc::CreateChannel((*broker)->addresses()[0],
                                 grpc::InsecureChannelCredentials()),
             "a.example.test");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(),
              HasSubstr(absl::StrCat("the Unix-socket peer (uid=", getuid())));
  EXPECT_THAT(status.error_message(),
              HasSubstr("is not named by access.unix_peers"));
  EXPECT_EQ((*broker)->Stop(), 0);
}

TEST_F(AccessMatrixTest, OversizedMessageIsRefused) {
  auto stub = v1::CertificateBroker::NewStub(Channel(&pki_->agent_a));
  v1::OnServerCertificateRequest request;
  request.mutable_target()->set_host("a.example.test");
  request.add_certificate_chain(std::string(100000, 'x'));
  v1::OnServerCertificateResponse response;
  grpc::Status status = stub->OnServerCertificate(
      Deadline(absl::Seconds(10)).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(AccessMatrixTest, ChainOfAThousandCertificatesIsRefused) {
  auto stub = v1::CertificateBroker::NewStub(Channel(&pki_->agent_a));
  v1::OnServerCertificateRequest request;
  request.mutable_target()->set_host("a.example.test");
  for (int i = 0; i < 1000; ++i)
    request.add_certificate_chain(pki_->client_a.Der());
  v1::OnServerCertificateResponse response;
  grpc::Status status = stub->OnServerCertificate(
      Deadline(absl::Seconds(10)).get(), request, &response);
  // Above the 64 KiB message limit: refused before it is parsed.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Within the message limit, the chain-length limit refuses 11.
  request.mutable_certificate_chain()->DeleteSubrange(11, 989);
  status = stub->OnServerCertificate(Deadline(absl::Seconds(10)).get(), request,
                                     &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("11 certificates, more than the maximum of 10"));
  // And one certificate larger than limits.max_certificate_bytes.
  request.clear_certificate_chain();
  request.add_certificate_chain(std::string(20000, '\x30'));
  status = stub->OnServerCertificate(Deadline(absl::Seconds(10)).get(), request,
                                     &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("certificate_chain[0] is 20000 bytes, more than "
                        "limits.max_certificate_bytes (16384)"));
}

TEST_F(AccessMatrixTest, CertbrokerctlSpeaksTlsWithTheCallersRole) {
  dir_->Write("ctl/ca.pem", pki_->broker_ca.CertificatePem());
  dir_->Write("ctl/admin.pem", pki_->admin.CertificatePem());
  dir_->Write("ctl/admin.key", pki_->admin.KeyPem());
  dir_->Write("ctl/agent.pem", pki_->agent_a.CertificatePem());
  dir_->Write("ctl/agent.key", pki_->agent_a.KeyPem());
  auto ctl = [&](const std::string& who) {
    return RunCommand({CERTBROKERCTL_PATH, "--broker", broker_->addresses()[0],
                       "--tls_ca", dir_->Path("ctl/ca.pem"), "--tls_cert",
                       dir_->Path("ctl/" + who + ".pem"), "--tls_key",
                       dir_->Path("ctl/" + who + ".key"), "--tls_server_name",
                       "broker.test", "status"});
  };
  CommandResult admin = ctl("admin");
  EXPECT_EQ(admin.exit_code, 0) << admin.err;
  EXPECT_THAT(admin.out, HasSubstr("policy version"));
  CommandResult agent = ctl("agent");
  EXPECT_EQ(agent.exit_code, 1);
  EXPECT_THAT(agent.err, HasSubstr("PERMISSION_DENIED: '"));
}

TEST_F(AccessMatrixTest, CallsInFlightAreBoundedPerCaller) {
  // The fixture allows 32 calls in flight per identity; watch streams stay
  // in flight until cancelled.
  auto channel = Channel(&pki_->auditor);
  auto admin = v1::CertificateAdmin::NewStub(channel);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::AuditRecord>>> watches;
  for (int i = 0; i < 32; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    watches.push_back(admin->WatchAuditRecords(contexts.back().get(), {}));
    watches.back()->WaitForInitialMetadata();
  }
  grpc::ClientContext one_more;
  auto refused = admin->WatchAuditRecords(&one_more, {});
  v1::AuditRecord record;
  EXPECT_FALSE(refused->Read(&record));
  grpc::Status status = refused->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(),
              HasSubstr("already has 32 calls in flight"));
  // Another identity is not affected.
  v1::Status broker_status;
  grpc::ClientContext admin_context;
  EXPECT_TRUE(v1::CertificateAdmin::NewStub(Channel(&pki_->admin))
                  ->GetStatus(&admin_context, {}, &broker_status)
                  .ok());
  for (auto& context : contexts) context->TryCancel();
  for (auto& watch : watches) watch->Finish();
  // The slots come back once the broker has seen the cancellations.
  grpc::Status again;
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  do {
    grpc::ClientContext context;
    again = admin->GetStatus(&context, {}, &broker_status);
    if (!again.ok()) absl::SleepFor(absl::Milliseconds(50));
  } while (!again.ok() && absl::Now() < deadline);
  EXPECT_TRUE(again.ok()) << again.error_message();
}

TEST_F(AccessMatrixTest, FloodingAgentDoesNotStarveAnother) {
  std::atomic<bool> stop{false};
  std::atomic<int> served{0}, limited{0}, other{0};
  std::atomic<int> without_retry_hint{0};
  auto flood_channel = Channel(&pki_->agent_b);
  std::vector<std::thread> flooders;
  for (int t = 0; t < 6; ++t) {
    flooders.emplace_back([&] {
      auto stub = v1::CertificateBroker::NewStub(flood_channel);
      v1::GetCertificatePolicyRequest request;
      request.mutable_target()->set_host("b.example.test");
      while (!stop.load()) {
        grpc::ClientContext context;
        v1::GetCertificatePolicyResponse response;
        grpc::Status status =
            stub->GetCertificatePolicy(&context, request, &response);
        if (status.ok()) {
          served++;
        } else if (status.error_code() ==
                   grpc::StatusCode::RESOURCE_EXHAUSTED) {
          limited++;
          if (context.GetServerTrailingMetadata().count("retry-after-ms") == 0)
            without_retry_hint++;
        } else {
          other++;
        }
      }
    });
  }
  // Meanwhile agent A calls with a 1 s deadline, every call of which must
  // succeed.
  auto channel = Channel(&pki_->agent_a);
  absl::Time start = absl::Now();
  int calls = 0;
  absl::Duration slowest;
  while (absl::Now() - start < absl::Seconds(3)) {
    absl::Time before = absl::Now();
    auto stub = v1::CertificateBroker::NewStub(channel);
    v1::GetCertificatePolicyRequest request;
    request.mutable_target()->set_host("a.example.test");
    v1::GetCertificatePolicyResponse response;
    grpc::Status status = stub->GetCertificatePolicy(
        Deadline(absl::Seconds(1)).get(), request, &response);
    ASSERT_TRUE(status.ok())
        << "call " << calls << ": " << status.error_message();
    slowest = std::max(slowest, absl::Now() - before);
    ++calls;
    absl::SleepFor(absl::Milliseconds(10));
  }
  absl::Duration elapsed = absl::Now() - start;
  stop = true;
  for (std::thread& flooder : flooders) flooder.join();
  double flood_rate = (served + limited) / absl::ToDoubleSeconds(elapsed);
  std::cout << "flooding agent: " << static_cast<int>(flood_rate)
            << " calls/s (" << served << " served, " << limited
            << " limited); other agent: " << calls << " calls, slowest "
            << absl::FormatDuration(slowest) << "\n";
  EXPECT_GT(limited.load(), 0);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(without_retry_hint.load(), 0);
  // 300 per second plus the burst of 300.
  EXPECT_LE(served.load(), 300 + 300 * absl::ToDoubleSeconds(elapsed) * 1.2);
}

}  // namespace
}  // namespace certbroker::testing

// Hot reload of certbrokerd's own TLS: a renewed serving certificate
// reaches new connections while open ones keep working, and a client CA
// added to the policy admits its agents without a restart.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "tests/integration/access_fixture.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {
namespace {

constexpr char kConfig[] = R"(
trust_bundles:
  - {name: agents-ca, pem_file: pki/agents-ca.pem}
access:
  tls:
    chain_pem_file: pki/broker.pem
    key_pem_file: pki/broker.key
    client_ca_bundles: [agents-ca]
)";

// ServerCertificate calls GetCertificatePolicy on `channel` and returns
// the PEM of the certificate the broker presented on that connection.
std::string ServerCertificate(const std::shared_ptr<grpc::Channel>& channel,
                              grpc::Status& status) {
  auto stub = v1::CertificateBroker::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::GetCertificatePolicyRequest request;
  request.mutable_target()->set_host("a.example.test");
  v1::GetCertificatePolicyResponse response;
  status = stub->GetCertificatePolicy(&context, request, &response);
  auto auth = context.auth_context();
  if (auth == nullptr) return "";
  auto values = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  return values.empty() ? "" : std::string(values[0].data(), values[0].size());
}

class AccessReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ca_ = MustIssue(devpki::RootSpec("Broker CA"), nullptr);
    agents_ca_ = MustIssue(devpki::RootSpec("Agents CA"), nullptr);
    devpki::CertificateSpec agent = devpki::ClientSpec("agent");
    agent.uris = {kAgentA};
    agent_ = MustIssue(agent, &agents_ca_);
    WriteServing("broker.test v1");
    dir_.Write("pki/agents-ca.pem", agents_ca_.CertificatePem());
    std::string config = dir_.Write("config.yaml", kConfig);
    auto broker = BrokerProcess::Start(
        {"--config=" + config, "--listen=127.0.0.1:0"}, dir_.path(),
        absl::Seconds(20), BrokerAccess::kAsConfigured);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(broker).value();
  }

  void WriteServing(const std::string& common_name) {
    serving_ = MustIssue(
        devpki::ServerSpec(common_name, {"broker.test"}, {"127.0.0.1"}),
        &broker_ca_);
    // The key first: a reader between the two writes sees a mismatched
    // pair, which gRPC skips until the next read.
    dir_.Write("pki/broker.key", serving_.KeyPem());
    dir_.Write("pki/broker.pem", serving_.CertificatePem());
  }

  std::shared_ptr<grpc::Channel> Connect(const devpki::Issued& client) {
    return TlsChannel(broker_->addresses()[0], broker_ca_.CertificatePem(),
                      &client);
  }

  TempDir dir_;
  devpki::Issued broker_ca_, agents_ca_, agent_, serving_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(AccessReloadTest, RenewedServingCertificateReachesNewConnectionsOnly) {
  auto old_channel = Connect(agent_);
  grpc::Status status;
  std::string first = ServerCertificate(old_channel, status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::string v1_pem = serving_.CertificatePem();
  EXPECT_EQ(first, v1_pem);

  WriteServing("broker.test v2");
  std::string v2_pem = serving_.CertificatePem();
  std::string seen;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (seen != v2_pem && absl::Now() < deadline) {
    seen = ServerCertificate(Connect(agent_), status);
    ASSERT_TRUE(status.ok()) << status.error_message();
    if (seen != v2_pem) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(seen, v2_pem) << "new connections never saw the renewed pair";
  // The connection opened before the renewal is still up, on the old pair.
  EXPECT_EQ(ServerCertificate(old_channel, status), v1_pem);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(old_channel->GetState(false), GRPC_CHANNEL_READY);
}

TEST_F(AccessReloadTest, AddedClientCaAdmitsItsAgentsWithoutRestart) {
  devpki::Issued new_ca = MustIssue(devpki::RootSpec("New Agents CA"), nullptr);
  devpki::CertificateSpec spec = devpki::ClientSpec("newcomer");
  spec.uris = {kAgentB};
  devpki::Issued newcomer = MustIssue(spec, &new_ca);
  grpc::Status status;
  ServerCertificate(Connect(newcomer), status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);

  dir_.Write("pki/agents-ca.pem",
             agents_ca_.CertificatePem() + new_ca.CertificatePem());
  broker_->Signal(SIGHUP);
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(200));
    ServerCertificate(Connect(newcomer), status);
  } while (!status.ok() && absl::Now() < deadline);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace certbroker::testing

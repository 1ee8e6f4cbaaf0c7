// The SDK tests' PKI, configuration, broker process and silent peer.
#include "tests/agents/sdk/sdk_broker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {

const char kSdkAgentId[] = "spiffe://corp.test/ns/a/sa/web";

namespace {

constexpr char kConfig[] = R"(
trust_bundles:
  - {name: test-roots, pem_file: pki/ca.pem}
  - {name: agents-ca, pem_file: pki/agents-ca.pem}
certificates:
  - {id: exportable-client, chain_pem_file: pki/client-chain.pem, key_pem_file: pki/client.key, exportable: true}
inbound_rules:
  - name: sidecar
    match: { listeners: [sidecar-in], server_names: ["*"] }
    client_certificate: REQUIRE
    peer_validation: { trust_bundles: [test-roots] }
    allowed_peers: ["*"]
    cache_ttl: 60s
rules:
  - name: example-test
    match: { hosts: ["*.example.test"] }
    client_certificate: exportable-client
    server_validation: { trust_bundles: [test-roots], mode: BROKER }
    cache_ttl: 120s
EXTRA_RULES)";

constexpr char kTlsAccess[] = R"(
access:
  tls:
    chain_pem_file: pki/broker.pem
    key_pem_file: pki/broker.key
    client_ca_bundles: [agents-ca]
  identity: {spiffe_trust_domains: [corp.test]}
  roles:
    - {identities: ['spiffe://corp.test/ns/*/sa/*'], roles: [AGENT]}
)";

}  // namespace

SdkPki SdkPki::Generate() {
  SdkPki pki;
  pki.root = MustIssue(devpki::RootSpec("SDK Root"), nullptr);
  pki.intermediate =
      MustIssue(devpki::IntermediateSpec("SDK Intermediate"), &pki.root);
  auto server_spec = devpki::ServerSpec("api.example.test",
                                        {"api.example.test"}, {"127.0.0.1"});
  pki.server = MustIssue(server_spec, &pki.intermediate);
  pki.other_server = MustIssue(
      devpki::ServerSpec("www.example.test", {"www.example.test"}, {}),
      &pki.intermediate);
  pki.client = MustIssue(devpki::ClientSpec("sdk-client"), &pki.intermediate);
  pki.broker_ca = MustIssue(devpki::RootSpec("SDK Broker CA"), nullptr);
  pki.broker = MustIssue(
      devpki::ServerSpec("broker.test", {"broker.test"}, {"127.0.0.1"}),
      &pki.broker_ca);
  pki.agents_ca = MustIssue(devpki::RootSpec("SDK Agents CA"), nullptr);
  devpki::CertificateSpec agent = devpki::ClientSpec("sdk-agent");
  agent.uris = {kSdkAgentId};
  pki.agent = MustIssue(agent, &pki.agents_ca);
  return pki;
}

void SdkPki::Write(const TempDir& dir) const {
  dir.Write("pki/ca.pem", root.CertificatePem());
  dir.Write("pki/client-chain.pem",
            client.CertificatePem() + intermediate.CertificatePem());
  dir.Write("pki/client.key", client.KeyPem());
  dir.Write("pki/broker-ca.pem", broker_ca.CertificatePem());
  dir.Write("pki/broker.pem", broker.CertificatePem());
  dir.Write("pki/broker.key", broker.KeyPem());
  dir.Write("pki/agents-ca.pem", agents_ca.CertificatePem());
  dir.Write("pki/agent.pem", agent.CertificatePem());
  dir.Write("pki/agent.key", agent.KeyPem());
}

std::vector<std::string> SdkPki::ServerChain() const {
  return {server.Der(), intermediate.Der()};
}

std::string SdkConfig(const std::string& extra_rules, bool tls) {
  return absl::StrCat(
      absl::StrReplaceAll(kConfig, {{"EXTRA_RULES", extra_rules}}),
      tls ? kTlsAccess : "");
}

void SdkBrokerTest::SetUp() {
  pki_ = SdkPki::Generate();
  pki_.Write(dir_);
  dir_.Write("config.yaml", SdkConfig());
}

void SdkBrokerTest::TearDown() {
  if (broker_ != nullptr) {
    EXPECT_EQ(broker_->Stop(), 0) << broker_->Log();
    broker_.reset();
  }
}

void SdkBrokerTest::StartBroker(
    BrokerAccess access, const std::vector<std::string>& extra_arguments) {
  std::vector<std::string> arguments = {
      "--config=" + dir_.Path("config.yaml"),
      "--listen=127.0.0.1:0,unix:" + dir_.Path("broker.sock")};
  arguments.insert(arguments.end(), extra_arguments.begin(),
                   extra_arguments.end());
  auto broker =
      BrokerProcess::Start(arguments, dir_.path(), absl::Seconds(30), access);
  ASSERT_TRUE(broker.ok()) << broker.status();
  broker_ = std::move(broker).value();
  ASSERT_EQ(broker_->addresses().size(), 2u);
}

void SdkBrokerTest::Reload(const std::string& config) {
  dir_.Write("config.yaml", config);
  absl::Status reloaded = broker_->Reload();
  ASSERT_TRUE(reloaded.ok()) << reloaded;
}

agent::BrokerClientOptions SdkBrokerTest::Options(
    const std::string& address) const {
  agent::BrokerClientOptions options;
  options.address = address;
  options.deadline = absl::Seconds(10);
  options.max_attempts = 3;
  options.initial_backoff = absl::Milliseconds(50);
  options.max_backoff = absl::Milliseconds(200);
  return options;
}

SilentPeer::SilentPeer() {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd_, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address),
            0);
  EXPECT_EQ(::listen(fd_, 64), 0);
  socklen_t size = sizeof address;
  EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size),
            0);
  port_ = ntohs(address.sin_port);
}

SilentPeer::~SilentPeer() {
  if (fd_ >= 0) ::close(fd_);
}

std::string SilentPeer::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

}  // namespace certbroker::testing

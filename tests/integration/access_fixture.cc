// The PKI, policy and running broker of the access tests.
#include "tests/integration/access_fixture.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "broker/x509/pem.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {
namespace {

devpki::CertificateSpec Agent(const std::string& name,
                              const std::string& spiffe_id) {
  devpki::CertificateSpec spec = devpki::ClientSpec(name);
  spec.uris = {spiffe_id};
  return spec;
}

// kAccessConfig is the policy; $UID is the test's own uid, mapped for the
// Unix socket.
constexpr char kAccessConfig[] = R"(
trust_bundles:
  - {name: agents-ca, pem_file: pki/agents-ca.pem}
  - {name: upstream, pem_file: pki/upstream.pem}
certificates:
  - {id: cert-a, chain_pem_file: pki/client-a.pem, key_pem_file: pki/client-a.key, exportable: true}
  - {id: cert-b, chain_pem_file: pki/client-b.pem, key_pem_file: pki/client-b.key, exportable: true}
crls:
  - {name: agents, file: pki/agents.crl}
rules:
  - name: for-a
    match: {hosts: [a.example.test], agents: ['spiffe://corp.test/ns/a/*']}
    client_certificate: cert-a
    server_validation: {trust_bundles: [upstream]}
  - name: for-b
    match: {hosts: [b.example.test], agents: ['spiffe://corp.test/ns/b/*']}
    client_certificate: cert-b
    server_validation: {trust_bundles: [upstream]}
limits: {max_message_bytes: 65536, max_chain_length: 10}
access:
  tls:
    chain_pem_file: pki/broker.pem
    key_pem_file: pki/broker.key
    client_ca_bundles: [agents-ca]
  identity: {spiffe_trust_domains: [corp.test]}
  unix_peers: [{uid: $UID, identity: 'spiffe://corp.test/ns/a/sa/unix'}]
  roles:
    - {identities: ['spiffe://corp.test/ns/*/sa/*'], roles: [AGENT]}
    - {identities: ['spiffe://corp.test/ns/ops/sa/admin'], roles: [ADMIN]}
    - {identities: ['spiffe://corp.test/ns/ops/sa/auditor'], roles: [AUDITOR]}
  per_caller: {requests_per_second: 300, burst: 300, max_concurrent_calls: 32}
)";

}  // namespace

const char kAgentA[] = "spiffe://corp.test/ns/a/sa/web";
const char kAgentB[] = "spiffe://corp.test/ns/b/sa/web";
const char kAdmin[] = "spiffe://corp.test/ns/ops/sa/admin";
const char kAuditor[] = "spiffe://corp.test/ns/ops/sa/auditor";

AccessPki AccessPki::Generate() {
  AccessPki pki;
  pki.broker_ca = MustIssue(devpki::RootSpec("Broker CA"), nullptr);
  pki.broker = MustIssue(
      devpki::ServerSpec("broker.test", {"broker.test"}, {"127.0.0.1"}),
      &pki.broker_ca);
  pki.agents_ca = MustIssue(devpki::RootSpec("Agents CA"), nullptr);
  pki.agent_a = MustIssue(Agent("agent-a", kAgentA), &pki.agents_ca);
  pki.agent_b = MustIssue(Agent("agent-b", kAgentB), &pki.agents_ca);
  pki.admin = MustIssue(Agent("admin", kAdmin), &pki.agents_ca);
  pki.auditor = MustIssue(Agent("auditor", kAuditor), &pki.agents_ca);
  devpki::CertificateSpec expired = Agent("expired", kAgentA);
  expired.not_before = absl::Now() - absl::Hours(48);
  expired.not_after = absl::Now() - absl::Hours(1);
  pki.expired_agent = MustIssue(expired, &pki.agents_ca);
  pki.revoked_agent = MustIssue(Agent("revoked", kAgentA), &pki.agents_ca);
  pki.foreign_domain_agent = MustIssue(
      Agent("foreign", "spiffe://evil.test/ns/a/sa/web"), &pki.agents_ca);
  pki.stranger_ca = MustIssue(devpki::RootSpec("Stranger CA"), nullptr);
  pki.stranger_agent = MustIssue(Agent("stranger", kAgentA), &pki.stranger_ca);
  pki.upstream_root = MustIssue(devpki::RootSpec("Upstream Root"), nullptr);
  pki.client_a = MustIssue(devpki::ClientSpec("client-a"), &pki.upstream_root);
  pki.client_b = MustIssue(devpki::ClientSpec("client-b"), &pki.upstream_root);
  return pki;
}

void AccessPki::Write(const TempDir& dir) const {
  dir.Write("pki/agents-ca.pem", agents_ca.CertificatePem());
  dir.Write("pki/upstream.pem", upstream_root.CertificatePem());
  dir.Write("pki/broker.pem", broker.CertificatePem());
  dir.Write("pki/broker.key", broker.KeyPem());
  dir.Write("pki/client-a.pem", client_a.CertificatePem());
  dir.Write("pki/client-a.key", client_a.KeyPem());
  dir.Write("pki/client-b.pem", client_b.CertificatePem());
  dir.Write("pki/client-b.key", client_b.KeyPem());
  devpki::CrlSpec crl;
  crl.revoked = {revoked_agent.certificate.get()};
  auto issued = MustCrl(crl, agents_ca);
  dir.Write("pki/agents.crl", x509::CrlToPem(issued.get()));
}

TempDir* AccessFixture::dir_ = nullptr;
AccessPki* AccessFixture::pki_ = nullptr;
std::unique_ptr<BrokerProcess> AccessFixture::broker_;

void AccessFixture::SetUpTestSuite() {
  dir_ = new TempDir();
  pki_ = new AccessPki(AccessPki::Generate());
  pki_->Write(*dir_);
  std::string config = dir_->Write(
      "config.yaml",
      absl::StrReplaceAll(kAccessConfig, {{"$UID", std::to_string(getuid())}}));
  auto broker = BrokerProcess::Start(
      {"--config=" + config, "--data_dir=" + dir_->Path("data"),
       "--enable_admin",
       "--listen=127.0.0.1:0,unix:" + dir_->Path("broker.sock")},
      dir_->path(), absl::Seconds(20), BrokerAccess::kAsConfigured);
  ASSERT_TRUE(broker.ok()) << broker.status();
  broker_ = std::move(broker).value();
}

void AccessFixture::TearDownTestSuite() {
  if (broker_ != nullptr) {
    EXPECT_EQ(broker_->Stop(), 0) << broker_->Log();
    broker_.reset();
  }
  delete pki_;
  delete dir_;
}

std::shared_ptr<grpc::Channel> TlsChannel(const std::string& address,
                                          const std::string& ca_pem,
                                          const devpki::Issued* client) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem;
  if (client != nullptr) {
    options.pem_cert_chain = client->CertificatePem();
    options.pem_private_key = client->KeyPem();
  }
  grpc::ChannelArguments arguments;
  arguments.SetSslTargetNameOverride("broker.test");
  arguments.SetMaxSendMessageSize(16 << 20);
  // A connection of its own: the tests compare identities and handshakes.
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(options),
                                   arguments);
}

std::shared_ptr<grpc::Channel> AccessFixture::Channel(
    const devpki::Issued* client) {
  return TlsChannel(broker_->addresses()[0], pki_->broker_ca.CertificatePem(),
                    client);
}

std::shared_ptr<grpc::Channel> AccessFixture::UnixChannel() {
  return grpc::CreateChannel(broker_->addresses()[1],
                             grpc::InsecureChannelCredentials());
}

bool AccessFixture::HasAuditRecord(
    const std::function<bool(const v1::AuditRecord&)>& wanted) {
  auto admin = v1::CertificateAdmin::NewStub(Channel(&pki_->admin));
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline) {
    grpc::ClientContext context;
    v1::ListAuditRecordsRequest request;
    request.set_page_size(1000);
    v1::ListAuditRecordsResponse response;
    grpc::Status status = admin->ListAuditRecords(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    for (const v1::AuditRecord& record : response.records()) {
      if (wanted(record)) return true;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

}  // namespace certbroker::testing

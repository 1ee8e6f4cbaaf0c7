// The shared PKI, configuration and running broker of the integration tests.
#include "tests/integration/broker_fixture.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "broker/validation/path_checks.h"
#include "broker/x509/pem.h"

namespace certbroker::testing {
namespace {

devpki::Issued MustIssue(const devpki::CertificateSpec& spec,
                         const devpki::Issued* issuer) {
  auto issued = devpki::Issue(spec, issuer);
  EXPECT_TRUE(issued.ok()) << issued.status();
  return std::move(issued).value();
}

devpki::CertificateSpec Expired(devpki::CertificateSpec spec) {
  spec.not_before = absl::Now() - absl::Hours(72);
  spec.not_after = absl::Now() - absl::Hours(24);
  return spec;
}

}  // namespace

const char kBrokerConfig[] = R"(
trust_bundles:
  - name: test-roots
    pem_file: pki/ca.pem
certificates:
  - id: exportable-client
    chain_pem_file: pki/client-chain.pem
    key_pem_file: pki/client.key
    exportable: true
  - id: locked-client
    chain_pem_file: pki/client-chain.pem
    key_pem_file: pki/client.key
  - id: expired-client
    chain_pem_file: pki/expired-client-chain.pem
    key_pem_file: pki/expired-client.key
    exportable: true
rules:
  - name: example-test
    match: { hosts: ["*.example.test", "127.0.0.1"] }
    client_certificate: exportable-client
    server_validation: { trust_bundles: [test-roots], mode: BROKER }
    cache_ttl: 120s
  - name: locked
    match: { hosts: [locked.example.test] }
    client_certificate: locked-client
    server_validation: { trust_bundles: [test-roots], mode: BOTH }
  - name: old
    match: { hosts: [old.example.test] }
    client_certificate: expired-client
    server_validation: { trust_bundles: [test-roots] }
  - name: agent-only
    match: { hosts: [agent.example.test] }
    server_validation: { mode: AGENT }
  - name: both
    match: { hosts: [both.example.test] }
    server_validation: { trust_bundles: [test-roots], mode: BOTH }
  - name: blocked
    match: { hosts: ["*.blocked.test"] }
    action: DENY
  - name: pinned
    match: { hosts: [pinned.example.test] }
    server_validation:
      trust_bundles: [test-roots]
      spki_pins: ["INTERMEDIATE_PIN"]
  - name: pinned-elsewhere
    match: { hosts: [pinned-elsewhere.example.test] }
    server_validation:
      trust_bundles: [test-roots]
      spki_pins: ["STRANGER_PIN"]
  - name: strict-revocation
    match: { hosts: [crl.example.test] }
    server_validation:
      trust_bundles: [test-roots]
      revocation: { mode: HARD_FAIL }
  - name: legacy
    match: { hosts: [legacy.example.test] }
    server_validation:
      trust_bundles: [test-roots]
      allowed_errors: [HOSTNAME_MISMATCH]
crls:
  - name: root-crl
    file: pki/root.crl
  - name: intermediate-crl
    file: pki/intermediate.crl
deny:
  certificate_fingerprints: ["DENIED_FINGERPRINT"]
)";

std::string BrokerConfigFor(const TestPki& pki) {
  auto pin = [](const devpki::Issued& issued) {
    return validation::PinText(
        validation::SpkiSha256(issued.certificate.get()));
  };
  return absl::StrReplaceAll(
      kBrokerConfig, {{"INTERMEDIATE_PIN", pin(pki.intermediate)},
                      {"STRANGER_PIN", pin(pki.stranger_root)},
                      {"DENIED_FINGERPRINT",
                       absl::BytesToHexString(validation::CertificateSha256(
                           pki.denied_server.certificate.get()))}});
}

TestPki TestPki::Generate() {
  TestPki pki;
  pki.root = MustIssue(devpki::RootSpec("Integration Root"), nullptr);
  pki.intermediate = MustIssue(
      devpki::IntermediateSpec("Integration Intermediate"), &pki.root);
  auto server_spec = devpki::ServerSpec("api.example.test",
                                        {"api.example.test"}, {"127.0.0.1"});
  pki.server = MustIssue(server_spec, &pki.intermediate);
  pki.expired_server = MustIssue(Expired(server_spec), &pki.intermediate);
  auto client_only = server_spec;
  client_only.usage = devpki::ExtendedKeyUsage::kClientAuth;
  pki.client_only_server = MustIssue(client_only, &pki.intermediate);
  pki.stranger_root = MustIssue(devpki::RootSpec("Stranger Root"), nullptr);
  pki.stranger_server = MustIssue(server_spec, &pki.stranger_root);
  pki.client =
      MustIssue(devpki::ClientSpec("integration-client"), &pki.intermediate);
  pki.revoked_server = MustIssue(server_spec, &pki.intermediate);
  pki.denied_server = MustIssue(server_spec, &pki.intermediate);
  pki.expired_client = MustIssue(Expired(devpki::ClientSpec("expired-client")),
                                 &pki.intermediate);
  return pki;
}

void TestPki::Write(const TempDir& dir) const {
  dir.Write("pki/ca.pem", root.CertificatePem());
  dir.Write("pki/client-chain.pem",
            client.CertificatePem() + intermediate.CertificatePem());
  dir.Write("pki/client.key", client.KeyPem());
  dir.Write("pki/expired-client-chain.pem",
            expired_client.CertificatePem() + intermediate.CertificatePem());
  dir.Write("pki/expired-client.key", expired_client.KeyPem());
  devpki::CrlSpec nothing_revoked;
  dir.Write("pki/root.crl",
            x509::CrlToPem(devpki::IssueCrl(nothing_revoked, root)->get()));
  devpki::CrlSpec leaf_revoked;
  leaf_revoked.revoked = {revoked_server.certificate.get()};
  dir.Write(
      "pki/intermediate.crl",
      x509::CrlToPem(devpki::IssueCrl(leaf_revoked, intermediate)->get()));
}

std::vector<std::string> ChainOf(
    std::initializer_list<const devpki::Issued*> certificates) {
  std::vector<std::string> chain;
  for (const devpki::Issued* issued : certificates)
    chain.push_back(issued->Der());
  return chain;
}

std::unique_ptr<v1::CertificateBroker::Stub> MakeStub(
    const std::string& address) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxSendMessageSize(16 << 20);
  return v1::CertificateBroker::NewStub(grpc::CreateCustomChannel(
      address, grpc::InsecureChannelCredentials(), arguments));
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(10));
  return context;
}

TempDir* BrokerFixture::dir_ = nullptr;
TestPki* BrokerFixture::pki_ = nullptr;
std::unique_ptr<BrokerProcess> BrokerFixture::broker_;
std::unique_ptr<v1::CertificateBroker::Stub> BrokerFixture::tcp_;
std::unique_ptr<v1::CertificateBroker::Stub> BrokerFixture::unix_;

void BrokerFixture::SetUpTestSuite() {
  dir_ = new TempDir();
  pki_ = new TestPki(TestPki::Generate());
  pki_->Write(*dir_);
  std::string config = dir_->Write("config.yaml", BrokerConfigFor(*pki_));
  auto broker = BrokerProcess::Start(
      {"--config=" + config, "--enable_simulation",
       "--listen=127.0.0.1:0,unix:" + dir_->Path("broker.sock")},
      dir_->path());
  ASSERT_TRUE(broker.ok()) << broker.status();
  broker_ = std::move(broker).value();
  ASSERT_EQ(broker_->addresses().size(), 2u);
  tcp_ = MakeStub(broker_->addresses()[0]);
  unix_ = MakeStub(broker_->addresses()[1]);
}

void BrokerFixture::TearDownTestSuite() {
  tcp_.reset();
  unix_.reset();
  if (broker_ != nullptr) {
    EXPECT_EQ(broker_->Stop(), 0) << broker_->Log();
    broker_.reset();
  }
  delete pki_;
  delete dir_;
}

}  // namespace certbroker::testing

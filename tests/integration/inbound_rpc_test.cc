// GetNegotiationPolicy and OnClientCertificate against a real certbrokerd:
// the mode and CA names per listener and SNI, and client chains judged by
// inbound rules (good, wrong root, expired, serverAuth-only, revoked, a peer
// not allowed, a SPIFFE ID from another trust domain, no certificate).
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/x509/certificate.h"
#include "broker/x509/pem.h"
#include "gtest/gtest.h"
#include "tests/integration/broker_fixture.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {
namespace {

namespace v1 = ::certbroker::v1;

constexpr char kConfig[] = R"(
trust_bundles:
  - name: mesh
    pem_file: pki/mesh.pem
  - name: partners
    pem_file: pki/partners.pem
inbound_rules:
  - name: sidecar
    match: { listeners: [sidecar-in], server_names: ["*"] }
    client_certificate: REQUIRE
    peer_validation: { trust_bundles: [mesh], revocation: { mode: HARD_FAIL } }
    allowed_peers: ["spiffe://mesh.test/ns/web/*"]
    identity: { spiffe_trust_domains: [mesh.test] }
    cache_ttl: 60s
  - name: uploads
    match: { listeners: [sidecar-in], server_names: [uploads.example.test] }
    client_certificate: REQUEST
    peer_validation: { trust_bundles: [mesh, partners] }
    allowed_peers: ["*"]
  - name: public
    match: { listeners: [public], server_names: ["*"] }
    client_certificate: IGNORE
crls:
  - name: mesh-crl
    file: pki/mesh.crl
)";

class InboundRpcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    mesh_ =
        new devpki::Issued(MustIssue(devpki::RootSpec("Mesh Root"), nullptr));
    partners_ = new devpki::Issued(
        MustIssue(devpki::RootSpec("Partners Root"), nullptr));
    revoked_ = new devpki::Issued(MustIssue(Client("web", "web"), mesh_));
    dir_->Write("pki/mesh.pem", mesh_->CertificatePem());
    dir_->Write("pki/partners.pem", partners_->CertificatePem());
    devpki::CrlSpec crl;
    crl.revoked = {revoked_->certificate.get()};
    dir_->Write("pki/mesh.crl",
                x509::CrlToPem(devpki::IssueCrl(crl, *mesh_)->get()));
    std::string config = dir_->Write("config.yaml", kConfig);
    auto broker = BrokerProcess::Start(
        {"--config=" + config, "--listen=127.0.0.1:0"}, dir_->path());
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(broker).value();
    stub_ = MakeStub(broker_->addresses()[0]).release();
  }

  static void TearDownTestSuite() {
    delete stub_;
    if (broker_ != nullptr) EXPECT_EQ(broker_->Stop(), 0) << broker_->Log();
    broker_.reset();
    delete revoked_;
    delete partners_;
    delete mesh_;
    delete dir_;
  }

  // Client is a clientAuth certificate with a SPIFFE ID in mesh.test.
  static devpki::CertificateSpec Client(const std::string& ns,
                                        const std::string& sa) {
    devpki::CertificateSpec spec = devpki::ClientSpec(sa);
    spec.uris = {absl::StrCat("spiffe://mesh.test/ns/", ns, "/sa/", sa)};
    return spec;
  }

  static v1::OnClientCertificateResponse Judge(
      const std::string& listener, const std::string& sni,
      std::initializer_list<const devpki::Issued*> chain) {
    v1::OnClientCertificateRequest request;
    request.mutable_listener()->set_name(listener);
    request.mutable_listener()->set_sni(sni);
    for (const std::string& der : ChainOf(chain)) {
      request.add_certificate_chain(der);
    }
    v1::OnClientCertificateResponse response;
    grpc::Status status =
        stub_->OnClientCertificate(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  static v1::GetNegotiationPolicyResponse Negotiate(const std::string& listener,
                                                    const std::string& sni) {
    v1::GetNegotiationPolicyRequest request;
    request.mutable_listener()->set_name(listener);
    request.mutable_listener()->set_sni(sni);
    v1::GetNegotiationPolicyResponse response;
    grpc::Status status =
        stub_->GetNegotiationPolicy(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  static std::string SubjectDer(const devpki::Issued& issued) {
    return x509::NameToDer(X509_get_subject_name(issued.certificate.get()));
  }

  static TempDir* dir_;
  static devpki::Issued* mesh_;
  static devpki::Issued* partners_;
  static devpki::Issued* revoked_;
  static std::unique_ptr<BrokerProcess> broker_;
  static v1::CertificateBroker::Stub* stub_;
};

TempDir* InboundRpcTest::dir_ = nullptr;
devpki::Issued* InboundRpcTest::mesh_ = nullptr;
devpki::Issued* InboundRpcTest::partners_ = nullptr;
devpki::Issued* InboundRpcTest::revoked_ = nullptr;
std::unique_ptr<BrokerProcess> InboundRpcTest::broker_;
v1::CertificateBroker::Stub* InboundRpcTest::stub_ = nullptr;

TEST_F(InboundRpcTest, NegotiationFollowsListenerAndSni) {
  v1::GetNegotiationPolicyResponse sidecar = Negotiate("sidecar-in", "");
  EXPECT_EQ(sidecar.mode(), v1::REQUIRE);
  EXPECT_EQ(sidecar.rule_name(), "sidecar");
  ASSERT_EQ(sidecar.acceptable_ca_names_size(), 1);
  EXPECT_EQ(sidecar.acceptable_ca_names(0), SubjectDer(*mesh_));
  EXPECT_EQ(sidecar.cache_ttl().seconds(), 60);
  EXPECT_FALSE(sidecar.policy_version().empty());

  v1::GetNegotiationPolicyResponse uploads =
      Negotiate("Sidecar-In", "Uploads.Example.Test.");
  EXPECT_EQ(uploads.mode(), v1::REQUEST);
  EXPECT_EQ(uploads.rule_name(), "uploads");
  ASSERT_EQ(uploads.acceptable_ca_names_size(), 2);
  EXPECT_EQ(uploads.acceptable_ca_names(1), SubjectDer(*partners_));

  v1::GetNegotiationPolicyResponse open = Negotiate("public", "a.example");
  EXPECT_EQ(open.mode(), v1::IGNORE);
  EXPECT_EQ(open.acceptable_ca_names_size(), 0);
}

TEST_F(InboundRpcTest, UnknownListenerFailsClosed) {
  v1::GetNegotiationPolicyResponse negotiation = Negotiate("elsewhere", "");
  EXPECT_EQ(negotiation.mode(), v1::REQUIRE);
  EXPECT_EQ(negotiation.rule_name(), "");
  EXPECT_EQ(negotiation.acceptable_ca_names_size(), 0);

  devpki::Issued web = MustIssue(Client("web", "web"), mesh_);
  v1::OnClientCertificateResponse verdict = Judge("elsewhere", "", {&web});
  EXPECT_FALSE(verdict.accepted());
  EXPECT_EQ(verdict.reason(), v1::NO_MATCHING_RULE);
  EXPECT_EQ(verdict.detail(),
            "no inbound rule matches listener elsewhere (no SNI); the "
            "default action is to reject");
}

TEST_F(InboundRpcTest, AcceptsAllowedPeerAndNamesIt) {
  devpki::Issued web = MustIssue(Client("web", "frontend"), mesh_);
  v1::OnClientCertificateResponse verdict = Judge("sidecar-in", "", {&web});
  ASSERT_TRUE(verdict.accepted()) << verdict.detail();
  EXPECT_EQ(verdict.reason(), v1::ACCEPTED);
  EXPECT_EQ(verdict.rule_name(), "sidecar");
  EXPECT_EQ(verdict.peer().identity(), "spiffe://mesh.test/ns/web/sa/frontend");
  EXPECT_EQ(verdict.peer().spiffe_id(),
            "spiffe://mesh.test/ns/web/sa/frontend");
  EXPECT_EQ(verdict.peer().subject(), "CN=frontend");
  EXPECT_EQ(verdict.peer().certificate_sha256(), x509::Sha256(web.Der()));
  EXPECT_EQ(verdict.decision_id().size(), 32u);
  EXPECT_GT(verdict.cache_ttl().seconds(), 0);
  EXPECT_LE(verdict.cache_ttl().seconds(), 60);
}

TEST_F(InboundRpcTest, RejectsPeerNotAllowed) {
  devpki::Issued ops = MustIssue(Client("ops", "audit"), mesh_);
  v1::OnClientCertificateResponse verdict = Judge("sidecar-in", "", {&ops});
  EXPECT_FALSE(verdict.accepted());
  EXPECT_EQ(verdict.reason(), v1::PEER_NOT_ALLOWED);
  EXPECT_EQ(verdict.detail(),
            "the peer 'spiffe://mesh.test/ns/ops/sa/audit' is not among "
            "inbound rule 'sidecar''s allowed_peers");
  EXPECT_FALSE(verdict.has_peer());
}

TEST_F(InboundRpcTest, RejectsSpiffeIdOfAnotherTrustDomain) {
  devpki::CertificateSpec spec = devpki::ClientSpec("intruder");
  spec.uris = {"spiffe://other.test/ns/web/sa/intruder"};
  devpki::Issued intruder = MustIssue(spec, mesh_);
  v1::OnClientCertificateResponse verdict =
      Judge("sidecar-in", "", {&intruder});
  EXPECT_FALSE(verdict.accepted());
  EXPECT_EQ(verdict.reason(), v1::PEER_NOT_ALLOWED);
  EXPECT_NE(verdict.detail().find("trust domain 'other.test'"),
            std::string::npos)
      << verdict.detail();
}

TEST_F(InboundRpcTest, RejectsBadChainsForTheirReason) {
  devpki::Issued stranger_root =
      MustIssue(devpki::RootSpec("Stranger Root"), nullptr);
  devpki::Issued stranger = MustIssue(Client("web", "web"), &stranger_root);
  EXPECT_EQ(Judge("sidecar-in", "", {&stranger, &stranger_root}).reason(),
            v1::UNTRUSTED_ROOT);

  devpki::CertificateSpec old = Client("web", "old");
  old.not_before = absl::Now() - absl::Hours(48);
  old.not_after = absl::Now() - absl::Hours(24);
  devpki::Issued expired = MustIssue(old, mesh_);
  EXPECT_EQ(Judge("sidecar-in", "", {&expired}).reason(), v1::EXPIRED);

  devpki::CertificateSpec server = Client("web", "server");
  server.usage = devpki::ExtendedKeyUsage::kServerAuth;
  devpki::Issued server_only = MustIssue(server, mesh_);
  EXPECT_EQ(Judge("sidecar-in", "", {&server_only}).reason(),
            v1::BAD_EXTENDED_KEY_USAGE);

  EXPECT_EQ(Judge("sidecar-in", "", {revoked_}).reason(), v1::REVOKED);
}

TEST_F(InboundRpcTest, MissingCertificateDependsOnMode) {
  v1::OnClientCertificateResponse required = Judge("sidecar-in", "", {});
  EXPECT_FALSE(required.accepted());
  EXPECT_EQ(required.reason(), v1::CLIENT_CERTIFICATE_MISSING);
  EXPECT_EQ(required.detail(),
            "inbound rule 'sidecar' requires a client certificate and the "
            "client sent none");

  v1::OnClientCertificateResponse requested =
      Judge("sidecar-in", "uploads.example.test", {});
  EXPECT_TRUE(requested.accepted());
  EXPECT_EQ(requested.reason(), v1::ACCEPTED);
  EXPECT_FALSE(requested.has_peer());

  devpki::Issued partner = MustIssue(devpki::ClientSpec("acme"), partners_);
  v1::OnClientCertificateResponse named =
      Judge("sidecar-in", "uploads.example.test", {&partner});
  EXPECT_TRUE(named.accepted()) << named.detail();
  EXPECT_EQ(named.peer().identity(), "acme");

  v1::OnClientCertificateResponse ignored = Judge("public", "", {});
  EXPECT_TRUE(ignored.accepted());
  EXPECT_FALSE(ignored.has_peer());
}

TEST_F(InboundRpcTest, MalformedRequestsNameTheField) {
  v1::OnClientCertificateRequest request;
  v1::OnClientCertificateResponse response;
  grpc::Status status =
      stub_->OnClientCertificate(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "listener.name: required");

  request.mutable_listener()->set_name("sidecar-in");
  request.add_certificate_chain("not DER");
  status = stub_->OnClientCertificate(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "certificate_chain[0]: not a DER certificate");

  v1::GetNegotiationPolicyRequest negotiation;
  negotiation.mutable_listener()->set_name("has space");
  v1::GetNegotiationPolicyResponse answer;
  status = stub_->GetNegotiationPolicy(Context().get(), negotiation, &answer);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "listener.name: not a listener name (1-128 letters, digits, '.', "
            "'_', ':', '-')");
}

}  // namespace
}  // namespace certbroker::testing

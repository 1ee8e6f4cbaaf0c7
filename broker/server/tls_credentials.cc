// Server TLS credentials with certbrokerd's own client-certificate check.
#include "broker/server/tls_credentials.h"

#include "absl/strings/str_cat.h"
#include "broker/common/file.h"
#include "broker/validation/server_chain_validator.h"
#include "broker/x509/pem.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace certbroker::server {
namespace {

using grpc::experimental::ExternalCertificateVerifier;
using grpc::experimental::TlsCustomVerificationCheckRequest;

// kRefreshSeconds is how often gRPC re-reads the serving certificate.
constexpr unsigned int kRefreshSeconds = 1;

// CheckServingPair reads the chain and key once, so that a bad pair fails
// the start instead of every handshake.
absl::Status CheckServingPair(const std::string& chain_path,
                              const std::string& key_path) {
  auto chain_pem = ReadFile(chain_path);
  if (!chain_pem.ok()) return chain_pem.status();
  auto key_pem = ReadFile(key_path);
  if (!key_pem.ok()) return key_pem.status();
  return x509::ParsePemKeyPair(*chain_pem, chain_path, *key_pem, key_path)
      .status();
}

// AgentCertificateVerifier judges client certificates with the broker's
// validator under the policy in force.
class AgentCertificateVerifier : public ExternalCertificateVerifier {
 public:
  AgentCertificateVerifier(policy::CurrentPolicy& current, bool required,
                           HandshakeRefusal on_refusal)
      : current_(current),
        required_(required),
        on_refusal_(std::move(on_refusal)) {}

  bool Verify(TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/,
              grpc::Status* sync_status) override {
    std::string subject;
    absl::Status verdict = Judge(request, subject);
    if (verdict.ok()) {
      *sync_status = grpc::Status::OK;
    } else {
      on_refusal_(subject, std::string(verdict.message()));
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  std::string(verdict.message()));
    }
    return true;  // Decided synchronously.
  }

  void Cancel(TlsCustomVerificationCheckRequest*) override {}

 private:
  absl::Status Judge(TlsCustomVerificationCheckRequest* request,
                     std::string& subject) {
    std::shared_ptr<const policy::PolicySnapshot> snapshot = current_.Get();
    grpc::string_ref leaf_pem = request->peer_cert();
    if (leaf_pem.empty()) {
      // With client_certificate: REQUEST, an anonymous connection, whose
      // calls are refused as unauthenticated.
      if (!required_) return absl::OkStatus();
      return absl::UnauthenticatedError("no client certificate");
    }
    if (snapshot->client_ca_store() == nullptr) {
      return absl::UnauthenticatedError(
          "the policy in force has no access.tls.client_ca_bundles");
    }
    // The server side sees the leaf apart from the rest of the chain (which
    // may or may not repeat it).
    grpc::string_ref rest_pem = request->peer_cert_full_chain();
    auto chain = x509::ParsePemCertificates(
        absl::StrCat(absl::string_view(leaf_pem.data(), leaf_pem.size()), "\n",
                     absl::string_view(rest_pem.data(), rest_pem.size())),
        "the client certificate chain");
    if (!chain.ok()) {
      return absl::UnauthenticatedError(chain.status().message());
    }
    if (chain->size() > 1 &&
        X509_cmp((*chain)[0].get(), (*chain)[1].get()) == 0) {
      chain->erase(chain->begin() + 1);
    }
    subject = x509::SubjectName(chain->front().get());
    validation::ChainPolicy policy;
    policy.purpose = validation::KeyPurpose::kClientAuth;
    validation::ServerChainCheck check{"", absl::Now()};
    validation::ChainVerdict verdict = validation::ValidateServerChain(
        *snapshot->client_ca_store(), *chain, check, policy, snapshot->crls());
    if (!verdict.accepted()) {
      return absl::UnauthenticatedError(absl::StrCat(
          "client certificate refused: ", v1::Reason_Name(verdict.reason), ": ",
          verdict.detail));
    }
    auto identity =
        snapshot->access().CertificateIdentity(chain->front().get());
    return identity.ok() ? absl::OkStatus() : identity.status();
  }

  policy::CurrentPolicy& current_;
  bool required_;
  HandshakeRefusal on_refusal_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeTlsCredentials(
    const config::v1::Tls& tls, const std::string& base_dir,
    policy::CurrentPolicy& current, HandshakeRefusal on_refusal) {
  std::string chain_path = ResolvePath(base_dir, tls.chain_pem_file());
  std::string key_path = ResolvePath(base_dir, tls.key_pem_file());
  if (!tls.secret_dir().empty()) {
    std::string dir = ResolvePath(base_dir, tls.secret_dir());
    chain_path = dir + "/tls.crt";
    key_path = dir + "/tls.key";
  }
  absl::Status pair = CheckServingPair(chain_path, key_path);
  if (!pair.ok()) {
    return absl::Status(pair.code(),
                        absl::StrCat("access.tls: ", pair.message()));
  }
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          key_path, chain_path, kRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  bool required = tls.client_certificate() != config::v1::Tls::REQUEST;
  options.set_cert_request_type(
      required ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_BUT_DONT_VERIFY
               : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  options.set_certificate_verifier(
      ExternalCertificateVerifier::Create<AgentCertificateVerifier>(
          current, required, std::move(on_refusal)));
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace certbroker::server

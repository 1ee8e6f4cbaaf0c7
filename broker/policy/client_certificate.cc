// Loading and checking client certificates with their private keys.
#include "broker/policy/client_certificate.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/x509/keys.h"
#include "broker/x509/pem.h"

namespace certbroker::policy {
bool ClientCertificate::IsIssuedByAnyOf(
    const std::vector<std::string>& issuer_names) const {
  for (const auto& certificate : chain) {
    std::string issuer =
        x509::NameToDer(X509_get_issuer_name(certificate.get()));
    for (const std::string& acceptable : issuer_names) {
      if (issuer == acceptable) return true;
    }
  }
  return false;
}

absl::StatusOr<std::shared_ptr<const ClientCertificate>> MakeClientCertificate(
    std::string id, absl::string_view chain_pem, absl::string_view chain_source,
    absl::string_view key_pem, absl::string_view key_source, bool exportable,
    absl::string_view where) {
  auto pair =
      x509::ParsePemKeyPair(chain_pem, chain_source, key_pem, key_source);
  if (!pair.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", pair.status().message()));
  }
  return MakeClientCertificate(std::move(id), std::move(pair->chain),
                               std::move(pair->key), exportable, where);
}

absl::StatusOr<std::shared_ptr<const ClientCertificate>> MakeClientCertificate(
    std::string id, x509::CertificateList chain, bssl::UniquePtr<EVP_PKEY> key,
    bool exportable, absl::string_view where) {
  auto fail = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
  };
  if (chain.empty()) return fail("the chain holds no certificate");
  auto loaded = std::make_shared<ClientCertificate>();
  loaded->id = std::move(id);
  loaded->chain = std::move(chain);
  loaded->key = std::move(key);
  loaded->exportable = exportable;
  X509* leaf = loaded->chain.front().get();
  if (!x509::KeyMatchesCertificate(leaf, loaded->key.get())) {
    return fail(
        absl::StrCat("the private key does not match the leaf "
                     "certificate (",
                     x509::SubjectName(leaf), ")"));
  }
  if ((X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) != 0 &&
      (X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT) == 0) {
    return fail(absl::StrCat("the leaf certificate (", x509::SubjectName(leaf),
                             ") has an extended key usage that does not allow "
                             "clientAuth"));
  }
  for (const auto& certificate : loaded->chain) {
    loaded->chain_der.push_back(x509::CertificateToDer(certificate.get()));
  }
  loaded->leaf_sha256 = x509::Sha256(loaded->chain_der[0]);
  loaded->not_before = x509::NotBefore(leaf);
  loaded->not_after = x509::NotAfter(leaf);
  return std::shared_ptr<const ClientCertificate>(std::move(loaded));
}

}  // namespace certbroker::policy

// ClientCertificate: a loaded client certificate (chain and private key),
// checked once at load: the chain parses, the key matches the leaf, and the
// leaf may be used for clientAuth.
#ifndef CERTBROKER_BROKER_POLICY_CLIENT_CERTIFICATE_H_
#define CERTBROKER_BROKER_POLICY_CLIENT_CERTIFICATE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/x509/boringssl.h"
#include "broker/x509/certificate.h"

namespace certbroker::policy {

struct ClientCertificate {
  std::string id;
  x509::CertificateList chain;         // Leaf first.
  std::vector<std::string> chain_der;  // The same, DER, as sent to agents.
  std::string leaf_sha256;  // Raw SHA-256 of chain_der[0], for key handles.
  bssl::UniquePtr<EVP_PKEY> key;
  bool exportable = false;
  absl::Time not_before;
  absl::Time not_after;

  // IsValidAt is true when the leaf is within its validity at `now`.
  bool IsValidAt(absl::Time now) const {
    return now >= not_before && now <= not_after;
  }

  // RefreshAfter is two thirds of the way through the leaf's validity.
  absl::Time RefreshAfter() const {
    return not_before + (not_after - not_before) * 2 / 3;
  }

  // IsIssuedByAnyOf is true when the issuer name of some certificate in the
  // chain equals one of `issuer_names` (DER-encoded distinguished names).
  bool IsIssuedByAnyOf(const std::vector<std::string>& issuer_names) const;
};

// MakeClientCertificate builds a ClientCertificate from PEM texts. `where`
// prefixes errors ("config.yaml: certificates[0] (payments)"). Fails with
// INVALID_ARGUMENT when the chain or key does not parse, the key does not
// match the leaf, or the leaf's extended key usage excludes clientAuth.
absl::StatusOr<std::shared_ptr<const ClientCertificate>> MakeClientCertificate(
    std::string id, absl::string_view chain_pem, absl::string_view chain_source,
    absl::string_view key_pem, absl::string_view key_source, bool exportable,
    absl::string_view where);

// MakeClientCertificate builds a ClientCertificate from a parsed chain (leaf
// first, not empty) and key, with the same checks.
absl::StatusOr<std::shared_ptr<const ClientCertificate>> MakeClientCertificate(
    std::string id, x509::CertificateList chain, bssl::UniquePtr<EVP_PKEY> key,
    bool exportable, absl::string_view where);

}  // namespace certbroker::policy

#endif  // CERTBROKER_BROKER_POLICY_CLIENT_CERTIFICATE_H_

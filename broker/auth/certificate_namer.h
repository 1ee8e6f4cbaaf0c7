// CertificateNamer: who a verified certificate names, by a configured order
// of kinds of name (SPIFFE ID, DNS SAN, subject CN) and the SPIFFE trust
// domains allowed. Names certbrokerd's own TLS callers and the peers of
// agents' inbound connections alike.
#ifndef CERTBROKER_BROKER_AUTH_CERTIFICATE_NAMER_H_
#define CERTBROKER_BROKER_AUTH_CERTIFICATE_NAMER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/x509/boringssl.h"
#include "certbroker/config/v1/config.pb.h"

namespace certbroker::auth {

// CertificateNames are the names a certificate's subject alternative names
// hold.
struct CertificateNames {
  std::vector<std::string> spiffe_ids;  // URI SANs with the spiffe scheme.
  std::vector<std::string> dns_names;   // Lowercase.
  std::vector<std::string> uris;        // Every URI SAN, spiffe ones too.

  // Of reads `leaf`'s subject alternative names.
  static CertificateNames Of(const X509* leaf);
};

class CertificateNamer {
 public:
  // `source` must have passed config validation; an empty order means
  // SPIFFE_ID, DNS_NAME, COMMON_NAME.
  explicit CertificateNamer(const config::v1::IdentitySource& source);

  // Name names the holder of `leaf` (already verified). Fails with
  // UNAUTHENTICATED, saying why, when it has no name of the configured
  // kinds, or a SPIFFE ID that is malformed, of a trust domain not allowed,
  // or not alone among its URI SANs.
  absl::StatusOr<std::string> Name(const X509* leaf) const;

 private:
  std::vector<config::v1::IdentitySource::Kind> order_;
  std::vector<std::string> trust_domains_;
};

}  // namespace certbroker::auth

#endif  // CERTBROKER_BROKER_AUTH_CERTIFICATE_NAMER_H_

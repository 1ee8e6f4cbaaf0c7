// Private keys: parsing DER in its three common forms, PKCS#8 encoding, and
// checking that a key belongs to a certificate.
#ifndef CERTBROKER_BROKER_X509_KEYS_H_
#define CERTBROKER_BROKER_X509_KEYS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/x509/boringssl.h"

namespace certbroker::x509 {

// ParsePrivateKeyDer parses a private key in the DER form named by
// `pem_type`: "PRIVATE KEY" (PKCS#8), "RSA PRIVATE KEY" (PKCS#1) or
// "EC PRIVATE KEY" (RFC 5915). Fails with INVALID_ARGUMENT otherwise.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> ParsePrivateKeyDer(
    absl::string_view der, absl::string_view pem_type);

// PrivateKeyToPkcs8Der encodes `key` as unencrypted PKCS#8 DER.
absl::StatusOr<std::string> PrivateKeyToPkcs8Der(const EVP_PKEY* key);

// KeyMatchesCertificate is true when `key` is the private half of
// `certificate`'s public key.
bool KeyMatchesCertificate(const X509* certificate, const EVP_PKEY* key);

}  // namespace certbroker::x509

#endif  // CERTBROKER_BROKER_X509_KEYS_H_

// Internal to broker/revocation: the signature algorithms an OCSP response
// may use, and checking the response's signature with EVP_DigestVerify.
#ifndef CERTBROKER_BROKER_REVOCATION_OCSP_SIGNATURE_H_
#define CERTBROKER_BROKER_REVOCATION_OCSP_SIGNATURE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/x509/boringssl.h"

namespace certbroker::revocation::internal {

// SignatureAlgorithm is a parsed, supported AlgorithmIdentifier.
struct SignatureAlgorithm {
  enum class Scheme { kEcdsa, kRsaPkcs1, kRsaPss };
  Scheme scheme = Scheme::kEcdsa;
  // digest is SHA-256, SHA-384 or SHA-512 (for PSS also the MGF1 digest,
  // with a salt as long as the digest).
  const EVP_MD* digest = nullptr;
  // name is for details ("ecdsa-with-SHA256", "rsassaPss with SHA-256").
  std::string name;
};

// ParseSignatureAlgorithm reads `der`, one DER AlgorithmIdentifier. Fails
// with INVALID_ARGUMENT: "weak signature algorithm ..." for SHA-1 or MD5,
// "unsupported signature algorithm ..." for anything else not listed above,
// or naming the malformed part.
absl::StatusOr<SignatureAlgorithm> ParseSignatureAlgorithm(
    absl::string_view der);

// VerifySignature checks `signature` over `signed_data` with `key`, which
// details call `key_owner` ("the issuer's key"). Fails with INVALID_ARGUMENT
// when `algorithm` does not fit the key's type ("signature algorithm
// ecdsa-with-SHA256 needs an EC key, but the issuer's key is RSA") or the
// signature does not verify ("signature does not verify under the issuer's
// key").
absl::Status VerifySignature(const SignatureAlgorithm& algorithm, EVP_PKEY* key,
                             absl::string_view key_owner,
                             absl::string_view signed_data,
                             absl::string_view signature);

}  // namespace certbroker::revocation::internal

#endif  // CERTBROKER_BROKER_REVOCATION_OCSP_SIGNATURE_H_

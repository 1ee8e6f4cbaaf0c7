// Checks on single certificates of a built path that BoringSSL's verifier
// does not make: key strength, signature algorithm strength, and the
// SHA-256 digests that pins and deny lists compare.
#ifndef CERTBROKER_BROKER_VALIDATION_PATH_CHECKS_H_
#define CERTBROKER_BROKER_VALIDATION_PATH_CHECKS_H_

#include <optional>
#include <string>

#include "broker/validation/chain_policy.h"
#include "broker/x509/boringssl.h"

namespace certbroker::validation {

// KeyWeakness says why `certificate`'s public key is too weak for `policy`
// ("RSA key of 1024 bits, below the minimum of 2048"), or nullopt.
std::optional<std::string> KeyWeakness(const X509* certificate,
                                       const ChainPolicy& policy);

// SignatureWeakness says why the algorithm `certificate` is signed with is
// forbidden by `policy` ("signed with sha1WithRSAEncryption"), or nullopt.
std::optional<std::string> SignatureWeakness(const X509* certificate,
                                             const ChainPolicy& policy);

// SpkiSha256 returns the SHA-256 (32 raw bytes) of `certificate`'s
// DER SubjectPublicKeyInfo, the value `sha256/<base64>` pins name.
std::string SpkiSha256(const X509* certificate);

// CertificateSha256 returns the SHA-256 (32 raw bytes) of the DER.
std::string CertificateSha256(const X509* certificate);

// Denial says why `certificate` is rejected outright by `policy`'s deny
// lists ("is denied by its fingerprint sha256/...", "has the denied key
// sha256/..."), or nullopt.
std::optional<std::string> Denial(const X509* certificate,
                                  const ChainPolicy& policy);

// PinText renders a SHA-256 digest as "sha256/<base64>".
std::string PinText(const std::string& digest);

}  // namespace certbroker::validation

#endif  // CERTBROKER_BROKER_VALIDATION_PATH_CHECKS_H_

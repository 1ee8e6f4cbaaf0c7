// ChainPolicy: how strictly one rule judges a certificate chain. The
// defaults are the secure choice; a rule relaxes them explicitly.
#ifndef CERTBROKER_BROKER_VALIDATION_CHAIN_POLICY_H_
#define CERTBROKER_BROKER_VALIDATION_CHAIN_POLICY_H_

#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "broker/x509/boringssl.h"
#include "certbroker/v1/broker.pb.h"

namespace certbroker::validation {

// KeyPurpose is what the leaf must be good for.
enum class KeyPurpose { kServerAuth, kClientAuth, kAny };

// PurposeName names `purpose` for details ("serverAuth").
inline const char* PurposeName(KeyPurpose purpose) {
  switch (purpose) {
    case KeyPurpose::kServerAuth:
      return "serverAuth";
    case KeyPurpose::kClientAuth:
      return "clientAuth";
    case KeyPurpose::kAny:
      break;
  }
  return "any purpose";
}

// PurposeExtendedKeyUsage is the extended key usage bit `purpose` needs
// (XKU_SSL_SERVER or XKU_SSL_CLIENT); 0 for kAny.
inline uint32_t PurposeExtendedKeyUsage(KeyPurpose purpose) {
  switch (purpose) {
    case KeyPurpose::kServerAuth:
      return XKU_SSL_SERVER;
    case KeyPurpose::kClientAuth:
      return XKU_SSL_CLIENT;
    case KeyPurpose::kAny:
      break;
  }
  return 0;
}

// RevocationMode says what missing or stale revocation data means.
enum class RevocationMode {
  kOff,       // CRLs are not consulted.
  kSoftFail,  // A revoked certificate is rejected; a stale or bad CRL is
              // tolerated (and reported); an issuer without a CRL is not
              // checked.
  kHardFail,  // Unknown status (no CRL, stale CRL) is rejected too.
};

struct ChainPolicy {
  // max_depth bounds the built path, leaf and root included.
  int max_depth = 10;
  // clock_skew widens every certificate's validity window at both ends.
  absl::Duration clock_skew = absl::ZeroDuration();
  KeyPurpose purpose = KeyPurpose::kServerAuth;
  // require_extended_key_usage: the leaf must carry an EKU extension that
  // lists the purpose (a leaf without EKU is otherwise allowed by X.509).
  bool require_extended_key_usage = true;
  // allow_common_name_fallback: check the subject CN when the leaf has no
  // DNS subject alternative name. Off: only SANs count.
  bool allow_common_name_fallback = false;
  // enforce_anchor_constraints: the trust anchor's basicConstraints, path
  // length constraint and extended key usage bind the path below it.
  bool enforce_anchor_constraints = true;
  int min_rsa_bits = 2048;
  // allowed_curves are the EC curves (NIDs) keys in the path may use.
  std::vector<int> allowed_curves = {NID_X9_62_prime256v1, NID_secp384r1,
                                     NID_secp521r1};
  // allow_sha1_signatures permits SHA-1 signed certificates (MD5 never).
  bool allow_sha1_signatures = false;
  // spki_pins are SHA-256 digests (32 raw bytes) of SubjectPublicKeyInfo;
  // when any is given, some certificate in the built path must match one.
  std::vector<std::string> spki_pins;
  // denied_spki and denied_fingerprints (SHA-256 of SPKI / of the
  // certificate DER, raw) reject any chain that contains them.
  std::vector<std::string> denied_spki;
  std::vector<std::string> denied_fingerprints;
  RevocationMode revocation = RevocationMode::kSoftFail;
  // allowed_errors are failures this rule tolerates (BITS security flags):
  // still reported, no longer rejecting.
  std::set<::certbroker::v1::Reason> allowed_errors;
};

// IsTolerable is true for the reasons a rule may list in allowed_errors.
// Denials, revocations, pins, bad signatures, malformed input and the
// agent's own rejection can never be tolerated.
bool IsTolerable(::certbroker::v1::Reason reason);

}  // namespace certbroker::validation

#endif  // CERTBROKER_BROKER_VALIDATION_CHAIN_POLICY_H_

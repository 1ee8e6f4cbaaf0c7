// Judging OCSP responses (RFC 6960) that a server staples to its TLS
// handshake: is the response well formed, signed by the certificate's issuer
// or a responder the issuer delegated to, fresh, and what does it say about
// the certificate. BoringSSL has no OCSP API, so the response is read with
// CBS and the signature checked with EVP_DigestVerify.
#ifndef CERTBROKER_BROKER_REVOCATION_OCSP_RESPONSE_H_
#define CERTBROKER_BROKER_REVOCATION_OCSP_RESPONSE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/x509/boringssl.h"

namespace certbroker::revocation {

// kMaxOcspResponseBytes caps the input CheckOcspResponse reads. Real stapled
// responses are a few KiB; anything bigger is refused unread.
inline constexpr size_t kMaxOcspResponseBytes = 64 * 1024;

// kMaxAgeWithoutNextUpdate is how long a response without nextUpdate is
// trusted after its thisUpdate. RFC 6960 leaves such responses' lifetime to
// the client; a week matches the longest validity common CAs give theirs.
inline constexpr absl::Duration kMaxAgeWithoutNextUpdate = absl::Hours(24 * 7);

// OcspOutcome is what a stapled response means for the certificate.
enum class OcspOutcome {
  // kGood: a trusted, fresh response says the certificate is good.
  kGood,
  // kRevoked: a trusted, fresh response says the certificate is revoked.
  kRevoked,
  // kUnknownCertificate: a trusted, fresh response says the responder does
  // not know the certificate.
  kUnknownCertificate,
  // kInvalid: the response cannot be trusted or used: malformed, not
  // successful, not about this certificate, or not signed by an authorised
  // responder.
  kInvalid,
  // kStale: a trusted response that is not yet valid or no longer valid.
  kStale,
};

// OcspOutcomeName returns "GOOD", "REVOKED", "UNKNOWN_CERTIFICATE",
// "INVALID" or "STALE", for logs.
absl::string_view OcspOutcomeName(OcspOutcome outcome);

// OcspVerdict is CheckOcspResponse's answer.
struct OcspVerdict {
  OcspOutcome outcome = OcspOutcome::kInvalid;
  // detail says, for people, why: the element that is malformed, the
  // responder that is not authorised, the time that is past.
  std::string detail;
  // this_update and next_update are the matching response's validity
  // interval; next_update is InfiniteFuture when the response has none. Both
  // are InfinitePast unless the response's signature was verified.
  absl::Time this_update = absl::InfinitePast();
  absl::Time next_update = absl::InfinitePast();
  // revocation_time is when the certificate was revoked (kRevoked only;
  // otherwise InfinitePast).
  absl::Time revocation_time = absl::InfinitePast();
};

// CheckOcspResponse judges `der`, a DER OCSPResponse stapled for
// `certificate`, which `issuer` issued, at time `now`, allowing clocks to
// differ by `skew` (its absolute value). The response must be successful
// and basic, contain exactly one SingleResponse whose CertID (SHA-1 or
// SHA-256) names `certificate`, be signed with ECDSA (SHA-256/384/512) or RSA
// (PKCS#1 v1.5 or PSS, SHA-256/384/512) by `issuer` or by a delegated
// responder certificate included in the response (issued and signed by
// `issuer`, EKU id-kp-OCSPSigning, valid at `now`), and carry no critical
// extension. Responses without nextUpdate are stale after
// kMaxAgeWithoutNextUpdate. Any failure is a verdict, never a crash: input
// is untrusted; a null `certificate` or `issuer` is kInvalid too.
OcspVerdict CheckOcspResponse(absl::string_view der, const X509* certificate,
                              const X509* issuer, absl::Time now,
                              absl::Duration skew);

}  // namespace certbroker::revocation

#endif  // CERTBROKER_BROKER_REVOCATION_OCSP_RESPONSE_H_

// Internal to broker/revocation: deciding whose key must have signed an OCSP
// response (RFC 6960 section 4.2.2.2), and the key hashes that CertIDs and
// ResponderIDs are made of.
#ifndef CERTBROKER_BROKER_REVOCATION_OCSP_RESPONDER_H_
#define CERTBROKER_BROKER_REVOCATION_OCSP_RESPONDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/revocation/ocsp_parser.h"
#include "broker/x509/boringssl.h"

namespace certbroker::revocation::internal {

// FormatUtc writes `time` as "2026-01-01 00:00:00 UTC", for details.
std::string FormatUtc(absl::Time time);

// PublicKeyBits returns the bytes of `certificate`'s subjectPublicKey BIT
// STRING (without its unused-bits byte): what CertID's issuerKeyHash and
// ResponderID's byKey hash. Lives as long as `certificate`.
absl::string_view PublicKeyBits(const X509* certificate);

// HashOf returns `md` of `data`, empty if BoringSSL cannot hash.
std::string HashOf(const EVP_MD* md, absl::string_view data);

// AuthorisedKey returns the key that must have signed `basic`: `issuer`'s
// when the ResponderID names the issuer (by name or key hash), otherwise
// that of the certificate in `basic.certificates` the ResponderID names,
// which must be issued and signed by `issuer`, carry the EKU
// id-kp-OCSPSigning and be valid at `now` give or take `skew`. Sets
// `key_owner` to what details call the key ("the issuer's key", "responder
// 'CN=OCSP''s key"). Fails with INVALID_ARGUMENT saying why no key is
// authorised.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> AuthorisedKey(
    const ParsedBasicResponse& basic, X509* issuer, absl::Time now,
    absl::Duration skew, std::string* key_owner);

}  // namespace certbroker::revocation::internal

#endif  // CERTBROKER_BROKER_REVOCATION_OCSP_RESPONDER_H_

// TLS SignatureSchemes (RFC 8446 section 4.2.3) the broker signs with for
// keyless agents: which ones a private key can do, what input each takes
// (a digest of the hash's length, or the message itself for Ed25519), and
// signing that input in the form TLS sends the signature.
#ifndef CERTBROKER_BROKER_KEYLESS_SIGNATURE_SCHEME_H_
#define CERTBROKER_BROKER_KEYLESS_SIGNATURE_SCHEME_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/x509/boringssl.h"

namespace certbroker::keyless {

// The supported SignatureScheme code points.
inline constexpr uint16_t kEcdsaSecp256r1Sha256 = 0x0403;
inline constexpr uint16_t kEcdsaSecp384r1Sha384 = 0x0503;
inline constexpr uint16_t kRsaPssRsaeSha256 = 0x0804;
inline constexpr uint16_t kRsaPssRsaeSha384 = 0x0805;
inline constexpr uint16_t kRsaPssRsaeSha512 = 0x0806;
inline constexpr uint16_t kRsaPkcs1Sha256 = 0x0401;
inline constexpr uint16_t kRsaPkcs1Sha384 = 0x0501;
inline constexpr uint16_t kRsaPkcs1Sha512 = 0x0601;
inline constexpr uint16_t kEd25519 = 0x0807;

// kMaxEd25519MessageBytes bounds the message Ed25519 signs (a TLS 1.3
// CertificateVerify input is under 200 bytes).
inline constexpr size_t kMaxEd25519MessageBytes = 64 * 1024;

// SchemeName returns the RFC 8446 name of `scheme` ("ecdsa_secp256r1_sha256"),
// or "0x...." (four hex digits, more if it does not fit) when the broker
// does not support it.
std::string SchemeName(uint32_t scheme);

// IsSupportedScheme is true for the code points above.
bool IsSupportedScheme(uint32_t scheme);

// SchemesForKey returns the schemes `key` can sign with, in the order
// above: an EC P-256 key only ecdsa_secp256r1_sha256, P-384 only
// ecdsa_secp384r1_sha384, an RSA key the PKCS#1 schemes and the PSS ones
// its modulus is large enough for (salt as long as the hash), Ed25519 only
// ed25519. Other keys (P-224, DSA...) can do none.
std::vector<uint16_t> SchemesForKey(const EVP_PKEY* key);

// KeyCanSign is true when `scheme` is among SchemesForKey(key).
bool KeyCanSign(const EVP_PKEY* key, uint32_t scheme);

// CheckSignInput checks that `input` suits `scheme` (supported by `key`):
// the hash's digest length, or at most kMaxEd25519MessageBytes for ed25519.
// Fails with INVALID_ARGUMENT naming the scheme and the lengths, or naming
// the scheme and the key when the key cannot do it.
absl::Status CheckSignInput(const EVP_PKEY* key, uint32_t scheme,
                            absl::string_view input);

// SignWithScheme signs `input` (checked as by CheckSignInput) with `key`
// under `scheme` and returns the signature as TLS sends it: DER
// ECDSA-Sig-Value for ECDSA, the raw value for RSA and Ed25519. RSA-PSS
// uses MGF1 with the same hash and a salt as long as the hash; PKCS#1 v1.5
// wraps the digest in its DigestInfo. Fails with INVALID_ARGUMENT for bad
// input, INTERNAL when BoringSSL fails to sign.
absl::StatusOr<std::string> SignWithScheme(const EVP_PKEY* key, uint32_t scheme,
                                           absl::string_view input);

// DescribeKey names `key`'s type for messages: "EC P-256 key",
// "RSA 2048-bit key", "Ed25519 key".
std::string DescribeKey(const EVP_PKEY* key);

}  // namespace certbroker::keyless

#endif  // CERTBROKER_BROKER_KEYLESS_SIGNATURE_SCHEME_H_

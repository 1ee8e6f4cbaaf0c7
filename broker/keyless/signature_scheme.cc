// The table of supported TLS SignatureSchemes and signing under each.
#include "broker/keyless/signature_scheme.h"

#include <algorithm>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace certbroker::keyless {
namespace {

enum class Kind { kEcdsa, kRsaPss, kRsaPkcs1, kEd25519 };

struct Scheme {
  uint16_t code;
  const char* name;
  Kind kind;
  int curve_nid;          // For ECDSA: the one curve it goes with.
  const EVP_MD* (*md)();  // Null for Ed25519.
  const char* hash_name;  // For messages.
};

constexpr Scheme kSchemes[] = {
    {kEcdsaSecp256r1Sha256, "ecdsa_secp256r1_sha256", Kind::kEcdsa,
     NID_X9_62_prime256v1, EVP_sha256, "SHA-256"},
    {kEcdsaSecp384r1Sha384, "ecdsa_secp384r1_sha384", Kind::kEcdsa,
     NID_secp384r1, EVP_sha384, "SHA-384"},
    {kRsaPssRsaeSha256, "rsa_pss_rsae_sha256", Kind::kRsaPss, NID_undef,
     EVP_sha256, "SHA-256"},
    {kRsaPssRsaeSha384, "rsa_pss_rsae_sha384", Kind::kRsaPss, NID_undef,
     EVP_sha384, "SHA-384"},
    {kRsaPssRsaeSha512, "rsa_pss_rsae_sha512", Kind::kRsaPss, NID_undef,
     EVP_sha512, "SHA-512"},
    {kRsaPkcs1Sha256, "rsa_pkcs1_sha256", Kind::kRsaPkcs1, NID_undef,
     EVP_sha256, "SHA-256"},
    {kRsaPkcs1Sha384, "rsa_pkcs1_sha384", Kind::kRsaPkcs1, NID_undef,
     EVP_sha384, "SHA-384"},
    {kRsaPkcs1Sha512, "rsa_pkcs1_sha512", Kind::kRsaPkcs1, NID_undef,
     EVP_sha512, "SHA-512"},
    {kEd25519, "ed25519", Kind::kEd25519, NID_undef, nullptr, nullptr},
};

const Scheme* Find(uint32_t code) {
  for (const Scheme& scheme : kSchemes) {
    if (scheme.code == code) return &scheme;
  }
  return nullptr;
}

int CurveOf(const EVP_PKEY* key) {
  const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
  if (ec == nullptr) return NID_undef;
  return EC_GROUP_get_curve_name(EC_KEY_get0_group(ec));
}

bool Supports(const EVP_PKEY* key, const Scheme& scheme) {
  switch (scheme.kind) {
    case Kind::kEcdsa:
      return EVP_PKEY_id(key) == EVP_PKEY_EC &&
             CurveOf(key) == scheme.curve_nid;
    case Kind::kRsaPkcs1:
      return EVP_PKEY_id(key) == EVP_PKEY_RSA;
    case Kind::kRsaPss: {
      if (EVP_PKEY_id(key) != EVP_PKEY_RSA) return false;
      // RFC 8017 9.1.1: emLen >= hLen + sLen + 2, with sLen = hLen and
      // emLen the bytes of modBits - 1 bits.
      const size_t em_len = (EVP_PKEY_bits(key) - 1 + 7) / 8;
      return em_len >= 2 * EVP_MD_size(scheme.md()) + 2;
    }
    case Kind::kEd25519:
      return EVP_PKEY_id(key) == EVP_PKEY_ED25519;
  }
  return false;
}

absl::StatusOr<std::string> SignEcdsa(const EVP_PKEY* key,
                                      absl::string_view digest) {
  const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
  std::string signature(ECDSA_size(ec), '\0');
  unsigned length = 0;
  if (!ECDSA_sign(0, reinterpret_cast<const uint8_t*>(digest.data()),
                  digest.size(), reinterpret_cast<uint8_t*>(signature.data()),
                  &length, ec)) {
    return absl::InternalError("ECDSA signing failed");
  }
  signature.resize(length);
  return signature;
}

absl::StatusOr<std::string> SignRsa(const EVP_PKEY* key, const Scheme& scheme,
                                    absl::string_view digest) {
  RSA* rsa = EVP_PKEY_get0_RSA(key);
  std::string signature(RSA_size(rsa), '\0');
  const auto* in = reinterpret_cast<const uint8_t*>(digest.data());
  auto* out = reinterpret_cast<uint8_t*>(signature.data());
  size_t length = 0;
  if (scheme.kind == Kind::kRsaPss) {
    // Salt length -1: as long as the digest (RFC 8446 4.2.3); MGF1 with the
    // same hash (null mgf1 digest).
    if (!RSA_sign_pss_mgf1(rsa, &length, out, signature.size(), in,
                           digest.size(), scheme.md(), nullptr, -1)) {
      return absl::InternalError(
          absl::StrCat("RSA-PSS signing failed (", scheme.name, ")"));
    }
  } else {
    unsigned pkcs1_length = 0;
    if (!RSA_sign(EVP_MD_type(scheme.md()), in, digest.size(), out,
                  &pkcs1_length, rsa)) {
      return absl::InternalError(
          absl::StrCat("RSA PKCS#1 signing failed (", scheme.name, ")"));
    }
    length = pkcs1_length;
  }
  signature.resize(length);
  return signature;
}

absl::StatusOr<std::string> SignEd25519(const EVP_PKEY* key,
                                        absl::string_view message) {
  bssl::ScopedEVP_MD_CTX ctx;
  // EVP_DigestSignInit only takes a reference to the key; signing does
  // not change it.
  if (!EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr,
                          const_cast<EVP_PKEY*>(key))) {
    return absl::InternalError("Ed25519 signing failed to start");
  }
  std::string signature(64, '\0');
  size_t length = signature.size();
  if (!EVP_DigestSign(ctx.get(), reinterpret_cast<uint8_t*>(signature.data()),
                      &length, reinterpret_cast<const uint8_t*>(message.data()),
                      message.size())) {
    return absl::InternalError("Ed25519 signing failed");
  }
  signature.resize(length);
  return signature;
}

}  // namespace

std::string SchemeName(uint32_t scheme) {
  if (const Scheme* known = Find(scheme)) return known->name;
  return absl::StrCat("0x", absl::Hex(scheme, absl::kZeroPad4));
}

bool IsSupportedScheme(uint32_t scheme) { return Find(scheme) != nullptr; }

std::vector<uint16_t> SchemesForKey(const EVP_PKEY* key) {
  std::vector<uint16_t> schemes;
  if (key == nullptr) return schemes;
  for (const Scheme& scheme : kSchemes) {
    if (Supports(key, scheme)) schemes.push_back(scheme.code);
  }
  return schemes;
}

bool KeyCanSign(const EVP_PKEY* key, uint32_t scheme) {
  const Scheme* known = Find(scheme);
  return known != nullptr && key != nullptr && Supports(key, *known);
}

std::string DescribeKey(const EVP_PKEY* key) {
  if (key == nullptr) return "missing key";
  switch (EVP_PKEY_id(key)) {
    case EVP_PKEY_EC: {
      const int curve = CurveOf(key);
      const char* name =
          curve == NID_undef ? nullptr : EC_curve_nid2nist(curve);
      return absl::StrCat("EC ", name != nullptr ? name : "unnamed-curve",
                          " key");
    }
    case EVP_PKEY_RSA:
      return absl::StrCat("RSA ", EVP_PKEY_bits(key), "-bit key");
    case EVP_PKEY_ED25519:
      return "Ed25519 key";
    default:
      return absl::StrCat("key of type ", EVP_PKEY_id(key));
  }
}

absl::Status CheckSignInput(const EVP_PKEY* key, uint32_t scheme,
                            absl::string_view input) {
  const Scheme* known = Find(scheme);
  if (known == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("algorithm ", SchemeName(scheme),
                     " is not a signature scheme the broker signs with"));
  }
  if (key == nullptr || !Supports(key, *known)) {
    std::vector<std::string> names;
    for (uint16_t code : SchemesForKey(key)) names.push_back(SchemeName(code));
    return absl::InvalidArgumentError(absl::StrCat(
        "algorithm ", known->name, " cannot sign with the ", DescribeKey(key),
        " (it can: ", names.empty() ? "nothing" : absl::StrJoin(names, ", "),
        ")"));
  }
  if (known->kind == Kind::kEd25519) {
    if (input.size() > kMaxEd25519MessageBytes) {
      return absl::InvalidArgumentError(absl::StrCat("input is ", input.size(),
                                                     " bytes; ed25519 signs a "
                                                     "message of at most ",
                                                     kMaxEd25519MessageBytes,
                                                     " bytes"));
    }
    return absl::OkStatus();
  }
  const size_t digest_length = EVP_MD_size(known->md());
  if (input.size() != digest_length) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input is ", input.size(), " bytes; ", known->name, " signs a ",
        known->hash_name, " digest of ", digest_length, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SignWithScheme(const EVP_PKEY* key, uint32_t scheme,
                                           absl::string_view input) {
  absl::Status checked = CheckSignInput(key, scheme, input);
  if (!checked.ok()) return checked;
  const Scheme& known = *Find(scheme);
  switch (known.kind) {
    case Kind::kEcdsa:
      return SignEcdsa(key, input);
    case Kind::kRsaPss:
    case Kind::kRsaPkcs1:
      return SignRsa(key, known, input);
    case Kind::kEd25519:
      return SignEd25519(key, input);
  }
  return absl::InternalError("unreachable signature scheme kind");
}

}  // namespace certbroker::keyless

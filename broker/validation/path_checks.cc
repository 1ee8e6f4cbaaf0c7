// Key strength, signature strength and digests of path certificates.
#include "broker/validation/path_checks.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "broker/x509/certificate.h"

namespace certbroker::validation {
namespace {

// PublicKey returns `certificate`'s decoded key, or null.
bssl::UniquePtr<EVP_PKEY> PublicKey(const X509* certificate) {
  // X509_get_pubkey takes a non-const pointer but only reads (and caches).
  bssl::UniquePtr<EVP_PKEY> key(
      X509_get_pubkey(const_cast<X509*>(certificate)));
  if (key == nullptr) ERR_clear_error();
  return key;
}

std::string CurveName(int nid) {
  const char* name = OBJ_nid2sn(nid);
  return name != nullptr ? name : absl::StrCat("curve ", nid);
}

}  // namespace

std::optional<std::string> KeyWeakness(const X509* certificate,
                                       const ChainPolicy& policy) {
  bssl::UniquePtr<EVP_PKEY> owned_key = PublicKey(certificate);
  const EVP_PKEY* key = owned_key.get();
  if (key == nullptr) return std::string("its public key cannot be decoded");
  switch (EVP_PKEY_id(key)) {
    case EVP_PKEY_RSA: {
      int bits = EVP_PKEY_bits(key);
      if (bits < policy.min_rsa_bits) {
        return absl::StrCat("RSA key of ", bits, " bits, below the minimum of ",
                            policy.min_rsa_bits);
      }
      return std::nullopt;
    }
    case EVP_PKEY_EC: {
      const EC_GROUP* group = EC_KEY_get0_group(EVP_PKEY_get0_EC_KEY(key));
      int nid = group != nullptr ? EC_GROUP_get_curve_name(group) : NID_undef;
      if (std::find(policy.allowed_curves.begin(), policy.allowed_curves.end(),
                    nid) == policy.allowed_curves.end()) {
        return absl::StrCat("EC key on ", CurveName(nid),
                            ", not an allowed curve");
      }
      return std::nullopt;
    }
    case EVP_PKEY_ED25519:
      return std::nullopt;
    default:
      return absl::StrCat("key type ", EVP_PKEY_id(key), " is not allowed");
  }
}

std::optional<std::string> SignatureWeakness(const X509* certificate,
                                             const ChainPolicy& policy) {
  int nid = X509_get_signature_nid(certificate);
  int digest = NID_undef;
  int key_type = NID_undef;
  if (!OBJ_find_sigid_algs(nid, &digest, &key_type)) return std::nullopt;
  const char* name = OBJ_nid2ln(nid);
  if (digest == NID_md5 || digest == NID_md4 || digest == NID_md5_sha1) {
    return absl::StrCat("signed with ", name ? name : "an MD5-based algorithm");
  }
  if (digest == NID_sha1 && !policy.allow_sha1_signatures) {
    return absl::StrCat("signed with ", name ? name : "a SHA-1-based algorithm",
                        " (SHA-1 is forbidden)");
  }
  return std::nullopt;
}

std::string SpkiSha256(const X509* certificate) {
  bssl::UniquePtr<EVP_PKEY> key = PublicKey(certificate);
  if (key == nullptr) return std::string();
  uint8_t* der = nullptr;
  int length = i2d_PUBKEY(key.get(), &der);
  if (length <= 0) {
    ERR_clear_error();
    return std::string();
  }
  bssl::UniquePtr<uint8_t> owned(der);
  return x509::Sha256(absl::string_view(reinterpret_cast<const char*>(der),
                                        static_cast<size_t>(length)));
}

std::string CertificateSha256(const X509* certificate) {
  return x509::Sha256(x509::CertificateToDer(certificate));
}

std::optional<std::string> Denial(const X509* certificate,
                                  const ChainPolicy& policy) {
  auto listed = [](const std::vector<std::string>& list,
                   const std::string& digest) {
    return std::find(list.begin(), list.end(), digest) != list.end();
  };
  if (!policy.denied_fingerprints.empty()) {
    std::string fingerprint = CertificateSha256(certificate);
    if (listed(policy.denied_fingerprints, fingerprint)) {
      return absl::StrCat("is denied by its fingerprint ",
                          PinText(fingerprint));
    }
  }
  if (!policy.denied_spki.empty()) {
    std::string spki = SpkiSha256(certificate);
    if (listed(policy.denied_spki, spki)) {
      return absl::StrCat("has the denied key ", PinText(spki));
    }
  }
  return std::nullopt;
}

std::string PinText(const std::string& digest) {
  return absl::StrCat("sha256/", absl::Base64Escape(digest));
}

}  // namespace certbroker::validation

// Reading PKCS#12 files with BoringSSL's PKCS12_get_key_and_certs, turning
// its error reasons into messages, and putting the chain in order.
#include "broker/x509/pkcs12.h"

#include <openssl/cipher.h>
#include <openssl/pkcs8.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/x509/boringssl.h"
#include "broker/x509/certificate.h"
#include "broker/x509/keys.h"

namespace certbroker::x509 {
namespace {

// WipedPassword is a NUL-terminated copy of a password (BoringSSL takes a C
// string), overwritten with OPENSSL_cleanse when destroyed. The buffer is
// sized once, so no unwiped copy is left behind by a reallocation.
class WipedPassword {
 public:
  explicit WipedPassword(absl::string_view password)
      : bytes_(password.size() + 1, '\0') {
    std::copy(password.begin(), password.end(), bytes_.begin());
  }
  ~WipedPassword() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }
  WipedPassword(const WipedPassword&) = delete;
  WipedPassword& operator=(const WipedPassword&) = delete;

  const char* c_str() const { return bytes_.data(); }

 private:
  std::vector<char> bytes_;
};

// IsBmpUtf8 is true when `text` is UTF-8 of characters PKCS#12 can encode
// in a password (a BMPString, RFC 7292 appendix B.1): no malformed or
// overlong sequences, surrogates, non-characters, or characters beyond
// U+FFFF. These are the rules BoringSSL applies when it encodes the password.
bool IsBmpUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t lead = static_cast<uint8_t>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t continuation_bytes;
    uint32_t code_point;
    uint32_t smallest;
    if ((lead & 0xe0) == 0xc0) {
      continuation_bytes = 1;
      code_point = lead & 0x1f;
      smallest = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
      continuation_bytes = 2;
      code_point = lead & 0x0f;
      smallest = 0x800;
    } else {
      return false;  // Beyond the BMP (four bytes) or not a lead byte.
    }
    if (text.size() - i <= continuation_bytes) return false;
    for (size_t k = 1; k <= continuation_bytes; ++k) {
      const uint8_t next = static_cast<uint8_t>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3f);
    }
    if (code_point < smallest ||
        (code_point >= 0xd800 && code_point <= 0xdfff) ||
        (code_point >= 0xfdd0 && code_point <= 0xfdef) ||
        (code_point & 0xfffe) == 0xfffe) {
      return false;
    }
    i += continuation_bytes + 1;
  }
  return true;
}

// QueuedErrors is BoringSSL's error queue, taken (and so cleared) after a
// failed PKCS12_get_key_and_certs: the packed codes to tell the causes
// apart, and the text for the message's detail.
struct QueuedErrors {
  std::vector<uint32_t> codes;
  std::string text;

  bool Has(int library, int reason) const {
    return std::any_of(codes.begin(), codes.end(), [&](uint32_t code) {
      return ERR_GET_LIB(code) == library && ERR_GET_REASON(code) == reason;
    });
  }
};

QueuedErrors TakeErrors() {
  QueuedErrors errors;
  uint32_t code;
  while ((code = ERR_get_error()) != 0) {
    errors.codes.push_back(code);
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    if (!errors.text.empty()) errors.text += "; ";
    errors.text += buffer;
  }
  if (errors.text.empty()) errors.text = "no details";
  ERR_clear_error();
  return errors;
}

// IsUnsupportedAlgorithm is true when BoringSSL gave up on an algorithm it
// does not implement (a cipher, PRF, key derivation, MAC digest or key type)
// rather than on bad data.
bool IsUnsupportedAlgorithm(const QueuedErrors& errors) {
  static constexpr int kPkcs8Reasons[] = {
      PKCS8_R_UNKNOWN_ALGORITHM,
      PKCS8_R_UNKNOWN_CIPHER,
      PKCS8_R_UNKNOWN_CIPHER_ALGORITHM,
      PKCS8_R_UNKNOWN_DIGEST,
      PKCS8_R_UNKNOWN_HASH,
      PKCS8_R_UNSUPPORTED_PRIVATE_KEY_ALGORITHM,
      PKCS8_R_UNSUPPORTED_KEYLENGTH,
      PKCS8_R_UNSUPPORTED_SALT_TYPE,
      PKCS8_R_UNSUPPORTED_CIPHER,
      PKCS8_R_UNSUPPORTED_KEY_DERIVATION_FUNCTION,
      PKCS8_R_UNSUPPORTED_PRF,
      PKCS8_R_METHOD_NOT_SUPPORTED,
  };
  for (int reason : kPkcs8Reasons) {
    if (errors.Has(ERR_LIB_PKCS8, reason)) return true;
  }
  return errors.Has(ERR_LIB_DIGEST, DIGEST_R_UNKNOWN_HASH) ||
         errors.Has(ERR_LIB_EVP, EVP_R_UNSUPPORTED_ALGORITHM);
}

// DescribeFailure says why PKCS12_get_key_and_certs failed, from the reasons
// BoringSSL queued. The most specific cause wins: a wrong password is
// reported as such even though BoringSSL queues other errors with it.
std::string DescribeFailure(const QueuedErrors& errors) {
  if (errors.Has(ERR_LIB_PKCS8, PKCS8_R_INCORRECT_PASSWORD)) {
    return "wrong password (or not a password-protected PKCS#12)";
  }
  if (errors.Has(ERR_LIB_PKCS8, PKCS8_R_MISSING_MAC)) {
    return "has no MAC (made with -nomac?); only PKCS#12 files with a "
           "password MAC are supported";
  }
  if (errors.Has(ERR_LIB_PKCS8,
                 PKCS8_R_PKCS12_PUBLIC_KEY_INTEGRITY_NOT_SUPPORTED)) {
    return "uses public-key integrity mode (signed, not MACed), which is not "
           "supported";
  }
  if (errors.Has(ERR_LIB_PKCS8, PKCS8_R_BAD_PKCS12_VERSION)) {
    return "is not PKCS#12 version 3";
  }
  if (errors.Has(ERR_LIB_PKCS8, PKCS8_R_MULTIPLE_PRIVATE_KEYS_IN_PKCS12)) {
    return "holds more than one private key";
  }
  if (IsUnsupportedAlgorithm(errors)) {
    return absl::StrCat("uses an algorithm that is not supported (",
                        errors.text, ")");
  }
  if (errors.Has(ERR_LIB_CIPHER, CIPHER_R_BAD_DECRYPT)) {
    // The MAC matched, so the password is right for it but not for the
    // encrypted contents.
    return "its contents do not decrypt with the password that matched its "
           "MAC (different MAC and encryption passwords are not supported)";
  }
  if (errors.Has(ERR_LIB_PKCS8, PKCS8_R_BAD_ITERATION_COUNT)) {
    return "has an invalid key-derivation iteration count";
  }
  if (errors.Has(ERR_LIB_PKCS8, PKCS8_R_PRIVATE_KEY_DECODE_ERROR)) {
    return "its private key does not parse";
  }
  if (errors.Has(ERR_LIB_PKCS8, PKCS8_R_BAD_PKCS12_DATA) ||
      errors.Has(ERR_LIB_PKCS8, PKCS8_R_DECODE_ERROR) ||
      errors.Has(ERR_LIB_PKCS8, PKCS8_R_PKCS12_TOO_DEEPLY_NESTED) ||
      errors.Has(ERR_LIB_PKCS8, PKCS8_R_INVALID_CHARACTERS)) {
    return "is not a PKCS#12 file, or its DER is malformed or truncated";
  }
  return absl::StrCat("cannot be read as PKCS#12 (", errors.text, ")");
}

bool IsSelfIssued(const X509* certificate) {
  return X509_NAME_cmp(X509_get_subject_name(certificate),
                       X509_get_issuer_name(certificate)) == 0;
}

// FindIssuer returns the first of `candidates` that issued `certificate`:
// by name and key identifiers (X509_check_issued) if one matches so, else
// by name alone. Returns candidates.end() when none does.
CertificateList::iterator FindIssuer(X509* certificate,
                                     CertificateList& candidates) {
  auto issuer = std::find_if(
      candidates.begin(), candidates.end(), [&](const auto& candidate) {
        return X509_check_issued(candidate.get(), certificate) == X509_V_OK;
      });
  if (issuer != candidates.end()) return issuer;
  const X509_NAME* issuer_name = X509_get_issuer_name(certificate);
  return std::find_if(
      candidates.begin(), candidates.end(), [&](const auto& candidate) {
        return X509_NAME_cmp(X509_get_subject_name(candidate.get()),
                             issuer_name) == 0;
      });
}

// OrderChain returns `leaf`, then its issuers found among `others` as far as
// they go (stopping at a self-issued certificate), then the rest of `others`
// in their original order.
CertificateList OrderChain(bssl::UniquePtr<X509> leaf, CertificateList others) {
  CertificateList chain;
  chain.push_back(std::move(leaf));
  while (!others.empty() && !IsSelfIssued(chain.back().get())) {
    auto issuer = FindIssuer(chain.back().get(), others);
    if (issuer == others.end()) break;
    chain.push_back(std::move(*issuer));
    others.erase(issuer);
  }
  for (auto& other : others) chain.push_back(std::move(other));
  return chain;
}

}  // namespace

absl::StatusOr<Pkcs12Contents> ParsePkcs12(absl::string_view der,
                                           absl::string_view password,
                                           absl::string_view source) {
  if (der.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": empty input, expected a PKCS#12 file"));
  }
  if (der.size() > kMaxPkcs12Bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": PKCS#12 file is ", der.size(),
        " bytes, larger than the limit of ", kMaxPkcs12Bytes, " bytes"));
  }
  if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(der), "-----BEGIN")) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": is PEM text; expected a binary (DER) PKCS#12 file"));
  }
  if (password.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(source,
                     ": the password contains a NUL byte, which PKCS#12 cannot "
                     "encode"));
  }
  if (!IsBmpUtf8(password)) {
    return absl::InvalidArgumentError(
        absl::StrCat(source,
                     ": the password is not UTF-8 text that PKCS#12 can encode "
                     "(characters up to U+FFFF)"));
  }

  bssl::UniquePtr<STACK_OF(X509)> certificates(sk_X509_new_null());
  if (certificates == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat(source, ": out of memory"));
  }
  EVP_PKEY* raw_key = nullptr;
  CBS input;
  CBS_init(&input, reinterpret_cast<const uint8_t*>(der.data()), der.size());
  // Errors queued before this call must not be taken for its own.
  ERR_clear_error();
  int parsed;
  {
    WipedPassword password_copy(password);
    parsed = PKCS12_get_key_and_certs(&raw_key, certificates.get(), &input,
                                      password_copy.c_str());
  }
  bssl::UniquePtr<EVP_PKEY> key(raw_key);
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", DescribeFailure(TakeErrors())));
  }
  ERR_clear_error();

  // Take the certificates out of the stack, in file order, dropping exact
  // duplicates.
  CertificateList found;
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < sk_X509_num(certificates.get()); ++i) {
    bssl::UniquePtr<X509> certificate(sk_X509_value(certificates.get(), i));
    sk_X509_set(certificates.get(), i, nullptr);
    if (seen.insert(CertificateToDer(certificate.get())).second) {
      found.push_back(std::move(certificate));
    }
  }

  if (key == nullptr && found.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": holds neither a private key nor a certificate"));
  }
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": holds no private key (only ", found.size(),
                     found.size() == 1 ? " certificate)" : " certificates)"));
  }
  if (found.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": holds a private key but no certificate"));
  }
  auto leaf = std::find_if(found.begin(), found.end(), [&](const auto& c) {
    return KeyMatchesCertificate(c.get(), key.get());
  });
  if (leaf == found.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": none of its ", found.size(),
                     found.size() == 1 ? " certificate" : " certificates",
                     " matches the private key"));
  }
  bssl::UniquePtr<X509> leaf_certificate = std::move(*leaf);
  found.erase(leaf);

  Pkcs12Contents contents;
  contents.chain = OrderChain(std::move(leaf_certificate), std::move(found));
  contents.key = std::move(key);
  ERR_clear_error();
  return contents;
}

}  // namespace certbroker::x509

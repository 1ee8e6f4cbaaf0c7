// Who may sign an OCSP response (RFC 6960 section 4.2.2.2): the issuer of
// the certificate, or a responder certificate the issuer signed with the EKU
// id-kp-OCSPSigning, found by the response's ResponderID.
#include "broker/revocation/ocsp_responder.h"

#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "broker/x509/certificate.h"

namespace certbroker::revocation::internal {
namespace {

absl::string_view AsView(const uint8_t* data, size_t length) {
  return absl::string_view(reinterpret_cast<const char*>(data), length);
}

// ResponderId identifies a certificate by the response's ResponderID.
class ResponderId {
 public:
  explicit ResponderId(const ParsedBasicResponse& basic) : basic_(basic) {
    if (!basic.responder_by_key) {
      const uint8_t* cursor =
          reinterpret_cast<const uint8_t*>(basic.responder_name.data());
      name_.reset(d2i_X509_NAME(
          nullptr, &cursor, static_cast<long>(basic.responder_name.size())));
    }
  }

  bool Matches(const X509* certificate) const {
    if (basic_.responder_by_key) {
      return basic_.responder_key_hash ==
             HashOf(EVP_sha1(), PublicKeyBits(certificate));
    }
    return name_ != nullptr &&
           X509_NAME_cmp(name_.get(), X509_get_subject_name(certificate)) == 0;
  }

  // Describe names the responder for details.
  std::string Describe() const {
    if (basic_.responder_by_key) {
      return absl::StrCat("with key SHA-1 ",
                          absl::BytesToHexString(basic_.responder_key_hash));
    }
    if (name_ == nullptr) return "<unreadable name>";
    // x509::SubjectName prints names the way the rest of the broker does;
    // lend it the name through a scratch certificate.
    bssl::UniquePtr<X509> holder(X509_new());
    if (holder == nullptr ||
        !X509_set_subject_name(holder.get(), name_.get())) {
      return "<unprintable name>";
    }
    return absl::StrCat("'", x509::SubjectName(holder.get()), "'");
  }

 private:
  const ParsedBasicResponse& basic_;
  bssl::UniquePtr<X509_NAME> name_;
};

}  // namespace

std::string FormatUtc(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", time, absl::UTCTimeZone());
}

absl::string_view PublicKeyBits(const X509* certificate) {
  const ASN1_BIT_STRING* bits = X509_get0_pubkey_bitstr(certificate);
  if (bits == nullptr) return absl::string_view();
  return AsView(ASN1_STRING_get0_data(bits),
                static_cast<size_t>(ASN1_STRING_length(bits)));
}

std::string HashOf(const EVP_MD* md, absl::string_view data) {
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  if (!EVP_Digest(data.data(), data.size(), digest, &length, md, nullptr)) {
    return std::string();
  }
  return std::string(AsView(digest, length));
}

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> AuthorisedKey(
    const ParsedBasicResponse& basic, X509* issuer, absl::Time now,
    absl::Duration skew, std::string* key_owner) {
  bssl::UniquePtr<EVP_PKEY> issuer_key(X509_get_pubkey(issuer));
  if (issuer_key == nullptr) {
    return absl::InvalidArgumentError("the issuer's public key is unusable");
  }
  const ResponderId id(basic);
  if (id.Matches(issuer)) {
    *key_owner = "the issuer's key";
    return issuer_key;
  }
  X509* responder = nullptr;
  for (const bssl::UniquePtr<X509>& candidate : basic.certificates) {
    if (id.Matches(candidate.get())) {
      responder = candidate.get();
      break;
    }
  }
  const std::string name = absl::StrCat("responder ", id.Describe());
  if (responder == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " is not the issuer '", x509::SubjectName(issuer),
                     "' and its certificate is not in the response"));
  }
  if (X509_NAME_cmp(X509_get_issuer_name(responder),
                    X509_get_subject_name(issuer)) != 0 ||
      X509_verify(responder, issuer_key.get()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " is not the issuer and was not issued by it ('",
                     x509::SubjectName(issuer), "')"));
  }
  const uint32_t flags = X509_get_extension_flags(responder);
  if ((flags & EXFLAG_INVALID) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " has malformed extensions"));
  }
  if ((flags & EXFLAG_XKUSAGE) == 0 ||
      (X509_get_extended_key_usage(responder) & XKU_OCSP_SIGN) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " is not the issuer and has no id-kp-OCSPSigning"));
  }
  if (x509::NotBefore(responder) > now + skew) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, " is not valid before ", FormatUtc(x509::NotBefore(responder))));
  }
  if (x509::NotAfter(responder) < now - skew) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, " expired at ", FormatUtc(x509::NotAfter(responder))));
  }
  bssl::UniquePtr<EVP_PKEY> key(X509_get_pubkey(responder));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " has an unusable public key"));
  }
  *key_owner = absl::StrCat(name, "'s key");
  return key;
}

}  // namespace certbroker::revocation::internal

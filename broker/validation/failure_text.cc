// Human-readable details of verification failures.
#include "broker/validation/failure_text.h"

#include "absl/strings/str_cat.h"
#include "broker/common/host_name.h"
#include "broker/validation/server_chain_validator.h"

namespace certbroker::validation {
namespace {

// WhyNotForPurpose says which extension keeps `certificate` from being
// used for `purpose`: for any certificate
// its extended key usage (a CA's restricts what it may issue for); for the
// leaf its key usage; for a CA its basic constraints or key usage.
std::string WhyNotForPurpose(const X509* certificate, bool leaf,
                             KeyPurpose purpose) {
  X509* mutable_certificate = const_cast<X509*>(certificate);  // Reads a cache.
  uint32_t flags = X509_get_extension_flags(mutable_certificate);
  uint32_t wanted = PurposeExtendedKeyUsage(purpose);
  if (wanted != 0 && (flags & EXFLAG_XKUSAGE) != 0 &&
      (X509_get_extended_key_usage(mutable_certificate) & wanted) == 0) {
    return absl::StrCat("its extended key usage does not include ",
                        PurposeName(purpose),
                        leaf ? ""
                             : " (a CA's extended key usage limits the "
                               "certificates it may issue)");
  }
  if (!leaf) {
    return "it is not a CA allowed to sign certificates (basicConstraints or "
           "key usage)";
  }
  if ((flags & EXFLAG_KUSAGE) != 0 &&
      (X509_get_key_usage(mutable_certificate) &
       (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT)) == 0) {
    return "its key usage allows none of digitalSignature, keyEncipherment, "
           "keyAgreement";
  }
  return "its Netscape certificate type excludes the purpose";
}

}  // namespace

int FailureText::ChainIndex(const X509* certificate) const {
  for (size_t i = 0; i < chain_.size(); ++i) {
    if (X509_cmp(chain_[i].get(), certificate) == 0) return static_cast<int>(i);
  }
  return -1;
}

std::string FailureText::Describe(const X509* certificate) const {
  if (certificate == nullptr) return "the chain";
  int index = ChainIndex(certificate);
  if (index >= 0) {
    return absl::StrCat("certificate_chain[", index, "] (",
                        x509::SubjectName(certificate), ")");
  }
  if (trust_.Contains(certificate)) {
    return absl::StrCat("trusted root (", x509::SubjectName(certificate), ")");
  }
  return absl::StrCat("certificate (", x509::SubjectName(certificate), ")");
}

std::string FailureText::ExplainMissingIssuer(const std::string& subject,
                                              const X509* certificate) const {
  if (certificate != nullptr) {
    for (size_t i = 0; i < chain_.size(); ++i) {
      if (chain_[i].get() != certificate &&
          X509_NAME_cmp(X509_get_subject_name(chain_[i].get()),
                        X509_get_issuer_name(certificate)) == 0) {
        return absl::StrCat(
            "no path to a trusted root: certificate_chain[", i,
            "] carries the name of the issuer of ", subject,
            " but cannot have issued it (not a CA allowed to sign "
            "certificates, or a different key)");
      }
    }
  }
  return absl::StrCat(
      "no path to a trusted root: the issuer of ", subject, ", '",
      certificate ? x509::IssuerName(certificate) : "",
      "', is neither in the chain sent nor in trust bundles ",
      trust_.description(),
      " (an intermediate is missing, or the root is not trusted)");
}

std::string FailureText::Explain(int error, const X509* certificate,
                                 const ServerChainCheck& check) const {
  std::string subject = Describe(certificate);
  switch (error) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return absl::StrCat(subject,
                          " is self-signed and is not in trust bundles ",
                          trust_.description());
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return ExplainMissingIssuer(subject, certificate);
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return absl::StrCat(subject, " expired at ",
                          absl::FormatTime(x509::NotAfter(certificate)),
                          " (checked at ", absl::FormatTime(check.now), ")");
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return absl::StrCat(subject, " is not valid before ",
                          absl::FormatTime(x509::NotBefore(certificate)),
                          " (checked at ", absl::FormatTime(check.now), ")");
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return absl::StrCat(subject, " is not valid for '", check.server_name,
                          "': no matching ",
                          IsIpAddress(check.server_name) ? "IP" : "DNS",
                          " subject alternative name");
    case X509_V_ERR_INVALID_PURPOSE:
      return absl::StrCat(
          subject, " may not be used for this purpose: ",
          WhyNotForPurpose(certificate, ChainIndex(certificate) == 0,
                           purpose_));
    case X509_V_ERR_CERT_REVOKED:
      return absl::StrCat(subject, " is revoked by a CRL from its issuer");
    case X509_V_ERR_UNABLE_TO_GET_CRL:
      return absl::StrCat(subject, ": no CRL from its issuer is held");
    case X509_V_ERR_CRL_HAS_EXPIRED:
      return absl::StrCat(
          subject, ": the CRL from its issuer is stale (past its nextUpdate)");
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return absl::StrCat(subject,
                          ": the CRL from its issuer is not yet valid");
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
      return absl::StrCat(subject, ": the CRL from its issuer does not verify");
    case X509_V_ERR_PERMITTED_VIOLATION:
      return absl::StrCat(
          subject,
          " has a name outside the permitted subtrees of a CA above it");
    case X509_V_ERR_EXCLUDED_VIOLATION:
      return absl::StrCat(
          subject, " has a name in the excluded subtrees of a CA above it");
    case X509_V_ERR_UNSPECIFIED:
      return absl::StrCat(
          subject,
          ": BoringSSL stopped without a specific error (as it does when "
          "checking a certificate's names against name constraints would "
          "take over 2^20 comparisons)");
    default:
      return absl::StrCat(subject, ": ", X509_verify_cert_error_string(error));
  }
}

}  // namespace certbroker::validation

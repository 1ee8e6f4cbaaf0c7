// Server-chain validation on BoringSSL's X509_verify_cert, with the broker's
// stricter hostname and EKU rules and details that name the failing
// certificate by its position in the request.
#include "broker/validation/server_chain_validator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/common/host_name.h"
#include "broker/validation/verify_error_reason.h"

namespace certbroker::validation {
namespace {

using ::certbroker::v1::Reason;

ChainVerdict Reject(Reason reason, std::string detail,
                    absl::Time earliest_not_after) {
  ChainVerdict verdict;
  verdict.reason = reason;
  verdict.detail = std::move(detail);
  verdict.earliest_not_after = earliest_not_after;
  return verdict;
}

// Describe names `certificate` the way an agent can find it: by its index in
// the chain it sent, or as one of the rule's trusted roots.
std::string Describe(const X509* certificate,
                     const x509::CertificateList& chain,
                     const TrustStore& trust) {
  if (certificate == nullptr) return "the chain";
  for (size_t i = 0; i < chain.size(); ++i) {
    if (X509_cmp(chain[i].get(), certificate) == 0) {
      return absl::StrCat("certificate_chain[", i, "] (",
                          x509::SubjectName(certificate), ")");
    }
  }
  if (trust.Contains(certificate)) {
    return absl::StrCat("trusted root (", x509::SubjectName(certificate), ")");
  }
  return absl::StrCat("certificate (", x509::SubjectName(certificate), ")");
}

absl::Time EarliestNotAfter(STACK_OF(X509) * path) {
  absl::Time earliest = absl::InfiniteFuture();
  for (size_t i = 0; i < sk_X509_num(path); ++i) {
    earliest = std::min(earliest, x509::NotAfter(sk_X509_value(path, i)));
  }
  return earliest;
}

// WhyNotForServers says which extension keeps `certificate` from serving TLS.
std::string WhyNotForServers(const X509* certificate) {
  X509* mutable_certificate = const_cast<X509*>(certificate);  // Reads a cache.
  uint32_t flags = X509_get_extension_flags(mutable_certificate);
  if ((flags & EXFLAG_XKUSAGE) != 0 &&
      (X509_get_extended_key_usage(mutable_certificate) & XKU_SSL_SERVER) ==
          0) {
    return "its extended key usage does not include serverAuth";
  }
  if ((flags & EXFLAG_CA) != 0) return "it is a CA certificate";
  return "its key usage does not allow digitalSignature or keyEncipherment";
}

std::string ExplainFailure(int error, const X509* certificate,
                           const x509::CertificateList& chain,
                           const TrustStore& trust,
                           const ServerChainCheck& check) {
  std::string subject = Describe(certificate, chain, trust);
  switch (error) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return absl::StrCat(subject,
                          " is self-signed and is not in trust bundles ",
                          trust.description());
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      if (certificate != nullptr) {
        for (size_t i = 0; i < chain.size(); ++i) {
          if (chain[i].get() != certificate &&
              X509_NAME_cmp(X509_get_subject_name(chain[i].get()),
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
          trust.description(),
          " (an intermediate is missing, or the root is not trusted)");
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
                          " subject alternative name (the subject CN is never "
                          "used)");
    case X509_V_ERR_INVALID_PURPOSE:
      return absl::StrCat(subject,
                          " may not be used for TLS server authentication: ",
                          WhyNotForServers(certificate));
    default:
      return absl::StrCat(subject, ": ", X509_verify_cert_error_string(error));
  }
}

}  // namespace

ChainVerdict ValidateServerChain(const TrustStore& trust,
                                 const x509::CertificateList& chain,
                                 const ServerChainCheck& check) {
  absl::Time sent_not_after = absl::InfiniteFuture();
  for (const auto& certificate : chain) {
    sent_not_after =
        std::min(sent_not_after, x509::NotAfter(certificate.get()));
  }
  if (chain.empty()) {
    return Reject(Reason::MALFORMED_CHAIN, "the chain is empty",
                  sent_not_after);
  }
  if (check.server_name.empty()) {
    return Reject(Reason::HOSTNAME_MISMATCH, "no server name to verify",
                  sent_not_after);
  }

  bssl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  if (untrusted == nullptr) {
    return Reject(Reason::VERIFICATION_FAILED, "out of memory", sent_not_after);
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    if (!bssl::PushToStack(untrusted.get(), bssl::UpRef(chain[i]))) {
      return Reject(Reason::VERIFICATION_FAILED, "out of memory",
                    sent_not_after);
    }
  }
  bssl::UniquePtr<X509_STORE_CTX> context(X509_STORE_CTX_new());
  if (context == nullptr ||
      !X509_STORE_CTX_init(context.get(), trust.store(), chain[0].get(),
                           untrusted.get())) {
    return Reject(
        Reason::VERIFICATION_FAILED,
        absl::StrCat("cannot start verification: ", x509::DrainErrorQueue()),
        sent_not_after);
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(context.get());
  X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(check.now));
  // BoringSSL builds paths of at most depth + 1 certificates, root included.
  X509_VERIFY_PARAM_set_depth(param, std::max(0, check.max_depth - 1));
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM_set_hostflags(param,
                                  X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
                                      X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  int name_set =
      IsIpAddress(check.server_name)
          ? X509_VERIFY_PARAM_set1_ip_asc(param, check.server_name.c_str())
          : X509_VERIFY_PARAM_set1_host(param, check.server_name.data(),
                                        check.server_name.size());
  if (!name_set) {
    ERR_clear_error();
    return Reject(
        Reason::HOSTNAME_MISMATCH,
        absl::StrCat("'", check.server_name,
                     "' is not a name a certificate can be checked for"),
        sent_not_after);
  }

  if (X509_verify_cert(context.get()) != 1) {
    int error = X509_STORE_CTX_get_error(context.get());
    const X509* failing = X509_STORE_CTX_get_current_cert(context.get());
    STACK_OF(X509)* partial = X509_STORE_CTX_get0_chain(context.get());
    absl::Time earliest =
        partial != nullptr ? std::min(sent_not_after, EarliestNotAfter(partial))
                           : sent_not_after;
    ERR_clear_error();
    // At the depth limit BoringSSL stops looking for issuers and reports the
    // issuer as missing; say what really happened.
    if (ReasonForVerifyError(error) == Reason::INCOMPLETE_CHAIN &&
        partial != nullptr &&
        sk_X509_num(partial) >= static_cast<size_t>(check.max_depth)) {
      return Reject(Reason::CHAIN_TOO_LONG,
                    absl::StrCat("the path reaches the maximum depth of ",
                                 check.max_depth, " certificates at ",
                                 Describe(failing, chain, trust),
                                 " without a trusted root"),
                    earliest);
    }
    return Reject(ReasonForVerifyError(error),
                  ExplainFailure(error, failing, chain, trust, check),
                  earliest);
  }

  STACK_OF(X509)* path = X509_STORE_CTX_get0_chain(context.get());
  absl::Time earliest = EarliestNotAfter(path);
  // X509_PURPOSE_SSL_SERVER tolerates a leaf without an EKU extension; the
  // broker insists on an explicit serverAuth.
  X509* leaf = chain[0].get();
  if ((X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) == 0 ||
      (X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER) == 0) {
    return Reject(Reason::BAD_EXTENDED_KEY_USAGE,
                  absl::StrCat(Describe(leaf, chain, trust),
                               " has no extended key usage extension allowing "
                               "serverAuth"),
                  earliest);
  }
  ChainVerdict verdict;
  verdict.reason = Reason::ACCEPTED;
  verdict.detail = absl::StrCat(
      "path of ", sk_X509_num(path), " certificates to trusted root (",
      x509::SubjectName(sk_X509_value(path, sk_X509_num(path) - 1)),
      "); valid for '", check.server_name, "'");
  verdict.earliest_not_after = earliest;
  return verdict;
}

}  // namespace certbroker::validation

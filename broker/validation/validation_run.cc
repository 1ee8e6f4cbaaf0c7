// One validation run: BoringSSL's X509_verify_cert with a verify callback
// that records every error instead of stopping at the first (so rules can
// tolerate chosen failures and clock skew, and the verdict can list
// everything), then the path checks and the verdict.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/common/host_name.h"
#include "broker/validation/name_constraints.h"
#include "broker/validation/validation.h"
#include "broker/validation/verify_error_reason.h"

namespace certbroker::validation::internal {
namespace {

// CaAllowsAnyPurpose is true for a CA certificate whose extended key usage
// lists anyExtendedKeyUsage.
bool CaAllowsAnyPurpose(const X509* certificate) {
  if (certificate == nullptr) return false;
  X509* mutable_certificate = const_cast<X509*>(certificate);  // Reads a cache.
  return (X509_get_extension_flags(mutable_certificate) & EXFLAG_XKUSAGE) !=
             0 &&
         (X509_get_extended_key_usage(mutable_certificate) & XKU_ANYEKU) != 0 &&
         X509_check_ca(mutable_certificate) != 0;
}

}  // namespace

int Validation::StateIndex() {
  static const int index =
      X509_STORE_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int Validation::Callback(int ok, X509_STORE_CTX* context) {
  if (ok) return 1;
  auto* validation = static_cast<Validation*>(
      X509_STORE_CTX_get_ex_data(context, StateIndex()));
  validation->OnVerifyError(X509_STORE_CTX_get_error(context),
                            X509_STORE_CTX_get_current_cert(context),
                            X509_STORE_CTX_get_error_depth(context));
  // Keep going: the verdict comes from what was recorded, not from
  // BoringSSL's return value, and later errors are worth reporting too.
  return 1;
}

void Validation::Record(Reason reason, std::string detail, bool tolerated,
                        int path_index) {
  for (const CheckFailure& failure : failures_) {
    if (failure.reason == reason && failure.detail == detail) return;
  }
  tolerated = tolerated ||
              (IsTolerable(reason) && policy_.allowed_errors.count(reason) > 0);
  failures_.push_back(
      CheckFailure{reason, std::move(detail), tolerated, path_index});
}

void Validation::RecordRevocationUnknown(std::string detail, int path_index) {
  bool soft = policy_.revocation == RevocationMode::kSoftFail;
  Record(Reason::REVOCATION_UNKNOWN,
         soft ? absl::StrCat(detail, " (soft-fail: tolerated)")
              : std::move(detail),
         soft, path_index);
}

void Validation::OnVerifyError(int error, const X509* certificate, int depth) {
  if (error == X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE) {
    // BoringSSL cannot evaluate IP constraints: our own checker decides
    // once the path is built.
    recheck_name_constraints_ = true;
    return;
  }
  if (error == X509_V_ERR_INVALID_PURPOSE && depth > 0 &&
      CaAllowsAnyPurpose(certificate)) {
    // BoringSSL ignores anyExtendedKeyUsage in a CA's EKU; a CA listing it
    // does not restrict what it issues for.
    return;
  }
  Reason reason = ReasonForVerifyError(error);
  if (policy_.revocation == RevocationMode::kSoftFail &&
      error == X509_V_ERR_UNABLE_TO_GET_CRL) {
    return;  // Soft-fail does not report an issuer without a CRL here.
  }
  std::string detail = text_.Explain(error, certificate, check_);
  if (certificate != nullptr && policy_.clock_skew > absl::ZeroDuration()) {
    bool within_skew =
        (reason == Reason::EXPIRED &&
         x509::NotAfter(certificate) + policy_.clock_skew >= check_.now) ||
        (reason == Reason::NOT_YET_VALID &&
         x509::NotBefore(certificate) - policy_.clock_skew <= check_.now);
    if (within_skew) {
      Record(reason,
             absl::StrCat(detail, ", within the clock skew of ",
                          absl::FormatDuration(policy_.clock_skew)),
             /*tolerated=*/true, depth);
      return;
    }
  }
  if (reason == Reason::REVOCATION_UNKNOWN) {
    // A trust anchor has no CRL by design: it is trusted, not checked.
    if (certificate != nullptr && trust_.Contains(certificate)) return;
    RecordRevocationUnknown(std::move(detail), depth);
    return;
  }
  Record(reason, std::move(detail), false, depth);
}

bool Validation::ConfigureContext(X509_STORE_CTX* context,
                                  STACK_OF(X509) * untrusted) {
  if (!X509_STORE_CTX_init(context, trust_.store(), chain_[0].get(),
                           untrusted) ||
      !X509_STORE_CTX_set_ex_data(context, StateIndex(), this)) {
    return false;
  }
  X509_STORE_CTX_set_verify_cb(context, &Validation::Callback);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(context);
  X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(check_.now));
  // BoringSSL builds paths of at most depth + 1 certificates, root included.
  X509_VERIFY_PARAM_set_depth(param, std::max(0, policy_.max_depth - 1));
  if (policy_.purpose == KeyPurpose::kServerAuth) {
    X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  } else if (policy_.purpose == KeyPurpose::kClientAuth) {
    X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_CLIENT);
  }
  if (check_crls_) {
    X509_VERIFY_PARAM_set_flags(
        param, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  }
  // A trusted CA that is not self-signed ends the path where it is found.
  if (trust_.has_intermediate_anchors()) {
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  }
  unsigned host_flags = X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS;
  if (!policy_.allow_common_name_fallback)
    host_flags |= X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;
  X509_VERIFY_PARAM_set_hostflags(param, host_flags);
  if (check_.server_name.empty()) return true;
  int name_set =
      IsIpAddress(check_.server_name)
          ? X509_VERIFY_PARAM_set1_ip_asc(param, check_.server_name.c_str())
          : X509_VERIFY_PARAM_set1_host(param, check_.server_name.data(),
                                        check_.server_name.size());
  if (!name_set) {
    ERR_clear_error();
    Record(Reason::HOSTNAME_MISMATCH,
           absl::StrCat("'", check_.server_name,
                        "' is not a name a certificate can be checked for"));
  }
  return true;
}

ChainVerdict Validation::Verdict() {
  ChainVerdict verdict;
  verdict.failures = failures_;
  verdict.expires = expires_;
  for (size_t i = 0; check_.describe_path && i < path_.size(); ++i) {
    const X509* certificate = path_[i];
    verdict.path.push_back(PathCertificate{x509::SubjectName(certificate),
                                           x509::Sha256Fingerprint(certificate),
                                           text_.ChainIndex(certificate)});
  }
  for (const CheckFailure& failure : failures_) {
    if (!failure.tolerated) {
      verdict.reason = failure.reason;
      verdict.detail = failure.detail;
      return verdict;
    }
  }
  verdict.reason = Reason::ACCEPTED;
  verdict.detail =
      absl::StrCat("path of ", path_.size(), " certificates to trusted root (",
                   path_.empty() ? "" : x509::SubjectName(path_.back()), ")");
  if (!check_.server_name.empty()) {
    absl::StrAppend(&verdict.detail, "; valid for '", check_.server_name, "'");
  }
  for (const std::string& note : notes_)
    absl::StrAppend(&verdict.detail, "; ", note);
  for (const CheckFailure& failure : failures_) {
    absl::StrAppend(&verdict.detail, "; tolerated ",
                    ::certbroker::v1::Reason_Name(failure.reason), ": ",
                    failure.detail);
  }
  return verdict;
}

ChainVerdict Validation::Run(const std::vector<bssl::UniquePtr<X509_CRL>>& crls,
                             bool skip_self_signed) {
  if (chain_.empty()) {
    Record(Reason::MALFORMED_CHAIN, "the chain is empty");
    return Verdict();
  }
  for (const auto& certificate : chain_) {
    expires_ = std::min(expires_, x509::NotAfter(certificate.get()));
    CheckDenied(certificate.get());
  }
  bssl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  bssl::UniquePtr<STACK_OF(X509_CRL)> crl_stack(sk_X509_CRL_new_null());
  bssl::UniquePtr<X509_STORE_CTX> context(X509_STORE_CTX_new());
  bool ready =
      untrusted != nullptr && crl_stack != nullptr && context != nullptr;
  for (size_t i = 1; ready && i < chain_.size(); ++i) {
    X509* certificate = chain_[i].get();
    if (skip_self_signed &&
        X509_check_issued(certificate, certificate) == X509_V_OK)
      continue;
    ready = bssl::PushToStack(untrusted.get(), bssl::UpRef(chain_[i]));
  }
  for (size_t i = 0; ready && i < crls.size(); ++i) {
    ready = bssl::PushToStack(crl_stack.get(), bssl::UpRef(crls[i]));
    if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crls[i].get())) {
      expires_ = std::min(expires_, x509::Asn1TimeToAbsl(next));
    }
  }
  check_crls_ =
      policy_.revocation == RevocationMode::kHardFail ||
      (policy_.revocation == RevocationMode::kSoftFail && !crls.empty());
  if (!ready || !ConfigureContext(context.get(), untrusted.get())) {
    Record(
        Reason::VERIFICATION_FAILED,
        absl::StrCat("cannot start verification: ", x509::DrainErrorQueue()));
    return Verdict();
  }
  if (check_crls_) X509_STORE_CTX_set0_crls(context.get(), crl_stack.get());
  int verified = X509_verify_cert(context.get());
  STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(context.get());
  for (size_t i = 0; built != nullptr && i < sk_X509_num(built); ++i) {
    path_.push_back(sk_X509_value(built, i));
  }
  if (verified != 1 && failures_.empty()) {
    // An error BoringSSL did not pass to the callback (memory, internal).
    OnVerifyError(X509_STORE_CTX_get_error(context.get()),
                  X509_STORE_CTX_get_current_cert(context.get()), 0);
  }
  ERR_clear_error();
  // At the depth limit BoringSSL stops looking for issuers and reports the
  // issuer as missing; say what really happened.
  if (path_.size() >= static_cast<size_t>(policy_.max_depth)) {
    for (CheckFailure& failure : failures_) {
      if (failure.reason == Reason::INCOMPLETE_CHAIN) {
        failure.reason = Reason::CHAIN_TOO_LONG;
        failure.detail = absl::StrCat("the path reaches the maximum depth of ",
                                      policy_.max_depth,
                                      " certificates without a trusted root");
        failure.tolerated = false;
      }
    }
  }
  if (recheck_name_constraints_) {
    auto violation =
        NameConstraintViolation(path_, [this](const X509* certificate) {
          return text_.Describe(certificate);
        });
    if (violation) Record(Reason::NAME_CONSTRAINT_VIOLATION, *violation);
  }
  CheckStapledOcsp();
  CheckPath();
  CheckAnchorConstraints();
  CheckLeafUsage();
  CheckPins();
  ChainVerdict verdict = Verdict();
  X509_STORE_CTX_cleanup(context.get());  // Before the CRL stack goes away.
  return verdict;
}

}  // namespace certbroker::validation::internal

// The checks a validation run makes on the built path that BoringSSL's
// verifier does not: denied keys and certificates, key and signature
// strength, the leaf's extended key usage, SPKI pins, and stapled OCSP.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/revocation/ocsp_response.h"
#include "broker/validation/path_checks.h"
#include "broker/validation/validation.h"

namespace certbroker::validation::internal {

void Validation::CheckStapledOcsp() {
  if (policy_.revocation == RevocationMode::kOff ||
      check_.ocsp_response.empty() || path_.size() < 2) {
    return;
  }
  const X509* leaf = path_[0];
  revocation::OcspVerdict ocsp = revocation::CheckOcspResponse(
      check_.ocsp_response, leaf, path_[1], check_.now, policy_.clock_skew);
  std::string subject = text_.Describe(leaf);
  switch (ocsp.outcome) {
    case revocation::OcspOutcome::kGood:
      // The staple settles the leaf's status, whatever the CRLs said.
      failures_.erase(std::remove_if(failures_.begin(), failures_.end(),
                                     [](const CheckFailure& failure) {
                                       return failure.reason ==
                                                  Reason::REVOCATION_UNKNOWN &&
                                              failure.path_index == 0;
                                     }),
                      failures_.end());
      expires_ = std::min(expires_, ocsp.next_update);
      notes_.push_back(
          absl::StrCat("stapled OCSP response: ", subject, " is good"));
      return;
    case revocation::OcspOutcome::kRevoked:
      Record(
          Reason::REVOKED,
          absl::StrCat(subject,
                       " is revoked by its stapled OCSP response (revoked at ",
                       absl::FormatTime(ocsp.revocation_time), ")"),
          false, 0);
      return;
    default:
      RecordRevocationUnknown(
          absl::StrCat(subject,
                       ": stapled OCSP response not usable: ", ocsp.detail),
          0);
  }
}

void Validation::CheckDenied(const X509* certificate) {
  if (auto denial = Denial(certificate, policy_)) {
    Record(Reason::DENIED,
           absl::StrCat(text_.Describe(certificate), " ", *denial));
  }
}

void Validation::CheckPath() {
  for (size_t i = 0; i < path_.size(); ++i) {
    const X509* certificate = path_[i];
    CheckDenied(certificate);
    expires_ = std::min(expires_, x509::NotAfter(certificate));
    if (auto weakness = KeyWeakness(certificate, policy_)) {
      Record(Reason::WEAK_KEY,
             absl::StrCat(text_.Describe(certificate), ": ", *weakness));
    }
    // A trust anchor's own signature is never relied on.
    bool anchor = i + 1 == path_.size() && trust_.Contains(certificate);
    if (auto weakness =
            anchor ? std::nullopt : SignatureWeakness(certificate, policy_)) {
      Record(Reason::WEAK_SIGNATURE_ALGORITHM,
             absl::StrCat(text_.Describe(certificate), " is ", *weakness));
    }
  }
}

void Validation::CheckAnchorConstraints() {
  if (!policy_.enforce_anchor_constraints || path_.size() < 2 ||
      !trust_.Contains(path_.back())) {
    return;
  }
  // The extension accessors fill a cache, hence the casts.
  X509* anchor = const_cast<X509*>(path_.back());
  // Described only for a failure: formatting names is not free.
  auto subject = [&] { return text_.Describe(anchor); };
  uint32_t flags = X509_get_extension_flags(anchor);
  if ((flags & EXFLAG_BCONS) != 0 && (flags & EXFLAG_CA) == 0) {
    Record(Reason::INVALID_CA,
           absl::StrCat(subject(),
                        " is trusted, but its basicConstraints say "
                        "it is not a CA"));
  }
  long path_length = X509_get_pathlen(anchor);
  size_t intermediates = 0;
  for (size_t i = 1; i + 1 < path_.size(); ++i) {
    X509* intermediate = const_cast<X509*>(path_[i]);
    intermediates += (X509_get_extension_flags(intermediate) & EXFLAG_SI) == 0;
  }
  if (path_length >= 0 && intermediates > static_cast<size_t>(path_length)) {
    Record(Reason::INVALID_CA,
           absl::StrCat(subject(), " allows ", path_length,
                        " intermediate CAs below it (pathLenConstraint); "
                        "the path has ",
                        intermediates));
  }
  uint32_t wanted = PurposeExtendedKeyUsage(policy_.purpose);
  if (wanted != 0 && (flags & EXFLAG_XKUSAGE) != 0 &&
      (X509_get_extended_key_usage(anchor) & (wanted | XKU_ANYEKU)) == 0) {
    Record(Reason::BAD_EXTENDED_KEY_USAGE,
           absl::StrCat(subject(),
                        " is trusted, but its extended key usage "
                        "does not include ",
                        PurposeName(policy_.purpose),
                        " (a CA's extended key usage limits the certificates "
                        "it may issue)"));
  }
}

void Validation::CheckLeafUsage() {
  if (!policy_.require_extended_key_usage ||
      policy_.purpose == KeyPurpose::kAny)
    return;
  X509* leaf = chain_[0].get();
  uint32_t wanted = PurposeExtendedKeyUsage(policy_.purpose);
  if ((X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) == 0 ||
      (X509_get_extended_key_usage(leaf) & wanted) == 0) {
    bool reported = std::any_of(
        failures_.begin(), failures_.end(), [](const CheckFailure& f) {
          return f.reason == Reason::BAD_EXTENDED_KEY_USAGE;
        });
    if (!reported) {
      Record(Reason::BAD_EXTENDED_KEY_USAGE,
             absl::StrCat(text_.Describe(leaf),
                          " has no extended key usage extension allowing ",
                          PurposeName(policy_.purpose)));
    }
  }
}

void Validation::CheckPins() {
  if (policy_.spki_pins.empty()) return;
  std::string seen;
  for (const X509* certificate : path_) {
    std::string spki = SpkiSha256(certificate);
    if (std::find(policy_.spki_pins.begin(), policy_.spki_pins.end(), spki) !=
        policy_.spki_pins.end()) {
      notes_.push_back(absl::StrCat("pinned key ", PinText(spki), " of ",
                                    text_.Describe(certificate)));
      return;
    }
    absl::StrAppend(&seen, seen.empty() ? "" : ", ", PinText(spki), " (",
                    x509::SubjectName(certificate), ")");
  }
  Record(Reason::PIN_MISMATCH,
         absl::StrCat(
             "no certificate in the path has a pinned key; the path's keys: ",
             seen));
}

}  // namespace certbroker::validation::internal

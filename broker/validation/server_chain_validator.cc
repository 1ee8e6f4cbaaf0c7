// ValidateServerChain: the public entry point of chain validation (see the
// header), with the retry that builds a path without the self-signed
// certificates a server sent, and which failures a rule may tolerate.
#include "broker/validation/server_chain_validator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/validation/validation.h"

namespace certbroker::validation {

using ::certbroker::v1::Reason;
using internal::Validation;

bool IsTolerable(Reason reason) {
  switch (reason) {
    case Reason::UNTRUSTED_ROOT:
    case Reason::INCOMPLETE_CHAIN:
    case Reason::EXPIRED:
    case Reason::NOT_YET_VALID:
    case Reason::HOSTNAME_MISMATCH:
    case Reason::BAD_EXTENDED_KEY_USAGE:
    case Reason::REVOCATION_UNKNOWN:
    case Reason::WEAK_KEY:
    case Reason::WEAK_SIGNATURE_ALGORITHM:
      return true;
    default:
      return false;
  }
}

ChainVerdict ValidateServerChain(
    const TrustStore& trust, const x509::CertificateList& chain,
    const ServerChainCheck& check, const ChainPolicy& policy,
    const std::vector<bssl::UniquePtr<X509_CRL>>& crls) {
  ChainVerdict verdict =
      Validation(trust, chain, check, policy).Run(crls, false);
  bool dead_end = verdict.reason == Reason::UNTRUSTED_ROOT ||
                  verdict.reason == Reason::INCOMPLETE_CHAIN;
  bool sent_self_signed =
      std::any_of(chain.begin() + (chain.empty() ? 0 : 1), chain.end(),
                  [](const bssl::UniquePtr<X509>& certificate) {
                    return X509_check_issued(certificate.get(),
                                             certificate.get()) == X509_V_OK;
                  });
  if (!dead_end || !sent_self_signed) return verdict;
  // BoringSSL takes the first issuer it finds among the certificates sent
  // and never backtracks; a server that sends a new self-signed root beside
  // its cross-signed copy (a key rollover) leads it into an untrusted dead
  // end. The other way to build the path: without the self-signed ones.
  ChainVerdict retry = Validation(trust, chain, check, policy).Run(crls, true);
  return retry.accepted() ? retry : verdict;
}

}  // namespace certbroker::validation

// Judges a server's certificate chain: a path from the leaf to one of the
// rule's trusted roots through the intermediates the agent sent, every
// certificate valid at `now`, the leaf valid for the server name by its DNS
// or IP subject alternative names (never the subject CN), and the leaf's
// extended key usage allowing serverAuth. The result is a structured verdict
// that names the failing certificate and check; it fails closed.
#ifndef CERTBROKER_BROKER_VALIDATION_SERVER_CHAIN_VALIDATOR_H_
#define CERTBROKER_BROKER_VALIDATION_SERVER_CHAIN_VALIDATOR_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/validation/trust_store.h"
#include "broker/x509/certificate.h"
#include "certbroker/v1/broker.pb.h"

namespace certbroker::validation {

// ChainVerdict is the outcome of one validation.
struct ChainVerdict {
  ::certbroker::v1::Reason reason = ::certbroker::v1::REASON_UNSPECIFIED;
  // detail names the certificate and the check, for people.
  std::string detail;
  // earliest_not_after is the soonest notAfter in the verified path (the
  // sent chain when no path was built); verdicts must not be cached past it.
  absl::Time earliest_not_after = absl::InfiniteFuture();

  bool accepted() const { return reason == ::certbroker::v1::ACCEPTED; }
};

// ServerChainCheck is what to check a chain against.
struct ServerChainCheck {
  // server_name is a DNS name or IP literal, already normalized.
  std::string server_name;
  absl::Time now;
  // max_depth bounds the built path (intermediates plus root).
  int max_depth = 10;
};

// ValidateServerChain judges `chain` (leaf first; must be non-empty) against
// `trust`. Never fails: every problem is a rejecting verdict.
ChainVerdict ValidateServerChain(const TrustStore& trust,
                                 const x509::CertificateList& chain,
                                 const ServerChainCheck& check);

}  // namespace certbroker::validation

#endif  // CERTBROKER_BROKER_VALIDATION_SERVER_CHAIN_VALIDATOR_H_

// Judges a certificate chain the way a rule says: a path from the leaf to
// one of the rule's trusted roots through the intermediates the agent sent
// (BoringSSL's path builder), validity at a given time with the rule's clock
// skew, basic constraints, path length, key usage, name constraints, the
// server name by DNS or IP subject alternative names, extended key usage,
// key and signature strength, SPKI pins, denied keys and certificates, and
// CRL revocation. Every failed check is recorded; the verdict is the first
// one the rule does not tolerate, and it fails closed.
#ifndef CERTBROKER_BROKER_VALIDATION_SERVER_CHAIN_VALIDATOR_H_
#define CERTBROKER_BROKER_VALIDATION_SERVER_CHAIN_VALIDATOR_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "broker/validation/chain_policy.h"
#include "broker/validation/trust_store.h"
#include "broker/x509/certificate.h"
#include "certbroker/v1/broker.pb.h"

namespace certbroker::validation {

// CheckFailure is one failed check.
struct CheckFailure {
  ::certbroker::v1::Reason reason = ::certbroker::v1::REASON_UNSPECIFIED;
  std::string detail;      // Names the certificate and the check.
  bool tolerated = false;  // The rule's allowed_errors or clock skew cover it.
  int path_index = -1;     // The certificate's place in the path, if known.
};

// PathCertificate is one certificate of the built path.
struct PathCertificate {
  std::string subject;
  std::string sha256_fingerprint;  // Lowercase hex of the DER's SHA-256.
  int chain_index = -1;            // Index in the chain sent; -1: trust store.
};

// ChainVerdict is the outcome of one validation.
struct ChainVerdict {
  // reason is ACCEPTED, or the first failure the rule does not tolerate.
  ::certbroker::v1::Reason reason = ::certbroker::v1::REASON_UNSPECIFIED;
  std::string detail;
  std::vector<CheckFailure> failures;  // Every failure, tolerated ones too.
  std::vector<PathCertificate>
      path;  // Leaf first; may be partial. Only with describe_path.
  // expires is when this verdict may change by itself: the soonest notAfter
  // in the path, or nextUpdate of a CRL consulted. Never cache beyond it.
  absl::Time expires = absl::InfiniteFuture();

  bool accepted() const { return reason == ::certbroker::v1::ACCEPTED; }
};

// ServerChainCheck is what to check a chain against.
struct ServerChainCheck {
  // server_name is a normalized DNS name or IP literal. Empty skips the
  // name check (policy simulation of a bare chain only).
  std::string server_name;
  absl::Time now;
  // ocsp_response is the OCSP response stapled for the leaf (DER), or
  // empty. Must outlive the call.
  absl::string_view ocsp_response = {};
  // describe_path fills ChainVerdict::path (subjects and fingerprints cost
  // more than the rest of an accepted decision; only simulation needs them).
  bool describe_path = false;
};

// ValidateServerChain judges `chain` (leaf first) against `trust` and
// `crls` (may be empty) under `policy`. Never fails: every problem is a
// rejecting verdict.
ChainVerdict ValidateServerChain(
    const TrustStore& trust, const x509::CertificateList& chain,
    const ServerChainCheck& check, const ChainPolicy& policy,
    const std::vector<bssl::UniquePtr<X509_CRL>>& crls = {});

}  // namespace certbroker::validation

#endif  // CERTBROKER_BROKER_VALIDATION_SERVER_CHAIN_VALIDATOR_H_

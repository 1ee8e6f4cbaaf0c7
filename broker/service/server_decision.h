// The server-certificate decision shared by OnServerCertificate and the
// admin's policy simulation: checking and parsing the chain sent, the name
// to verify, and judging a parsed chain under one rule (DENY rules, the
// agent's own result in modes BOTH and AGENT, then full validation).
#ifndef CERTBROKER_BROKER_SERVICE_SERVER_DECISION_H_
#define CERTBROKER_BROKER_SERVICE_SERVER_DECISION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/policy/policy_snapshot.h"
#include "broker/validation/server_chain_validator.h"
#include "certbroker/v1/broker.pb.h"

namespace certbroker::service {

// CheckChainSize fails with INVALID_ARGUMENT when `chain` is empty, longer
// than the snapshot's limits.max_chain_length or holds a certificate larger
// than its limits.max_certificate_bytes, and when `ocsp_response` is larger
// than OCSP allows.
absl::Status CheckChainSize(
    const google::protobuf::RepeatedPtrField<std::string>& chain,
    const policy::PolicySnapshot& snapshot, absl::string_view ocsp_response);

// CheckOcspSize fails with INVALID_ARGUMENT when a staple exceeds
// revocation::kMaxOcspResponseBytes.
absl::Status CheckOcspSize(absl::string_view ocsp_response);

// ChainDigestOf checks a request that names its chain by digest (no chain
// sent, 32 bytes, staple size) and returns the digest.
absl::StatusOr<std::string> ChainDigestOf(
    const ::certbroker::v1::OnServerCertificateRequest& request);

// ParseServerChain parses each DER certificate; INVALID_ARGUMENT names the
// first that does not parse ("certificate_chain[2]: not a DER certificate").
absl::StatusOr<x509::CertificateList> ParseServerChain(
    const google::protobuf::RepeatedPtrField<std::string>& chain);

// EffectiveServerName is the normalized `requested` name, else the
// target's SNI, else its host. INVALID_ARGUMENT when `requested` is neither
// a DNS name nor an IP address.
absl::StatusOr<std::string> EffectiveServerName(
    absl::string_view requested, const policy::ResolvedTarget& target);

// ServerChainInputs are what a decision reads besides the chain.
struct ServerChainInputs {
  std::string server_name;
  absl::Time now;
  const ::certbroker::v1::AgentVerification* agent =
      nullptr;  // Null: not sent.
  absl::string_view ocsp_response;
  bool describe_path = false;  // See ServerChainCheck::describe_path.
};

// InputsOf gathers the inputs of an OnServerCertificate or
// SimulateServerCertificate request (the two carry the same fields).
template <typename Request>
ServerChainInputs InputsOf(const Request& request, std::string server_name,
                           absl::Time now) {
  return ServerChainInputs{std::move(server_name), now,
                           request.has_agent_verification()
                               ? &request.agent_verification()
                               : nullptr,
                           request.ocsp_response()};
}

// JudgeServerChain applies `rule` of `snapshot` to a parsed chain.
validation::ChainVerdict JudgeServerChain(
    const policy::CompiledRule& rule, const policy::PolicySnapshot& snapshot,
    const x509::CertificateList& chain, const ServerChainInputs& inputs);

}  // namespace certbroker::service

#endif  // CERTBROKER_BROKER_SERVICE_SERVER_DECISION_H_

// The shared server-certificate decision.
#include "broker/service/server_decision.h"

#include <algorithm>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/common/host_name.h"
#include "broker/common/status_macros.h"
#include "broker/revocation/ocsp_response.h"
#include "broker/validation/path_checks.h"

namespace certbroker::service {
namespace {

namespace v1 = ::certbroker::v1;

// Rejection is a verdict that needs no chain validation.
validation::ChainVerdict Rejection(v1::Reason reason, std::string detail) {
  validation::ChainVerdict verdict;
  verdict.reason = reason;
  verdict.detail = std::move(detail);
  verdict.failures.push_back({reason, verdict.detail, false});
  return verdict;
}

// DeniedByList finds a certificate the rule's deny lists reject outright.
std::optional<validation::ChainVerdict> DeniedByList(
    const x509::CertificateList& chain, const validation::ChainPolicy& policy) {
  for (size_t i = 0; i < chain.size(); ++i) {
    if (auto denial = validation::Denial(chain[i].get(), policy)) {
      return Rejection(
          v1::DENIED,
          absl::StrCat("certificate_chain[", i, "] (",
                       x509::SubjectName(chain[i].get()), ") ", *denial));
    }
  }
  return std::nullopt;
}

}  // namespace

absl::Status CheckOcspSize(absl::string_view ocsp_response) {
  if (ocsp_response.size() > revocation::kMaxOcspResponseBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("ocsp_response: larger than ",
                     revocation::kMaxOcspResponseBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status CheckChainSize(
    const google::protobuf::RepeatedPtrField<std::string>& chain,
    const policy::PolicySnapshot& snapshot, absl::string_view ocsp_response) {
  size_t count = static_cast<size_t>(chain.size());
  uint32_t max_length = snapshot.max_chain_length();
  if (count == 0) {
    return absl::InvalidArgumentError(
        "certificate_chain: required (at least the leaf certificate)");
  }
  if (count > max_length) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate_chain: ", count,
                     " certificates, more than the maximum of ", max_length));
  }
  for (int i = 0; i < chain.size(); ++i) {
    if (chain[i].size() > snapshot.max_certificate_bytes()) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate_chain[", i, "] is ", chain[i].size(),
                       " bytes, more than limits.max_certificate_bytes (",
                       snapshot.max_certificate_bytes(), ")"));
    }
  }
  return CheckOcspSize(ocsp_response);
}

absl::StatusOr<std::string> ChainDigestOf(
    const v1::OnServerCertificateRequest& request) {
  const std::string& digest = request.certificate_chain_sha256();
  if (request.certificate_chain_size() > 0) {
    return absl::InvalidArgumentError(
        "certificate_chain_sha256: set either it or certificate_chain, not "
        "both");
  }
  if (digest.size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "certificate_chain_sha256: must be 32 bytes (a SHA-256 digest an "
        "earlier response returned), not ",
        digest.size()));
  }
  CB_RETURN_IF_ERROR(CheckOcspSize(request.ocsp_response()));
  return digest;
}

absl::StatusOr<x509::CertificateList> ParseServerChain(
    const google::protobuf::RepeatedPtrField<std::string>& chain) {
  x509::CertificateList parsed;
  parsed.reserve(static_cast<size_t>(chain.size()));
  for (int i = 0; i < chain.size(); ++i) {
    auto certificate = x509::ParseDerCertificate(chain[i]);
    if (!certificate.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "certificate_chain[", i, "]: ", certificate.status().message()));
    }
    parsed.push_back(std::move(certificate).value());
  }
  return parsed;
}

absl::StatusOr<std::string> EffectiveServerName(
    absl::string_view requested, const policy::ResolvedTarget& target) {
  std::string name = NormalizeHost(requested);
  if (!name.empty() && !IsDnsName(name) && !IsIpAddress(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server_name: '", requested, "' is not a DNS name or IP address"));
  }
  if (name.empty()) name = target.sni.empty() ? target.host : target.sni;
  return name;
}

validation::ChainVerdict JudgeServerChain(
    const policy::CompiledRule& rule, const policy::PolicySnapshot& snapshot,
    const x509::CertificateList& chain, const ServerChainInputs& inputs) {
  if (rule.deny) {
    return Rejection(v1::DENIED,
                     absl::StrCat("rule '", rule.name, "' denies this target"));
  }
  bool needs_agent = rule.mode == v1::AGENT || rule.mode == v1::BOTH;
  if (needs_agent && inputs.agent == nullptr) {
    return Rejection(
        v1::AGENT_RESULT_MISSING,
        absl::StrCat(
            "rule '", rule.name, "' (mode ", v1::ValidationMode_Name(rule.mode),
            ") needs the agent's own verification in agent_verification"));
  }
  if (needs_agent && !inputs.agent->accepted()) {
    return Rejection(
        v1::AGENT_REJECTED,
        absl::StrCat("the agent's own verification failed: ",
                     inputs.agent->detail().empty() ? "no detail given"
                                                    : inputs.agent->detail()));
  }
  if (rule.mode == v1::AGENT) {
    if (auto denied = DeniedByList(chain, rule.chain_policy)) return *denied;
    validation::ChainVerdict verdict;
    verdict.reason = v1::ACCEPTED;
    verdict.detail = absl::StrCat(
        "rule '", rule.name,
        "' leaves validation to the agent, whose own check passed");
    for (const auto& certificate : chain) {
      verdict.expires =
          std::min(verdict.expires, x509::NotAfter(certificate.get()));
    }
    return verdict;
  }
  validation::ServerChainCheck check{inputs.server_name, inputs.now,
                                     inputs.ocsp_response,
                                     inputs.describe_path};
  return validation::ValidateServerChain(*rule.trust, chain, check,
                                         rule.chain_policy, snapshot.crls());
}

}  // namespace certbroker::service

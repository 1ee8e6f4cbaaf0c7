// The three decisions of CertificateBroker and their gRPC plumbing.
#include "broker/service/certificate_broker_service.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/common/host_name.h"
#include "broker/common/status_macros.h"
#include "broker/revocation/ocsp_response.h"
#include "broker/service/decision_log.h"
#include "broker/validation/path_checks.h"
#include "broker/validation/server_chain_validator.h"
#include "broker/x509/certificate.h"
#include "broker/x509/keys.h"

namespace certbroker::service {
namespace {

namespace v1 = ::certbroker::v1;

constexpr size_t kMaxAcceptableIssuers = 256;
constexpr size_t kMaxIssuerNameBytes = 4096;

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
  auto listed = [](const std::vector<std::string>& list,
                   const std::string& digest) {
    return std::find(list.begin(), list.end(), digest) != list.end();
  };
  for (size_t i = 0; i < chain.size(); ++i) {
    const X509* certificate = chain[i].get();
    if (listed(policy.denied_fingerprints,
               validation::CertificateSha256(certificate)) ||
        listed(policy.denied_spki, validation::SpkiSha256(certificate))) {
      return Rejection(v1::DENIED, absl::StrCat("certificate_chain[", i, "] (",
                                                x509::SubjectName(certificate),
                                                ") is denied by the policy"));
    }
  }
  return std::nullopt;
}

// RecordVerdict copies a server-certificate verdict into its log record.
void RecordVerdict(const v1::OnServerCertificateResponse& response,
                   Decision& decision) {
  decision.verdict = response.accepted() ? "accept" : "reject";
  decision.reason = v1::Reason_Name(response.reason());
  decision.detail = response.detail();
}

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

void SetDuration(absl::Duration duration, google::protobuf::Duration* out) {
  int64_t seconds =
      absl::ToInt64Seconds(std::max(duration, absl::ZeroDuration()));
  out->set_seconds(seconds);
  out->set_nanos(0);
}

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  out->set_seconds(absl::ToUnixSeconds(time));
  out->set_nanos(0);
}

}  // namespace

CertificateBrokerService::CertificateBrokerService(
    const policy::CurrentPolicy& policy, CallTracker& calls, Clock clock)
    : policy_(policy), calls_(calls), clock_(std::move(clock)) {
  const auto& limits = policy.Get()->verdict_cache();
  size_t entries = limits.disabled()      ? 0
                   : limits.max_entries() ? limits.max_entries()
                                          : 100000;
  size_t bytes = limits.max_bytes() ? limits.max_bytes() : size_t{64} << 20;
  cache_ = std::make_unique<VerdictCache>(entries, bytes);
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* CertificateBrokerService::Serve(
    grpc::CallbackServerContext* context, absl::string_view rpc,
    const Request& request, Response& response,
    Decider<Request, Response> decide) {
  grpc::ServerUnaryReactor* reactor = calls_.StartCall();
  if (reactor == nullptr) return calls_.RefuseCall(context);
  Decision decision;
  absl::Status status =
      (this->*decide)(*policy_.Get(), request, response, decision);
  if (!status.ok()) {
    decision.verdict = absl::StatusCodeToString(status.code());
    decision.reason = "error";
    decision.detail = std::string(status.message());
  }
  if (decision.id.empty()) decision.id = NewDecisionId();
  std::string peer = context->peer();
  LogDecision({rpc, decision.id, peer, decision.target, decision.rule,
               decision.verdict, decision.reason, decision.detail,
               decision.cached});
  reactor->Finish(ToGrpc(status));
  return reactor;
}

grpc::ServerUnaryReactor* CertificateBrokerService::GetCertificatePolicy(
    grpc::CallbackServerContext* context,
    const v1::GetCertificatePolicyRequest* request,
    v1::GetCertificatePolicyResponse* response) {
  return Serve(context, "GetCertificatePolicy", *request, *response,
               &CertificateBrokerService::DecidePolicy);
}

grpc::ServerUnaryReactor* CertificateBrokerService::GetClientCertificate(
    grpc::CallbackServerContext* context,
    const v1::GetClientCertificateRequest* request,
    v1::GetClientCertificateResponse* response) {
  return Serve(context, "GetClientCertificate", *request, *response,
               &CertificateBrokerService::DecideClientCertificate);
}

grpc::ServerUnaryReactor* CertificateBrokerService::OnServerCertificate(
    grpc::CallbackServerContext* context,
    const v1::OnServerCertificateRequest* request,
    v1::OnServerCertificateResponse* response) {
  return Serve(context, "OnServerCertificate", *request, *response,
               &CertificateBrokerService::DecideServerCertificate);
}

absl::Status CertificateBrokerService::DecidePolicy(
    const policy::PolicySnapshot& snapshot,
    const v1::GetCertificatePolicyRequest& request,
    v1::GetCertificatePolicyResponse& response, Decision& decision) const {
  CB_ASSIGN_OR_RETURN(policy::ResolvedTarget target,
                      policy::ResolveTarget(request.target()));
  decision.target = target.ToString();
  response.set_policy_version(snapshot.version());
  const policy::CompiledRule* rule = snapshot.FindRule(target);
  if (rule == nullptr) {
    // Fail closed: the broker decides, and it will reject.
    response.set_override_automatic_check(true);
    response.set_validation_mode(v1::BROKER);
    SetDuration(snapshot.default_cache_ttl(), response.mutable_cache_ttl());
    decision.verdict = "answer";
    decision.reason = "NO_MATCHING_RULE";
    return absl::OkStatus();
  }
  decision.rule = rule->name;
  response.set_rule_name(rule->name);
  // A DENY rule makes the broker decide, and it rejects.
  v1::ValidationMode mode = rule->deny ? v1::BROKER : rule->mode;
  response.set_validation_mode(mode);
  response.set_override_automatic_check(mode != v1::AGENT);
  absl::Duration ttl = rule->cache_ttl;
  const absl::Time now = clock_();
  if (rule->client_certificate != nullptr &&
      rule->client_certificate->IsValidAt(now)) {
    response.set_client_certificate_available(true);
    ttl = std::min(ttl, rule->client_certificate->not_after - now);
  }
  SetDuration(ttl, response.mutable_cache_ttl());
  decision.verdict = "answer";
  decision.reason = v1::ValidationMode_Name(rule->mode);
  decision.detail = response.client_certificate_available()
                        ? "client certificate available"
                        : "no client certificate";
  return absl::OkStatus();
}

absl::Status CertificateBrokerService::DecideClientCertificate(
    const policy::PolicySnapshot& snapshot,
    const v1::GetClientCertificateRequest& request,
    v1::GetClientCertificateResponse& response, Decision& decision) const {
  CB_ASSIGN_OR_RETURN(policy::ResolvedTarget target,
                      policy::ResolveTarget(request.target()));
  decision.target = target.ToString();
  if (static_cast<size_t>(request.acceptable_issuers_size()) >
      kMaxAcceptableIssuers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "acceptable_issuers: more than ", kMaxAcceptableIssuers, " names"));
  }
  std::vector<std::string> issuers;
  for (int i = 0; i < request.acceptable_issuers_size(); ++i) {
    const std::string& name = request.acceptable_issuers(i);
    if (name.empty() || name.size() > kMaxIssuerNameBytes ||
        !x509::IsDerName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "acceptable_issuers[", i, "]: not a DER distinguished name of 1 to ",
          kMaxIssuerNameBytes, " bytes"));
    }
    issuers.push_back(name);
  }
  const policy::CompiledRule* rule = snapshot.FindRule(target);
  if (rule == nullptr) {
    return absl::NotFoundError(absl::StrCat("no rule matches ", decision.target,
                                            ": no client certificate"));
  }
  decision.rule = rule->name;
  if (rule->deny) {
    return absl::NotFoundError(
        absl::StrCat("rule '", rule->name, "' denies ", decision.target));
  }
  const policy::ClientCertificate* certificate = rule->client_certificate.get();
  if (certificate == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("rule '", rule->name,
                     "' assigns no client certificate to ", decision.target));
  }
  if (!issuers.empty() && !certificate->IsIssuedByAnyOf(issuers)) {
    return absl::NotFoundError(
        absl::StrCat("certificate '", certificate->id, "' (rule '", rule->name,
                     "') is not issued by any of the ", issuers.size(),
                     " acceptable issuers the server named"));
  }
  const absl::Time now = clock_();
  if (now > certificate->not_after) {
    return absl::FailedPreconditionError(
        absl::StrCat("certificate '", certificate->id, "' expired at ",
                     absl::FormatTime(certificate->not_after)));
  }
  if (now < certificate->not_before) {
    return absl::FailedPreconditionError(
        absl::StrCat("certificate '", certificate->id, "' is not valid before ",
                     absl::FormatTime(certificate->not_before)));
  }
  if (!certificate->exportable) {
    return absl::FailedPreconditionError(absl::StrCat(
        "certificate '", certificate->id,
        "' is not exportable: its private key never leaves the broker "
        "(keyless signing through Sign is not available yet)"));
  }
  CB_ASSIGN_OR_RETURN(std::string key,
                      x509::PrivateKeyToPkcs8Der(certificate->key.get()));
  for (const std::string& der : certificate->chain_der) {
    response.add_certificate_chain(der);
  }
  response.set_private_key(std::move(key));
  SetTimestamp(certificate->not_after, response.mutable_not_after());
  SetTimestamp(certificate->RefreshAfter(), response.mutable_refresh_after());
  response.set_certificate_id(certificate->id);
  response.set_policy_version(snapshot.version());
  response.set_rule_name(rule->name);
  decision.verdict = "give";
  decision.reason = certificate->id;
  decision.detail = "with exportable key";
  return absl::OkStatus();
}

validation::ChainVerdict CertificateBrokerService::JudgeServerChain(
    const policy::CompiledRule& rule, const policy::PolicySnapshot& snapshot,
    const v1::OnServerCertificateRequest& request,
    const x509::CertificateList& chain, const std::string& server_name,
    absl::Time now) const {
  if (rule.deny) {
    return Rejection(v1::DENIED,
                     absl::StrCat("rule '", rule.name, "' denies this target"));
  }
  bool needs_agent = rule.mode == v1::AGENT || rule.mode == v1::BOTH;
  if (needs_agent && !request.has_agent_verification()) {
    return Rejection(
        v1::AGENT_RESULT_MISSING,
        absl::StrCat(
            "rule '", rule.name, "' (mode ", v1::ValidationMode_Name(rule.mode),
            ") needs the agent's own verification in agent_verification"));
  }
  if (needs_agent && !request.agent_verification().accepted()) {
    return Rejection(v1::AGENT_REJECTED,
                     absl::StrCat("the agent's own verification failed: ",
                                  request.agent_verification().detail().empty()
                                      ? "no detail given"
                                      : request.agent_verification().detail()));
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
  validation::ServerChainCheck check;
  check.server_name = server_name;
  check.now = now;
  check.ocsp_response = request.ocsp_response();
  return validation::ValidateServerChain(*rule.trust, chain, check,
                                         rule.chain_policy, snapshot.crls());
}

absl::Status CertificateBrokerService::DecideServerCertificate(
    const policy::PolicySnapshot& snapshot,
    const v1::OnServerCertificateRequest& request,
    v1::OnServerCertificateResponse& response, Decision& decision) const {
  CB_ASSIGN_OR_RETURN(policy::ResolvedTarget target,
                      policy::ResolveTarget(request.target()));
  decision.target = target.ToString();
  const size_t count = static_cast<size_t>(request.certificate_chain_size());
  if (count == 0) {
    return absl::InvalidArgumentError(
        "certificate_chain: required (at least the leaf certificate)");
  }
  if (count > snapshot.max_chain_length()) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate_chain: ", count,
                     " certificates, more than the maximum of ",
                     snapshot.max_chain_length()));
  }
  std::string server_name = NormalizeHost(request.server_name());
  if (!server_name.empty() && !IsDnsName(server_name) &&
      !IsIpAddress(server_name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("server_name: '", request.server_name(),
                     "' is not a DNS name or IP address"));
  }
  if (server_name.empty())
    server_name = target.sni.empty() ? target.host : target.sni;
  if (request.ocsp_response().size() > revocation::kMaxOcspResponseBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("ocsp_response: larger than ",
                     revocation::kMaxOcspResponseBytes, " bytes"));
  }

  decision.id = NewDecisionId();
  response.set_decision_id(decision.id);
  response.set_policy_version(snapshot.version());
  const policy::CompiledRule* rule = snapshot.FindRule(target);
  const absl::Time now = clock_();
  std::string cache_key;
  if (rule != nullptr) {
    decision.rule = rule->name;
    response.set_rule_name(rule->name);
    // Only requests whose chain parsed were ever stored: a hit needs no
    // parsing.
    cache_key =
        VerdictCache::Key(snapshot.version(), rule->name, server_name, request);
    if (auto cached = cache_->Lookup(cache_key, now)) {
      response.set_accepted(cached->reason == v1::ACCEPTED);
      response.set_reason(cached->reason);
      response.set_detail(cached->detail);
      SetDuration(cached->expires - now, response.mutable_cache_ttl());
      RecordVerdict(response, decision);
      decision.cached = true;
      return absl::OkStatus();
    }
  }
  x509::CertificateList chain;
  for (size_t i = 0; i < count; ++i) {
    auto certificate = x509::ParseDerCertificate(request.certificate_chain(i));
    if (!certificate.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "certificate_chain[", i, "]: ", certificate.status().message()));
    }
    chain.push_back(std::move(certificate).value());
  }
  if (rule == nullptr) {
    response.set_accepted(false);
    response.set_reason(v1::NO_MATCHING_RULE);
    response.set_detail(absl::StrCat("no rule matches ", decision.target,
                                     "; the default action is to reject"));
    SetDuration(snapshot.default_cache_ttl(), response.mutable_cache_ttl());
    RecordVerdict(response, decision);
    return absl::OkStatus();
  }
  validation::ChainVerdict verdict =
      JudgeServerChain(*rule, snapshot, request, chain, server_name, now);
  response.set_accepted(verdict.accepted());
  response.set_reason(verdict.reason);
  response.set_detail(verdict.detail);
  absl::Duration ttl = rule->cache_ttl;
  if (verdict.accepted()) ttl = std::min(ttl, verdict.expires - now);
  SetDuration(ttl, response.mutable_cache_ttl());
  if (ttl >= absl::Seconds(1)) {
    cache_->Insert(cache_key,
                   CachedVerdict{verdict.reason, verdict.detail, now + ttl});
  }
  RecordVerdict(response, decision);
  return absl::OkStatus();
}

}  // namespace certbroker::service

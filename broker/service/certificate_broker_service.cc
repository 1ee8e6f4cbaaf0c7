// The three decisions of CertificateBroker and their gRPC plumbing.
#include "broker/service/certificate_broker_service.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/host_name.h"
#include "broker/common/proto_duration.h"
#include "broker/common/status_macros.h"
#include "broker/keyless/signature_scheme.h"
#include "broker/service/decision_log.h"
#include "broker/service/server_decision.h"
#include "broker/service/unary_call.h"
#include "broker/validation/server_chain_validator.h"
#include "broker/x509/certificate.h"
#include "broker/x509/keys.h"

namespace certbroker::service {
namespace {

namespace v1 = ::certbroker::v1;

constexpr size_t kMaxAcceptableIssuers = 256;
constexpr size_t kMaxIssuerNameBytes = 4096;
constexpr size_t kMaxSignatureAlgorithms = 256;

// CheckSignatureAlgorithms refuses more than kMaxSignatureAlgorithms code
// points, or one that does not fit a TLS SignatureScheme's 16 bits.
absl::Status CheckSignatureAlgorithms(
    const google::protobuf::RepeatedField<uint32_t>& algorithms) {
  if (static_cast<size_t>(algorithms.size()) > kMaxSignatureAlgorithms) {
    return absl::InvalidArgumentError(
        absl::StrCat("signature_algorithms: more than ",
                     kMaxSignatureAlgorithms, " code points"));
  }
  for (int i = 0; i < algorithms.size(); ++i) {
    if (algorithms[i] > 0xffff) {
      return absl::InvalidArgumentError(absl::StrCat(
          "signature_algorithms[", i, "]: ", keyless::SchemeName(algorithms[i]),
          " is not a TLS SignatureScheme (16 bits)"));
    }
  }
  return absl::OkStatus();
}

// CanSignWithAny is true when `wanted` is empty or shares a scheme with
// `schemes`.
bool CanSignWithAny(const std::vector<uint16_t>& schemes,
                    const google::protobuf::RepeatedField<uint32_t>& wanted) {
  if (wanted.empty()) return true;
  for (uint16_t scheme : schemes) {
    if (std::find(wanted.begin(), wanted.end(), scheme) != wanted.end()) {
      return true;
    }
  }
  return false;
}

std::string SchemeNames(const std::vector<uint16_t>& schemes) {
  if (schemes.empty()) return "nothing";
  return absl::StrJoin(schemes, ", ", [](std::string* out, uint16_t scheme) {
    out->append(keyless::SchemeName(scheme));
  });
}

// ReasonName is v1::Reason_Name without its descriptor lookup per call.
const std::string& ReasonName(v1::Reason reason) {
  static const auto* const names = [] {
    auto* table = new std::vector<std::string>();
    for (int value = 0; v1::Reason_IsValid(value); ++value) {
      table->push_back(v1::Reason_Name(static_cast<v1::Reason>(value)));
    }
    return table;
  }();
  const auto index = static_cast<size_t>(reason);
  return index < names->size() ? (*names)[index] : v1::Reason_Name(reason);
}

// RecordVerdict copies a server-certificate verdict into its log record.
void RecordVerdict(const v1::OnServerCertificateResponse& response,
                   Decision& decision) {
  decision.verdict = response.accepted() ? "accept" : "reject";
  decision.reason = ReasonName(response.reason());
  decision.detail = response.detail();
}

// SetTimestampSeconds sets `out` to `time` rounded down to whole seconds.
void SetTimestampSeconds(absl::Time time, google::protobuf::Timestamp* out) {
  SetTimestamp(absl::FromUnixSeconds(absl::ToUnixSeconds(time)), *out);
}

}  // namespace

CertificateBrokerService::CertificateBrokerService(
    const policy::CurrentPolicy& policy, CallTracker& calls, Clock clock)
    : policy_(policy),
      door_{calls, nullptr, auth::Service::kBroker},
      clock_(std::move(clock)) {
  const auto& limits = policy.Get()->verdict_cache();
  size_t entries = limits.disabled()      ? 0
                   : limits.max_entries() ? limits.max_entries()
                                          : 100000;
  size_t bytes = limits.max_bytes() ? limits.max_bytes() : size_t{64} << 20;
  cache_ = std::make_unique<VerdictCache>(entries, bytes);
  watches_ = std::make_unique<ClientCertificateWatches>(
      policy_,
      [this](const policy::PolicySnapshot& snapshot,
             const v1::GetClientCertificateRequest& request,
             v1::GetClientCertificateResponse& response, Decision& decision) {
        return DecideClientCertificate(snapshot, request, response, decision);
      },
      clock_);
}

grpc::ServerUnaryReactor* CertificateBrokerService::GetCertificatePolicy(
    grpc::CallbackServerContext* context,
    const v1::GetCertificatePolicyRequest* request,
    v1::GetCertificatePolicyResponse* response) {
  return ServeUnary(
      door_, audit_, context, "GetCertificatePolicy", [&](Decision& decision) {
        return DecidePolicy(*policy_.Get(), *request, *response, decision);
      });
}

grpc::ServerUnaryReactor* CertificateBrokerService::GetClientCertificate(
    grpc::CallbackServerContext* context,
    const v1::GetClientCertificateRequest* request,
    v1::GetClientCertificateResponse* response) {
  return ServeUnary(door_, audit_, context, "GetClientCertificate",
                    [&](Decision& decision) {
                      return DecideClientCertificate(*policy_.Get(), *request,
                                                     *response, decision);
                    });
}

grpc::ServerUnaryReactor* CertificateBrokerService::OnServerCertificate(
    grpc::CallbackServerContext* context,
    const v1::OnServerCertificateRequest* request,
    v1::OnServerCertificateResponse* response) {
  return ServeUnary(door_, audit_, context, "OnServerCertificate",
                    [&](Decision& decision) {
                      return DecideServerCertificate(*policy_.Get(), *request,
                                                     *response, decision);
                    });
}

absl::Status CertificateBrokerService::DecidePolicy(
    const policy::PolicySnapshot& snapshot,
    const v1::GetCertificatePolicyRequest& request,
    v1::GetCertificatePolicyResponse& response, Decision& decision) const {
  CB_ASSIGN_OR_RETURN(policy::ResolvedTarget target,
                      policy::ResolveTarget(request.target()));
  decision.target = target.ToString();
  target.agent = decision.agent;
  decision.policy_version = snapshot.version();
  response.set_policy_version(snapshot.version());
  const policy::CompiledRule* rule = snapshot.FindRule(target);
  if (rule == nullptr) {
    // Fail closed: the broker decides, and it will reject.
    response.set_override_automatic_check(true);
    response.set_validation_mode(v1::BROKER);
    SetWholeSeconds(snapshot.default_cache_ttl(),
                    *response.mutable_cache_ttl());
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
  if (!rule->deny) {
    for (v1::Reason reason : rule->chain_policy.allowed_errors) {
      response.add_allowed_errors(reason);
    }
  }
  absl::Duration ttl = rule->cache_ttl;
  const absl::Time now = clock_();
  if (rule->client_certificate != nullptr &&
      rule->client_certificate->IsValidAt(now)) {
    response.set_client_certificate_available(true);
    ttl = std::min(ttl, rule->client_certificate->not_after - now);
  }
  SetWholeSeconds(ttl, *response.mutable_cache_ttl());
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
  target.agent = decision.agent;
  decision.policy_version = snapshot.version();
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
  CB_RETURN_IF_ERROR(CheckSignatureAlgorithms(request.signature_algorithms()));
  const policy::CompiledRule* rule = snapshot.FindRule(target);
  if (rule == nullptr) {
    // The same answer whether or not the target has a certificate for
    // another agent: nothing about other agents' certificates leaks.
    return absl::PermissionDeniedError(absl::StrCat(
        "no rule gives ",
        decision.agent.empty() ? "an unauthenticated caller"
                               : absl::StrCat("'", decision.agent, "'"),
        " a client certificate for ", decision.target));
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
  const std::vector<uint16_t> schemes =
      keyless::SchemesForKey(certificate->key.get());
  if (!CanSignWithAny(schemes, request.signature_algorithms())) {
    return absl::NotFoundError(
        absl::StrCat("certificate '", certificate->id, "' (rule '", rule->name,
                     "') has an ", keyless::DescribeKey(certificate->key.get()),
                     ", which can sign with none of the ",
                     request.signature_algorithms_size(),
                     " signature algorithms the server accepts (it can: ",
                     SchemeNames(schemes), ")"));
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
  const std::string& leaf_sha256 = certificate->leaf_sha256;
  if (certificate->exportable) {
    CB_ASSIGN_OR_RETURN(std::string key,
                        x509::PrivateKeyToPkcs8Der(certificate->key.get()));
    response.set_private_key(std::move(key));
    decision.detail = "with exportable key";
  } else {
    // The key stays here: a handle, bound to this caller and this leaf,
    // lets the agent sign through Sign.
    CB_ASSIGN_OR_RETURN(keyless::IssuedKeyHandle handle,
                        key_handles_.Issue(decision.agent, certificate->id,
                                           leaf_sha256, KeyHandleScope(target),
                                           certificate->not_after, now));
    v1::KeyHandle* key_handle = response.mutable_key_handle();
    key_handle->set_handle(std::move(handle.handle));
    SetTimestampSeconds(handle.expires, key_handle->mutable_expires());
    for (uint16_t scheme : schemes) {
      key_handle->add_signature_algorithms(scheme);
    }
    decision.detail = "with key handle";
  }
  for (const std::string& der : certificate->chain_der) {
    response.add_certificate_chain(der);
  }
  SetTimestampSeconds(certificate->not_after, response.mutable_not_after());
  SetTimestampSeconds(certificate->RefreshAfter(),
                      response.mutable_refresh_after());
  response.set_certificate_id(certificate->id);
  decision.leaf_fingerprint = absl::BytesToHexString(leaf_sha256);
  response.set_policy_version(snapshot.version());
  response.set_rule_name(rule->name);
  decision.verdict = "give";
  decision.reason = certificate->id;
  return absl::OkStatus();
}

absl::Status CertificateBrokerService::DecideServerCertificate(
    const policy::PolicySnapshot& snapshot,
    const v1::OnServerCertificateRequest& request,
    v1::OnServerCertificateResponse& response, Decision& decision) const {
  CB_ASSIGN_OR_RETURN(policy::ResolvedTarget target,
                      policy::ResolveTarget(request.target()));
  decision.target = target.ToString();
  target.agent = decision.agent;
  decision.policy_version = snapshot.version();
  const bool by_digest = !request.certificate_chain_sha256().empty();
  std::string chain_digest;
  if (by_digest) {
    CB_ASSIGN_OR_RETURN(chain_digest, ChainDigestOf(request));
  } else {
    CB_RETURN_IF_ERROR(CheckChainSize(request.certificate_chain(), snapshot,
                                      request.ocsp_response()));
    chain_digest = VerdictCache::ChainDigest(request.certificate_chain());
    response.set_certificate_chain_sha256(chain_digest);
  }
  // The leaf's fingerprint (for the audit, and only read there) of a chain
  // sent. A cache hit carries it already: the same chain digest means the
  // same leaf bytes.
  auto fingerprint_sent_leaf = [&] {
    if (!by_digest && audit_ != nullptr) {
      decision.leaf_fingerprint = x509::Sha256Hex(request.certificate_chain(0));
    }
  };
  absl::StatusOr<std::string> effective_name =
      EffectiveServerName(request.server_name(), target);
  if (!effective_name.ok()) {
    fingerprint_sent_leaf();
    return effective_name.status();
  }
  std::string server_name = *std::move(effective_name);

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
    cache_key = VerdictCache::Key(snapshot.version(), rule->name, server_name,
                                  chain_digest, request);
    if (auto cached = cache_->Lookup(cache_key, now)) {
      response.set_accepted(cached->reason == v1::ACCEPTED);
      response.set_reason(cached->reason);
      response.set_detail(cached->detail);
      SetWholeSeconds(cached->expires - now, *response.mutable_cache_ttl());
      decision.leaf_fingerprint = std::move(cached->leaf_fingerprint);
      RecordVerdict(response, decision);
      decision.cached = true;
      return absl::OkStatus();
    }
    if (by_digest) {
      response.set_accepted(false);
      response.set_reason(v1::CHAIN_REQUIRED);
      response.set_detail(
          "the broker holds no verdict for the chain named by "
          "certificate_chain_sha256 (never seen, evicted, expired, or the "
          "policy changed): send the request again with certificate_chain");
      SetWholeSeconds(absl::ZeroDuration(), *response.mutable_cache_ttl());
      RecordVerdict(response, decision);
      return absl::OkStatus();
    }
  }
  fingerprint_sent_leaf();
  // Malformed DER is an error whatever the target.
  x509::CertificateList chain;
  if (!by_digest) {
    CB_ASSIGN_OR_RETURN(chain, ParseServerChain(request.certificate_chain()));
  }
  if (rule == nullptr) {
    response.set_accepted(false);
    response.set_reason(v1::NO_MATCHING_RULE);
    response.set_detail(absl::StrCat("no rule matches ", decision.target,
                                     "; the default action is to reject"));
    SetWholeSeconds(snapshot.default_cache_ttl(),
                    *response.mutable_cache_ttl());
    RecordVerdict(response, decision);
    return absl::OkStatus();
  }
  ServerChainInputs inputs = InputsOf(request, server_name, now);
  validation::ChainVerdict verdict =
      JudgeServerChain(*rule, snapshot, chain, inputs);
  response.set_accepted(verdict.accepted());
  response.set_reason(verdict.reason);
  response.set_detail(verdict.detail);
  absl::Duration ttl = rule->cache_ttl;
  if (verdict.accepted()) ttl = std::min(ttl, verdict.expires - now);
  SetWholeSeconds(ttl, *response.mutable_cache_ttl());
  if (ttl >= absl::Seconds(1)) {
    cache_->Insert(cache_key,
                   CachedVerdict{verdict.reason, verdict.detail,
                                 decision.leaf_fingerprint, now + ttl},
                   now);
  }
  RecordVerdict(response, decision);
  return absl::OkStatus();
}

}  // namespace certbroker::service

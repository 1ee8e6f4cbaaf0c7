// The admin service's plumbing (serving reads and changes) and policy
// simulation for operators. The other methods live in admin_*.cc.
#include "broker/service/certificate_admin_service.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/config/config_loader.h"
#include "broker/service/admin_resources.h"
#include "broker/service/server_decision.h"
#include "broker/service/unary_call.h"

namespace certbroker::service {
namespace {

// The validation times a simulation accepts: X.509's UTCTime and
// GeneralizedTime cover 1950 to 9999.
constexpr int64_t kEarliestSeconds = -631152000;  // 1950-01-01.
constexpr int64_t kLatestSeconds = 253402300799;  // 9999-12-31T23:59:59.

absl::StatusOr<absl::Time> ValidationTime(
    const v1::SimulateServerCertificateRequest& request, absl::Time now) {
  if (!request.has_validation_time()) return now;
  const auto& time = request.validation_time();
  if (time.seconds() < kEarliestSeconds || time.seconds() > kLatestSeconds ||
      time.nanos() < 0 || time.nanos() > 999999999) {
    return absl::InvalidArgumentError(
        "validation_time: must be between 1950 and 9999");
  }
  return FromTimestamp(time);
}

void FillVerdict(const validation::ChainVerdict& verdict,
                 v1::SimulateServerCertificateResponse& response) {
  response.set_accepted(verdict.accepted());
  response.set_reason(verdict.reason);
  response.set_detail(verdict.detail);
  for (const validation::CheckFailure& failure : verdict.failures) {
    v1::CheckFailure* out = response.add_failures();
    out->set_reason(failure.reason);
    out->set_detail(failure.detail);
    out->set_tolerated(failure.tolerated);
  }
  for (const validation::PathCertificate& certificate : verdict.path) {
    v1::PathCertificate* out = response.add_path();
    out->set_subject(certificate.subject);
    out->set_sha256_fingerprint(certificate.sha256_fingerprint);
    out->set_chain_index(certificate.chain_index);
  }
}

}  // namespace

CertificateAdminService::CertificateAdminService(state::PolicyManager& manager,
                                                 CallTracker& calls,
                                                 std::string config_dir,
                                                 bool simulation_only,
                                                 Clock clock)
    : manager_(manager),
      door_{calls, nullptr, auth::Service::kAdmin},
      config_dir_(std::move(config_dir)),
      simulation_only_(simulation_only),
      clock_(std::move(clock)) {}

grpc::ServerUnaryReactor* CertificateAdminService::Read(
    Context* context, absl::string_view rpc,
    const std::function<absl::Status(Decision&)>& decide) {
  return ServeUnary(door_, nullptr, context, rpc, [&](Decision& decision) {
    if (simulation_only_) return SimulationOnlyError();
    decision.verdict = "read";
    return decide(decision);
  });
}

grpc::ServerUnaryReactor* CertificateAdminService::Change(
    Context* context, absl::string_view rpc,
    const std::function<absl::Status(Decision&)>& decide) {
  return ServeChange(door_, audit_, context, rpc, [&](Decision& decision) {
    if (simulation_only_) return SimulationOnlyError();
    return decide(decision);
  });
}

void CertificateAdminService::Applied(const state::ChangeResult& result,
                                      absl::string_view resource,
                                      absl::string_view what,
                                      Decision& decision) {
  decision.target = std::string(resource);
  decision.verdict = result.committed ? "changed" : "validated";
  decision.reason = "OK";
  decision.policy_version = result.snapshot->version();
  decision.detail = std::string(what);
}

grpc::ServerUnaryReactor* CertificateAdminService::SimulateServerCertificate(
    grpc::CallbackServerContext* context,
    const v1::SimulateServerCertificateRequest* request,
    v1::SimulateServerCertificateResponse* response) {
  return ServeUnary(door_, audit_, context, "SimulateServerCertificate",
                    [&](Decision& decision) {
                      return Simulate(*request, *response, decision);
                    });
}

absl::Status CertificateAdminService::Simulate(
    const v1::SimulateServerCertificateRequest& request,
    v1::SimulateServerCertificateResponse& response, Decision& decision) const {
  std::shared_ptr<const policy::PolicySnapshot> snapshot =
      manager_.current().Get();
  if (!request.policy_yaml().empty()) {
    CB_ASSIGN_OR_RETURN(
        snapshot, manager_.CompileDocument(request.policy_yaml(), "policy_yaml",
                                           config_dir_));
  }
  CB_ASSIGN_OR_RETURN(policy::ResolvedTarget target,
                      policy::ResolveTarget(request.target()));
  decision.target = target.ToString();
  target.agent = decision.agent;
  decision.policy_version = snapshot->version();
  CB_RETURN_IF_ERROR(CheckChainSize(request.certificate_chain(), *snapshot,
                                    request.ocsp_response()));
  decision.leaf_fingerprint = x509::Sha256Hex(request.certificate_chain(0));
  CB_ASSIGN_OR_RETURN(std::string server_name,
                      EffectiveServerName(request.server_name(), target));
  CB_ASSIGN_OR_RETURN(absl::Time when, ValidationTime(request, clock_()));
  CB_ASSIGN_OR_RETURN(x509::CertificateList chain,
                      ParseServerChain(request.certificate_chain()));

  response.set_policy_version(snapshot->version());
  response.mutable_validation_time()->set_seconds(absl::ToUnixSeconds(when));
  const policy::CompiledRule* rule = snapshot->FindRule(target);
  validation::ChainVerdict verdict;
  if (rule == nullptr) {
    verdict.reason = v1::NO_MATCHING_RULE;
    verdict.detail = absl::StrCat("no rule matches ", decision.target,
                                  "; the default action is to reject");
    verdict.failures.push_back({verdict.reason, verdict.detail, false});
  } else {
    decision.rule = rule->name;
    response.set_rule_name(rule->name);
    ServerChainInputs inputs = InputsOf(request, server_name, when);
    inputs.describe_path = true;
    verdict = JudgeServerChain(*rule, *snapshot, chain, inputs);
  }
  FillVerdict(verdict, response);
  decision.verdict = verdict.accepted() ? "accept" : "reject";
  decision.reason = v1::Reason_Name(verdict.reason);
  decision.detail = absl::StrCat(
      "simulated at ", absl::FormatTime(when),
      request.policy_yaml().empty() ? " (live policy): " : " (inline policy): ",
      verdict.detail);
  return absl::OkStatus();
}

}  // namespace certbroker::service

// CertificateAdmin: reading and replacing the policy document, with
// optimistic concurrency on the policy version.
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/common/file.h"
#include "broker/common/status_macros.h"
#include "broker/service/admin_resources.h"
#include "broker/service/certificate_admin_service.h"

namespace certbroker::service {
namespace {

constexpr char kPolicyName[] = "policy";

// NumericVersion is the policy version as a number: the store's counter,
// or 0 without a store (the version is then a digest).
int64_t NumericVersion(const policy::PolicySnapshot& snapshot) {
  int64_t version = 0;
  return absl::SimpleAtoi(snapshot.version(), &version) ? version : 0;
}

}  // namespace

grpc::ServerUnaryReactor* CertificateAdminService::GetPolicy(
    Context* context, const v1::GetPolicyRequest*, v1::Policy* response) {
  return Read(context, "GetPolicy", [&](Decision& decision) {
    decision.target = kPolicyName;
    auto snapshot = manager_.current().Get();
    auto catalog = manager_.catalog();
    response->set_name(kPolicyName);
    response->set_version(NumericVersion(*snapshot));
    response->set_source(manager_.policy_source());
    if (!manager_.config_path().empty()) {
      CB_ASSIGN_OR_RETURN(*response->mutable_document(),
                          ReadFile(manager_.config_path()));
    } else if (catalog->policy.has_value()) {
      response->set_document(catalog->policy->document());
      SetTimestamp(catalog::FromMicros(catalog->policy->update_time_micros()),
                   *response->mutable_update_time());
    }
    return absl::OkStatus();
  });
}

absl::Status CertificateAdminService::PutPolicy(
    const v1::UpdatePolicyRequest& request, v1::Policy& response,
    Decision& decision) {
  decision.target = kPolicyName;
  if (!manager_.config_path().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the policy document comes from --config ", manager_.config_path(),
        ": edit that file and send certbrokerd SIGHUP, or run certbrokerd "
        "without --config to keep the policy in its store"));
  }
  const std::string& document = request.policy().document();
  if (document.empty()) {
    return absl::InvalidArgumentError(
        "policy.document: required (an empty policy is \"{}\")");
  }
  catalog::storage::StoredPolicy stored;
  stored.set_document(document);
  stored.set_update_time_micros(catalog::ToMicros(clock_()));
  CB_ASSIGN_OR_RETURN(
      state::ChangeResult result,
      manager_.Change(
          [&](catalog::Catalog& candidate, std::vector<store::Op>& ops) {
            if (request.has_expected_version() &&
                request.expected_version() != candidate.version.version()) {
              return absl::AbortedError(absl::StrCat(
                  "expected_version is ", request.expected_version(),
                  ", but the policy is at version ",
                  candidate.version.version(),
                  ": get the policy again, reapply your edit, and retry"));
            }
            ops.push_back(
                store::Op::Put(std::string(catalog::kPolicyDocumentKey),
                               stored.SerializeAsString()));
            candidate.policy = stored;
            return absl::OkStatus();
          },
          request.validate_only()));
  Applied(result, kPolicyName,
          absl::StrCat(request.validate_only() ? "validated" : "replaced",
                       " the policy document: ", result.snapshot->rule_count(),
                       " rules"),
          decision);
  response.set_name(kPolicyName);
  response.set_document(document);
  response.set_source("store");
  int64_t version = 0;
  if (result.committed &&
      absl::SimpleAtoi(result.snapshot->version(), &version)) {
    response.set_version(version);
    SetTimestamp(catalog::FromMicros(stored.update_time_micros()),
                 *response.mutable_update_time());
  } else {
    response.set_version(NumericVersion(*manager_.current().Get()));
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CertificateAdminService::UpdatePolicy(
    Context* context, const v1::UpdatePolicyRequest* request,
    v1::Policy* response) {
  return Change(context, "UpdatePolicy", [&](Decision& decision) {
    return PutPolicy(*request, *response, decision);
  });
}

}  // namespace certbroker::service

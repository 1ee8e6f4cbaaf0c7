// CertificateBroker.Sign: keyless signing with the key of a non-exportable
// client certificate, through a key handle GetClientCertificate gave out.
// The handle must verify for this caller, and the policy in force must
// still hold the same leaf under the handle's certificate id, within its
// validity, and still give it to this caller for the target the handle was
// given for (so that taking a certificate away from an agent takes effect
// at once, not when its handles expire). The decision record names the
// certificate, the leaf and the algorithm; the input and the signature are
// never logged.
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/keyless/signature_scheme.h"
#include "broker/service/certificate_broker_service.h"
#include "broker/x509/certificate.h"

namespace certbroker::service {
namespace {

constexpr char kScopeSeparator = '\x1f';

// TargetOfScope reverses KeyHandleScope; false when `scope` is not one.
bool TargetOfScope(absl::string_view scope, policy::ResolvedTarget& target) {
  // Split by hand into at most six parts, without a vector per call.
  constexpr size_t kParts = 5;
  absl::string_view parts[kParts + 1];
  size_t count = 0;
  for (size_t from = 0; count <= kParts;) {
    const size_t separator = scope.find(kScopeSeparator, from);
    parts[count++] = scope.substr(from, separator - from);
    if (separator == absl::string_view::npos) break;
    from = separator + 1;
  }
  if (count != kParts || !absl::SimpleAtoi(parts[2], &target.port) ||
      (parts[4] != "0" && parts[4] != "1")) {
    return false;
  }
  target.scheme = std::string(parts[0]);
  target.host = std::string(parts[1]);
  target.sni = std::string(parts[3]);
  target.host_is_ip = parts[4] == "1";
  return true;
}

}  // namespace

std::string CertificateBrokerService::KeyHandleScope(
    const policy::ResolvedTarget& target) {
  return absl::StrCat(target.scheme, std::string(1, kScopeSeparator),
                      target.host, std::string(1, kScopeSeparator), target.port,
                      std::string(1, kScopeSeparator), target.sni,
                      std::string(1, kScopeSeparator),
                      target.host_is_ip ? "1" : "0");
}

grpc::ServerUnaryReactor* CertificateBrokerService::Sign(
    grpc::CallbackServerContext* context,
    const ::certbroker::v1::SignRequest* request,
    ::certbroker::v1::SignResponse* response) {
  return ServeUnary(door_, audit_, context, "Sign", [&](Decision& decision) {
    return DecideSign(*policy_.Get(), *request, *response, decision);
  });
}

absl::Status CertificateBrokerService::DecideSign(
    const policy::PolicySnapshot& snapshot,
    const ::certbroker::v1::SignRequest& request,
    ::certbroker::v1::SignResponse& response, Decision& decision) const {
  decision.policy_version = snapshot.version();
  decision.reason = keyless::SchemeName(request.algorithm());
  if (request.key_handle().empty()) {
    return absl::InvalidArgumentError("key_handle is required");
  }
  const absl::Time now = clock_();
  CB_ASSIGN_OR_RETURN(
      keyless::KeyHandleClaims claims,
      key_handles_.Verify(request.key_handle(), decision.agent, now));
  const std::string& id = claims.certificate_id;
  decision.target = absl::StrCat("certificates/", id);
  decision.leaf_fingerprint = absl::BytesToHexString(claims.leaf_sha256);
  auto found = snapshot.certificates().find(id);
  if (found == snapshot.certificates().end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("certificate '", id,
                     "' was removed since the handle was given out; call "
                     "GetClientCertificate again"));
  }
  const policy::ClientCertificate& certificate = *found->second;
  if (certificate.leaf_sha256 != claims.leaf_sha256) {
    return absl::FailedPreconditionError(
        absl::StrCat("certificate '", id,
                     "' was rotated since the handle was given out; call "
                     "GetClientCertificate again"));
  }
  if (now > certificate.not_after) {
    return absl::FailedPreconditionError(
        absl::StrCat("certificate '", id, "' expired at ",
                     absl::FormatTime(certificate.not_after)));
  }
  if (now < certificate.not_before) {
    return absl::FailedPreconditionError(
        absl::StrCat("certificate '", id, "' is not valid before ",
                     absl::FormatTime(certificate.not_before)));
  }
  // The policy must still give this certificate to this caller for the
  // target the handle was given for.
  policy::ResolvedTarget target;
  if (!TargetOfScope(claims.scope, target)) {
    return absl::InternalError("key handle carries no target");
  }
  target.agent = decision.agent;
  const policy::CompiledRule* rule = snapshot.FindRule(target);
  if (rule != nullptr) decision.rule = rule->name;
  if (rule == nullptr || rule->deny || rule->client_certificate == nullptr ||
      rule->client_certificate->id != id) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the policy no longer gives certificate '", id, "' to this caller for ",
        target.ToString(), "; call GetClientCertificate again"));
  }
  absl::StatusOr<std::string> signature = keyless::SignWithScheme(
      certificate.key.get(), request.algorithm(), request.input());
  if (!signature.ok()) {
    return absl::Status(
        signature.status().code(),
        absl::StrCat("certificate '", id, "': ", signature.status().message()));
  }
  response.set_signature(*std::move(signature));
  decision.verdict = "sign";
  return absl::OkStatus();
}

}  // namespace certbroker::service

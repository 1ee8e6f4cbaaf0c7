// CertificateBroker.Sign: keyless signing with the key of a non-exportable
// client certificate, through a key handle GetClientCertificate gave out.
// The handle must verify for this caller, and the policy in force must
// still hold the same leaf under the handle's certificate id, within its
// validity. The decision record names the certificate, the leaf and the
// algorithm; the input and the signature are never logged.
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/keyless/signature_scheme.h"
#include "broker/service/certificate_broker_service.h"
#include "broker/x509/certificate.h"

namespace certbroker::service {

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
  if (x509::Sha256(certificate.chain_der[0]) != claims.leaf_sha256) {
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

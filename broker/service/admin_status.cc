// CertificateAdmin: the broker's status, and KEK rotation.
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/common/proto_duration.h"
#include "broker/common/status_macros.h"
#include "broker/service/admin_resources.h"
#include "broker/service/certificate_admin_service.h"

#ifndef CERTBROKER_VERSION
#define CERTBROKER_VERSION "dev"
#endif

namespace certbroker::service {
namespace {

constexpr absl::Duration kDefaultExpiringWithin = absl::Hours(24 * 30);

}  // namespace

absl::Status CertificateAdminService::Status(
    const v1::GetStatusRequest& request, v1::Status& response) const {
  absl::Duration within = kDefaultExpiringWithin;
  if (request.has_expiring_within()) {
    within = ToDuration(request.expiring_within());
    if (within < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("expiring_within: is negative");
    }
  }
  auto snapshot = manager_.current().Get();
  auto catalog = manager_.catalog();
  response.set_broker_version(CERTBROKER_VERSION);
  response.set_policy_version(snapshot->version());
  response.set_policy_source(manager_.policy_source());
  response.set_rule_count(static_cast<int32_t>(snapshot->rule_count()));
  response.set_store_path(store_path_);
  if (manager_.store() != nullptr) {
    auto revision = manager_.store()->CurrentRevision();
    response.set_store_healthy(revision.ok());
    if (revision.ok()) {
      response.set_store_revision(*revision);
    } else {
      response.set_store_detail(std::string(revision.status().message()));
    }
  } else {
    response.set_store_detail("no store: certbrokerd runs without --data_dir");
  }
  response.set_certificate_count(
      static_cast<int32_t>(catalog->certificates.size()));
  response.set_trust_bundle_count(
      static_cast<int32_t>(catalog->trust_bundles.size()));
  response.set_crl_count(static_cast<int32_t>(catalog->crls.size()));
  if (manager_.keys() != nullptr) {
    response.set_kek_id(manager_.keys()->current().id());
  }
  response.set_reload_errors(manager_.reload_errors());
  response.set_last_reload_error(manager_.last_reload_error());
  absl::Time horizon = clock_() + within;
  for (const auto& [id, certificate] : snapshot->certificates()) {
    if (certificate->not_after >= horizon) continue;
    v1::ExpiringCertificate* out = response.add_expiring_certificates();
    out->set_id(id);
    SetTimestamp(certificate->not_after, *out->mutable_not_after());
    out->set_stored(catalog->certificates.count(id) > 0);
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CertificateAdminService::GetStatus(
    Context* context, const v1::GetStatusRequest* request,
    v1::Status* response) {
  return Read(context, "GetStatus",
              [&](Decision&) { return Status(*request, *response); });
}

absl::Status CertificateAdminService::Rotate(v1::RotateKekResponse& response,
                                             Decision& decision) {
  decision.target = "keks";
  const keys::KeyRing* keys = manager_.keys();
  if (keys == nullptr) {
    return absl::FailedPreconditionError(
        "certbrokerd has no KEK: start it with --kek_file NEW "
        "--previous_kek_files OLD to rotate from OLD to NEW");
  }
  response.set_kek_id(keys->current().id());
  int32_t rewrapped = 0;
  int32_t already = 0;
  auto rewrap = [&](catalog::Catalog& candidate,
                    std::vector<store::Op>& ops) -> absl::Status {
    rewrapped = already = 0;
    for (auto& [id, stored] : candidate.certificates) {
      CB_ASSIGN_OR_RETURN(std::string kek,
                          keys::KeyRing::SealedKekId(stored.sealed_key()));
      if (kek == keys->current().id()) {
        ++already;
        continue;
      }
      auto moved = keys->Rewrap(stored.sealed_key(), id);
      if (!moved.ok()) {
        return absl::Status(moved.status().code(),
                            absl::StrCat(catalog::kCertificatePrefix, id, ": ",
                                         moved.status().message()));
      }
      stored.set_sealed_key(std::move(moved).value());
      ops.push_back(
          store::Op::Put(absl::StrCat(catalog::kCertificatePrefix, id),
                         stored.SerializeAsString()));
      ++rewrapped;
    }
    return absl::OkStatus();
  };
  // Nothing to do is not a change: no version bump. Telling needs only the
  // KEK id each envelope names, not a re-wrap.
  auto catalog = manager_.catalog();
  int32_t stale = 0;
  for (const auto& [id, stored] : catalog->certificates) {
    CB_ASSIGN_OR_RETURN(std::string kek,
                        keys::KeyRing::SealedKekId(stored.sealed_key()));
    if (kek != keys->current().id()) ++stale;
  }
  if (stale == 0) {
    already = static_cast<int32_t>(catalog->certificates.size());
    response.set_already_current(already);
    response.set_policy_version(manager_.current().Get()->version());
    decision.verdict = "unchanged";
    decision.reason = "OK";
    decision.detail = absl::StrCat("every one of ", already,
                                   " stored keys is already sealed under KEK ",
                                   keys->current().id());
    return absl::OkStatus();
  }
  CB_ASSIGN_OR_RETURN(state::ChangeResult result,
                      manager_.Change(rewrap, /*validate_only=*/false));
  response.set_rewrapped(rewrapped);
  response.set_already_current(already);
  response.set_policy_version(result.snapshot->version());
  Applied(result, "keks",
          absl::StrCat("re-wrapped ", rewrapped, " keys under KEK ",
                       keys->current().id(), " in one transaction; ", already,
                       " were already under it"),
          decision);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CertificateAdminService::RotateKek(
    Context* context, const v1::RotateKekRequest*,
    v1::RotateKekResponse* response) {
  return Change(context, "RotateKek", [&](Decision& decision) {
    return Rotate(*response, decision);
  });
}

}  // namespace certbroker::service

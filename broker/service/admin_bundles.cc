// CertificateAdmin: stored trust bundles and CRLs (update-or-create, get,
// list, delete). Both are public material; each change is validated with
// the whole policy before it commits.
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/catalog/stored_objects.h"
#include "broker/common/status_macros.h"
#include "broker/service/admin_resources.h"
#include "broker/service/certificate_admin_service.h"

namespace certbroker::service {
namespace {

// Upsert is the mutation of an Update with allow_missing: it stores
// `value` under `prefix`+id in `map`.
template <typename Stored>
state::Mutation Upsert(std::map<std::string, Stored> catalog::Catalog::*map,
                       absl::string_view prefix, Stored& value,
                       bool allow_missing, bool& created) {
  return [map, prefix, &value, allow_missing, &created](
             catalog::Catalog& candidate, std::vector<store::Op>& ops) {
    std::string key = absl::StrCat(prefix, value.id());
    auto& entries = candidate.*map;
    created = entries.count(value.id()) == 0;
    if (created && !allow_missing) {
      return absl::NotFoundError(
          absl::StrCat(key, " does not exist; set allow_missing to create it"));
    }
    ops.push_back(store::Op::Put(key, value.SerializeAsString()));
    entries[value.id()] = value;
    return absl::OkStatus();
  };
}

}  // namespace

grpc::ServerUnaryReactor* CertificateAdminService::UpdateTrustBundle(
    Context* context, const v1::UpdateTrustBundleRequest* request,
    v1::TrustBundle* response) {
  return Change(context, "UpdateTrustBundle", [&](Decision& decision) {
    CB_ASSIGN_OR_RETURN(
        std::string id,
        catalog::IdFromName(request->trust_bundle().name(),
                            catalog::kTrustBundlePrefix, "trust_bundle.name"));
    decision.target = absl::StrCat(catalog::kTrustBundlePrefix, id);
    CB_ASSIGN_OR_RETURN(catalog::storage::StoredTrustBundle stored,
                        catalog::MakeTrustBundle(
                            id, request->trust_bundle().certificates_pem()));
    stored.set_update_time_micros(catalog::ToMicros(clock_()));
    bool created = false;
    CB_ASSIGN_OR_RETURN(
        state::ChangeResult result,
        manager_.Change(Upsert(&catalog::Catalog::trust_bundles,
                               catalog::kTrustBundlePrefix, stored,
                               request->allow_missing(), created),
                        /*validate_only=*/false));
    Applied(result, decision.target,
            absl::StrCat(created ? "created" : "replaced", " with ",
                         stored.certificates_der_size(), " roots"),
            decision);
    *response = TrustBundleResource(stored);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CertificateAdminService::GetTrustBundle(
    Context* context, const v1::GetTrustBundleRequest* request,
    v1::TrustBundle* response) {
  return Read(context, "GetTrustBundle", [&](Decision& decision) {
    auto catalog = manager_.catalog();
    CB_ASSIGN_OR_RETURN(auto* stored,
                        Lookup(catalog->trust_bundles, request->name(),
                               catalog::kTrustBundlePrefix, decision));
    *response = TrustBundleResource(*stored);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CertificateAdminService::ListTrustBundles(
    Context* context, const v1::ListTrustBundlesRequest* request,
    v1::ListTrustBundlesResponse* response) {
  return Read(context, "ListTrustBundles", [&](Decision&) {
    CB_ASSIGN_OR_RETURN(Page page,
                        ParsePage(request->page_size(), request->page_token()));
    auto catalog = manager_.catalog();
    response->set_next_page_token(ForPage(
        catalog->trust_bundles, page, [](const auto&) { return true; },
        [&](const std::string&, const auto& stored) {
          *response->add_trust_bundles() = TrustBundleResource(stored);
        }));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CertificateAdminService::DeleteTrustBundle(
    Context* context, const v1::DeleteTrustBundleRequest* request,
    v1::DeleteTrustBundleResponse* response) {
  return Change(context, "DeleteTrustBundle", [&](Decision& decision) {
    return DeleteStored(request->name(), catalog::kTrustBundlePrefix,
                        *response->mutable_policy_version(), decision);
  });
}

grpc::ServerUnaryReactor* CertificateAdminService::UpdateCrl(
    Context* context, const v1::UpdateCrlRequest* request, v1::Crl* response) {
  return Change(context, "UpdateCrl", [&](Decision& decision) {
    CB_ASSIGN_OR_RETURN(std::string id,
                        catalog::IdFromName(request->crl().name(),
                                            catalog::kCrlPrefix, "crl.name"));
    decision.target = absl::StrCat(catalog::kCrlPrefix, id);
    CB_ASSIGN_OR_RETURN(catalog::storage::StoredCrl stored,
                        catalog::MakeCrl(id, request->crl().crl_pem()));
    stored.set_update_time_micros(catalog::ToMicros(clock_()));
    bool created = false;
    CB_ASSIGN_OR_RETURN(
        state::ChangeResult result,
        manager_.Change(Upsert(&catalog::Catalog::crls, catalog::kCrlPrefix,
                               stored, request->allow_missing(), created),
                        /*validate_only=*/false));
    *response = CrlResource(stored);
    Applied(result, decision.target,
            absl::StrCat(created ? "created" : "replaced", " (issuer ",
                         response->issuer(), ", ", response->revoked_count(),
                         " revoked)"),
            decision);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CertificateAdminService::GetCrl(
    Context* context, const v1::GetCrlRequest* request, v1::Crl* response) {
  return Read(context, "GetCrl", [&](Decision& decision) {
    auto catalog = manager_.catalog();
    CB_ASSIGN_OR_RETURN(auto* stored, Lookup(catalog->crls, request->name(),
                                             catalog::kCrlPrefix, decision));
    *response = CrlResource(*stored);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CertificateAdminService::ListCrls(
    Context* context, const v1::ListCrlsRequest* request,
    v1::ListCrlsResponse* response) {
  return Read(context, "ListCrls", [&](Decision&) {
    CB_ASSIGN_OR_RETURN(Page page,
                        ParsePage(request->page_size(), request->page_token()));
    auto catalog = manager_.catalog();
    response->set_next_page_token(ForPage(
        catalog->crls, page, [](const auto&) { return true; },
        [&](const std::string&, const auto& stored) {
          *response->add_crls() = CrlResource(stored);
        }));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CertificateAdminService::DeleteCrl(
    Context* context, const v1::DeleteCrlRequest* request,
    v1::DeleteCrlResponse* response) {
  return Change(context, "DeleteCrl", [&](Decision& decision) {
    return DeleteStored(request->name(), catalog::kCrlPrefix,
                        *response->mutable_policy_version(), decision);
  });
}

}  // namespace certbroker::service

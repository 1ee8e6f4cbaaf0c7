// CertificateAdmin: importing, reading, listing and deleting stored client
// certificates. Keys are sealed before they reach the store and never
// leave it through this API.
#include <map>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "broker/catalog/stored_objects.h"
#include "broker/common/status_macros.h"
#include "broker/service/admin_resources.h"
#include "broker/service/certificate_admin_service.h"
#include "broker/x509/pem.h"
#include "broker/x509/pkcs12.h"

namespace certbroker::service {
namespace {

constexpr size_t kMaxLabels = 64;
constexpr size_t kMaxLabelBytes = 63;

bool IsLabelText(absl::string_view text, bool is_key) {
  if (text.size() > kMaxLabelBytes || (is_key && text.empty())) return false;
  if (is_key && !absl::ascii_islower(static_cast<unsigned char>(text[0]))) {
    return false;
  }
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (!absl::ascii_isalnum(u) && c != '-' && c != '_' && c != '.') {
      return false;
    }
    if (is_key && absl::ascii_isupper(u)) return false;
  }
  return true;
}

absl::Status ValidateLabels(
    const google::protobuf::Map<std::string, std::string>& labels) {
  if (labels.size() > kMaxLabels) {
    return absl::InvalidArgumentError(absl::StrCat(
        "labels: ", labels.size(), " labels; at most ", kMaxLabels));
  }
  for (const auto& [key, value] : labels) {
    if (!IsLabelText(key, true)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "labels: key '", absl::CHexEscape(key.substr(0, 70)),
          "' is not valid: 1-63 lowercase letters, digits, '-', '_', '.', "
          "starting with a letter"));
    }
    if (!IsLabelText(value, false)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "labels[", key, "]: value '", absl::CHexEscape(value.substr(0, 70)),
          "' is not valid: at most 63 letters, digits, '-', '_', '.'"));
    }
  }
  return absl::OkStatus();
}

// ParseSelector parses "k=v,k2=v2".
absl::StatusOr<std::map<std::string, std::string>> ParseSelector(
    absl::string_view selector) {
  std::map<std::string, std::string> wanted;
  if (selector.empty()) return wanted;
  for (absl::string_view term : absl::StrSplit(selector, ',')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(term, '=');
    if (term.find('=') == absl::string_view::npos || kv.first.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("label_selector: '", term, "' is not KEY=VALUE"));
    }
    wanted[kv.first] = kv.second;
  }
  return wanted;
}

// Material is a parsed import: the chain (leaf first) and its key.
struct Material {
  x509::CertificateList chain;
  bssl::UniquePtr<EVP_PKEY> key;
};

absl::StatusOr<Material> ParseMaterial(
    const v1::ImportCertificateRequest& request) {
  Material material;
  switch (request.material_case()) {
    case v1::ImportCertificateRequest::kPem: {
      CB_ASSIGN_OR_RETURN(material.chain,
                          x509::ParsePemCertificates(request.pem().chain_pem(),
                                                     "pem.chain_pem"));
      CB_ASSIGN_OR_RETURN(
          material.key,
          x509::ParsePemPrivateKey(request.pem().key_pem(), "pem.key_pem"));
      return material;
    }
    case v1::ImportCertificateRequest::kPkcs12: {
      CB_ASSIGN_OR_RETURN(
          x509::Pkcs12Contents contents,
          x509::ParsePkcs12(request.pkcs12().pkcs12(),
                            request.pkcs12().password(), "pkcs12"));
      material.chain = std::move(contents.chain);
      material.key = std::move(contents.key);
      return material;
    }
    default:
      return absl::InvalidArgumentError(
          "material: required: pem (chain_pem and key_pem) or pkcs12");
  }
}

// CheckValidity refuses a chain with a certificate outside its validity
// at `now`, naming it.
absl::Status CheckValidity(const x509::CertificateList& chain, absl::Time now) {
  for (size_t i = 0; i < chain.size(); ++i) {
    absl::Time not_before = x509::NotBefore(chain[i].get());
    absl::Time not_after = x509::NotAfter(chain[i].get());
    if (now < not_before || now > not_after) {
      return absl::FailedPreconditionError(absl::StrCat(
          x509::DescribeCertificate(i, chain[i].get()),
          now > not_after ? " expired at " : " is not valid before ",
          absl::FormatTime(now > not_after ? not_after : not_before),
          "; set allow_expired to import it anyway"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CertificateAdminService::Import(
    const v1::ImportCertificateRequest& request, v1::Certificate& response,
    Decision& decision) {
  const std::string& id = request.certificate_id();
  decision.target = absl::StrCat(catalog::kCertificatePrefix, id);
  CB_RETURN_IF_ERROR(catalog::ValidateId(id, "certificate_id"));
  CB_RETURN_IF_ERROR(ValidateLabels(request.labels()));
  CB_ASSIGN_OR_RETURN(Material material, ParseMaterial(request));
  // The same checks as for configured certificates: the key matches the
  // leaf, and the leaf may be used for clientAuth.
  CB_ASSIGN_OR_RETURN(
      std::shared_ptr<const policy::ClientCertificate> checked,
      policy::MakeClientCertificate(id, std::move(material.chain),
                                    std::move(material.key),
                                    request.exportable(), "material"));
  decision.leaf_fingerprint =
      x509::Sha256Fingerprint(checked->chain.front().get());
  if (!request.allow_expired()) {
    CB_RETURN_IF_ERROR(CheckValidity(checked->chain, clock_()));
  }
  if (manager_.keys() == nullptr) {
    return absl::FailedPreconditionError(
        "certbrokerd has no KEK (start it with --kek_file): it stores private "
        "keys only sealed, so it cannot store this one");
  }
  CB_ASSIGN_OR_RETURN(
      catalog::storage::StoredCertificate stored,
      catalog::SealCertificate(id, checked->chain, checked->key.get(),
                               *manager_.keys()));
  stored.mutable_labels()->insert(request.labels().begin(),
                                  request.labels().end());
  stored.set_exportable(request.exportable());
  int64_t now = catalog::ToMicros(clock_());
  stored.set_create_time_micros(now);
  stored.set_update_time_micros(now);
  bool replaced = false;
  CB_ASSIGN_OR_RETURN(
      state::ChangeResult result,
      manager_.Change(
          [&](catalog::Catalog& candidate, std::vector<store::Op>& ops) {
            auto existing = candidate.certificates.find(id);
            if (existing != candidate.certificates.end()) {
              if (!request.allow_replace()) {
                return absl::AlreadyExistsError(
                    absl::StrCat(decision.target, " already exists (leaf ",
                                 existing->second.sha256_fingerprint(),
                                 "); set allow_replace to replace it"));
              }
              replaced = true;
              stored.set_create_time_micros(
                  existing->second.create_time_micros());
            }
            ops.push_back(
                store::Op::Put(decision.target, stored.SerializeAsString()));
            candidate.certificates[id] = stored;
            return absl::OkStatus();
          },
          /*validate_only=*/false));
  Applied(
      result, decision.target,
      absl::StrCat(replaced ? "replaced" : "imported", " (",
                   x509::SubjectName(checked->chain.front().get()),
                   ", sealed under KEK ", manager_.keys()->current().id(), ")"),
      decision);
  response = CertificateResource(stored);
  return absl::OkStatus();
}

absl::Status CertificateAdminService::DeleteStored(absl::string_view name,
                                                   absl::string_view prefix,
                                                   std::string& policy_version,
                                                   Decision& decision) {
  CB_ASSIGN_OR_RETURN(std::string id,
                      catalog::IdFromName(name, prefix, "name"));
  std::string key = absl::StrCat(prefix, id);
  decision.target = key;
  auto snapshot = manager_.current().Get();
  std::vector<std::string> users;
  if (prefix == catalog::kCertificatePrefix) {
    users = snapshot->RulesUsingCertificate(id);
  } else if (prefix == catalog::kTrustBundlePrefix) {
    users = snapshot->RulesUsingBundle(id);
  }
  if (!users.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        key, " is used by rule", users.size() > 1 ? "s " : " ",
        absl::StrJoin(users, ", "), " of the policy; change the policy first"));
  }
  CB_ASSIGN_OR_RETURN(
      state::ChangeResult result,
      manager_.Change(
          [&](catalog::Catalog& candidate, std::vector<store::Op>& ops) {
            size_t erased = 0;
            if (prefix == catalog::kCertificatePrefix) {
              erased = candidate.certificates.erase(id);
            } else if (prefix == catalog::kTrustBundlePrefix) {
              erased = candidate.trust_bundles.erase(id);
            } else {
              erased = candidate.crls.erase(id);
            }
            if (erased == 0) {
              return absl::NotFoundError(absl::StrCat(key, " does not exist"));
            }
            ops.push_back(store::Op::Delete(key));
            return absl::OkStatus();
          },
          /*validate_only=*/false));
  Applied(result, key, "deleted", decision);
  policy_version = result.snapshot->version();
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CertificateAdminService::ImportCertificate(
    Context* context, const v1::ImportCertificateRequest* request,
    v1::Certificate* response) {
  return Change(context, "ImportCertificate", [&](Decision& decision) {
    return Import(*request, *response, decision);
  });
}

grpc::ServerUnaryReactor* CertificateAdminService::GetCertificate(
    Context* context, const v1::GetCertificateRequest* request,
    v1::Certificate* response) {
  return Read(context, "GetCertificate", [&](Decision& decision) {
    auto catalog = manager_.catalog();
    CB_ASSIGN_OR_RETURN(auto* stored,
                        Lookup(catalog->certificates, request->name(),
                               catalog::kCertificatePrefix, decision));
    *response = CertificateResource(*stored);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CertificateAdminService::ListCertificates(
    Context* context, const v1::ListCertificatesRequest* request,
    v1::ListCertificatesResponse* response) {
  return Read(context, "ListCertificates", [&](Decision&) {
    CB_ASSIGN_OR_RETURN(Page page,
                        ParsePage(request->page_size(), request->page_token()));
    CB_ASSIGN_OR_RETURN(auto wanted, ParseSelector(request->label_selector()));
    bool by_expiry = request->has_expire_before();
    int64_t expire_before = request->expire_before().seconds();
    auto catalog = manager_.catalog();
    response->set_next_page_token(ForPage(
        catalog->certificates, page,
        [&](const catalog::storage::StoredCertificate& stored) {
          if (by_expiry && stored.not_after_unix() >= expire_before) {
            return false;
          }
          for (const auto& [key, value] : wanted) {
            auto label = stored.labels().find(key);
            if (label == stored.labels().end() || label->second != value) {
              return false;
            }
          }
          return true;
        },
        [&](const std::string&,
            const catalog::storage::StoredCertificate& stored) {
          *response->add_certificates() = CertificateResource(stored);
        }));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CertificateAdminService::DeleteCertificate(
    Context* context, const v1::DeleteCertificateRequest* request,
    v1::DeleteCertificateResponse* response) {
  return Change(context, "DeleteCertificate", [&](Decision& decision) {
    return DeleteStored(request->name(), catalog::kCertificatePrefix,
                        *response->mutable_policy_version(), decision);
  });
}

}  // namespace certbroker::service

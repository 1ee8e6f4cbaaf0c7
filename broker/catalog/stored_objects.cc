// Opening and sealing stored certificates, bundles and CRLs.
#include "broker/catalog/stored_objects.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/keys/secret.h"
#include "broker/x509/keys.h"
#include "broker/x509/pem.h"

namespace certbroker::catalog {
namespace {

absl::Status Prefixed(absl::string_view prefix, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(prefix, ": ", status.message()));
}

absl::StatusOr<x509::CertificateList> ParseDerList(
    const google::protobuf::RepeatedPtrField<std::string>& ders,
    absl::string_view where) {
  x509::CertificateList list;
  for (int i = 0; i < ders.size(); ++i) {
    auto parsed = x509::ParseDerCertificate(ders.Get(i));
    if (!parsed.ok()) {
      return absl::DataLossError(
          absl::StrCat(where, ": certificate ", i,
                       " does not parse: ", parsed.status().message()));
    }
    list.push_back(std::move(parsed).value());
  }
  if (list.empty()) {
    return absl::DataLossError(absl::StrCat(where, ": holds no certificate"));
  }
  return list;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const policy::ClientCertificate>>
OpenCertificate(const storage::StoredCertificate& stored,
                const keys::KeyRing* keys) {
  std::string where = absl::StrCat(kCertificatePrefix, stored.id());
  CB_ASSIGN_OR_RETURN(x509::CertificateList chain,
                      ParseDerList(stored.chain_der(), where));
  if (keys == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        where,
        ": its private key is sealed, and certbrokerd has no KEK to open it: "
        "start it with --kek_file"));
  }
  auto pkcs8 = keys->Open(stored.sealed_key(), stored.id());
  if (!pkcs8.ok()) return Prefixed(where, pkcs8.status());
  auto key = x509::ParsePrivateKeyDer(*pkcs8, "PRIVATE KEY");
  keys::WipeString(*pkcs8);
  if (!key.ok()) {
    return absl::DataLossError(absl::StrCat(
        where,
        ": the opened private key does not parse: ", key.status().message()));
  }
  auto certificate = policy::MakeClientCertificate(
      stored.id(), std::move(chain), std::move(key).value(),
      stored.exportable(), where);
  if (!certificate.ok()) {
    return absl::DataLossError(certificate.status().message());
  }
  return certificate;
}

absl::StatusOr<x509::CertificateList> OpenTrustBundle(
    const storage::StoredTrustBundle& stored) {
  return ParseDerList(stored.certificates_der(),
                      absl::StrCat(kTrustBundlePrefix, stored.id()));
}

absl::StatusOr<bssl::UniquePtr<X509_CRL>> OpenCrl(
    const storage::StoredCrl& stored) {
  std::string where = absl::StrCat(kCrlPrefix, stored.id());
  auto crls = x509::ParseCrls(stored.crl_der(), where);
  if (!crls.ok() || crls->size() != 1) {
    return absl::DataLossError(
        absl::StrCat(where, ": the stored CRL does not parse"));
  }
  return std::move(crls->front());
}

absl::StatusOr<policy::StoredObjects> CertificateOpener::Open(
    const Catalog& catalog) {
  policy::StoredObjects objects;
  std::map<
      std::string,
      std::pair<std::string, std::shared_ptr<const policy::ClientCertificate>>>
      still_stored;
  for (const auto& [id, stored] : catalog.certificates) {
    std::string value = stored.SerializeAsString();
    auto known = opened_.find(id);
    std::shared_ptr<const policy::ClientCertificate> certificate;
    if (known != opened_.end() && known->second.first == value) {
      certificate = known->second.second;
    } else {
      CB_ASSIGN_OR_RETURN(certificate, OpenCertificate(stored, keys_));
    }
    objects.certificates[id] = certificate;
    still_stored[id] = {std::move(value), certificate};
  }
  opened_ = std::move(still_stored);
  for (const auto& [id, stored] : catalog.trust_bundles) {
    CB_ASSIGN_OR_RETURN(objects.trust_bundles[id], OpenTrustBundle(stored));
  }
  for (const auto& [id, stored] : catalog.crls) {
    CB_ASSIGN_OR_RETURN(auto crl, OpenCrl(stored));
    objects.crls.push_back(std::move(crl));
  }
  return objects;
}

absl::StatusOr<storage::StoredCertificate> SealCertificate(
    const std::string& id, const x509::CertificateList& chain,
    const EVP_PKEY* key, const keys::KeyRing& keys) {
  storage::StoredCertificate stored;
  stored.set_id(id);
  for (const auto& certificate : chain) {
    stored.add_chain_der(x509::CertificateToDer(certificate.get()));
  }
  CB_ASSIGN_OR_RETURN(std::string pkcs8, x509::PrivateKeyToPkcs8Der(key));
  auto sealed = keys.Seal(pkcs8, id);
  keys::WipeString(pkcs8);
  if (!sealed.ok()) return sealed.status();
  stored.set_sealed_key(std::move(sealed).value());
  X509* leaf = chain.front().get();
  stored.set_not_before_unix(absl::ToUnixSeconds(x509::NotBefore(leaf)));
  stored.set_not_after_unix(absl::ToUnixSeconds(x509::NotAfter(leaf)));
  stored.set_sha256_fingerprint(x509::Sha256Fingerprint(leaf));
  return stored;
}

absl::StatusOr<storage::StoredTrustBundle> MakeTrustBundle(
    const std::string& id, absl::string_view pem) {
  std::string where = absl::StrCat(kTrustBundlePrefix, id);
  auto roots = x509::ParsePemCertificates(pem, "certificates_pem");
  if (!roots.ok()) return Prefixed(where, roots.status());
  CB_RETURN_IF_ERROR(policy::CheckTrustBundleRoots(*roots, where));
  storage::StoredTrustBundle stored;
  stored.set_id(id);
  for (const auto& root : *roots) {
    stored.add_certificates_der(x509::CertificateToDer(root.get()));
  }
  return stored;
}

absl::StatusOr<storage::StoredCrl> MakeCrl(const std::string& id,
                                           absl::string_view pem_or_der) {
  std::string where = absl::StrCat(kCrlPrefix, id);
  auto crls = x509::ParseCrls(pem_or_der, "crl_pem");
  if (!crls.ok()) return Prefixed(where, crls.status());
  if (crls->size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": crl_pem holds ", crls->size(),
                     " CRLs; store each CRL under its own name"));
  }
  storage::StoredCrl stored;
  stored.set_id(id);
  stored.set_crl_der(x509::CrlToDer(crls->front().get()));
  return stored;
}

}  // namespace certbroker::catalog

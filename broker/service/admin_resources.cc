// Describing stored certificates, bundles and CRLs, and paging.
#include "broker/service/admin_resources.h"

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/keys/key_ring.h"
#include "broker/x509/boringssl.h"
#include "broker/x509/certificate.h"
#include "broker/x509/pem.h"

namespace certbroker::service {
namespace {

namespace v1 = ::certbroker::v1;

constexpr size_t kDefaultPageSize = 100;
constexpr size_t kMaxPageSize = 1000;
constexpr absl::string_view kTokenPrefix = "after:";

std::string SerialHex(const X509* certificate) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(certificate);
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(ASN1_STRING_get0_data(serial)),
      static_cast<size_t>(ASN1_STRING_length(serial))));
}

std::string KeyType(const X509* certificate) {
  bssl::UniquePtr<EVP_PKEY> key(
      X509_get_pubkey(const_cast<X509*>(certificate)));
  if (key == nullptr) return "unknown";
  switch (EVP_PKEY_id(key.get())) {
    case EVP_PKEY_RSA:
      return absl::StrCat("RSA ", EVP_PKEY_bits(key.get()));
    case EVP_PKEY_EC: {
      const EC_GROUP* group =
          EC_KEY_get0_group(EVP_PKEY_get0_EC_KEY(key.get()));
      int nid = group == nullptr ? NID_undef : EC_GROUP_get_curve_name(group);
      if (nid == NID_X9_62_prime256v1) return "EC P-256";
      if (nid == NID_secp384r1) return "EC P-384";
      if (nid == NID_secp521r1) return "EC P-521";
      return "EC";
    }
    case EVP_PKEY_ED25519:
      return "Ed25519";
    default:
      return "unknown";
  }
}

void AddDnsNames(const X509* certificate, v1::Certificate& out) {
  bssl::UniquePtr<GENERAL_NAMES> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr)));
  if (names == nullptr) return;
  for (size_t i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_DNS) continue;
    const ASN1_STRING* dns = name->d.dNSName;
    out.add_dns_names(
        std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                    static_cast<size_t>(ASN1_STRING_length(dns))));
  }
}

}  // namespace

absl::StatusOr<Page> ParsePage(int32_t page_size,
                               const std::string& page_token) {
  if (page_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: ", page_size, " is negative"));
  }
  Page page;
  page.size = page_size == 0 ? kDefaultPageSize
                             : std::min<size_t>(page_size, kMaxPageSize);
  if (!page_token.empty()) {
    std::string decoded;
    if (!absl::WebSafeBase64Unescape(page_token, &decoded) ||
        !absl::StartsWith(decoded, kTokenPrefix)) {
      return absl::InvalidArgumentError(
          "page_token: not a token this service returned");
    }
    page.after = decoded.substr(kTokenPrefix.size());
  }
  return page;
}

std::string NextPageToken(absl::string_view last_id) {
  return absl::WebSafeBase64Escape(absl::StrCat(kTokenPrefix, last_id));
}

absl::Status SimulationOnlyError() {
  return absl::PermissionDeniedError(
      "certbrokerd serves only policy simulation (--enable_simulation); "
      "start it with --enable_admin for the rest of the admin API");
}

v1::Certificate CertificateResource(
    const catalog::storage::StoredCertificate& stored) {
  v1::Certificate out;
  out.set_name(absl::StrCat(catalog::kCertificatePrefix, stored.id()));
  for (const auto& [key, value] : stored.labels()) {
    (*out.mutable_labels())[key] = value;
  }
  out.set_exportable(stored.exportable());
  out.set_sha256_fingerprint(stored.sha256_fingerprint());
  SetTimestamp(absl::FromUnixSeconds(stored.not_before_unix()),
               *out.mutable_not_before());
  SetTimestamp(absl::FromUnixSeconds(stored.not_after_unix()),
               *out.mutable_not_after());
  SetTimestamp(catalog::FromMicros(stored.create_time_micros()),
               *out.mutable_create_time());
  SetTimestamp(catalog::FromMicros(stored.update_time_micros()),
               *out.mutable_update_time());
  auto kek = keys::KeyRing::SealedKekId(stored.sealed_key());
  out.set_kek_id(kek.ok() ? *kek : "damaged");
  for (int i = 0; i < stored.chain_der_size(); ++i) {
    auto certificate = x509::ParseDerCertificate(stored.chain_der(i));
    if (!certificate.ok()) continue;
    out.mutable_chain_pem()->append(x509::CertificateToPem(certificate->get()));
    if (i != 0) continue;
    X509* leaf = certificate->get();
    out.set_subject(x509::SubjectName(leaf));
    out.set_issuer(x509::IssuerName(leaf));
    out.set_serial_number(SerialHex(leaf));
    out.set_key_type(KeyType(leaf));
    AddDnsNames(leaf, out);
  }
  return out;
}

v1::TrustBundle TrustBundleResource(
    const catalog::storage::StoredTrustBundle& stored) {
  v1::TrustBundle out;
  out.set_name(absl::StrCat(catalog::kTrustBundlePrefix, stored.id()));
  for (const std::string& der : stored.certificates_der()) {
    auto root = x509::ParseDerCertificate(der);
    if (!root.ok()) continue;
    out.mutable_certificates_pem()->append(x509::CertificateToPem(root->get()));
    out.add_subjects(x509::SubjectName(root->get()));
    out.add_sha256_fingerprints(x509::Sha256Fingerprint(root->get()));
  }
  SetTimestamp(catalog::FromMicros(stored.update_time_micros()),
               *out.mutable_update_time());
  return out;
}

v1::Crl CrlResource(const catalog::storage::StoredCrl& stored) {
  v1::Crl out;
  out.set_name(absl::StrCat(catalog::kCrlPrefix, stored.id()));
  SetTimestamp(catalog::FromMicros(stored.update_time_micros()),
               *out.mutable_update_time());
  auto crls = x509::ParseCrls(stored.crl_der(), out.name());
  if (!crls.ok() || crls->size() != 1) return out;
  X509_CRL* crl = crls->front().get();
  out.set_crl_pem(x509::CrlToPem(crl));
  out.set_issuer(x509::NameToString(X509_CRL_get_issuer(crl)));
  SetTimestamp(x509::Asn1TimeToAbsl(X509_CRL_get0_lastUpdate(crl)),
               *out.mutable_this_update());
  if (X509_CRL_get0_nextUpdate(crl) != nullptr) {
    SetTimestamp(x509::Asn1TimeToAbsl(X509_CRL_get0_nextUpdate(crl)),
                 *out.mutable_next_update());
  }
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl);
  out.set_revoked_count(
      revoked == nullptr ? 0
                         : static_cast<int32_t>(sk_X509_REVOKED_num(revoked)));
  return out;
}

}  // namespace certbroker::service

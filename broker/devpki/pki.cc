// Issuing development and test certificates with BoringSSL's X509 API.
#include "broker/devpki/pki.h"

#include <openssl/rand.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/x509/certificate.h"
#include "broker/x509/pem.h"

namespace certbroker::devpki {
namespace {

absl::Status Failure(absl::string_view what) {
  return absl::InternalError(
      absl::StrCat(what, " failed: ", x509::DrainErrorQueue()));
}

// AddExtension adds one extension written in OpenSSL's config syntax
// ("critical,CA:TRUE"), resolved against `context` for key identifiers.
absl::Status AddExtension(X509* certificate, X509V3_CTX* context, int nid,
                          const std::string& value) {
  bssl::UniquePtr<X509_EXTENSION> extension(
      X509V3_EXT_nconf_nid(nullptr, context, nid, value.c_str()));
  if (extension == nullptr || !X509_add_ext(certificate, extension.get(), -1)) {
    return Failure(
        absl::StrCat("adding extension ", OBJ_nid2sn(nid), "=", value));
  }
  return absl::OkStatus();
}

std::string SubjectAltNames(const CertificateSpec& spec) {
  std::vector<std::string> names;
  for (const std::string& dns : spec.dns_names) names.push_back("DNS:" + dns);
  for (const std::string& ip : spec.ip_addresses) names.push_back("IP:" + ip);
  for (const std::string& uri : spec.uris) names.push_back("URI:" + uri);
  return absl::StrJoin(names, ",");
}

const char* ExtendedKeyUsageValue(ExtendedKeyUsage usage) {
  switch (usage) {
    case ExtendedKeyUsage::kServerAuth:
      return "serverAuth";
    case ExtendedKeyUsage::kClientAuth:
      return "clientAuth";
    case ExtendedKeyUsage::kServerAndClient:
      return "serverAuth,clientAuth";
    case ExtendedKeyUsage::kNone:
      break;
  }
  return nullptr;
}

absl::Status SetRandomSerial(X509* certificate) {
  uint8_t bytes[16];
  RAND_bytes(bytes, sizeof(bytes));
  bytes[0] &= 0x7f;  // Positive.
  bytes[0] |= 0x01;  // No leading zero byte.
  bssl::UniquePtr<BIGNUM> number(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  if (number == nullptr ||
      !BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(certificate))) {
    return Failure("setting the serial number");
  }
  return absl::OkStatus();
}

}  // namespace

std::string Issued::CertificatePem() const {
  return x509::CertificateToPem(certificate.get());
}
std::string Issued::KeyPem() const { return x509::PrivateKeyToPem(key.get()); }
std::string Issued::Der() const {
  return x509::CertificateToDer(certificate.get());
}

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> GenerateKey(KeyType type) {
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (key == nullptr) return Failure("EVP_PKEY_new");
  if (type == KeyType::kEcP256 || type == KeyType::kEcP384 ||
      type == KeyType::kEcP224) {
    int curve = type == KeyType::kEcP256   ? NID_X9_62_prime256v1
                : type == KeyType::kEcP384 ? NID_secp384r1
                                           : NID_secp224r1;
    bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(curve));
    if (ec == nullptr || !EC_KEY_generate_key(ec.get()) ||
        !EVP_PKEY_assign_EC_KEY(key.get(), ec.release())) {
      return Failure("generating an EC key");
    }
  } else {
    int bits = type == KeyType::kRsa2048 ? 2048 : 1024;
    bssl::UniquePtr<RSA> rsa(RSA_new());
    bssl::UniquePtr<BIGNUM> exponent(BN_new());
    if (rsa == nullptr || exponent == nullptr ||
        !BN_set_word(exponent.get(), RSA_F4) ||
        !RSA_generate_key_ex(rsa.get(), bits, exponent.get(), nullptr) ||
        !EVP_PKEY_assign_RSA(key.get(), rsa.release())) {
      return Failure("generating an RSA key");
    }
  }
  return key;
}

absl::StatusOr<Issued> Issue(const CertificateSpec& spec,
                             const Issued* issuer) {
  auto key = GenerateKey(spec.key_type);
  if (!key.ok()) return key.status();
  Issued issued;
  issued.key = std::move(key).value();
  issued.certificate.reset(X509_new());
  X509* certificate = issued.certificate.get();
  if (certificate == nullptr ||
      !X509_set_version(certificate, X509_VERSION_3)) {
    return Failure("X509_new");
  }
  absl::Status serial = SetRandomSerial(certificate);
  if (!serial.ok()) return serial;

  X509_NAME* subject = X509_get_subject_name(certificate);
  if (!X509_NAME_add_entry_by_txt(
          subject, "CN", MBSTRING_UTF8,
          reinterpret_cast<const uint8_t*>(spec.common_name.c_str()), -1, -1,
          0) ||
      !X509_set_issuer_name(
          certificate, issuer ? X509_get_subject_name(issuer->certificate.get())
                              : subject) ||
      !ASN1_TIME_set(X509_getm_notBefore(certificate),
                     absl::ToTimeT(spec.not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(certificate),
                     absl::ToTimeT(spec.not_after)) ||
      !X509_set_pubkey(certificate, issued.key.get())) {
    return Failure("filling in the certificate");
  }

  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer ? issuer->certificate.get() : certificate,
                 certificate, nullptr, nullptr, 0);
  std::vector<std::pair<int, std::string>> extensions;
  if (spec.is_ca) {
    std::string constraints = "critical,CA:TRUE";
    if (spec.path_length >= 0) {
      absl::StrAppend(&constraints, ",pathlen:", spec.path_length);
    }
    extensions.emplace_back(NID_basic_constraints, constraints);
    if (!spec.omit_key_usage) {
      extensions.emplace_back(NID_key_usage, "critical,keyCertSign,cRLSign");
    }
  } else if (!spec.omit_key_usage) {
    extensions.emplace_back(NID_basic_constraints, "critical,CA:FALSE");
    extensions.emplace_back(NID_key_usage,
                            (spec.key_type == KeyType::kRsa2048 ||
                             spec.key_type == KeyType::kRsa1024)
                                ? "critical,digitalSignature,keyEncipherment"
                                : "critical,digitalSignature");
  }
  if (const char* eku = ExtendedKeyUsageValue(spec.usage)) {
    extensions.emplace_back(NID_ext_key_usage, eku);
  }
  std::string alt_names = SubjectAltNames(spec);
  if (!alt_names.empty())
    extensions.emplace_back(NID_subject_alt_name, alt_names);
  std::vector<std::string> constraints;
  for (const std::string& name : spec.permitted_names)
    constraints.push_back("permitted;" + name);
  for (const std::string& name : spec.excluded_names)
    constraints.push_back("excluded;" + name);
  if (!constraints.empty()) {
    extensions.emplace_back(NID_name_constraints,
                            "critical," + absl::StrJoin(constraints, ","));
  }
  extensions.emplace_back(NID_subject_key_identifier, "hash");
  if (issuer != nullptr) {
    extensions.emplace_back(NID_authority_key_identifier, "keyid:always");
  }
  for (const auto& [nid, value] : extensions) {
    absl::Status added = AddExtension(certificate, &context, nid, value);
    if (!added.ok()) return added;
  }

  if (spec.unknown_critical_extension) {
    bssl::UniquePtr<ASN1_OBJECT> oid(
        OBJ_txt2obj("1.3.6.1.4.1.57264.99", /*dont_search_names=*/1));
    bssl::UniquePtr<ASN1_OCTET_STRING> value(ASN1_OCTET_STRING_new());
    static const uint8_t kNull[] = {0x05, 0x00};
    bssl::UniquePtr<X509_EXTENSION> extension;
    if (oid != nullptr && value != nullptr &&
        ASN1_OCTET_STRING_set(value.get(), kNull, sizeof(kNull))) {
      extension.reset(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(),
                                                   /*crit=*/1, value.get()));
    }
    if (extension == nullptr ||
        !X509_add_ext(certificate, extension.get(), -1)) {
      return Failure("adding an unknown critical extension");
    }
  }
  EVP_PKEY* signing_key = issuer ? issuer->key.get() : issued.key.get();
  const EVP_MD* digest =
      spec.digest == Digest::kSha1 ? EVP_sha1() : EVP_sha256();
  if (!X509_sign(certificate, signing_key, digest)) {
    return Failure("signing the certificate");
  }
  return issued;
}

absl::StatusOr<bssl::UniquePtr<X509_CRL>> IssueCrl(const CrlSpec& spec,
                                                   const Issued& issuer) {
  bssl::UniquePtr<X509_CRL> crl(X509_CRL_new());
  bssl::UniquePtr<ASN1_TIME> this_update(
      ASN1_TIME_set(nullptr, absl::ToTimeT(spec.this_update)));
  bssl::UniquePtr<ASN1_TIME> next_update(
      ASN1_TIME_set(nullptr, absl::ToTimeT(spec.next_update)));
  if (crl == nullptr || this_update == nullptr || next_update == nullptr ||
      !X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) ||
      !X509_CRL_set_issuer_name(
          crl.get(), X509_get_subject_name(issuer.certificate.get())) ||
      !X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) ||
      !X509_CRL_set1_nextUpdate(crl.get(), next_update.get())) {
    return Failure("filling in the CRL");
  }
  for (const X509* revoked_certificate : spec.revoked) {
    bssl::UniquePtr<X509_REVOKED> revoked(X509_REVOKED_new());
    if (revoked == nullptr ||
        !X509_REVOKED_set_serialNumber(
            revoked.get(), X509_get0_serialNumber(revoked_certificate)) ||
        !X509_REVOKED_set_revocationDate(revoked.get(), this_update.get()) ||
        !X509_CRL_add0_revoked(crl.get(), revoked.get())) {
      return Failure("adding a revoked certificate");
    }
    revoked.release();  // Owned by the CRL now.
  }
  if (!X509_CRL_sort(crl.get()) ||
      !X509_CRL_sign(crl.get(), issuer.key.get(), EVP_sha256())) {
    return Failure("signing the CRL");
  }
  return crl;
}

CertificateSpec RootSpec(std::string common_name) {
  CertificateSpec spec;
  spec.common_name = std::move(common_name);
  spec.is_ca = true;
  spec.not_after = absl::Now() + absl::Hours(24 * 365);
  return spec;
}

CertificateSpec IntermediateSpec(std::string common_name) {
  CertificateSpec spec = RootSpec(std::move(common_name));
  spec.path_length = 0;
  return spec;
}

CertificateSpec ServerSpec(std::string common_name,
                           std::vector<std::string> dns_names,
                           std::vector<std::string> ip_addresses) {
  CertificateSpec spec;
  spec.common_name = std::move(common_name);
  spec.dns_names = std::move(dns_names);
  spec.ip_addresses = std::move(ip_addresses);
  spec.usage = ExtendedKeyUsage::kServerAuth;
  return spec;
}

CertificateSpec ClientSpec(std::string common_name) {
  CertificateSpec spec;
  spec.common_name = std::move(common_name);
  spec.usage = ExtendedKeyUsage::kClientAuth;
  return spec;
}

}  // namespace certbroker::devpki

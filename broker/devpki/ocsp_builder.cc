// Building test OCSP responses with CBB, element by element as RFC 6960
// section 4.2.1 lays them out, and issuing delegated responder certificates.
#include "broker/devpki/ocsp_builder.h"

#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/revocation/ocsp_responder.h"
#include "broker/x509/certificate.h"

namespace certbroker::devpki {
namespace {

absl::Status Failure(absl::string_view what) {
  return absl::InternalError(
      absl::StrCat(what, " failed: ", x509::DrainErrorQueue()));
}

const uint8_t* Bytes(absl::string_view data) {
  return reinterpret_cast<const uint8_t*>(data.data());
}

using ::certbroker::revocation::internal::HashOf;
using ::certbroker::revocation::internal::PublicKeyBits;

bool AddElement(CBB* parent, unsigned tag, absl::string_view contents) {
  CBB child;
  return CBB_add_asn1(parent, &child, tag) &&
         CBB_add_bytes(&child, Bytes(contents), contents.size()) &&
         CBB_flush(parent);
}

// AddSmallEnumerated writes an ENUMERATED of 0 to 127, one content byte.
bool AddSmallEnumerated(CBB* parent, int value) {
  if (value < 0 || value > 127) return false;
  CBB child;
  return CBB_add_asn1(parent, &child, CBS_ASN1_ENUMERATED) &&
         CBB_add_u8(&child, static_cast<uint8_t>(value)) && CBB_flush(parent);
}

bool AddTime(CBB* parent, absl::Time time) {
  return AddElement(
      parent, CBS_ASN1_GENERALIZEDTIME,
      absl::FormatTime("%Y%m%d%H%M%SZ", time, absl::UTCTimeZone()));
}

bool AddDigestAlgorithm(CBB* parent, int digest_nid) {
  CBB algorithm;
  CBB null;
  return CBB_add_asn1(parent, &algorithm, CBS_ASN1_SEQUENCE) &&
         OBJ_nid2cbb(&algorithm, digest_nid) &&
         CBB_add_asn1(&algorithm, &null, CBS_ASN1_NULL) && CBB_flush(parent);
}

std::string Finish(CBB* cbb) {
  uint8_t* data = nullptr;
  size_t length = 0;
  if (!CBB_finish(cbb, &data, &length)) return std::string();
  bssl::UniquePtr<uint8_t> owned(data);
  return std::string(reinterpret_cast<const char*>(data), length);
}

bool AddCertId(CBB* parent, const OcspResponseSpec& spec,
               const Issued& certificate, const Issued& issuer) {
  const int digest_nid = spec.sha256_cert_id ? NID_sha256 : NID_sha1;
  const EVP_MD* md = spec.sha256_cert_id ? EVP_sha256() : EVP_sha1();
  uint8_t* serial = nullptr;
  int serial_length = i2d_ASN1_INTEGER(
      X509_get0_serialNumber(certificate.certificate.get()), &serial);
  if (serial_length <= 0) return false;
  bssl::UniquePtr<uint8_t> owned_serial(serial);
  CBB cert_id;
  return CBB_add_asn1(parent, &cert_id, CBS_ASN1_SEQUENCE) &&
         AddDigestAlgorithm(&cert_id, digest_nid) &&
         AddElement(&cert_id, CBS_ASN1_OCTETSTRING,
                    HashOf(md, x509::NameToDer(X509_get_subject_name(
                                   issuer.certificate.get())))) &&
         AddElement(&cert_id, CBS_ASN1_OCTETSTRING,
                    HashOf(md, PublicKeyBits(issuer.certificate.get()))) &&
         CBB_add_bytes(&cert_id, serial, static_cast<size_t>(serial_length)) &&
         CBB_flush(parent);
}

bool AddCertStatus(CBB* parent, const OcspResponseSpec& spec) {
  CBB status;
  switch (spec.status) {
    case OcspCertStatus::kGood:
      return CBB_add_asn1(parent, &status, CBS_ASN1_CONTEXT_SPECIFIC | 0) &&
             CBB_flush(parent);
    case OcspCertStatus::kUnknown:
      return CBB_add_asn1(parent, &status, CBS_ASN1_CONTEXT_SPECIFIC | 2) &&
             CBB_flush(parent);
    case OcspCertStatus::kRevoked:
      break;
  }
  CBB reason;
  if (!CBB_add_asn1(parent, &status,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 1) ||
      !AddTime(&status, spec.revocation_time)) {
    return false;
  }
  if (spec.revocation_reason.has_value() &&
      (!CBB_add_asn1(&status, &reason,
                     CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
       !AddSmallEnumerated(&reason, *spec.revocation_reason))) {
    return false;
  }
  return CBB_flush(parent);
}

bool AddSingleResponse(CBB* parent, const OcspResponseSpec& spec,
                       const Issued& certificate, const Issued& issuer) {
  CBB single;
  CBB next_update;
  if (!CBB_add_asn1(parent, &single, CBS_ASN1_SEQUENCE) ||
      !AddCertId(&single, spec, certificate, issuer) ||
      !AddCertStatus(&single, spec) || !AddTime(&single, spec.this_update)) {
    return false;
  }
  if (spec.next_update.has_value() &&
      (!CBB_add_asn1(&single, &next_update,
                     CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
       !AddTime(&next_update, *spec.next_update))) {
    return false;
  }
  return CBB_flush(parent);
}

bool AddResponderId(CBB* parent, const OcspResponseSpec& spec,
                    const Issued& responder) {
  CBB id;
  if (spec.responder_id_by_key) {
    return CBB_add_asn1(parent, &id,
                        CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 2) &&
           AddElement(&id, CBS_ASN1_OCTETSTRING,
                      HashOf(EVP_sha1(),
                             PublicKeyBits(responder.certificate.get()))) &&
           CBB_flush(parent);
  }
  const std::string name =
      x509::NameToDer(X509_get_subject_name(responder.certificate.get()));
  return !name.empty() &&
         CBB_add_asn1(parent, &id,
                      CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 1) &&
         CBB_add_bytes(&id, Bytes(name), name.size()) && CBB_flush(parent);
}

bool AddExtension(CBB* list, const char* oid, bool critical,
                  absl::string_view value) {
  CBB extension;
  CBB id;
  return CBB_add_asn1(list, &extension, CBS_ASN1_SEQUENCE) &&
         CBB_add_asn1(&extension, &id, CBS_ASN1_OBJECT) &&
         CBB_add_asn1_oid_from_text(&id, oid, strlen(oid)) &&
         (!critical || CBB_add_asn1_bool(&extension, 1)) &&
         AddElement(&extension, CBS_ASN1_OCTETSTRING, value) && CBB_flush(list);
}

bool AddResponseExtensions(CBB* parent, const OcspResponseSpec& spec) {
  if (!spec.add_nonce && !spec.add_critical_extension) return true;
  CBB wrapper;
  CBB list;
  if (!CBB_add_asn1(parent, &wrapper,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 1) ||
      !CBB_add_asn1(&wrapper, &list, CBS_ASN1_SEQUENCE)) {
    return false;
  }
  // The nonce's value is an OCTET STRING inside extnValue (RFC 8954).
  static constexpr char kNonce[] = "\x04\x10nonce-0123456789";
  if (spec.add_nonce &&
      !AddExtension(&list, "1.3.6.1.5.5.7.48.1.2", false,
                    absl::string_view(kNonce, sizeof(kNonce) - 1))) {
    return false;
  }
  // An arc of the "example" private enterprise number (RFC 5612).
  if (spec.add_critical_extension &&
      !AddExtension(&list, "1.3.6.1.4.1.32473.1", true,
                    absl::string_view("\x05\x00", 2))) {
    return false;
  }
  return CBB_flush(parent);
}

absl::StatusOr<std::string> EncodeResponseData(const OcspResponseSpec& spec,
                                               const Issued& certificate,
                                               const Issued& issuer,
                                               const Issued& responder) {
  bssl::ScopedCBB cbb;
  CBB data;
  CBB responses;
  if (!CBB_init(cbb.get(), 512) ||
      !CBB_add_asn1(cbb.get(), &data, CBS_ASN1_SEQUENCE) ||
      !AddResponderId(&data, spec, responder) ||
      !AddTime(&data, spec.produced_at) ||
      !CBB_add_asn1(&data, &responses, CBS_ASN1_SEQUENCE) ||
      !AddSingleResponse(&responses, spec, certificate, issuer) ||
      !CBB_flush(&data) || !AddResponseExtensions(&data, spec)) {
    return Failure("encoding the OCSP ResponseData");
  }
  std::string der = Finish(cbb.get());
  if (der.empty()) return Failure("encoding the OCSP ResponseData");
  return der;
}

struct Signing {
  const EVP_MD* md = nullptr;
  int digest_nid = NID_undef;
  bool pss = false;
};

Signing SigningFor(OcspSignatureAlgorithm algorithm) {
  switch (algorithm) {
    case OcspSignatureAlgorithm::kSha384:
      return {EVP_sha384(), NID_sha384, false};
    case OcspSignatureAlgorithm::kSha512:
      return {EVP_sha512(), NID_sha512, false};
    case OcspSignatureAlgorithm::kSha1:
      return {EVP_sha1(), NID_sha1, false};
    case OcspSignatureAlgorithm::kRsaPssSha256:
      return {EVP_sha256(), NID_sha256, true};
    case OcspSignatureAlgorithm::kSha256:
      break;
  }
  return {EVP_sha256(), NID_sha256, false};
}

// AddSignatureAlgorithm writes the AlgorithmIdentifier for `signing` with a
// key of type `key_type`.
bool AddSignatureAlgorithm(CBB* parent, const Signing& signing, int key_type) {
  CBB algorithm;
  if (!CBB_add_asn1(parent, &algorithm, CBS_ASN1_SEQUENCE)) return false;
  if (signing.pss) {
    CBB params;
    CBB hash;
    CBB mask;
    CBB mask_algorithm;
    CBB salt;
    if (key_type != EVP_PKEY_RSA || !OBJ_nid2cbb(&algorithm, NID_rsassaPss) ||
        !CBB_add_asn1(&algorithm, &params, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&params, &hash,
                      CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
        !AddDigestAlgorithm(&hash, signing.digest_nid) ||
        !CBB_add_asn1(&params, &mask,
                      CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 1) ||
        !CBB_add_asn1(&mask, &mask_algorithm, CBS_ASN1_SEQUENCE) ||
        !OBJ_nid2cbb(&mask_algorithm, NID_mgf1) ||
        !AddDigestAlgorithm(&mask_algorithm, signing.digest_nid) ||
        !CBB_add_asn1(&params, &salt,
                      CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 2) ||
        !CBB_add_asn1_uint64(&salt, EVP_MD_size(signing.md))) {
      return false;
    }
    return CBB_flush(parent);
  }
  int signature_nid = NID_undef;
  CBB null;
  return OBJ_find_sigid_by_algs(&signature_nid, signing.digest_nid, key_type) &&
         OBJ_nid2cbb(&algorithm, signature_nid) &&
         (key_type != EVP_PKEY_RSA ||
          CBB_add_asn1(&algorithm, &null, CBS_ASN1_NULL)) &&
         CBB_flush(parent);
}

absl::StatusOr<std::string> Sign(const Signing& signing, EVP_PKEY* key,
                                 absl::string_view data) {
  bssl::ScopedEVP_MD_CTX context;
  EVP_PKEY_CTX* key_context = nullptr;
  if (!EVP_DigestSignInit(context.get(), &key_context, signing.md, nullptr,
                          key) ||
      (signing.pss &&
       (!EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PSS_PADDING) ||
        !EVP_PKEY_CTX_set_rsa_pss_saltlen(key_context, -1) ||
        !EVP_PKEY_CTX_set_rsa_mgf1_md(key_context, signing.md)))) {
    return Failure("setting up the OCSP signature");
  }
  size_t length = 0;
  if (!EVP_DigestSign(context.get(), nullptr, &length, Bytes(data),
                      data.size())) {
    return Failure("sizing the OCSP signature");
  }
  std::string signature(length, '\0');
  if (!EVP_DigestSign(context.get(),
                      reinterpret_cast<uint8_t*>(signature.data()), &length,
                      Bytes(data), data.size())) {
    return Failure("signing the OCSP response");
  }
  signature.resize(length);
  return signature;
}

}  // namespace

absl::StatusOr<std::string> BuildOcspResponse(const OcspResponseSpec& spec,
                                              const Issued& certificate,
                                              const Issued& issuer,
                                              const Issued& responder) {
  bssl::ScopedCBB cbb;
  CBB response;
  if (!CBB_init(cbb.get(), 1024) ||
      !CBB_add_asn1(cbb.get(), &response, CBS_ASN1_SEQUENCE) ||
      !AddSmallEnumerated(&response, spec.response_status)) {
    return Failure("encoding the OCSP response status");
  }
  if (spec.response_status != 0) {
    std::string der = Finish(cbb.get());
    if (der.empty()) return Failure("encoding the OCSP response");
    return der;
  }

  auto data = EncodeResponseData(spec, certificate, issuer, responder);
  if (!data.ok()) return data.status();
  EVP_PKEY* key =
      spec.signer != nullptr ? spec.signer->key.get() : responder.key.get();
  const Signing signing = SigningFor(spec.signature_algorithm);
  auto signature = Sign(signing, key, *data);
  if (!signature.ok()) return signature.status();

  bssl::ScopedCBB basic_cbb;
  CBB basic;
  CBB bits;
  if (!CBB_init(basic_cbb.get(), 1024) ||
      !CBB_add_asn1(basic_cbb.get(), &basic, CBS_ASN1_SEQUENCE) ||
      !CBB_add_bytes(&basic, Bytes(*data), data->size()) ||
      !AddSignatureAlgorithm(&basic, signing, EVP_PKEY_id(key)) ||
      !CBB_add_asn1(&basic, &bits, CBS_ASN1_BITSTRING) ||
      !CBB_add_u8(&bits, 0) ||
      !CBB_add_bytes(&bits, Bytes(*signature), signature->size()) ||
      !CBB_flush(&basic)) {
    return Failure("encoding the BasicOCSPResponse");
  }
  if (spec.include_responder_certificate) {
    CBB wrapper;
    CBB certs;
    const std::string der = responder.Der();
    if (der.empty() ||
        !CBB_add_asn1(&basic, &wrapper,
                      CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
        !CBB_add_asn1(&wrapper, &certs, CBS_ASN1_SEQUENCE) ||
        !CBB_add_bytes(&certs, Bytes(der), der.size()) || !CBB_flush(&basic)) {
      return Failure("encoding the OCSP certs");
    }
  }
  const std::string basic_der = Finish(basic_cbb.get());

  CBB wrapper;
  CBB bytes;
  if (basic_der.empty() ||
      !CBB_add_asn1(&response, &wrapper,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      !CBB_add_asn1(&wrapper, &bytes, CBS_ASN1_SEQUENCE) ||
      !OBJ_nid2cbb(&bytes, NID_id_pkix_OCSP_basic) ||
      !AddElement(&bytes, CBS_ASN1_OCTETSTRING, basic_der)) {
    return Failure("encoding the OCSP responseBytes");
  }
  std::string der = Finish(cbb.get());
  if (der.empty()) return Failure("encoding the OCSP response");
  return der;
}

CertificateSpec OcspResponderSpec(std::string common_name) {
  CertificateSpec spec;
  spec.common_name = std::move(common_name);
  spec.usage = ExtendedKeyUsage::kNone;
  return spec;
}

absl::StatusOr<Issued> IssueOcspResponder(const CertificateSpec& spec,
                                          const Issued& issuer,
                                          bool ocsp_signing) {
  if (spec.usage != ExtendedKeyUsage::kNone) {
    return absl::InvalidArgumentError(
        "an OCSP responder's EKU is set by IssueOcspResponder, not the spec");
  }
  auto issued = Issue(spec, &issuer);
  if (!issued.ok() || !ocsp_signing) return issued;

  // Issue knows only serverAuth and clientAuth, so add id-kp-OCSPSigning to
  // what it made and sign again.
  X509* certificate = issued->certificate.get();
  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer.certificate.get(), certificate, nullptr,
                 nullptr, 0);
  bssl::UniquePtr<X509_EXTENSION> extension(
      X509V3_EXT_nconf_nid(nullptr, &context, NID_ext_key_usage, SN_OCSP_sign));
  if (extension == nullptr || !X509_add_ext(certificate, extension.get(), -1) ||
      !X509_sign(certificate, issuer.key.get(), EVP_sha256())) {
    return Failure("adding id-kp-OCSPSigning to the responder");
  }
  // Parse the result afresh, so that nothing cached from before the change
  // survives in the X509.
  auto reparsed =
      x509::ParseDerCertificate(x509::CertificateToDer(certificate));
  if (!reparsed.ok()) return reparsed.status();
  issued->certificate = std::move(reparsed).value();
  return issued;
}

}  // namespace certbroker::devpki

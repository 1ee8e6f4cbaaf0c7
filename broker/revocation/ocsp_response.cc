// Judging a stapled OCSP response: parse (ocsp_parser), find the
// SingleResponse for the certificate, establish who may sign
// (ocsp_responder), verify the signature (ocsp_signature), then check
// freshness and read the status.
#include "broker/revocation/ocsp_response.h"

#include <cstdint>
#include <iterator>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "broker/revocation/der.h"
#include "broker/revocation/ocsp_parser.h"
#include "broker/revocation/ocsp_responder.h"
#include "broker/revocation/ocsp_signature.h"
#include "broker/x509/certificate.h"

namespace certbroker::revocation {
namespace {

using internal::FormatUtc;
using internal::HashOf;
using internal::ParsedBasicResponse;
using internal::ParsedCertStatus;
using internal::ParsedSingleResponse;
using internal::PublicKeyBits;

OcspVerdict Invalid(absl::string_view detail) {
  OcspVerdict verdict;
  verdict.outcome = OcspOutcome::kInvalid;
  verdict.detail = std::string(detail);
  return verdict;
}

std::string ResponseStatusName(int status) {
  switch (status) {
    case 1:
      return "malformedRequest";
    case 2:
      return "internalError";
    case 3:
      return "tryLater";
    case 5:
      return "sigRequired";
    case 6:
      return "unauthorized";
    default:
      return "an unknown status";
  }
}

std::string RevocationReasonName(int reason) {
  static constexpr const char* kNames[] = {
      "unspecified",        "keyCompromise", "cACompromise",
      "affiliationChanged", "superseded",    "cessationOfOperation",
      "certificateHold",    nullptr,         "removeFromCRL",
      "privilegeWithdrawn", "aACompromise"};
  if (reason >= 0 && reason < static_cast<int>(std::size(kNames)) &&
      kNames[reason] != nullptr) {
    return kNames[reason];
  }
  return absl::StrCat("reason code ", reason);
}

std::string SerialDer(const X509* certificate) {
  uint8_t* der = nullptr;
  int length = i2d_ASN1_INTEGER(X509_get0_serialNumber(certificate), &der);
  if (length <= 0) return std::string();
  bssl::UniquePtr<uint8_t> owned(der);
  return std::string(reinterpret_cast<const char*>(der),
                     static_cast<size_t>(length));
}

// SerialHex is the serial number's content bytes in hex, for details.
std::string SerialHex(absl::string_view serial_der) {
  CBS der;
  CBS contents;
  CBS_init(&der, reinterpret_cast<const uint8_t*>(serial_der.data()),
           serial_der.size());
  if (!CBS_get_asn1(&der, &contents, CBS_ASN1_INTEGER)) return "?";
  return absl::BytesToHexString(internal::View(contents));
}

// FindResponse returns the one SingleResponse about `certificate`, or a
// detail saying why there is none.
absl::StatusOr<const ParsedSingleResponse*> FindResponse(
    const ParsedBasicResponse& basic, const X509* certificate,
    const X509* issuer) {
  const std::string serial = SerialDer(certificate);
  const std::string issuer_name =
      x509::NameToDer(X509_get_subject_name(issuer));
  const absl::string_view issuer_key = PublicKeyBits(issuer);
  if (serial.empty() || issuer_name.empty() || issuer_key.empty()) {
    return absl::InvalidArgumentError(
        "the certificate or its issuer cannot be encoded");
  }
  const ParsedSingleResponse* found = nullptr;
  for (const ParsedSingleResponse& single : basic.responses) {
    const EVP_MD* md = single.hash_nid == NID_sha1     ? EVP_sha1()
                       : single.hash_nid == NID_sha256 ? EVP_sha256()
                                                       : nullptr;
    if (md == nullptr || single.serial_number != serial ||
        single.issuer_name_hash != HashOf(md, issuer_name) ||
        single.issuer_key_hash != HashOf(md, issuer_key)) {
      continue;
    }
    if (found != nullptr) {
      return absl::InvalidArgumentError(
          "more than one response for this certificate");
    }
    found = &single;
  }
  if (found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no response for this certificate (serial ", SerialHex(serial),
        ", issuer '", x509::SubjectName(issuer), "') among the ",
        basic.responses.size(), " in the OCSP response"));
  }
  return found;
}

OcspVerdict Check(absl::string_view der, const X509* certificate,
                  const X509* const_issuer, absl::Time now,
                  absl::Duration skew) {
  if (certificate == nullptr || const_issuer == nullptr) {
    return Invalid("no certificate or issuer to check the response against");
  }
  // BoringSSL's getters take non-const X509s to fill in caches, which they
  // guard with a lock; nothing observable changes.
  X509* issuer = const_cast<X509*>(const_issuer);
  if (der.empty()) return Invalid("the OCSP response is empty");
  if (der.size() > kMaxOcspResponseBytes) {
    return Invalid(absl::StrCat("the OCSP response has ", der.size(),
                                " bytes, more than the limit of ",
                                kMaxOcspResponseBytes));
  }
  auto parsed = internal::ParseOcspResponse(der);
  if (!parsed.ok()) {
    return Invalid(
        absl::StrCat("malformed OCSP response: ", parsed.status().message()));
  }
  if (parsed->response_status != 0) {
    return Invalid(absl::StrCat("the OCSP responder answered ",
                                ResponseStatusName(parsed->response_status),
                                " (", parsed->response_status,
                                "), not successful"));
  }
  const ParsedBasicResponse& basic = parsed->basic;
  auto algorithm = internal::ParseSignatureAlgorithm(basic.signature_algorithm);
  if (!algorithm.ok()) return Invalid(algorithm.status().message());
  auto single = FindResponse(basic, certificate, issuer);
  if (!single.ok()) return Invalid(single.status().message());
  std::string key_owner;
  auto key = internal::AuthorisedKey(basic, issuer, now, skew, &key_owner);
  if (!key.ok()) return Invalid(key.status().message());
  absl::Status signature =
      internal::VerifySignature(*algorithm, key->get(), key_owner,
                                basic.tbs_response_data, basic.signature);
  if (!signature.ok()) return Invalid(signature.message());

  const ParsedSingleResponse& response = **single;
  if (response.next_update.has_value() &&
      *response.next_update < response.this_update) {
    return Invalid(absl::StrCat("nextUpdate ", FormatUtc(*response.next_update),
                                " is before thisUpdate ",
                                FormatUtc(response.this_update)));
  }
  OcspVerdict verdict;
  verdict.this_update = response.this_update;
  verdict.next_update = response.next_update.value_or(absl::InfiniteFuture());
  if (response.this_update > now + skew) {
    verdict.outcome = OcspOutcome::kStale;
    verdict.detail =
        absl::StrCat("not yet valid: thisUpdate ",
                     FormatUtc(response.this_update), " is in the future");
    return verdict;
  }
  if (response.next_update.has_value() && *response.next_update < now - skew) {
    verdict.outcome = OcspOutcome::kStale;
    verdict.detail = absl::StrCat("nextUpdate ",
                                  FormatUtc(*response.next_update), " is past");
    return verdict;
  }
  if (!response.next_update.has_value() &&
      response.this_update + kMaxAgeWithoutNextUpdate < now - skew) {
    verdict.outcome = OcspOutcome::kStale;
    verdict.detail =
        absl::StrCat("no nextUpdate, and thisUpdate ",
                     FormatUtc(response.this_update), " is more than ",
                     absl::FormatDuration(kMaxAgeWithoutNextUpdate), " ago");
    return verdict;
  }

  switch (response.status) {
    case ParsedCertStatus::kGood:
      verdict.outcome = OcspOutcome::kGood;
      verdict.detail = absl::StrCat("good, signed with ", key_owner);
      break;
    case ParsedCertStatus::kRevoked:
      verdict.outcome = OcspOutcome::kRevoked;
      verdict.revocation_time = response.revocation_time;
      verdict.detail =
          absl::StrCat("revoked at ", FormatUtc(response.revocation_time));
      if (response.revocation_reason >= 0) {
        absl::StrAppend(&verdict.detail, " (",
                        RevocationReasonName(response.revocation_reason), ")");
      }
      break;
    case ParsedCertStatus::kUnknown:
      verdict.outcome = OcspOutcome::kUnknownCertificate;
      verdict.detail = "the responder does not know this certificate";
      break;
  }
  return verdict;
}

}  // namespace

absl::string_view OcspOutcomeName(OcspOutcome outcome) {
  switch (outcome) {
    case OcspOutcome::kGood:
      return "GOOD";
    case OcspOutcome::kRevoked:
      return "REVOKED";
    case OcspOutcome::kUnknownCertificate:
      return "UNKNOWN_CERTIFICATE";
    case OcspOutcome::kInvalid:
      return "INVALID";
    case OcspOutcome::kStale:
      return "STALE";
  }
  return "INVALID";
}

OcspVerdict CheckOcspResponse(absl::string_view der, const X509* certificate,
                              const X509* issuer, absl::Time now,
                              absl::Duration skew) {
  OcspVerdict verdict =
      Check(der, certificate, issuer, now, absl::AbsDuration(skew));
  ERR_clear_error();  // Leave no BoringSSL errors behind for the caller.
  return verdict;
}

}  // namespace certbroker::revocation

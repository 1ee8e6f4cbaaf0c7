// Reading a DER OCSPResponse with CBS, element by element through der.h, so
// that an error names the element and what is wrong with it.
#include "broker/revocation/ocsp_parser.h"

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/revocation/der.h"
#include "broker/x509/certificate.h"

namespace certbroker::revocation::internal {
namespace {

constexpr unsigned kImplicitNull0 = CBS_ASN1_CONTEXT_SPECIFIC | 0;
constexpr unsigned kImplicitNull2 = CBS_ASN1_CONTEXT_SPECIFIC | 2;

// ReadExplicitTime reads a GeneralizedTime in an EXPLICIT [n] wrapper.
absl::StatusOr<absl::Time> ReadExplicitTime(CBS* in, unsigned tag,
                                            absl::string_view element) {
  CBS wrapper;
  CB_RETURN_IF_ERROR(Read(in, tag, element, &wrapper));
  CB_ASSIGN_OR_RETURN(absl::Time time, ReadTime(&wrapper, element));
  CB_RETURN_IF_ERROR(ExpectEnd(wrapper, element));
  return time;
}

// ReadExtensions reads an EXPLICIT-tagged Extensions and refuses critical
// ones: none that RFC 6960 defines needs to be critical, and an extension
// we do not understand must not be ignored if its issuer said so.
absl::Status ReadExtensions(CBS* in, unsigned tag, absl::string_view element) {
  CBS wrapper;
  CBS list;
  CB_RETURN_IF_ERROR(Read(in, tag, element, &wrapper));
  CB_RETURN_IF_ERROR(Read(&wrapper, CBS_ASN1_SEQUENCE, element, &list));
  CB_RETURN_IF_ERROR(ExpectEnd(wrapper, element));
  for (size_t i = 0; CBS_len(&list) > 0; ++i) {
    std::string name = absl::StrCat(element, "[", i, "]");
    CBS extension;
    CBS oid;
    CBS value;
    CB_RETURN_IF_ERROR(Read(&list, CBS_ASN1_SEQUENCE, name, &extension));
    CB_RETURN_IF_ERROR(
        Read(&extension, CBS_ASN1_OBJECT, name + ".extnID", &oid));
    bool critical = false;
    if (CBS_peek_asn1_tag(&extension, CBS_ASN1_BOOLEAN)) {
      CBS flag;
      CB_RETURN_IF_ERROR(
          Read(&extension, CBS_ASN1_BOOLEAN, name + ".critical", &flag));
      // DER: TRUE is 0xff, and FALSE, the default, is left out.
      if (!CBS_mem_equal(&flag, reinterpret_cast<const uint8_t*>("\xff"), 1)) {
        return Malformed(name + ".critical", "is not a DER TRUE");
      }
      critical = true;
    }
    CB_RETURN_IF_ERROR(
        Read(&extension, CBS_ASN1_OCTETSTRING, name + ".extnValue", &value));
    CB_RETURN_IF_ERROR(ExpectEnd(extension, name));
    if (critical) {
      bssl::UniquePtr<char> text(CBS_asn1_oid_to_text(&oid));
      return Malformed(name, absl::StrCat("(", text ? text.get() : "?",
                                          ") is critical and not supported"));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadCertStatus(CBS* in, absl::string_view element,
                            ParsedSingleResponse* response) {
  if (CBS_len(in) == 0) return Malformed(element, "is missing");
  CBS contents;
  unsigned tag = 0;
  if (!CBS_get_any_asn1(in, &contents, &tag)) {
    return Malformed(element, "is truncated or not DER");
  }
  if (tag == kImplicitNull0 || tag == kImplicitNull2) {
    response->status = tag == kImplicitNull0 ? ParsedCertStatus::kGood
                                             : ParsedCertStatus::kUnknown;
    return ExpectEnd(contents, element);
  }
  if (tag != kExplicit1) {
    return Malformed(element,
                     "has the wrong tag, expected good [0], "
                     "revoked [1] or unknown [2]");
  }
  response->status = ParsedCertStatus::kRevoked;
  std::string revoked = absl::StrCat(element, ".revoked");
  CB_ASSIGN_OR_RETURN(response->revocation_time,
                      ReadTime(&contents, revoked + ".revocationTime"));
  if (CBS_peek_asn1_tag(&contents, kExplicit0)) {
    std::string reason = revoked + ".revocationReason";
    CBS wrapper;
    CB_RETURN_IF_ERROR(Read(&contents, kExplicit0, reason, &wrapper));
    CB_ASSIGN_OR_RETURN(
        response->revocation_reason,
        ReadSmallInteger(&wrapper, CBS_ASN1_ENUMERATED, reason));
    CB_RETURN_IF_ERROR(ExpectEnd(wrapper, reason));
  }
  return ExpectEnd(contents, revoked);
}

absl::StatusOr<ParsedSingleResponse> ReadSingleResponse(
    CBS* in, const std::string& element) {
  ParsedSingleResponse response;
  CBS single;
  CBS cert_id;
  CBS value;
  CB_RETURN_IF_ERROR(Read(in, CBS_ASN1_SEQUENCE, element, &single));
  std::string id = element + ".certID";
  CB_RETURN_IF_ERROR(Read(&single, CBS_ASN1_SEQUENCE, id, &cert_id));
  CB_ASSIGN_OR_RETURN(AlgorithmIdentifier hash,
                      ReadAlgorithmIdentifier(&cert_id, id + ".hashAlgorithm"));
  if (!hash.HasNullOrNoParameters()) {
    return Malformed(id + ".hashAlgorithm.parameters", "are not NULL");
  }
  response.hash_nid = hash.nid;
  CB_RETURN_IF_ERROR(
      Read(&cert_id, CBS_ASN1_OCTETSTRING, id + ".issuerNameHash", &value));
  response.issuer_name_hash = View(value);
  CB_RETURN_IF_ERROR(
      Read(&cert_id, CBS_ASN1_OCTETSTRING, id + ".issuerKeyHash", &value));
  response.issuer_key_hash = View(value);
  CB_RETURN_IF_ERROR(Read(&cert_id, CBS_ASN1_INTEGER, id + ".serialNumber",
                          &value, /*whole=*/true));
  response.serial_number = View(value);
  CB_RETURN_IF_ERROR(ExpectEnd(cert_id, id));

  CB_RETURN_IF_ERROR(
      ReadCertStatus(&single, element + ".certStatus", &response));
  CB_ASSIGN_OR_RETURN(response.this_update,
                      ReadTime(&single, element + ".thisUpdate"));
  if (CBS_peek_asn1_tag(&single, kExplicit0)) {
    CB_ASSIGN_OR_RETURN(
        response.next_update,
        ReadExplicitTime(&single, kExplicit0, element + ".nextUpdate"));
  }
  if (CBS_peek_asn1_tag(&single, kExplicit1)) {
    CB_RETURN_IF_ERROR(
        ReadExtensions(&single, kExplicit1, element + ".singleExtensions"));
  }
  CB_RETURN_IF_ERROR(ExpectEnd(single, element));
  return response;
}

absl::Status ReadResponseData(CBS data, ParsedBasicResponse* basic) {
  constexpr absl::string_view kData = "tbsResponseData";
  if (CBS_peek_asn1_tag(&data, kExplicit0)) {
    CBS wrapper;
    CB_RETURN_IF_ERROR(
        Read(&data, kExplicit0, "tbsResponseData.version", &wrapper));
    CB_ASSIGN_OR_RETURN(int version,
                        ReadSmallInteger(&wrapper, CBS_ASN1_INTEGER,
                                         "tbsResponseData.version"));
    CB_RETURN_IF_ERROR(ExpectEnd(wrapper, "tbsResponseData.version"));
    if (version != 0) {
      return Malformed("tbsResponseData.version",
                       absl::StrCat("v", version + 1, " is not supported"));
    }
  }

  CBS responder;
  if (CBS_peek_asn1_tag(&data, kExplicit2)) {
    basic->responder_by_key = true;
    CBS hash;
    constexpr absl::string_view kByKey = "tbsResponseData.responderID.byKey";
    CB_RETURN_IF_ERROR(Read(&data, kExplicit2, kByKey, &responder));
    CB_RETURN_IF_ERROR(Read(&responder, CBS_ASN1_OCTETSTRING, kByKey, &hash));
    if (CBS_len(&hash) != SHA_DIGEST_LENGTH) {
      return Malformed(kByKey, "is not a SHA-1 hash");
    }
    basic->responder_key_hash = View(hash);
    CB_RETURN_IF_ERROR(ExpectEnd(responder, kByKey));
  } else {
    CBS name;
    constexpr absl::string_view kByName = "tbsResponseData.responderID.byName";
    CB_RETURN_IF_ERROR(Read(&data, kExplicit1, kByName, &responder));
    CB_RETURN_IF_ERROR(Read(&responder, CBS_ASN1_SEQUENCE, kByName, &name,
                            /*whole=*/true));
    if (!x509::IsDerName(View(name))) {
      return Malformed(kByName, "is not an X.509 Name");
    }
    basic->responder_name = View(name);
    CB_RETURN_IF_ERROR(ExpectEnd(responder, kByName));
  }

  CB_ASSIGN_OR_RETURN(basic->produced_at,
                      ReadTime(&data, "tbsResponseData.producedAt"));
  CBS responses;
  CB_RETURN_IF_ERROR(
      Read(&data, CBS_ASN1_SEQUENCE, "tbsResponseData.responses", &responses));
  for (size_t i = 0; CBS_len(&responses) > 0; ++i) {
    CB_ASSIGN_OR_RETURN(
        ParsedSingleResponse single,
        ReadSingleResponse(&responses,
                           absl::StrCat("tbsResponseData.responses[", i, "]")));
    basic->responses.push_back(std::move(single));
  }
  if (CBS_peek_asn1_tag(&data, kExplicit1)) {
    CB_RETURN_IF_ERROR(ReadExtensions(&data, kExplicit1,
                                      "tbsResponseData.responseExtensions"));
  }
  return ExpectEnd(data, kData);
}

absl::Status ReadBasicResponse(CBS in, ParsedBasicResponse* basic) {
  CBS response;
  CBS element;
  CB_RETURN_IF_ERROR(
      Read(&in, CBS_ASN1_SEQUENCE, "BasicOCSPResponse", &response));
  CB_RETURN_IF_ERROR(ExpectEnd(in, "responseBytes.response"));

  CB_RETURN_IF_ERROR(Read(&response, CBS_ASN1_SEQUENCE, "tbsResponseData",
                          &element, /*whole=*/true));
  basic->tbs_response_data = View(element);
  CBS data;
  CB_RETURN_IF_ERROR(
      Read(&element, CBS_ASN1_SEQUENCE, "tbsResponseData", &data));
  CB_RETURN_IF_ERROR(ReadResponseData(data, basic));

  CB_RETURN_IF_ERROR(Read(&response, CBS_ASN1_SEQUENCE, "signatureAlgorithm",
                          &element, /*whole=*/true));
  basic->signature_algorithm = View(element);
  CB_RETURN_IF_ERROR(
      Read(&response, CBS_ASN1_BITSTRING, "signature", &element));
  uint8_t unused_bits = 0;
  if (!CBS_is_valid_asn1_bitstring(&element) ||
      !CBS_get_u8(&element, &unused_bits) || unused_bits != 0) {
    return Malformed("signature", "is not a whole number of bytes");
  }
  basic->signature = View(element);

  if (CBS_peek_asn1_tag(&response, kExplicit0)) {
    CBS wrapper;
    CBS list;
    CB_RETURN_IF_ERROR(Read(&response, kExplicit0, "certs", &wrapper));
    CB_RETURN_IF_ERROR(Read(&wrapper, CBS_ASN1_SEQUENCE, "certs", &list));
    CB_RETURN_IF_ERROR(ExpectEnd(wrapper, "certs"));
    for (size_t i = 0; CBS_len(&list) > 0; ++i) {
      std::string name = absl::StrCat("certs[", i, "]");
      CB_RETURN_IF_ERROR(Read(&list, CBS_ASN1_SEQUENCE, name, &element,
                              /*whole=*/true));
      auto certificate = x509::ParseDerCertificate(View(element));
      if (!certificate.ok()) {
        return Malformed(name, absl::StrCat("is not a certificate: ",
                                            certificate.status().message()));
      }
      basic->certificates.push_back(std::move(certificate).value());
    }
  }
  return ExpectEnd(response, "BasicOCSPResponse");
}

}  // namespace

absl::StatusOr<ParsedOcspResponse> ParseOcspResponse(absl::string_view der) {
  CBS input;
  CBS_init(&input, reinterpret_cast<const uint8_t*>(der.data()), der.size());
  CBS response;
  CB_RETURN_IF_ERROR(
      Read(&input, CBS_ASN1_SEQUENCE, "OCSPResponse", &response));
  if (CBS_len(&input) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        CBS_len(&input), " trailing bytes after the OCSPResponse"));
  }

  ParsedOcspResponse parsed;
  CB_ASSIGN_OR_RETURN(
      parsed.response_status,
      ReadSmallInteger(&response, CBS_ASN1_ENUMERATED, "responseStatus"));
  CBS wrapper;
  if (parsed.response_status != 0) {
    // An unsuccessful response has nothing to read: its responseBytes, if
    // any, are not looked at.
    if (CBS_peek_asn1_tag(&response, kExplicit0)) {
      CB_RETURN_IF_ERROR(
          Read(&response, kExplicit0, "responseBytes", &wrapper));
    }
    CB_RETURN_IF_ERROR(ExpectEnd(response, "OCSPResponse"));
    return parsed;
  }

  CBS bytes;
  CBS type;
  CBS basic;
  CB_RETURN_IF_ERROR(Read(&response, kExplicit0, "responseBytes", &wrapper));
  CB_RETURN_IF_ERROR(ExpectEnd(response, "OCSPResponse"));
  CB_RETURN_IF_ERROR(
      Read(&wrapper, CBS_ASN1_SEQUENCE, "responseBytes", &bytes));
  CB_RETURN_IF_ERROR(ExpectEnd(wrapper, "responseBytes"));
  CB_RETURN_IF_ERROR(
      Read(&bytes, CBS_ASN1_OBJECT, "responseBytes.responseType", &type));
  if (OBJ_cbs2nid(&type) != NID_id_pkix_OCSP_basic) {
    bssl::UniquePtr<char> text(CBS_asn1_oid_to_text(&type));
    return Malformed("responseBytes.responseType",
                     absl::StrCat(text ? text.get() : "(not an OID)",
                                  " is not id-pkix-ocsp-basic"));
  }
  CB_RETURN_IF_ERROR(
      Read(&bytes, CBS_ASN1_OCTETSTRING, "responseBytes.response", &basic));
  CB_RETURN_IF_ERROR(ExpectEnd(bytes, "responseBytes"));
  CB_RETURN_IF_ERROR(ReadBasicResponse(basic, &parsed.basic));
  return parsed;
}

}  // namespace certbroker::revocation::internal

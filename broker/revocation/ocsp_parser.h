// Internal to broker/revocation: reading a DER OCSPResponse (RFC 6960
// section 4.2.1) into plain structs, strictly. It checks structure only;
// what the response means and whether to trust it is ocsp_response.cc's job.
#ifndef CERTBROKER_BROKER_REVOCATION_OCSP_PARSER_H_
#define CERTBROKER_BROKER_REVOCATION_OCSP_PARSER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "broker/x509/boringssl.h"

namespace certbroker::revocation::internal {

// The string_views below point into the DER given to ParseOcspResponse and
// live as long as it does.

// ParsedCertStatus is SingleResponse.certStatus.
enum class ParsedCertStatus { kGood, kRevoked, kUnknown };

// ParsedSingleResponse is one SingleResponse.
struct ParsedSingleResponse {
  // hash_nid is the NID of CertID.hashAlgorithm (NID_undef when BoringSSL
  // does not know the OID).
  int hash_nid = 0;
  absl::string_view issuer_name_hash;
  absl::string_view issuer_key_hash;
  // serial_number is the whole DER INTEGER, tag and length included.
  absl::string_view serial_number;
  ParsedCertStatus status = ParsedCertStatus::kGood;
  absl::Time revocation_time = absl::InfinitePast();
  // revocation_reason is the CRLReason, or -1 when absent.
  int revocation_reason = -1;
  absl::Time this_update;
  absl::optional<absl::Time> next_update;
};

// ParsedBasicResponse is a BasicOCSPResponse.
struct ParsedBasicResponse {
  // tbs_response_data is the whole DER ResponseData, the signed bytes.
  absl::string_view tbs_response_data;
  // responder_by_key tells which ResponderID form was used: byKey, with
  // responder_key_hash the SHA-1 of the responder's public key bits, or
  // byName, with responder_name its DER Name.
  bool responder_by_key = false;
  absl::string_view responder_key_hash;
  absl::string_view responder_name;
  absl::Time produced_at;
  std::vector<ParsedSingleResponse> responses;
  // signature_algorithm is the whole DER AlgorithmIdentifier.
  absl::string_view signature_algorithm;
  // signature is the BIT STRING's bytes (it must have no unused bits).
  absl::string_view signature;
  // certificates are the optional certs, in order.
  std::vector<bssl::UniquePtr<X509>> certificates;
};

// ParsedOcspResponse is an OCSPResponse. `basic` is filled in only when
// response_status is 0 (successful).
struct ParsedOcspResponse {
  int response_status = 0;
  ParsedBasicResponse basic;
};

// ParseOcspResponse reads `der` as exactly one DER OCSPResponse with a
// basic response (when successful). Fails with INVALID_ARGUMENT naming the
// element at fault ("tbsResponseData.responses[0].thisUpdate is not a
// GeneralizedTime of the form YYYYMMDDHHMMSSZ") on wrong tags, truncation,
// non-DER lengths, trailing bytes, an unsupported version, a response type
// other than id-pkix-ocsp-basic, or a critical extension.
absl::StatusOr<ParsedOcspResponse> ParseOcspResponse(absl::string_view der);

}  // namespace certbroker::revocation::internal

#endif  // CERTBROKER_BROKER_REVOCATION_OCSP_PARSER_H_

// Internal to broker/revocation: reading DER with CBS so that every failure
// names the element at fault and says whether it is missing, truncated or of
// the wrong type. Shared by the OCSP parser and the signature-algorithm
// reader.
#ifndef CERTBROKER_BROKER_REVOCATION_DER_H_
#define CERTBROKER_BROKER_REVOCATION_DER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "broker/x509/boringssl.h"

namespace certbroker::revocation::internal {

// kExplicit0..3 are the tags of EXPLICIT [n] wrappers.
inline constexpr unsigned kExplicit0 =
    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0;
inline constexpr unsigned kExplicit1 =
    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 1;
inline constexpr unsigned kExplicit2 =
    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 2;
inline constexpr unsigned kExplicit3 =
    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 3;

// Malformed returns INVALID_ARGUMENT "<element> <problem>".
absl::Status Malformed(absl::string_view element, absl::string_view problem);

// View returns the bytes of `cbs`; they live as long as what `cbs` reads.
absl::string_view View(const CBS& cbs);

// Read takes the next element of `in`, which must have `tag`, into `out`:
// its contents, or with `whole` the element with its tag and length. On
// failure `in` is unchanged.
absl::Status Read(CBS* in, unsigned tag, absl::string_view element, CBS* out,
                  bool whole = false);

// ExpectEnd fails when `in` has bytes left after the last element of
// `element`.
absl::Status ExpectEnd(const CBS& in, absl::string_view element);

// ReadSmallInteger reads an INTEGER or ENUMERATED (`tag`) that must be
// minimally encoded, non-negative and below 2^24.
absl::StatusOr<int> ReadSmallInteger(CBS* in, unsigned tag,
                                     absl::string_view element);

// ParseGeneralizedTime parses GeneralizedTime contents of the one form RFC
// 5280 allows, "YYYYMMDDHHMMSSZ", checking every field's range. Returns
// nullopt otherwise.
absl::optional<absl::Time> ParseGeneralizedTime(absl::string_view text);

// ReadTime reads a GeneralizedTime of that form.
absl::StatusOr<absl::Time> ReadTime(CBS* in, absl::string_view element);

// AlgorithmIdentifier is a read AlgorithmIdentifier.
struct AlgorithmIdentifier {
  // nid is the algorithm's NID, NID_undef if BoringSSL does not know it.
  int nid = 0;
  // oid_text is the dotted OID, for details.
  std::string oid_text;
  // parameters is the whole parameters element, empty when absent.
  CBS parameters{};
  bool has_parameters = false;
  // HasNullOrNoParameters is true when parameters are absent or NULL.
  bool HasNullOrNoParameters() const;
};

// ReadAlgorithmIdentifier reads one AlgorithmIdentifier from `in`.
absl::StatusOr<AlgorithmIdentifier> ReadAlgorithmIdentifier(
    CBS* in, absl::string_view element);

}  // namespace certbroker::revocation::internal

#endif  // CERTBROKER_BROKER_REVOCATION_DER_H_

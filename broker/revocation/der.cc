// Strict DER reading helpers over CBS, with errors that name the element.
#include "broker/revocation/der.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"

namespace certbroker::revocation::internal {
namespace {

std::string TagName(unsigned tag) {
  switch (tag) {
    case CBS_ASN1_BOOLEAN:
      return "BOOLEAN";
    case CBS_ASN1_INTEGER:
      return "INTEGER";
    case CBS_ASN1_BITSTRING:
      return "BIT STRING";
    case CBS_ASN1_OCTETSTRING:
      return "OCTET STRING";
    case CBS_ASN1_NULL:
      return "NULL";
    case CBS_ASN1_OBJECT:
      return "OBJECT IDENTIFIER";
    case CBS_ASN1_ENUMERATED:
      return "ENUMERATED";
    case CBS_ASN1_SEQUENCE:
      return "SEQUENCE";
    case CBS_ASN1_SET:
      return "SET";
    case CBS_ASN1_GENERALIZEDTIME:
      return "GeneralizedTime";
    default:
      break;
  }
  const unsigned number = tag & CBS_ASN1_TAG_NUMBER_MASK;
  switch (tag & CBS_ASN1_CLASS_MASK) {
    case CBS_ASN1_CONTEXT_SPECIFIC:
      return absl::StrCat("[", number, "]");
    case CBS_ASN1_APPLICATION:
      return absl::StrCat("application ", number);
    case CBS_ASN1_PRIVATE:
      return absl::StrCat("private ", number);
    default:
      return absl::StrCat("universal ", number);
  }
}

bool IsLeapYear(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

}  // namespace

absl::Status Malformed(absl::string_view element, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(element, " ", problem));
}

absl::string_view View(const CBS& cbs) {
  return absl::string_view(reinterpret_cast<const char*>(CBS_data(&cbs)),
                           CBS_len(&cbs));
}

absl::Status Read(CBS* in, unsigned tag, absl::string_view element, CBS* out,
                  bool whole) {
  if (CBS_len(in) == 0) return Malformed(element, "is missing");
  CBS rest = *in;
  CBS contents;
  unsigned actual = 0;
  size_t header_length = 0;
  // Unlike the BER variant, this refuses indefinite and non-minimal lengths.
  if (!CBS_get_any_asn1_element(&rest, &contents, &actual, &header_length)) {
    return Malformed(element, "is truncated or not DER");
  }
  if (actual != tag) {
    return Malformed(element, absl::StrCat("has tag ", TagName(actual),
                                           ", expected ", TagName(tag)));
  }
  if (!whole && !CBS_skip(&contents, header_length)) {
    return Malformed(element, "is truncated or not DER");
  }
  *in = rest;
  *out = contents;
  return absl::OkStatus();
}

absl::Status ExpectEnd(const CBS& in, absl::string_view element) {
  if (CBS_len(&in) == 0) return absl::OkStatus();
  return Malformed(element, absl::StrCat("has ", CBS_len(&in),
                                         " unexpected bytes at its end"));
}

absl::StatusOr<int> ReadSmallInteger(CBS* in, unsigned tag,
                                     absl::string_view element) {
  CBS contents;
  CB_RETURN_IF_ERROR(Read(in, tag, element, &contents));
  int negative = 0;
  if (!CBS_is_valid_asn1_integer(&contents, &negative) || negative ||
      CBS_len(&contents) > 3) {
    return Malformed(element, "is not a small non-negative DER integer");
  }
  int value = 0;
  for (size_t i = 0; i < CBS_len(&contents); ++i) {
    value = (value << 8) | CBS_data(&contents)[i];
  }
  return value;
}

bool AlgorithmIdentifier::HasNullOrNoParameters() const {
  static constexpr uint8_t kNull[] = {0x05, 0x00};
  return !has_parameters || CBS_mem_equal(&parameters, kNull, sizeof(kNull));
}

absl::StatusOr<AlgorithmIdentifier> ReadAlgorithmIdentifier(
    CBS* in, absl::string_view element) {
  AlgorithmIdentifier algorithm;
  CBS sequence;
  CBS oid;
  CB_RETURN_IF_ERROR(Read(in, CBS_ASN1_SEQUENCE, element, &sequence));
  const std::string oid_element = absl::StrCat(element, ".algorithm");
  CB_RETURN_IF_ERROR(Read(&sequence, CBS_ASN1_OBJECT, oid_element, &oid));
  bssl::UniquePtr<char> text(CBS_asn1_oid_to_text(&oid));
  if (text == nullptr) {
    ERR_clear_error();
    return Malformed(oid_element, "is not a valid OBJECT IDENTIFIER");
  }
  algorithm.oid_text = text.get();
  algorithm.nid = OBJ_cbs2nid(&oid);
  if (CBS_len(&sequence) > 0) {
    algorithm.has_parameters = true;
    if (!CBS_get_any_asn1_element(&sequence, &algorithm.parameters, nullptr,
                                  nullptr)) {
      return Malformed(absl::StrCat(element, ".parameters"),
                       "are truncated or not DER");
    }
  }
  CB_RETURN_IF_ERROR(ExpectEnd(sequence, element));
  return algorithm;
}

absl::optional<absl::Time> ParseGeneralizedTime(absl::string_view text) {
  if (text.size() != 15 || text[14] != 'Z') return absl::nullopt;
  for (size_t i = 0; i < 14; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) {
      return absl::nullopt;
    }
  }
  auto number = [&text](size_t offset, size_t digits) {
    int value = 0;
    for (size_t i = offset; i < offset + digits; ++i) {
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const int year = number(0, 4);
  const int month = number(4, 2);
  const int day = number(6, 2);
  const int hour = number(8, 2);
  const int minute = number(10, 2);
  const int second = number(12, 2);
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) ||
      hour > 23 || minute > 59 || second > 59) {
    return absl::nullopt;
  }
  return absl::FromCivil(
      absl::CivilSecond(year, month, day, hour, minute, second),
      absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ReadTime(CBS* in, absl::string_view element) {
  CBS contents;
  CB_RETURN_IF_ERROR(Read(in, CBS_ASN1_GENERALIZEDTIME, element, &contents));
  absl::optional<absl::Time> time = ParseGeneralizedTime(View(contents));
  if (!time.has_value()) {
    return Malformed(element,
                     "is not a GeneralizedTime of the form YYYYMMDDHHMMSSZ");
  }
  return *time;
}

}  // namespace certbroker::revocation::internal

// Decoding pins and fingerprints from their configuration text.
#include "broker/config/digests.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace certbroker::config {

absl::StatusOr<std::string> DecodeSpkiPin(absl::string_view text) {
  if (!absl::StartsWith(text, "sha256/")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not a pin: write sha256/<base64 of the SPKI digest>"));
  }
  std::string digest;
  if (!absl::Base64Unescape(text.substr(7), &digest) || digest.size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "': the base64 after sha256/ must encode 32 bytes"));
  }
  return digest;
}

absl::StatusOr<std::string> DecodeFingerprint(absl::string_view text) {
  std::string hex = absl::StrReplaceAll(text, {{":", ""}});
  bool valid = hex.size() == 64;
  for (char c : hex)
    valid = valid && absl::ascii_isxdigit(static_cast<unsigned char>(c));
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not a SHA-256 fingerprint (64 hex digits)"));
  }
  return absl::HexStringToBytes(hex);
}

}  // namespace certbroker::config

// The text forms of key pins and certificate fingerprints in configuration:
// "sha256/<base64>" for SubjectPublicKeyInfo pins (as HPKP and Envoy write
// them) and hex SHA-256 (colons and case ignored) for certificate
// fingerprints (as `openssl x509 -fingerprint -sha256` prints them).
#ifndef CERTBROKER_BROKER_CONFIG_DIGESTS_H_
#define CERTBROKER_BROKER_CONFIG_DIGESTS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace certbroker::config {

// DecodeSpkiPin returns the 32 raw bytes of "sha256/<base64>". Fails with
// INVALID_ARGUMENT saying what is wrong with `text`.
absl::StatusOr<std::string> DecodeSpkiPin(absl::string_view text);

// DecodeFingerprint returns the 32 raw bytes of a hex SHA-256 fingerprint.
absl::StatusOr<std::string> DecodeFingerprint(absl::string_view text);

}  // namespace certbroker::config

#endif  // CERTBROKER_BROKER_CONFIG_DIGESTS_H_

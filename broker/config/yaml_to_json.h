// Converts a YAML document into the JSON form of a given protobuf message,
// guided by the message's descriptor. The descriptor decides each scalar's
// JSON type (so `id: 2024` is the string "2024" where the field is a string),
// and unknown fields, wrong shapes, bad numbers, unknown enum values and
// malformed durations are reported with their YAML line and field path.
#ifndef CERTBROKER_BROKER_CONFIG_YAML_TO_JSON_H_
#define CERTBROKER_BROKER_CONFIG_YAML_TO_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace certbroker::config {

// YamlToJson parses `yaml` (one document) and returns JSON that protobuf's
// JSON parser accepts for `descriptor`. An empty document gives "{}". Fails
// with INVALID_ARGUMENT "SOURCE:LINE:COLUMN: PATH: what is wrong".
absl::StatusOr<std::string> YamlToJson(
    absl::string_view yaml, const google::protobuf::Descriptor& descriptor,
    absl::string_view source);

}  // namespace certbroker::config

#endif  // CERTBROKER_BROKER_CONFIG_YAML_TO_JSON_H_

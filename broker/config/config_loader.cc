// Parsing YAML (or JSON) configuration into the config proto; validation
// rules are in config_validation.cc.
#include "broker/config/config_loader.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/common/file.h"
#include "broker/config/yaml_to_json.h"
#include "google/protobuf/util/json_util.h"

namespace certbroker::config {
namespace {

constexpr uint32_t kDefaultMaxChainLength = 10;
constexpr uint32_t kDefaultMaxMessageBytes = 1 << 20;
constexpr uint32_t kDefaultMaxCertificateBytes = 16384;

// IsJsonDocument is true when `text`'s first non-blank character opens a
// JSON object (a YAML document starting with '{' is a flow mapping, which
// the JSON parser reads the same way when it is valid JSON).
bool IsJsonDocument(absl::string_view text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c == '{';
  }
  return false;
}

}  // namespace

absl::StatusOr<BrokerConfig> ParseConfig(absl::string_view text,
                                         absl::string_view source) {
  auto config = ParseConfigDocument(text, source);
  if (!config.ok()) return config.status();
  absl::Status valid = ValidateConfig(*config, source);
  if (!valid.ok()) return valid;
  return config;
}

absl::StatusOr<BrokerConfig> ParseConfigDocument(absl::string_view text,
                                                 absl::string_view source) {
  // JSON is YAML too, with the same meaning; a JSON document skips the YAML
  // step (most of the load time of large generated policies), at the price
  // of protobuf's less precise error positions.
  std::string json;
  if (IsJsonDocument(text)) {
    json = std::string(text);
  } else {
    auto converted = YamlToJson(text, *BrokerConfig::descriptor(), source);
    if (!converted.ok()) return converted.status();
    json = std::move(converted).value();
  }
  BrokerConfig config;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed =
      google::protobuf::util::JsonStringToMessage(json, &config, options);
  if (!parsed.ok()) {
    // Protobuf's JSON parser may append an excerpt on further lines.
    std::string message(parsed.message());
    message = message.substr(0, message.find('\n'));
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", message));
  }
  return config;
}

absl::StatusOr<BrokerConfig> LoadConfigFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseConfig(*text, path);
}

uint32_t MaxChainLength(const BrokerConfig& config) {
  uint32_t value = config.limits().max_chain_length();
  return value == 0 ? kDefaultMaxChainLength : value;
}

uint32_t MaxMessageBytes(const BrokerConfig& config) {
  uint32_t value = config.limits().max_message_bytes();
  return value == 0 ? kDefaultMaxMessageBytes : value;
}

uint32_t MaxCertificateBytes(const BrokerConfig& config) {
  uint32_t value = config.limits().max_certificate_bytes();
  return value == 0 ? kDefaultMaxCertificateBytes : value;
}

}  // namespace certbroker::config

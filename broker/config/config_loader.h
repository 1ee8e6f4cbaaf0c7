// Loading a broker configuration: YAML text or file into a validated
// certbroker.config.v1.BrokerConfig. Validation here covers the document
// itself (required fields, names, references, ranges); reading the PEM files
// it names is the policy compiler's job.
#ifndef CERTBROKER_BROKER_CONFIG_CONFIG_LOADER_H_
#define CERTBROKER_BROKER_CONFIG_CONFIG_LOADER_H_

#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "certbroker/config/v1/config.pb.h"

namespace certbroker::config {

using BrokerConfig = ::certbroker::config::v1::BrokerConfig;

// ParseConfig parses and validates YAML `text`. `source` names it in errors.
// Fails with INVALID_ARGUMENT "SOURCE[:LINE:COLUMN]: FIELD.PATH: problem".
// A document that starts with '{' is read as JSON (the proto3 JSON mapping)
// directly, which is several times faster for large generated policies;
// its errors come from protobuf's JSON parser.
absl::StatusOr<BrokerConfig> ParseConfig(absl::string_view text,
                                         absl::string_view source);

// ParseConfigDocument is ParseConfig without ValidateConfig, for callers
// that validate against stored objects as well (CompilePolicy).
absl::StatusOr<BrokerConfig> ParseConfigDocument(absl::string_view text,
                                                 absl::string_view source);

// LoadConfigFile reads `path` and calls ParseConfig. Fails as ReadFile does
// when the file cannot be read.
absl::StatusOr<BrokerConfig> LoadConfigFile(const std::string& path);

// IsValidName is true for the names and ids the configuration uses: 1-128
// letters, digits, '.', '_' and '-'.
bool IsValidName(absl::string_view name);

// IsListenerName is true for an inbound listener name: 1 to 128 letters,
// digits, '.', '_', ':' and '-'.
bool IsListenerName(absl::string_view name);

// StoredNames are the ids of the certificates and trust bundles the broker's
// store holds. Rules may name them like the configuration's own; the
// configuration may not define the same ids again.
struct StoredNames {
  std::set<std::string> certificates;
  std::set<std::string> trust_bundles;
};

// ValidateConfig checks what the schema cannot: required fields, unique and
// well-formed names, references between sections, host patterns, ports and
// limits. Errors name `source` and the field path.
absl::Status ValidateConfig(const BrokerConfig& config,
                            absl::string_view source,
                            const StoredNames& stored = {});

// Effective limits and TTLs, with the documented defaults applied.
uint32_t MaxChainLength(const BrokerConfig& config);
uint32_t MaxMessageBytes(const BrokerConfig& config);
uint32_t MaxCertificateBytes(const BrokerConfig& config);

}  // namespace certbroker::config

#endif  // CERTBROKER_BROKER_CONFIG_CONFIG_LOADER_H_

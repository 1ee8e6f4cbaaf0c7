// Validation of a parsed configuration: what the schema cannot say
// (required fields, names, references between sections, host patterns,
// ports, limits, pins), each error naming the source and the field path.
#include <set>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/common/host_name.h"
#include "broker/common/identity_selector.h"
#include "broker/common/status_macros.h"
#include "broker/config/config_loader.h"
#include "broker/config/config_problem.h"
#include "broker/config/digests.h"

namespace certbroker::config {
namespace {

constexpr uint32_t kMaxMaxChainLength = 100;
constexpr uint32_t kMinMaxMessageBytes = 4096;
constexpr uint32_t kMaxMaxMessageBytes = 64 << 20;
constexpr uint32_t kMinMaxCertificateBytes = 1024;
constexpr uint32_t kMaxMaxCertificateBytes = 1 << 20;

}  // namespace

namespace internal {

using ::certbroker::config::v1::ServerValidation;

constexpr int64_t kMaxCacheTtlSeconds = 86400;

absl::Status CheckName(absl::string_view source, const std::string& path,
                       absl::string_view name, std::set<std::string>& seen) {
  if (name.empty()) return Problem(source, path, "required");
  if (!IsValidName(name)) {
    return Problem(source, path,
                   absl::StrCat("'", name,
                                "' is not a valid name (1-128 letters, digits, "
                                "'.', '_', '-')"));
  }
  if (!seen.insert(std::string(name)).second) {
    return Problem(source, path, absl::StrCat("'", name, "' is used twice"));
  }
  return absl::OkStatus();
}

// CheckNewName is CheckName for an id the store may hold too.
absl::Status CheckNewName(absl::string_view source, const std::string& path,
                          absl::string_view name,
                          const std::set<std::string>& stored,
                          absl::string_view stored_prefix,
                          std::set<std::string>& seen) {
  if (stored.count(std::string(name)) > 0) {
    return Problem(
        source, path,
        absl::StrCat("'", name, "' is also stored in the broker (",
                     stored_prefix, name,
                     "); rename one of them or delete the stored one"));
  }
  return CheckName(source, path, name, seen);
}

absl::Status CheckHostPattern(absl::string_view source, const std::string& path,
                              const std::string& pattern) {
  if (pattern == "*") return absl::OkStatus();
  for (unsigned char c : pattern) {
    if (c >= 0x80) {
      return Problem(
          source, path,
          absl::StrCat("'", pattern,
                       "' is not ASCII; write internationalized names "
                       "in their A-label form (xn--...)"));
    }
  }
  std::string host = NormalizeHost(pattern);
  if (absl::StartsWith(host, "*.")) {
    if (!IsDnsName(host.substr(2))) {
      return Problem(source, path,
                     absl::StrCat("'", pattern,
                                  "' is not a valid wildcard: write "
                                  "*.domain with a valid domain"));
    }
    return absl::OkStatus();
  }
  if (absl::StrContains(host, '*')) {
    return Problem(
        source, path,
        absl::StrCat("'", pattern,
                     "': '*' may only be the whole host or the whole "
                     "left-most label (*.example.com)"));
  }
  if (!IsIpAddress(host) && !IsDnsName(host)) {
    return Problem(
        source, path,
        absl::StrCat("'", pattern, "' is not a DNS name or IP address"));
  }
  return absl::OkStatus();
}

absl::Status CheckTtl(absl::string_view source, const std::string& path,
                      const google::protobuf::Duration& ttl) {
  if (ttl.seconds() < 0 || ttl.nanos() < 0) {
    return Problem(source, path, "must not be negative");
  }
  if (ttl.seconds() > kMaxCacheTtlSeconds) {
    return Problem(source, path,
                   absl::StrCat("must be at most ", kMaxCacheTtlSeconds, "s"));
  }
  return absl::OkStatus();
}

absl::Status CheckPins(
    absl::string_view source, const std::string& path,
    const google::protobuf::RepeatedPtrField<std::string>& pins) {
  for (int i = 0; i < pins.size(); ++i) {
    auto pin = DecodeSpkiPin(pins[i]);
    if (!pin.ok()) {
      return Problem(source, absl::StrCat(path, "[", i, "]"),
                     pin.status().message());
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSelectors(
    absl::string_view source, const std::string& path,
    const google::protobuf::RepeatedPtrField<std::string>& selectors) {
  for (int i = 0; i < selectors.size(); ++i) {
    if (auto problem = SelectorProblem(selectors[i])) {
      return Problem(source, absl::StrCat(path, "[", i, "]"),
                     absl::StrCat("'", selectors[i],
                                  "' is not an identity selector: ", *problem));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTrustBundleNames(
    absl::string_view source, const std::string& path,
    const google::protobuf::RepeatedPtrField<std::string>& names,
    const std::set<std::string>& bundles) {
  for (int i = 0; i < names.size(); ++i) {
    if (bundles.count(names[i]) == 0) {
      return Problem(
          source, absl::StrCat(path, "[", i, "]"),
          absl::StrCat("no trust bundle is named '", names[i], "'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateServerValidation(const ServerValidation& validation,
                                      absl::string_view source,
                                      const std::string& path) {
  if (validation.max_depth() != 0 &&
      (validation.max_depth() < 2 || validation.max_depth() > 20)) {
    return Problem(source, path + ".max_depth", "must be between 2 and 20");
  }
  if (validation.has_clock_skew()) {
    absl::Status skew =
        CheckTtl(source, path + ".clock_skew", validation.clock_skew());
    if (!skew.ok()) return skew;
  }
  const auto& strength = validation.key_strength();
  if (strength.min_rsa_bits() != 0 &&
      (strength.min_rsa_bits() < 1024 || strength.min_rsa_bits() > 16384)) {
    return Problem(source, path + ".key_strength.min_rsa_bits",
                   "must be between 1024 and 16384");
  }
  for (int i = 0; i < strength.allowed_curves_size(); ++i) {
    const std::string& curve = strength.allowed_curves(i);
    if (curve != "P-224" && curve != "P-256" && curve != "P-384" &&
        curve != "P-521") {
      return Problem(
          source, absl::StrCat(path, ".key_strength.allowed_curves[", i, "]"),
          absl::StrCat("'", curve,
                       "' is not one of P-224, P-256, P-384, P-521"));
    }
  }
  return CheckPins(source, path + ".spki_pins", validation.spki_pins());
}

absl::Status ValidateRule(const BrokerConfig& config, absl::string_view source,
                          size_t index, const std::set<std::string>& bundles,
                          const std::set<std::string>& certificates) {
  const auto& rule = config.rules(index);
  const std::string path = absl::StrCat("rules[", index, "]");
  if (!rule.has_match() || rule.match().hosts().empty()) {
    return Problem(source, path + ".match.hosts",
                   "required: at least one host");
  }
  for (int i = 0; i < rule.match().hosts_size(); ++i) {
    absl::Status status =
        CheckHostPattern(source, absl::StrCat(path, ".match.hosts[", i, "]"),
                         rule.match().hosts(i));
    if (!status.ok()) return status;
  }
  for (int i = 0; i < rule.match().ports_size(); ++i) {
    uint32_t port = rule.match().ports(i);
    if (port == 0 || port > 65535) {
      return Problem(source, absl::StrCat(path, ".match.ports[", i, "]"),
                     absl::StrCat(port, " is not a port (1-65535)"));
    }
  }
  for (int i = 0; i < rule.match().schemes_size(); ++i) {
    const std::string& scheme = rule.match().schemes(i);
    bool ok = !scheme.empty();
    for (char c : scheme) {
      ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                  c == '+' || c == '-' || c == '.');
    }
    if (!ok) {
      return Problem(source, absl::StrCat(path, ".match.schemes[", i, "]"),
                     absl::StrCat("'", scheme, "' is not a URL scheme"));
    }
  }
  CB_RETURN_IF_ERROR(
      CheckSelectors(source, path + ".match.agents", rule.match().agents()));
  if (!rule.client_certificate().empty() &&
      certificates.count(rule.client_certificate()) == 0) {
    return Problem(source, path + ".client_certificate",
                   absl::StrCat("no certificate has id '",
                                rule.client_certificate(), "'"));
  }
  const auto& validation = rule.server_validation();
  CB_RETURN_IF_ERROR(
      CheckTrustBundleNames(source, path + ".server_validation.trust_bundles",
                            validation.trust_bundles(), bundles));
  if (rule.action() == v1::Rule::DENY) {
    if (!rule.client_certificate().empty()) {
      return Problem(source, path + ".client_certificate",
                     "a DENY rule gives no client certificate");
    }
    return absl::OkStatus();
  }
  absl::Status options =
      ValidateServerValidation(validation, source, path + ".server_validation");
  if (!options.ok()) return options;
  if (validation.mode() != ServerValidation::AGENT &&
      validation.trust_bundles().empty()) {
    return Problem(source, path + ".server_validation.trust_bundles",
                   "required unless mode is AGENT: the broker needs roots to "
                   "validate against");
  }
  if (rule.has_cache_ttl()) {
    return CheckTtl(source, path + ".cache_ttl", rule.cache_ttl());
  }
  return absl::OkStatus();
}

}  // namespace internal

using internal::CheckName;
using internal::CheckNewName;
using internal::CheckPins;
using internal::CheckTtl;
using internal::Problem;
using internal::ValidateRule;

bool IsValidName(absl::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

namespace internal {

absl::Status CheckKeyPairSource(absl::string_view source,
                                const std::string& path,
                                const std::string& chain_pem_file,
                                const std::string& key_pem_file,
                                const std::string& secret_dir) {
  if (!secret_dir.empty()) {
    if (chain_pem_file.empty() && key_pem_file.empty()) {
      return absl::OkStatus();
    }
    return Problem(source, path + ".secret_dir",
                   "give either secret_dir or chain_pem_file and "
                   "key_pem_file, not both");
  }
  if (chain_pem_file.empty()) {
    return Problem(source, path + ".chain_pem_file",
                   "required (or secret_dir)");
  }
  if (key_pem_file.empty()) {
    return Problem(source, path + ".key_pem_file", "required (or secret_dir)");
  }
  return absl::OkStatus();
}

}  // namespace internal

absl::Status ValidateConfig(const BrokerConfig& config,
                            absl::string_view source,
                            const StoredNames& stored) {
  std::set<std::string> bundles = stored.trust_bundles;
  for (int i = 0; i < config.trust_bundles_size(); ++i) {
    const auto& bundle = config.trust_bundles(i);
    const std::string path = absl::StrCat("trust_bundles[", i, "]");
    absl::Status status =
        CheckNewName(source, path + ".name", bundle.name(),
                     stored.trust_bundles, "trustBundles/", bundles);
    if (!status.ok()) return status;
    if (bundle.source_case() == v1::TrustBundle::SOURCE_NOT_SET) {
      return Problem(source, path,
                     "one of pem_file, pem or secret_dir is required");
    }
  }
  std::set<std::string> certificates = stored.certificates;
  for (int i = 0; i < config.certificates_size(); ++i) {
    const auto& certificate = config.certificates(i);
    const std::string path = absl::StrCat("certificates[", i, "]");
    absl::Status status =
        CheckNewName(source, path + ".id", certificate.id(),
                     stored.certificates, "certificates/", certificates);
    if (!status.ok()) return status;
    status = internal::CheckKeyPairSource(
        source, path, certificate.chain_pem_file(), certificate.key_pem_file(),
        certificate.secret_dir());
    if (!status.ok()) return status;
  }
  std::set<std::string> crls;
  for (int i = 0; i < config.crls_size(); ++i) {
    const std::string path = absl::StrCat("crls[", i, "]");
    absl::Status status =
        CheckName(source, path + ".name", config.crls(i).name(), crls);
    if (!status.ok()) return status;
    if (config.crls(i).source_case() == v1::Crl::SOURCE_NOT_SET) {
      return Problem(source, path, "one of file or pem is required");
    }
  }
  absl::Status pins =
      CheckPins(source, "deny.spki_pins", config.deny().spki_pins());
  if (!pins.ok()) return pins;
  for (int i = 0; i < config.deny().certificate_fingerprints_size(); ++i) {
    auto fingerprint =
        DecodeFingerprint(config.deny().certificate_fingerprints(i));
    if (!fingerprint.ok()) {
      return Problem(source,
                     absl::StrCat("deny.certificate_fingerprints[", i, "]"),
                     fingerprint.status().message());
    }
  }
  std::set<std::string> rules;
  for (int i = 0; i < config.rules_size(); ++i) {
    absl::Status status = CheckName(source, absl::StrCat("rules[", i, "].name"),
                                    config.rules(i).name(), rules);
    if (!status.ok()) return status;
    status = ValidateRule(config, source, i, bundles, certificates);
    if (!status.ok()) return status;
  }
  if (config.has_default_cache_ttl()) {
    absl::Status status =
        CheckTtl(source, "default_cache_ttl", config.default_cache_ttl());
    if (!status.ok()) return status;
  }
  const auto& limits = config.limits();
  if (limits.max_chain_length() > kMaxMaxChainLength) {
    return Problem(source, "limits.max_chain_length",
                   absl::StrCat("must be at most ", kMaxMaxChainLength));
  }
  if (limits.max_message_bytes() != 0 &&
      (limits.max_message_bytes() < kMinMaxMessageBytes ||
       limits.max_message_bytes() > kMaxMaxMessageBytes)) {
    return Problem(source, "limits.max_message_bytes",
                   absl::StrCat("must be between ", kMinMaxMessageBytes,
                                " and ", kMaxMaxMessageBytes));
  }
  if (limits.max_certificate_bytes() != 0 &&
      (limits.max_certificate_bytes() < kMinMaxCertificateBytes ||
       limits.max_certificate_bytes() > kMaxMaxCertificateBytes)) {
    return Problem(source, "limits.max_certificate_bytes",
                   absl::StrCat("must be between ", kMinMaxCertificateBytes,
                                " and ", kMaxMaxCertificateBytes));
  }
  CB_RETURN_IF_ERROR(internal::ValidateAccess(config.access(), source, bundles));
  return internal::ValidateInboundRules(config, source, bundles);
}

}  // namespace certbroker::config

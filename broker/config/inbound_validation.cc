// Validation of the `inbound_rules` section: what an agent accepting TLS
// connections is told to ask of clients, and how their chains are judged.
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/config/config_loader.h"
#include "broker/config/config_problem.h"

namespace certbroker::config {
namespace internal {
namespace {

absl::Status ValidateInboundRule(const v1::InboundRule& rule,
                                 absl::string_view source,
                                 const std::string& path,
                                 const std::set<std::string>& bundles) {
  const v1::InboundMatch& match = rule.match();
  if (match.server_names().empty()) {
    return Problem(source, path + ".match.server_names",
                   "required: at least one server name pattern (\"*\" for "
                   "any, and for connections without SNI)");
  }
  for (int i = 0; i < match.server_names_size(); ++i) {
    CB_RETURN_IF_ERROR(CheckHostPattern(
        source, absl::StrCat(path, ".match.server_names[", i, "]"),
        match.server_names(i)));
  }
  for (int i = 0; i < match.listeners_size(); ++i) {
    if (!IsListenerName(match.listeners(i))) {
      return Problem(source, absl::StrCat(path, ".match.listeners[", i, "]"),
                     absl::StrCat("'", match.listeners(i),
                                  "' is not a listener name (1-128 letters, "
                                  "digits, '.', '_', ':', '-')"));
    }
  }
  CB_RETURN_IF_ERROR(
      CheckSelectors(source, path + ".match.agents", match.agents()));
  const v1::ServerValidation& validation = rule.peer_validation();
  CB_RETURN_IF_ERROR(
      CheckTrustBundleNames(source, path + ".peer_validation.trust_bundles",
                            validation.trust_bundles(), bundles));
  CB_RETURN_IF_ERROR(ValidateServerValidation(validation, source,
                                              path + ".peer_validation"));
  if (validation.mode() != v1::ServerValidation::MODE_UNSPECIFIED) {
    return Problem(source, path + ".peer_validation.mode",
                   "does not apply to inbound rules: the broker judges "
                   "client chains itself");
  }
  if (validation.allow_common_name_fallback()) {
    return Problem(source, path + ".peer_validation.allow_common_name_fallback",
                   "does not apply to inbound rules: client certificates "
                   "are not checked against a host name");
  }
  CB_RETURN_IF_ERROR(
      CheckSelectors(source, path + ".allowed_peers", rule.allowed_peers()));
  CB_RETURN_IF_ERROR(
      ValidateIdentitySource(rule.identity(), source, path + ".identity"));
  if (rule.has_cache_ttl()) {
    CB_RETURN_IF_ERROR(CheckTtl(source, path + ".cache_ttl", rule.cache_ttl()));
  }
  if (rule.client_certificate() == ::certbroker::v1::IGNORE) {
    return absl::OkStatus();
  }
  if (validation.trust_bundles().empty()) {
    return Problem(source, path + ".peer_validation.trust_bundles",
                   "required unless client_certificate is IGNORE: the broker "
                   "needs the CAs that issue client certificates");
  }
  if (rule.allowed_peers().empty()) {
    return Problem(source, path + ".allowed_peers",
                   "required unless client_certificate is IGNORE: an empty "
                   "list would allow no one (\"*\" allows any peer with a "
                   "good chain)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateInboundRules(const v1::BrokerConfig& config,
                                  absl::string_view source,
                                  const std::set<std::string>& bundles) {
  std::set<std::string> names;
  for (int i = 0; i < config.inbound_rules_size(); ++i) {
    const std::string path = absl::StrCat("inbound_rules[", i, "]");
    CB_RETURN_IF_ERROR(
        CheckName(source, path + ".name", config.inbound_rules(i).name(), names));
    CB_RETURN_IF_ERROR(
        ValidateInboundRule(config.inbound_rules(i), source, path, bundles));
  }
  return absl::OkStatus();
}

}  // namespace internal

bool IsListenerName(absl::string_view name) {
  constexpr size_t kMaxListenerNameBytes = 128;
  if (name.empty() || name.size() > kMaxListenerNameBytes) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace certbroker::config

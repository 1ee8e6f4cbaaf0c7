// Compiling and finding inbound rules.
#include "broker/policy/inbound_rules.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "broker/common/host_name.h"
#include "broker/common/proto_duration.h"
#include "broker/common/status_macros.h"
#include "broker/policy/chain_policy_compiler.h"

namespace certbroker::policy {
absl::StatusOr<InboundRules> InboundRules::Compile(
    const config::BrokerConfig& config, absl::string_view source,
    const std::map<std::string, x509::CertificateList>& bundles,
    const TrustStoreFor& store_for, absl::Duration default_cache_ttl) {
  InboundRules compiled;
  compiled.matches_.reserve(config.inbound_rules_size());
  compiled.rules_.reserve(config.inbound_rules_size());
  for (int i = 0; i < config.inbound_rules_size(); ++i) {
    const config::v1::InboundRule& rule = config.inbound_rules(i);
    const std::string where = absl::StrCat(source, ": inbound_rules[", i, "]");
    CompiledRule match;
    match.name = rule.name();
    for (const std::string& name : rule.match().server_names()) {
      match.hosts.push_back(NormalizeHost(name));
    }
    for (const std::string& listener : rule.match().listeners()) {
      match.schemes.push_back(absl::AsciiStrToLower(listener));
    }
    match.agents.assign(rule.match().agents().begin(),
                        rule.match().agents().end());
    CB_ASSIGN_OR_RETURN(
        match.chain_policy,
        CompileChainPolicy(rule.peer_validation(), config.deny(),
                           where + ".peer_validation"));
    match.chain_policy.purpose = validation::KeyPurpose::kClientAuth;
    std::vector<std::string> names(
        rule.peer_validation().trust_bundles().begin(),
        rule.peer_validation().trust_bundles().end());
    InboundRule inbound;
    if (!names.empty()) {
      CB_ASSIGN_OR_RETURN(match.trust, store_for(names));
      std::set<std::string> seen;
      for (const std::string& name : names) {
        for (const auto& root : bundles.at(name)) {
          std::string subject =
              x509::NameToDer(X509_get_subject_name(root.get()));
          if (!subject.empty() && seen.insert(subject).second) {
            inbound.ca_names.push_back(std::move(subject));
          }
        }
      }
    }
    match.cache_ttl =
        rule.has_cache_ttl() ? ToDuration(rule.cache_ttl()) : default_cache_ttl;
    inbound.mode = rule.client_certificate() ==
                           ::certbroker::v1::CLIENT_CERTIFICATE_MODE_UNSPECIFIED
                       ? ::certbroker::v1::REQUIRE
                       : rule.client_certificate();
    inbound.allowed_peers.assign(rule.allowed_peers().begin(),
                                 rule.allowed_peers().end());
    inbound.namer = std::make_shared<auth::CertificateNamer>(rule.identity());
    compiled.matches_.push_back(std::move(match));
    compiled.rules_.push_back(std::move(inbound));
  }
  for (size_t i = 0; i < compiled.rules_.size(); ++i) {
    compiled.rules_[i].match = &compiled.matches_[i];
  }
  auto index = RuleIndex::Build(compiled.matches_);
  if (!index.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": inbound_rules: ", index.status().message()));
  }
  compiled.index_ = std::move(index).value();
  return compiled;
}

const InboundRule* InboundRules::Find(absl::string_view listener,
                                      absl::string_view sni, bool sni_is_ip,
                                      absl::string_view agent) const {
  ResolvedTarget target;
  target.scheme = absl::AsciiStrToLower(listener);
  target.host = std::string(sni);
  target.host_is_ip = sni_is_ip;
  target.agent = std::string(agent);
  const CompiledRule* match = index_.Find(target);
  if (match == nullptr) return nullptr;
  return &rules_[static_cast<size_t>(match - matches_.data())];
}

}  // namespace certbroker::policy

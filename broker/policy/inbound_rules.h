// InboundRules: the compiled inbound_rules of a configuration, for agents
// that accept TLS connections: per listener, SNI and calling agent, whether
// to ask the client for a certificate, which CA names to send, how to judge
// its chain and which peer identities to accept. Rules are indexed like
// outbound rules (server names as hosts, listeners as schemes), so the most
// specific wins and ties are a load error.
#ifndef CERTBROKER_BROKER_POLICY_INBOUND_RULES_H_
#define CERTBROKER_BROKER_POLICY_INBOUND_RULES_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/auth/certificate_namer.h"
#include "broker/policy/rule_index.h"
#include "broker/x509/certificate.h"
#include "broker/config/config_loader.h"

namespace certbroker::policy {

// InboundRule is one compiled inbound rule.
struct InboundRule {
  // match holds the name, the match (server names as `hosts`, lowercase
  // listener names as `schemes`, agents), the trust store, the chain policy
  // (purpose clientAuth) and the cache TTL.
  const CompiledRule* match = nullptr;
  ::certbroker::v1::ClientCertificateMode mode = ::certbroker::v1::REQUIRE;
  // ca_names are the DER subjects of the trusted roots, deduplicated.
  std::vector<std::string> ca_names;
  std::vector<std::string> allowed_peers;  // Identity selectors.
  std::shared_ptr<const auth::CertificateNamer> namer;
};

// TrustStoreFor returns the (shared) trust store of a list of bundle names.
using TrustStoreFor =
    std::function<absl::StatusOr<std::shared_ptr<const validation::TrustStore>>(
        const std::vector<std::string>&)>;

class InboundRules {
 public:
  InboundRules() = default;
  InboundRules(InboundRules&&) = default;
  InboundRules& operator=(InboundRules&&) = default;

  // Compile builds the rules of `config` (already validated). `bundles`
  // are the trust bundles by name; errors are prefixed by `source`.
  static absl::StatusOr<InboundRules> Compile(
      const config::BrokerConfig& config, absl::string_view source,
      const std::map<std::string, x509::CertificateList>& bundles,
      const TrustStoreFor& store_for, absl::Duration default_cache_ttl);

  // Find returns the most specific rule for a connection on `listener`
  // with `sni` (normalized; empty without SNI) that `agent` accepted, or
  // null.
  const InboundRule* Find(absl::string_view listener, absl::string_view sni,
                          bool sni_is_ip, absl::string_view agent) const;

  size_t size() const { return rules_.size(); }

 private:
  std::vector<CompiledRule> matches_;  // Never resized after index_.
  std::vector<InboundRule> rules_;     // rules_[i].match == &matches_[i].
  RuleIndex index_;
};

}  // namespace certbroker::policy

#endif  // CERTBROKER_BROKER_POLICY_INBOUND_RULES_H_

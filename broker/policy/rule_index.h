// RuleIndex finds the most specific rule for a target without scanning the
// rules: an exact-host hash map, a hash map of wildcard suffixes probed once
// per label of the host (longest suffix first), and the catch-all "*".
// Built once per policy version; two rules equally specific for some target
// are a build error naming both.
#ifndef CERTBROKER_BROKER_POLICY_RULE_INDEX_H_
#define CERTBROKER_BROKER_POLICY_RULE_INDEX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/policy/client_certificate.h"
#include "broker/policy/target.h"
#include "broker/validation/chain_policy.h"
#include "broker/validation/trust_store.h"
#include "certbroker/v1/broker.pb.h"

namespace certbroker::policy {

// CompiledRule is one configuration rule, resolved against the loaded
// certificates and trust stores.
struct CompiledRule {
  std::string name;
  std::vector<std::string> hosts;    // Normalized patterns.
  std::vector<uint32_t> ports;       // Empty: any.
  std::vector<std::string> schemes;  // Lowercase; empty: any.
  std::vector<std::string> agents;   // Identity selectors; empty: any caller.
  std::shared_ptr<const ClientCertificate> client_certificate;  // May be null.
  ::certbroker::v1::ValidationMode mode = ::certbroker::v1::BROKER;
  std::shared_ptr<const validation::TrustStore>
      trust;  // Null only for AGENT or DENY.
  validation::ChainPolicy chain_policy;
  bool deny = false;  // A DENY rule: every chain rejected, no certificate.
  absl::Duration cache_ttl;

  // Matches is true when the rule's ports, schemes and agents admit
  // `target`.
  bool Matches(const ResolvedTarget& target) const;
};

class RuleIndex {
 public:
  RuleIndex() = default;
  RuleIndex(RuleIndex&&) = default;
  RuleIndex& operator=(RuleIndex&&) = default;

  // Build indexes `rules`, which must outlive the index and not move.
  // Fails with INVALID_ARGUMENT naming both rules when two are equally
  // specific for some target.
  static absl::StatusOr<RuleIndex> Build(
      const std::vector<CompiledRule>& rules);

  // Find returns the most specific rule for `target`, or null.
  const CompiledRule* Find(const ResolvedTarget& target) const;

 private:
  // Each bucket holds the rules naming one host pattern, most specific
  // (ports named, then schemes named) first.
  using Bucket = std::vector<const CompiledRule*>;

  static const CompiledRule* FindInBucket(const Bucket& bucket,
                                          const ResolvedTarget& target);

  absl::flat_hash_map<std::string, Bucket> exact_;
  absl::flat_hash_map<std::string, Bucket> wildcard_;  // Keyed by suffix.
  Bucket any_;
};

}  // namespace certbroker::policy

#endif  // CERTBROKER_BROKER_POLICY_RULE_INDEX_H_

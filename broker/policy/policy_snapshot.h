// PolicySnapshot: one configuration compiled into what RPCs read — rules and
// their index, trust stores, loaded client certificates, limits, and a
// version. Immutable once built and shared by std::shared_ptr, so readers
// never wait on a reload; CurrentPolicy swaps snapshots atomically.
#ifndef CERTBROKER_BROKER_POLICY_POLICY_SNAPSHOT_H_
#define CERTBROKER_BROKER_POLICY_POLICY_SNAPSHOT_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/auth/access_policy.h"
#include "broker/config/config_loader.h"
#include "broker/policy/client_certificate.h"
#include "broker/policy/inbound_rules.h"
#include "broker/policy/rule_index.h"

namespace certbroker::policy {

// StoredObjects are the certificates, trust bundles and CRLs the broker's
// store holds, already opened. A configuration's rules may name them like
// the configuration's own.
struct StoredObjects {
  std::map<std::string, std::shared_ptr<const ClientCertificate>> certificates;
  std::map<std::string, x509::CertificateList> trust_bundles;
  std::vector<bssl::UniquePtr<X509_CRL>> crls;
};

// CompileOptions adjust CompilePolicy.
struct CompileOptions {
  // stored, when set, adds the store's objects.
  const StoredObjects* stored = nullptr;
  // version, when set, is the snapshot's version; otherwise the version is
  // the digest of the configuration and the files it names.
  std::string version;
};

class PolicySnapshot {
 public:
  PolicySnapshot(const PolicySnapshot&) = delete;
  PolicySnapshot& operator=(const PolicySnapshot&) = delete;

  // version is opaque and changes whenever the configuration or any file it
  // names changes (a digest of both).
  const std::string& version() const { return version_; }

  // set_version replaces the version; only for the snapshot's builder,
  // before the snapshot is published.
  void set_version(std::string version) { version_ = std::move(version); }

  // files_digest is the hex SHA-256 of the configuration and the contents
  // of every file it named, as read: it changes when any of them does.
  const std::string& files_digest() const { return files_digest_; }

  // watched_dirs are the secret directories the policy reads (resolved
  // paths): a change in one of them should reload it.
  const std::vector<std::string>& watched_dirs() const { return watched_dirs_; }

  // certificates are the client certificates by id, configured and stored.
  const std::map<std::string, std::shared_ptr<const ClientCertificate>>&
  certificates() const {
    return certificates_;
  }

  // rules_using_certificate and rules_using_bundle name the rules that use
  // a certificate or trust bundle, for refusing deletions still in use.
  std::vector<std::string> RulesUsingCertificate(absl::string_view id) const;
  std::vector<std::string> RulesUsingBundle(absl::string_view name) const;

  // FindRule returns the most specific rule for `target`, or null.
  const CompiledRule* FindRule(const ResolvedTarget& target) const {
    return index_.Find(target);
  }

  // inbound_rules are the rules for agents accepting TLS connections.
  const InboundRules& inbound_rules() const { return inbound_rules_; }

  // crls are every CRL the broker holds.
  const std::vector<bssl::UniquePtr<X509_CRL>>& crls() const { return crls_; }

  // verdict_cache is the configured bound of the verdict cache.
  const ::certbroker::config::v1::VerdictCache& verdict_cache() const {
    return verdict_cache_;
  }

  uint32_t max_chain_length() const { return max_chain_length_; }
  uint32_t max_message_bytes() const { return max_message_bytes_; }
  uint32_t max_certificate_bytes() const { return max_certificate_bytes_; }

  // access names callers, gives them roles and bounds what they may ask.
  const auth::AccessPolicy& access() const { return access_; }
  // client_ca_store trusts the CAs of access.tls.client_ca_bundles; null
  // without access.tls.
  const std::shared_ptr<const validation::TrustStore>& client_ca_store() const {
    return client_ca_store_;
  }
  // access_config is the access section as configured.
  const ::certbroker::config::v1::Access& access_config() const {
    return access_config_;
  }
  absl::Duration default_cache_ttl() const { return default_cache_ttl_; }
  size_t rule_count() const { return rules_.size(); }

 private:
  friend absl::StatusOr<std::shared_ptr<PolicySnapshot>> CompilePolicy(
      const config::BrokerConfig&, const std::string&, absl::string_view,
      const CompileOptions&);
  PolicySnapshot() = default;

  std::string version_;
  std::string files_digest_;
  std::vector<std::string> watched_dirs_;
  std::map<std::string, std::shared_ptr<const ClientCertificate>> certificates_;
  std::vector<CompiledRule> rules_;  // Never resized after index_ is built.
  RuleIndex index_;
  InboundRules inbound_rules_;
  std::vector<bssl::UniquePtr<X509_CRL>> crls_;
  ::certbroker::config::v1::VerdictCache verdict_cache_;
  uint32_t max_chain_length_ = 10;
  uint32_t max_message_bytes_ = 1 << 20;
  uint32_t max_certificate_bytes_ = 16384;
  auth::AccessPolicy access_;
  ::certbroker::config::v1::Access access_config_;
  std::shared_ptr<const validation::TrustStore> client_ca_store_;
  absl::Duration default_cache_ttl_ = absl::Seconds(300);
};

// CheckTrustBundleRoots fails with INVALID_ARGUMENT, prefixed by `where`,
// when a certificate of a trust bundle is neither a self-signed root nor a
// CA certificate (an intermediate CA may be trusted on its own: paths then
// end at it).
absl::Status CheckTrustBundleRoots(const x509::CertificateList& roots,
                                   absl::string_view where);

// CompilePolicy validates `config` (ValidateConfig, with the stored names)
// and builds a snapshot, reading the PEM files it names (relative paths are
// relative to `base_dir`; when `base_dir` is empty, relative paths are
// refused). Every error names `source` and the field path: an unreadable
// file, an empty trust bundle, a key that does not match its certificate,
// equally specific rules.
absl::StatusOr<std::shared_ptr<PolicySnapshot>> CompilePolicy(
    const config::BrokerConfig& config, const std::string& base_dir,
    absl::string_view source, const CompileOptions& options = {});

// LoadPolicyFile parses, validates and compiles the configuration file at
// `path`.
absl::StatusOr<std::shared_ptr<const PolicySnapshot>> LoadPolicyFile(
    const std::string& path);

// CurrentPolicy holds the snapshot in force. Get never waits for Set
// longer than a pointer copy. (A reader lock rather than std::atomic_load:
// libstdc++ implements that with a small pool of exclusive mutexes, on
// which every RPC thread queued.) Subscribers hear of every Set.
class CurrentPolicy {
 public:
  explicit CurrentPolicy(std::shared_ptr<const PolicySnapshot> initial)
      : snapshot_(std::move(initial)) {}

  std::shared_ptr<const PolicySnapshot> Get() const {
    absl::ReaderMutexLock lock(&mu_);
    return snapshot_;
  }

  // Set publishes `next`, then calls every subscriber (on this thread).
  void Set(std::shared_ptr<const PolicySnapshot> next);

  // Subscribe makes `changed` be called after every Set until Unsubscribe.
  // It must be quick and must not subscribe or unsubscribe.
  int64_t Subscribe(std::function<void()> changed) const;
  // Unsubscribe ends a subscription; once it returns, `changed` is not
  // running and will not run again.
  void Unsubscribe(int64_t subscription) const;

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const PolicySnapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  // Subscribing is not a change of the policy: these are mutable.
  mutable absl::Mutex subscribers_mu_;
  mutable std::map<int64_t, std::function<void()>> subscribers_
      ABSL_GUARDED_BY(subscribers_mu_);
  mutable int64_t next_subscription_ ABSL_GUARDED_BY(subscribers_mu_) = 1;
};

}  // namespace certbroker::policy

#endif  // CERTBROKER_BROKER_POLICY_POLICY_SNAPSHOT_H_

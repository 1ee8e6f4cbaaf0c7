// AnswerCache: the BrokerClient's local cache of broker answers that say
// how long they may be reused (`cache_ttl`, or for GetClientCertificate the
// TTL ClientCertificateTtl computes), bounded by a count of entries and
// evicting the least recently used. Entries holding a key handle can also
// be dropped by that handle (when Sign says it is no longer good).
//
// The policy-version rule: the cache remembers the policy_version of the
// latest broker answer it was shown (any method's, cached or not). When an
// answer carries a different, non-empty version, every entry is dropped:
// entries only ever hold answers of the remembered version, so no lookup
// returns an answer of a policy the broker has since replaced. Versions are
// opaque (compared for equality only), so an answer of the older version
// arriving late from a call still in flight also empties the cache; that
// costs a few misses, never a stale answer.
//
// Keys are built by the Key* functions below from the request fields the
// broker's answer depends on, and hashed with SHA-256 so that two requests
// share an entry only when those fields are equal.
#ifndef CERTBROKER_AGENTS_SDK_ANSWER_CACHE_H_
#define CERTBROKER_AGENTS_SDK_ANSWER_CACHE_H_

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "certbroker/agent/broker_client.h"
#include "certbroker/v1/broker.pb.h"
#include "google/protobuf/message.h"

namespace certbroker::agent {

// The cache keys. Targets are normalized first (host lowercased without a
// trailing dot, port 0 written as 443 when there is no URL, SNI
// lowercased), as the broker matches them.
std::string KeyOf(const v1::GetCertificatePolicyRequest& request);
std::string KeyOf(const v1::OnServerCertificateRequest& request);
std::string KeyOf(const v1::GetNegotiationPolicyRequest& request);
std::string KeyOf(const v1::OnClientCertificateRequest& request);
// GetClientCertificate: the normalized target, the acceptable issuers and
// the signature algorithms (in the order given).
std::string KeyOf(const v1::GetClientCertificateRequest& request);

// ClientCertificateTtl is how long a GetClientCertificate answer received
// at `now` may be served from the cache: the shortest of `limit` (the
// client's certificate_cache_ttl), the time left until the answer's
// refresh_after and, for an answer with a key handle, the time left until
// `handle_margin` before the handle expires. It is zero (do not cache)
// when any of these is not positive: an answer already past refresh_after,
// a handle with less than `handle_margin` left, or one of those timestamps
// missing (read as 1970).
absl::Duration ClientCertificateTtl(
    const v1::GetClientCertificateResponse& answer, absl::Duration limit,
    absl::Duration handle_margin, absl::Time now);

class AnswerCache {
 public:
  // AnswerCache holds at most `max_entries` answers; 0 disables it (every
  // Lookup misses, Insert does nothing).
  explicit AnswerCache(size_t max_entries);

  // Lookup returns the answer stored under `key` that has not expired, or
  // null; counts a hit or a miss.
  std::shared_ptr<const google::protobuf::Message> Lookup(
      const std::string& key);

  // ObserveVersion applies the policy-version rule for an answer of
  // `policy_version` (empty: no version, ignored).
  void ObserveVersion(const std::string& policy_version);

  // Insert observes `policy_version`, then stores `answer` under `key` for
  // `ttl` (not at all when ttl is not positive or the cache is disabled).
  // A non-empty `key_handle` is the key handle the answer carries, for
  // DropKeyHandle.
  void Insert(const std::string& key,
              std::shared_ptr<const google::protobuf::Message> answer,
              const std::string& policy_version, absl::Duration ttl,
              const std::string& key_handle = "");

  // DropKeyHandle drops every entry that carries `key_handle` (Sign
  // refused the handle: the next lookups of their keys miss). The broker
  // may give the same handle in several answers (same certificate, target
  // and expiry), such as for one target with other signature_algorithms.
  // True when an entry was dropped.
  bool DropKeyHandle(const std::string& key_handle);

  // Clear drops every entry.
  void Clear();

  // stats counts hits, misses and the entries held now.
  CacheStats stats() const;

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const google::protobuf::Message> answer;
    absl::Time expires;
    std::string key_handle;  // Empty: none.
  };
  void ClearLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ObserveVersionLocked(const std::string& policy_version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // EraseLocked removes one entry from the list and both indexes.
  void EraseLocked(std::list<Entry>::iterator entry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_entries_;
  mutable absl::Mutex mu_;
  std::string policy_version_ ABSL_GUARDED_BY(mu_);
  // Most recently used first.
  std::list<Entry> entries_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::list<Entry>::iterator> index_
      ABSL_GUARDED_BY(mu_);
  // The entries that carry a key handle, by handle.
  std::unordered_multimap<std::string, std::list<Entry>::iterator> by_handle_
      ABSL_GUARDED_BY(mu_);
  uint64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t misses_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace certbroker::agent

#endif  // CERTBROKER_AGENTS_SDK_ANSWER_CACHE_H_

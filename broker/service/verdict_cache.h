// VerdictCache: a bounded, sharded LRU of server-certificate verdicts. The
// key digests everything a verdict depends on (policy version, rule, server
// name, the chain's exact bytes, the agent's own result), so a new policy
// version makes old entries unreachable; they age out. An entry is never
// served past the expiry it was stored with.
#ifndef CERTBROKER_BROKER_SERVICE_VERDICT_CACHE_H_
#define CERTBROKER_BROKER_SERVICE_VERDICT_CACHE_H_

#include <array>
#include <atomic>
#include <list>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "certbroker/v1/broker.pb.h"

namespace certbroker::service {

// CachedVerdict is what a cache hit answers with.
struct CachedVerdict {
  ::certbroker::v1::Reason reason = ::certbroker::v1::REASON_UNSPECIFIED;
  std::string detail;
  std::string leaf_fingerprint;  // For the audit of answers by digest.
  absl::Time expires;            // Never served at or after this time.
};

class VerdictCache {
 public:
  // ChainDigest is the digest by which agents may name `chain` later: see
  // OnServerCertificateResponse.certificate_chain_sha256.
  static std::string ChainDigest(
      const google::protobuf::RepeatedPtrField<std::string>& chain);

  // Key digests the inputs of an OnServerCertificate decision; the chain
  // enters as its ChainDigest.
  static std::string Key(
      absl::string_view policy_version, absl::string_view rule,
      absl::string_view server_name, absl::string_view chain_digest,
      const ::certbroker::v1::OnServerCertificateRequest& request);

  // A cache of at most `max_entries` entries and about `max_bytes` bytes;
  // zero entries disables it.
  VerdictCache(size_t max_entries, size_t max_bytes);

  // Lookup returns the entry for `key` if it has not expired at `now`.
  std::optional<CachedVerdict> Lookup(const std::string& key, absl::Time now);

  // Insert stores `verdict` under `key` at `now`, evicting the least
  // recently used entries beyond the bounds. Recency is approximate: a hit
  // moves an entry to the front only when it was last moved more than a
  // second before (see Entry::promoted_us).
  void Insert(const std::string& key, CachedVerdict verdict,
              absl::Time now = absl::Now());

  // Counters for tests, benchmarks and status.
  size_t hits() const { return hits_.load(std::memory_order_relaxed); }
  size_t misses() const { return misses_.load(std::memory_order_relaxed); }
  size_t size() const;

 private:
  static constexpr size_t kShards = 16;

  struct Entry {
    Entry(std::string key, CachedVerdict verdict, size_t bytes,
          int64_t promoted_us)
        : key(std::move(key)),
          verdict(std::move(verdict)),
          bytes(bytes),
          promoted_us(promoted_us) {}
    std::string key;
    CachedVerdict verdict;
    size_t bytes;
    // When the entry was last moved to the front (Unix microseconds). A hit
    // moves it again, under the exclusive lock, only when that was more
    // than kPromoteInterval ago; every other hit takes only the reader
    // lock, so that threads hitting one hot entry do not queue.
    std::atomic<int64_t> promoted_us;
  };

  struct Shard {
    mutable absl::Mutex mu;
    std::list<Entry> entries ABSL_GUARDED_BY(mu);  // Most recently used first.
    absl::flat_hash_map<std::string, std::list<Entry>::iterator> index
        ABSL_GUARDED_BY(mu);
    size_t bytes ABSL_GUARDED_BY(mu) = 0;
  };

  Shard& ShardFor(const std::string& key);
  // Promote moves a hit to the front, or drops it when expired; returns
  // the verdict when it is still fresh.
  std::optional<CachedVerdict> Promote(Shard& shard, const std::string& key,
                                       absl::Time now);

  const size_t max_entries_per_shard_;
  const size_t max_bytes_per_shard_;
  std::array<Shard, kShards> shards_;
  std::atomic<size_t> hits_{0};
  std::atomic<size_t> misses_{0};
};

}  // namespace certbroker::service

#endif  // CERTBROKER_BROKER_SERVICE_VERDICT_CACHE_H_

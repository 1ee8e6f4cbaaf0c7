// CallerLimiter: per-identity admission. Each identity has a token bucket
// (requests per second, burst) and a count of calls in flight; a call that
// finds the bucket empty or the count at its maximum is refused with the
// time after which a retry can succeed. One misbehaving identity exhausts
// only its own bucket. Thread-safe; memory stays bounded by forgetting idle
// identities whose bucket is full again. Admitting takes the identity's
// shard lock; releasing an admitted call's slot takes no lock.
#ifndef CERTBROKER_BROKER_AUTH_CALLER_LIMITER_H_
#define CERTBROKER_BROKER_AUTH_CALLER_LIMITER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/auth/access_policy.h"

namespace certbroker::auth {

class CallerLimiter {
 public:
  // Slot is the count of calls in flight of one identity; an admitted call
  // holds one unit of it until released.
  using Slot = std::atomic<uint32_t>;

  // Admission is the outcome of Admit.
  struct Admission {
    bool admitted = false;
    // slot is set when admitted: what Release(Slot*) gives back.
    Slot* slot = nullptr;
    // retry_after and why are set when refused.
    absl::Duration retry_after = absl::ZeroDuration();
    std::string why;
  };

  // Admit takes one token and one in-flight slot of `identity` under
  // `limits`. An admitted call must be matched by one Release.
  Admission Admit(const std::string& identity, const CallerLimits& limits,
                  absl::Time now);

  // Release frees the in-flight slot of an admitted call of `identity`.
  void Release(const std::string& identity);

  // Release frees the in-flight slot of an admitted call by its
  // Admission::slot, without a lookup or a lock. The slot stays valid
  // while it is held: only identities with nothing in flight are
  // forgotten.
  static void Release(Slot* slot);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time refilled;
    Slot in_flight{0};
  };
  struct Shard {
    absl::Mutex mutex;
    // Nodes, not a flat map: a Slot's address must survive rehashing.
    absl::node_hash_map<std::string, Bucket> buckets ABSL_GUARDED_BY(mutex);
  };
  static constexpr size_t kShards = 16;
  // kForgetAbove: a shard holding more identities forgets its idle ones.
  static constexpr size_t kForgetAbove = 4096;

  Shard& ShardOf(const std::string& identity);
  static void Forget(Shard& shard, const CallerLimits& limits, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mutex);

  std::array<Shard, kShards> shards_;
};

}  // namespace certbroker::auth

#endif  // CERTBROKER_BROKER_AUTH_CALLER_LIMITER_H_

// CallerLimiter: per-identity admission. Each identity has a token bucket
// (requests per second, burst) and a count of calls in flight; a call that
// finds the bucket empty or the count at its maximum is refused with the
// time after which a retry can succeed. One misbehaving identity exhausts
// only its own bucket. Thread-safe; memory stays bounded by forgetting idle
// identities whose bucket is full again.
#ifndef CERTBROKER_BROKER_AUTH_CALLER_LIMITER_H_
#define CERTBROKER_BROKER_AUTH_CALLER_LIMITER_H_

#include <array>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/auth/access_policy.h"

namespace certbroker::auth {

class CallerLimiter {
 public:
  // Admission is the outcome of Admit.
  struct Admission {
    bool admitted = false;
    // retry_after and why are set when refused.
    absl::Duration retry_after = absl::ZeroDuration();
    std::string why;
  };

  // Admit takes one token and one in-flight slot of `identity` under
  // `limits`. An admitted call must be matched by one Release.
  Admission Admit(const std::string& identity, const CallerLimits& limits,
                  absl::Time now);

  // Release frees the in-flight slot of an admitted call.
  void Release(const std::string& identity);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time refilled;
    uint32_t in_flight = 0;
  };
  struct Shard {
    absl::Mutex mutex;
    absl::flat_hash_map<std::string, Bucket> buckets ABSL_GUARDED_BY(mutex);
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

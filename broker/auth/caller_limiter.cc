// Token buckets and in-flight counts per identity.
#include "broker/auth/caller_limiter.h"

#include <algorithm>
#include <cmath>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace certbroker::auth {
namespace {

// Refill adds the tokens earned since the last refill, up to the burst.
void Refill(double& tokens, absl::Time& refilled, const CallerLimits& limits,
            absl::Time now) {
  double earned =
      absl::ToDoubleSeconds(now - refilled) * limits.requests_per_second;
  tokens = std::min(limits.burst, tokens + std::max(0.0, earned));
  refilled = now;
}

}  // namespace

CallerLimiter::Shard& CallerLimiter::ShardOf(const std::string& identity) {
  return shards_[absl::Hash<std::string>()(identity) % kShards];
}

void CallerLimiter::Forget(Shard& shard, const CallerLimits& limits,
                           absl::Time now) {
  for (auto it = shard.buckets.begin(); it != shard.buckets.end();) {
    Bucket& bucket = it->second;
    Refill(bucket.tokens, bucket.refilled, limits, now);
    if (bucket.in_flight.load(std::memory_order_acquire) == 0 &&
        bucket.tokens >= limits.burst) {
      shard.buckets.erase(it++);
    } else {
      ++it;
    }
  }
}

CallerLimiter::Admission CallerLimiter::Admit(const std::string& identity,
                                              const CallerLimits& limits,
                                              absl::Time now) {
  Shard& shard = ShardOf(identity);
  absl::MutexLock lock(&shard.mutex);
  if (shard.buckets.size() > kForgetAbove) Forget(shard, limits, now);
  auto [it, inserted] = shard.buckets.try_emplace(identity);
  Bucket& bucket = it->second;
  if (inserted) {
    bucket.tokens = limits.burst;
    bucket.refilled = now;
  } else {
    Refill(bucket.tokens, bucket.refilled, limits, now);
  }
  Admission admission;
  const uint32_t in_flight = bucket.in_flight.load(std::memory_order_relaxed);
  if (in_flight >= limits.max_concurrent_calls) {
    admission.retry_after = absl::Milliseconds(100);
    admission.why = absl::StrCat("'", identity, "' already has ", in_flight,
                                 " calls in flight, the most allowed "
                                 "(access.per_caller.max_concurrent_calls)");
    return admission;
  }
  if (bucket.tokens < 1) {
    double missing = 1 - bucket.tokens;
    admission.retry_after = absl::Milliseconds(
        std::ceil(1000 * missing / limits.requests_per_second));
    admission.why = absl::StrCat(
        "'", identity, "' exceeded its rate of ", limits.requests_per_second,
        " calls per second (access.per_caller.requests_per_second)");
    return admission;
  }
  bucket.tokens -= 1;
  bucket.in_flight.fetch_add(1, std::memory_order_relaxed);
  admission.admitted = true;
  admission.slot = &bucket.in_flight;
  return admission;
}

void CallerLimiter::Release(const std::string& identity) {
  Shard& shard = ShardOf(identity);
  absl::MutexLock lock(&shard.mutex);
  auto it = shard.buckets.find(identity);
  if (it != shard.buckets.end()) Release(&it->second.in_flight);
}

void CallerLimiter::Release(Slot* slot) {
  uint32_t held = slot->load(std::memory_order_relaxed);
  // Never below zero, even for a release without an admission.
  while (held > 0 &&
         !slot->compare_exchange_weak(held, held - 1, std::memory_order_release,
                                      std::memory_order_relaxed)) {
  }
}

}  // namespace certbroker::auth

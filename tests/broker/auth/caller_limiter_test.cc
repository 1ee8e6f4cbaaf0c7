// Tests of CallerLimiter with an explicit clock: refill, burst, concurrency
// and the independence of identities.
#include "broker/auth/caller_limiter.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace certbroker::auth {
namespace {

using ::testing::HasSubstr;

TEST(CallerLimiterTest, RefusesBeyondTheBurstAndRefillsAtTheRate) {
  CallerLimiter limiter;
  CallerLimits limits{/*requests_per_second=*/10, /*burst=*/3, 100};
  absl::Time now = absl::FromUnixSeconds(1000);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(limiter.Admit("a", limits, now).admitted);
    limiter.Release("a");
  }
  CallerLimiter::Admission refused = limiter.Admit("a", limits, now);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after, absl::Milliseconds(100));
  EXPECT_THAT(refused.why, HasSubstr("'a' exceeded its rate of 10 calls"));
  // Another identity is untouched.
  EXPECT_TRUE(limiter.Admit("b", limits, now).admitted);
  // 100 ms later one token is back, and only one.
  now += absl::Milliseconds(100);
  EXPECT_TRUE(limiter.Admit("a", limits, now).admitted);
  EXPECT_FALSE(limiter.Admit("a", limits, now).admitted);
}

TEST(CallerLimiterTest, BoundsCallsInFlight) {
  CallerLimiter limiter;
  CallerLimits limits{1000, 1000, /*max_concurrent_calls=*/2};
  absl::Time now = absl::FromUnixSeconds(1000);
  EXPECT_TRUE(limiter.Admit("a", limits, now).admitted);
  EXPECT_TRUE(limiter.Admit("a", limits, now).admitted);
  CallerLimiter::Admission third = limiter.Admit("a", limits, now);
  EXPECT_FALSE(third.admitted);
  EXPECT_THAT(third.why, HasSubstr("already has 2 calls in flight"));
  limiter.Release("a");
  EXPECT_TRUE(limiter.Admit("a", limits, now).admitted);
}

TEST(CallerLimiterTest, ForgetsIdleIdentitiesToStayBounded) {
  CallerLimiter limiter;
  CallerLimits limits{1000, 1000, 10};
  absl::Time now = absl::FromUnixSeconds(1000);
  for (int i = 0; i < 100000; ++i) {
    std::string identity = "agent-" + std::to_string(i);
    ASSERT_TRUE(limiter.Admit(identity, limits, now).admitted);
    limiter.Release(identity);
    now += absl::Milliseconds(1);
  }
  // Nothing observable but memory; a held slot survives forgetting.
  ASSERT_TRUE(limiter.Admit("held", limits, now).admitted);
  for (int i = 0; i < 100000; ++i) {
    std::string identity = "later-" + std::to_string(i);
    limiter.Admit(identity, limits, now);
    limiter.Release(identity);
    now += absl::Milliseconds(1);
  }
  CallerLimits one{1000, 1000, 1};
  EXPECT_FALSE(limiter.Admit("held", one, now).admitted);
}

}  // namespace
}  // namespace certbroker::auth

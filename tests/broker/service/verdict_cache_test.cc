// Tests of VerdictCache: hits, expiry, LRU bounds by entries and bytes, and
// a key that changes with every input a verdict depends on.
#include "broker/service/verdict_cache.h"

#include "gtest/gtest.h"

namespace certbroker::service {
namespace {

using ::certbroker::v1::Reason;

CachedVerdict Accepted(absl::Time expires, std::string detail = "ok") {
  return CachedVerdict{Reason::ACCEPTED, std::move(detail), "", expires};
}

// ShardKey makes a 32-byte key whose first byte picks the shard.
std::string ShardKey(char shard, char id) {
  std::string key(32, id);
  key[0] = shard;
  return key;
}

TEST(VerdictCacheTest, ServesUntilExpiry) {
  VerdictCache cache(100, 1 << 20);
  absl::Time now = absl::FromUnixSeconds(1000000);
  cache.Insert(ShardKey(1, 'a'), Accepted(now + absl::Seconds(10), "fresh"));
  auto hit = cache.Lookup(ShardKey(1, 'a'), now + absl::Seconds(9));
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->reason, Reason::ACCEPTED);
  EXPECT_EQ(hit->detail, "fresh");
  EXPECT_FALSE(
      cache.Lookup(ShardKey(1, 'a'), now + absl::Seconds(10)).has_value());
  EXPECT_EQ(cache.size(), 0u);  // The expired entry was dropped.
  EXPECT_FALSE(cache.Lookup(ShardKey(1, 'b'), now).has_value());
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 2u);
}

TEST(VerdictCacheTest, EvictsLeastRecentlyUsedBeyondEntryBound) {
  VerdictCache cache(32, 1 << 20);  // Two entries per shard.
  absl::Time inserted = absl::FromUnixSeconds(1000000);
  absl::Time now = inserted + absl::Seconds(2);
  absl::Time later = now + absl::Hours(1);
  cache.Insert(ShardKey(3, 'a'), Accepted(later), inserted);
  cache.Insert(ShardKey(3, 'b'), Accepted(later), inserted);
  ASSERT_TRUE(
      cache.Lookup(ShardKey(3, 'a'), now).has_value());  // 'a' is now newest.
  cache.Insert(ShardKey(3, 'c'), Accepted(later), now);
  EXPECT_TRUE(cache.Lookup(ShardKey(3, 'a'), now).has_value());
  EXPECT_FALSE(cache.Lookup(ShardKey(3, 'b'), now).has_value());
  EXPECT_TRUE(cache.Lookup(ShardKey(3, 'c'), now).has_value());
  EXPECT_EQ(cache.size(), 2u);
}

TEST(VerdictCacheTest, HitsWithinASecondOfTheLastMoveKeepTheOrder) {
  VerdictCache cache(32, 1 << 20);  // Two entries per shard.
  absl::Time now = absl::FromUnixSeconds(1000000);
  absl::Time later = now + absl::Hours(1);
  cache.Insert(ShardKey(3, 'a'), Accepted(later), now);
  cache.Insert(ShardKey(3, 'b'), Accepted(later), now);
  // Too soon to move 'a' (a reader-lock hit): it stays the oldest.
  ASSERT_TRUE(cache.Lookup(ShardKey(3, 'a'), now + absl::Milliseconds(500))
                  .has_value());
  cache.Insert(ShardKey(3, 'c'), Accepted(later), now);
  EXPECT_FALSE(cache.Lookup(ShardKey(3, 'a'), now).has_value());
  EXPECT_TRUE(cache.Lookup(ShardKey(3, 'b'), now).has_value());
  EXPECT_EQ(cache.hits(), 2u);
}

TEST(VerdictCacheTest, BoundsBytes) {
  VerdictCache cache(1000, 16 * 1000);  // About 1000 bytes per shard.
  absl::Time later = absl::FromUnixSeconds(2000000);
  cache.Insert(ShardKey(5, 'a'), Accepted(later, std::string(2000, 'x')));
  EXPECT_EQ(cache.size(), 0u);  // Larger than a shard's share: not stored.
  for (char id = 'a'; id < 'k'; ++id)
    cache.Insert(ShardKey(5, id), Accepted(later, "small"));
  EXPECT_LT(cache.size(), 10u);
  EXPECT_GT(cache.size(), 0u);
}

TEST(VerdictCacheTest, DisabledCacheNeverHits) {
  VerdictCache cache(0, 1 << 20);
  absl::Time later = absl::FromUnixSeconds(2000000);
  cache.Insert(ShardKey(1, 'a'), Accepted(later));
  EXPECT_FALSE(
      cache.Lookup(ShardKey(1, 'a'), absl::FromUnixSeconds(1)).has_value());
}

// KeyOf is VerdictCache::Key with the chain of `request`.
std::string KeyOf(absl::string_view version, absl::string_view rule,
                  absl::string_view name,
                  const ::certbroker::v1::OnServerCertificateRequest& request) {
  return VerdictCache::Key(
      version, rule, name,
      VerdictCache::ChainDigest(request.certificate_chain()), request);
}

TEST(VerdictCacheTest, KeyCoversEveryInput) {
  ::certbroker::v1::OnServerCertificateRequest request;
  request.add_certificate_chain("leaf");
  request.add_certificate_chain("intermediate");
  std::string base = KeyOf("v1", "rule", "api.example.com", request);
  EXPECT_EQ(base.size(), 32u);
  EXPECT_EQ(base, KeyOf("v1", "rule", "api.example.com", request));
  EXPECT_NE(base, KeyOf("v2", "rule", "api.example.com", request));
  EXPECT_NE(base, KeyOf("v1", "other", "api.example.com", request));
  EXPECT_NE(base, KeyOf("v1", "rule", "www.example.com", request));
  auto changed = request;
  changed.set_certificate_chain(1, "other intermediate");
  EXPECT_NE(base, KeyOf("v1", "rule", "api.example.com", changed));
  changed = request;
  changed.mutable_agent_verification()->set_accepted(true);
  EXPECT_NE(base, KeyOf("v1", "rule", "api.example.com", changed));
  changed = request;
  changed.set_ocsp_response("staple");
  EXPECT_NE(base, KeyOf("v1", "rule", "api.example.com", changed));
  // Field boundaries count: "ab"+"c" is not "a"+"bc".
  ::certbroker::v1::OnServerCertificateRequest split_one, split_two;
  split_one.add_certificate_chain("ab");
  split_one.add_certificate_chain("c");
  split_two.add_certificate_chain("a");
  split_two.add_certificate_chain("bc");
  EXPECT_NE(KeyOf("v", "r", "n", split_one), KeyOf("v", "r", "n", split_two));
}

}  // namespace
}  // namespace certbroker::service

// AnswerCache: keys, TTLs, LRU bound, the policy-version rule, dropping by
// key handle, and the TTL of a GetClientCertificate answer.
#include "agents/sdk/answer_cache.h"

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace certbroker::agent {
namespace {

std::shared_ptr<const google::protobuf::Message> Verdict(
    const std::string& decision_id) {
  auto verdict = std::make_shared<v1::OnServerCertificateResponse>();
  verdict->set_decision_id(decision_id);
  return verdict;
}

std::string IdOf(const std::shared_ptr<const google::protobuf::Message>& m) {
  if (m == nullptr) return "<miss>";
  return static_cast<const v1::OnServerCertificateResponse&>(*m).decision_id();
}

TEST(AnswerCacheKeyTest, NormalizesTargetsAndKeepsEverythingElseApart) {
  v1::GetCertificatePolicyRequest a;
  a.mutable_target()->set_host("API.example.test.");
  v1::GetCertificatePolicyRequest b;
  b.mutable_target()->set_host("api.example.test");
  b.mutable_target()->set_port(443);
  EXPECT_EQ(KeyOf(a), KeyOf(b));
  b.mutable_target()->set_port(8443);
  EXPECT_NE(KeyOf(a), KeyOf(b));

  v1::OnServerCertificateRequest s;
  *s.mutable_target() = a.target();
  s.add_certificate_chain("chain");
  v1::OnServerCertificateRequest t = s;
  t.set_ocsp_response("staple");
  EXPECT_NE(KeyOf(s), KeyOf(t));
  t = s;
  t.mutable_agent_verification()->set_accepted(true);
  EXPECT_NE(KeyOf(s), KeyOf(t));
  t = s;
  t.set_certificate_chain(0, "chain2");
  EXPECT_NE(KeyOf(s), KeyOf(t));

  v1::GetNegotiationPolicyRequest n;
  n.mutable_listener()->set_name("in");
  n.mutable_listener()->set_sni("A.test");
  v1::GetNegotiationPolicyRequest m = n;
  m.mutable_listener()->set_sni("a.test");
  EXPECT_EQ(KeyOf(n), KeyOf(m));
  m.mutable_listener()->set_name("other");
  EXPECT_NE(KeyOf(n), KeyOf(m));
  v1::OnClientCertificateRequest c;
  *c.mutable_listener() = n.listener();
  EXPECT_NE(KeyOf(c), KeyOf(n));  // Different methods never share a key.
}

TEST(AnswerCacheTest, HonoursTtl) {
  AnswerCache cache(10);
  cache.Insert("k0", Verdict("zero"), "v1", absl::ZeroDuration());
  cache.Insert("k1", Verdict("past"), "v1", absl::Nanoseconds(1));
  cache.Insert("k2", Verdict("kept"), "v1", absl::Hours(1));
  EXPECT_EQ(IdOf(cache.Lookup("k0")), "<miss>");
  absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(IdOf(cache.Lookup("k1")), "<miss>");
  EXPECT_EQ(IdOf(cache.Lookup("k2")), "kept");
  CacheStats stats = cache.stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 2u);
  EXPECT_EQ(stats.entries, 1u);
}

TEST(AnswerCacheTest, EvictsTheLeastRecentlyUsed) {
  AnswerCache cache(2);
  cache.Insert("a", Verdict("a"), "v1", absl::Hours(1));
  cache.Insert("b", Verdict("b"), "v1", absl::Hours(1));
  EXPECT_EQ(IdOf(cache.Lookup("a")), "a");  // b is now the oldest.
  cache.Insert("c", Verdict("c"), "v1", absl::Hours(1));
  EXPECT_EQ(IdOf(cache.Lookup("b")), "<miss>");
  EXPECT_EQ(IdOf(cache.Lookup("a")), "a");
  EXPECT_EQ(IdOf(cache.Lookup("c")), "c");
  EXPECT_EQ(cache.stats().entries, 2u);
}

TEST(AnswerCacheTest, AnotherPolicyVersionDropsEveryEntry) {
  AnswerCache cache(10);
  cache.Insert("a", Verdict("a"), "v1", absl::Hours(1));
  cache.ObserveVersion("");  // No version: nothing to say.
  cache.ObserveVersion("v1");
  EXPECT_EQ(IdOf(cache.Lookup("a")), "a");
  cache.Insert("b", Verdict("b"), "v2", absl::Hours(1));
  EXPECT_EQ(IdOf(cache.Lookup("a")), "<miss>");
  EXPECT_EQ(IdOf(cache.Lookup("b")), "b");
  cache.ObserveVersion("v1");  // Versions are opaque: any change drops.
  EXPECT_EQ(IdOf(cache.Lookup("b")), "<miss>");
  EXPECT_EQ(cache.stats().entries, 0u);
}

TEST(AnswerCacheTest, DisabledCacheHoldsNothing) {
  AnswerCache cache(0);
  cache.Insert("a", Verdict("a"), "v1", absl::Hours(1));
  EXPECT_EQ(cache.Lookup("a"), nullptr);
  EXPECT_EQ(cache.stats().entries, 0u);
}

TEST(AnswerCacheKeyTest, ClientCertificateKeyHasTargetIssuersAndAlgorithms) {
  v1::GetClientCertificateRequest a;
  a.mutable_target()->set_host("API.example.test.");
  v1::GetClientCertificateRequest b;
  b.mutable_target()->set_host("api.example.test");
  b.mutable_target()->set_port(443);
  EXPECT_EQ(KeyOf(a), KeyOf(b));
  v1::GetClientCertificateRequest c = b;
  c.add_acceptable_issuers("issuer DN");
  EXPECT_NE(KeyOf(b), KeyOf(c));
  c = b;
  c.add_signature_algorithms(0x0403);
  EXPECT_NE(KeyOf(b), KeyOf(c));
  v1::GetCertificatePolicyRequest p;
  *p.mutable_target() = b.target();
  EXPECT_NE(KeyOf(b), KeyOf(p));  // Different methods never share a key.
}

google::protobuf::Timestamp At(absl::Time t) {
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(absl::ToUnixSeconds(t));
  return timestamp;
}

TEST(ClientCertificateTtlTest, ShortestOfLimitRefreshAndHandleMargin) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  const absl::Duration limit = absl::Seconds(30);
  const absl::Duration margin = absl::Minutes(1);
  v1::GetClientCertificateResponse exportable;
  exportable.set_private_key("key");
  *exportable.mutable_refresh_after() = At(now + absl::Hours(1));
  EXPECT_EQ(ClientCertificateTtl(exportable, limit, margin, now), limit);
  EXPECT_EQ(ClientCertificateTtl(exportable, absl::ZeroDuration(), margin, now),
            absl::ZeroDuration());
  *exportable.mutable_refresh_after() = At(now + absl::Seconds(10));
  EXPECT_EQ(ClientCertificateTtl(exportable, limit, margin, now),
            absl::Seconds(10));
  // Already past refresh_after, or none: not cached.
  *exportable.mutable_refresh_after() = At(now - absl::Seconds(1));
  EXPECT_EQ(ClientCertificateTtl(exportable, limit, margin, now),
            absl::ZeroDuration());
  exportable.clear_refresh_after();
  EXPECT_EQ(ClientCertificateTtl(exportable, limit, margin, now),
            absl::ZeroDuration());

  v1::GetClientCertificateResponse keyless;
  *keyless.mutable_refresh_after() = At(now + absl::Hours(1));
  keyless.mutable_key_handle()->set_handle("h");
  *keyless.mutable_key_handle()->mutable_expires() =
      At(now + absl::Minutes(15));
  EXPECT_EQ(ClientCertificateTtl(keyless, limit, margin, now), limit);
  EXPECT_EQ(ClientCertificateTtl(keyless, absl::Hours(1), margin, now),
            absl::Minutes(14));
  // The handle must have the margin left when the entry is last served.
  *keyless.mutable_key_handle()->mutable_expires() =
      At(now + margin + absl::Seconds(5));
  EXPECT_EQ(ClientCertificateTtl(keyless, limit, margin, now),
            absl::Seconds(5));
  *keyless.mutable_key_handle()->mutable_expires() = At(now + margin);
  EXPECT_EQ(ClientCertificateTtl(keyless, limit, margin, now),
            absl::ZeroDuration());
  *keyless.mutable_key_handle()->mutable_expires() =
      At(now + absl::Seconds(30));
  EXPECT_EQ(ClientCertificateTtl(keyless, limit, margin, now),
            absl::ZeroDuration());
  keyless.mutable_key_handle()->clear_expires();
  EXPECT_EQ(ClientCertificateTtl(keyless, limit, margin, now),
            absl::ZeroDuration());
}

TEST(AnswerCacheTest, DropsTheEntryOfARefusedKeyHandle) {
  AnswerCache cache(2);
  cache.Insert("a", Verdict("a"), "v1", absl::Hours(1), "handle-a");
  cache.Insert("b", Verdict("b"), "v1", absl::Hours(1), "handle-b");
  EXPECT_FALSE(cache.DropKeyHandle("handle-x"));
  EXPECT_FALSE(cache.DropKeyHandle(""));
  EXPECT_TRUE(cache.DropKeyHandle("handle-a"));
  EXPECT_FALSE(cache.DropKeyHandle("handle-a"));
  EXPECT_EQ(IdOf(cache.Lookup("a")), "<miss>");
  EXPECT_EQ(IdOf(cache.Lookup("b")), "b");

  // A newer answer under the same key owns the key: the older handle no
  // longer drops it.
  cache.Insert("b", Verdict("b2"), "v1", absl::Hours(1), "handle-b2");
  EXPECT_FALSE(cache.DropKeyHandle("handle-b"));
  EXPECT_EQ(IdOf(cache.Lookup("b")), "b2");
  // One handle in two answers: both go.
  cache.Insert("b3", Verdict("b3"), "v1", absl::Hours(1), "handle-b2");
  EXPECT_TRUE(cache.DropKeyHandle("handle-b2"));
  EXPECT_EQ(cache.stats().entries, 0u);
  cache.Insert("b", Verdict("b2"), "v1", absl::Hours(1), "handle-b2");

  // Handles leave with their entries: by LRU, expiry or a new version.
  cache.Insert("c", Verdict("c"), "v1", absl::Hours(1), "handle-c");
  cache.Insert("d", Verdict("d"), "v1", absl::Hours(1), "handle-d");
  EXPECT_FALSE(cache.DropKeyHandle("handle-b2"));  // Evicted by c and d.
  cache.Insert("e", Verdict("e"), "v1", absl::Nanoseconds(1), "handle-e");
  absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(IdOf(cache.Lookup("e")), "<miss>");
  EXPECT_FALSE(cache.DropKeyHandle("handle-e"));
  cache.ObserveVersion("v2");
  EXPECT_FALSE(cache.DropKeyHandle("handle-d"));
  EXPECT_EQ(cache.stats().entries, 0u);
}

}  // namespace
}  // namespace certbroker::agent

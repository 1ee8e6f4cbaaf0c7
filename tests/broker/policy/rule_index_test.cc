// Tests of RuleIndex: specificity order (exact host, longer wildcard, "*";
// then ports, then schemes) and ties refused at build time.
#include "broker/policy/rule_index.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace certbroker::policy {
namespace {

using ::testing::HasSubstr;

CompiledRule Rule(std::string name, std::vector<std::string> hosts,
                  std::vector<uint32_t> ports = {},
                  std::vector<std::string> schemes = {},
                  std::vector<std::string> agents = {}) {
  CompiledRule rule;
  rule.name = std::move(name);
  rule.hosts = std::move(hosts);
  rule.ports = std::move(ports);
  rule.schemes = std::move(schemes);
  rule.agents = std::move(agents);
  return rule;
}

ResolvedTarget Target(std::string host, uint32_t port = 443,
                      std::string scheme = "https") {
  ResolvedTarget target;
  target.host = std::move(host);
  target.port = port;
  target.scheme = std::move(scheme);
  target.host_is_ip =
      target.host.find_first_not_of("0123456789.") == std::string::npos ||
      target.host.find(':') != std::string::npos;
  return target;
}

std::string FoundName(const RuleIndex& index, const ResolvedTarget& target) {
  const CompiledRule* rule = index.Find(target);
  return rule == nullptr ? "<none>" : rule->name;
}

TEST(RuleIndexTest, PicksMostSpecificHostPattern) {
  std::vector<CompiledRule> rules = {
      Rule("any", {"*"}),
      Rule("example", {"*.example.com"}),
      Rule("api-example", {"*.api.example.com"}),
      Rule("exact", {"v1.api.example.com"}),
  };
  auto index = RuleIndex::Build(rules);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(FoundName(*index, Target("v1.api.example.com")), "exact");
  EXPECT_EQ(FoundName(*index, Target("v2.api.example.com")), "api-example");
  EXPECT_EQ(FoundName(*index, Target("deep.v2.api.example.com")),
            "api-example");
  EXPECT_EQ(FoundName(*index, Target("www.example.com")), "example");
  EXPECT_EQ(FoundName(*index, Target("example.com")), "any");
  EXPECT_EQ(FoundName(*index, Target("other.org")), "any");
  EXPECT_EQ(FoundName(*index, Target("192.0.2.1")), "any");
}

TEST(RuleIndexTest, NoRuleMeansNull) {
  std::vector<CompiledRule> rules = {Rule("example", {"*.example.com"})};
  auto index = RuleIndex::Build(rules);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->Find(Target("example.org")), nullptr);
  EXPECT_EQ(index->Find(Target("example.com")),
            nullptr);  // No label before the suffix.
}

TEST(RuleIndexTest, PortsThenSchemesBreakTiesWithinAHost) {
  std::vector<CompiledRule> rules = {
      Rule("host", {"a.example"}),
      Rule("host-https", {"a.example"}, {}, {"https"}),
      Rule("host-8443", {"a.example"}, {8443}),
      Rule("host-8443-wss", {"a.example"}, {8443}, {"wss"}),
  };
  auto index = RuleIndex::Build(rules);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(FoundName(*index, Target("a.example", 443, "http")), "host");
  EXPECT_EQ(FoundName(*index, Target("a.example", 443, "https")), "host-https");
  EXPECT_EQ(FoundName(*index, Target("a.example", 8443, "https")), "host-8443");
  EXPECT_EQ(FoundName(*index, Target("a.example", 8443, "wss")),
            "host-8443-wss");
}

TEST(RuleIndexTest, FallsThroughToWildcardWhenExactPortDoesNotMatch) {
  std::vector<CompiledRule> rules = {
      Rule("exact-8443", {"a.example.com"}, {8443}),
      Rule("wildcard", {"*.example.com"}),
  };
  auto index = RuleIndex::Build(rules);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(FoundName(*index, Target("a.example.com", 8443)), "exact-8443");
  EXPECT_EQ(FoundName(*index, Target("a.example.com", 443)), "wildcard");
}

TEST(RuleIndexTest, MatchesIpAddressesExactly) {
  std::vector<CompiledRule> rules = {Rule("ip", {"192.0.2.7", "2001:db8::7"})};
  auto index = RuleIndex::Build(rules);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(FoundName(*index, Target("192.0.2.7")), "ip");
  EXPECT_EQ(FoundName(*index, Target("2001:db8::7")), "ip");
  EXPECT_EQ(FoundName(*index, Target("192.0.2.8")), "<none>");
}

TEST(RuleIndexTest, RefusesEquallySpecificRulesNamingBoth) {
  std::vector<CompiledRule> rules = {
      Rule("first", {"a.example", "b.example"}, {443}),
      Rule("second", {"b.example"}, {443, 8443}),
  };
  auto index = RuleIndex::Build(rules);
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(index.status().message()),
              HasSubstr("rules 'first' and 'second' are equally specific for "
                        "host 'b.example'"));
}

TEST(RuleIndexTest, RefusesTwoCatchAllWildcards) {
  std::vector<CompiledRule> rules = {Rule("one", {"*.example.com"}),
                                     Rule("two", {"*.example.com"})};
  auto index = RuleIndex::Build(rules);
  ASSERT_FALSE(index.ok());
  EXPECT_THAT(std::string(index.status().message()),
              HasSubstr("host '*.example.com'"));
}

TEST(RuleIndexTest, AllowsDisjointPortsOnOneHost) {
  std::vector<CompiledRule> rules = {Rule("web", {"a.example"}, {443}),
                                     Rule("admin", {"a.example"}, {8443})};
  auto index = RuleIndex::Build(rules);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(FoundName(*index, Target("a.example", 8443)), "admin");
  EXPECT_EQ(FoundName(*index, Target("a.example", 80)), "<none>");
}

ResolvedTarget AgentTarget(std::string host, std::string agent) {
  ResolvedTarget target = Target(std::move(host));
  target.agent = std::move(agent);
  return target;
}

TEST(RuleIndexTest, AgentSelectorsOutrankPortsAndMatchOnlyTheirCallers) {
  std::vector<CompiledRule> rules = {
      Rule("everyone", {"api.example"}, {443}),
      Rule("payments", {"api.example"}, {}, {},
           {"spiffe://corp.example/ns/payments/*"}),
      Rule("one-pod", {"api.example"}, {}, {},
           {"spiffe://corp.example/ns/payments/sa/batch",
            "spiffe://corp.example/ns/ops/sa/x"}),
  };
  // "payments" and "one-pod" overlap (the pod is under the prefix) and are
  // equally specific: refused.
  auto tied = RuleIndex::Build(rules);
  ASSERT_FALSE(tied.ok());
  EXPECT_THAT(std::string(tied.status().message()),
              HasSubstr("rules 'payments' and 'one-pod' are equally specific"));
  rules.pop_back();
  auto index = RuleIndex::Build(rules);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(FoundName(*index,
                      AgentTarget("api.example",
                                  "spiffe://corp.example/ns/payments/sa/web")),
            "payments");
  EXPECT_EQ(
      FoundName(*index, AgentTarget("api.example",
                                    "spiffe://corp.example/ns/other/sa/web")),
      "everyone");
  // No identity (callers are not authenticated yet): agent rules never match.
  EXPECT_EQ(FoundName(*index, Target("api.example")), "everyone");
}

TEST(RuleIndexTest, DisjointAgentSelectorsMayShareAHost) {
  std::vector<CompiledRule> rules = {
      Rule("a", {"api.example"}, {}, {}, {"spiffe://corp.example/ns/a/*"}),
      Rule("b", {"api.example"}, {}, {}, {"spiffe://corp.example/ns/b/*"}),
  };
  auto index = RuleIndex::Build(rules);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(FoundName(*index, AgentTarget("api.example",
                                          "spiffe://corp.example/ns/b/sa/1")),
            "b");
  EXPECT_EQ(FoundName(*index, AgentTarget("api.example",
                                          "spiffe://corp.example/ns/c/sa/1")),
            "<none>");
}

}  // namespace
}  // namespace certbroker::policy

// Tests of AccessPolicy (names from generated client certificates, Unix
// peers, role bindings) and of the identity selectors it shares with rules.
#include "broker/auth/access_policy.h"

#include "broker/common/identity_selector.h"
#include "broker/config/config_loader.h"
#include "broker/devpki/pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_pki.h"

namespace certbroker::auth {
namespace {

using ::certbroker::testing::MustIssue;
using ::testing::HasSubstr;

config::v1::Access AccessFrom(const std::string& yaml) {
  auto config = config::ParseConfigDocument("access:\n" + yaml, "test.yaml");
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? config->access() : config::v1::Access();
}

class CertificateIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = MustIssue(devpki::RootSpec("Agents CA"), nullptr);
  }

  absl::StatusOr<std::string> IdentityOf(devpki::CertificateSpec spec,
                                         const AccessPolicy& policy) {
    devpki::Issued leaf = MustIssue(spec, &ca_);
    return policy.CertificateIdentity(leaf.certificate.get());
  }

  devpki::Issued ca_;
};

TEST_F(CertificateIdentityTest, PrefersSpiffeIdThenDnsNameThenCommonName) {
  AccessPolicy policy;
  auto spec = devpki::ClientSpec("web-cn");
  spec.dns_names = {"Web.Example.Test"};
  spec.uris = {"spiffe://corp.example/ns/pay/sa/web"};
  EXPECT_EQ(*IdentityOf(spec, policy), "spiffe://corp.example/ns/pay/sa/web");
  spec.uris.clear();
  EXPECT_EQ(*IdentityOf(spec, policy), "web.example.test");
  spec.dns_names.clear();
  EXPECT_EQ(*IdentityOf(spec, policy), "web-cn");
}

TEST_F(CertificateIdentityTest, FollowsTheConfiguredOrder) {
  AccessPolicy policy(AccessFrom("  identity: {order: [COMMON_NAME]}\n"));
  auto spec = devpki::ClientSpec("web-cn");
  spec.uris = {"spiffe://corp.example/ns/pay/sa/web"};
  EXPECT_EQ(*IdentityOf(spec, policy), "web-cn");
  AccessPolicy spiffe_only(AccessFrom("  identity: {order: [SPIFFE_ID]}\n"));
  spec.uris.clear();
  auto refused = IdentityOf(spec, spiffe_only);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("(CN=web-cn) has no name of the kinds"));
}

TEST_F(CertificateIdentityTest, RefusesForeignAndMalformedSpiffeIds) {
  AccessPolicy policy(
      AccessFrom("  identity: {spiffe_trust_domains: [corp.example]}\n"));
  auto spec = devpki::ClientSpec("web");
  spec.uris = {"spiffe://evil.example/ns/pay/sa/web"};
  auto foreign = IdentityOf(spec, policy);
  EXPECT_EQ(foreign.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(foreign.status().message(),
              HasSubstr("is of trust domain 'evil.example'"));
  spec.uris = {"spiffe://corp.example/ns/../sa"};
  EXPECT_THAT(IdentityOf(spec, policy).status().message(),
              HasSubstr("is malformed: its path has an empty, '.' or '..'"));
  spec.uris = {"spiffe://corp.example/a", "spiffe://corp.example/b"};
  EXPECT_THAT(IdentityOf(spec, policy).status().message(),
              HasSubstr("more than one SPIFFE ID"));
}

TEST(AccessPolicyTest, MapsUnixPeersFirstMatchFirst) {
  AccessPolicy policy(
      AccessFrom("  unix_peers:\n"
                 "    - {uid: 1000, gid: 50, identity: sidecar-a}\n"
                 "    - {uid: 1000, identity: user-1000}\n"
                 "    - {gid: 60, identity: group-60}\n"));
  EXPECT_EQ(policy.UnixIdentity(1000, 50), "sidecar-a");
  EXPECT_EQ(policy.UnixIdentity(1000, 51), "user-1000");
  EXPECT_EQ(policy.UnixIdentity(7, 60), "group-60");
  EXPECT_EQ(policy.UnixIdentity(7, 61), "");
}

TEST(AccessPolicyTest, DefaultMakesEveryAuthenticatedCallerAnAgent) {
  AccessPolicy policy;
  EXPECT_EQ(policy.RolesOf("spiffe://corp.example/x"), kAgent);
  EXPECT_EQ(policy.RolesOf(""), 0u);
}

TEST(AccessPolicyTest, BindingsAddUp) {
  AccessPolicy policy(AccessFrom(
      "  roles:\n"
      "    - {identities: ['*'], roles: [AGENT]}\n"
      "    - {identities: ['spiffe://corp.example/ns/ops/*'], roles: [ADMIN]}\n"
      "    - {identities: [auditor.example.test], roles: [AUDITOR]}\n"));
  EXPECT_EQ(policy.RolesOf("spiffe://corp.example/ns/ops/sa/alice"),
            kAgent | kAdmin);
  EXPECT_EQ(policy.RolesOf("auditor.example.test"), kAgent | kAuditor);
  EXPECT_EQ(RoleNames(kAgent | kAuditor), "AGENT,AUDITOR");
  EXPECT_EQ(RolesAllowed(Service::kAdmin, "GetStatus"), kAdmin | kAuditor);
  EXPECT_EQ(RolesAllowed(Service::kAdmin, "UpdatePolicy"), kAdmin);
  EXPECT_EQ(RolesAllowed(Service::kBroker, "GetClientCertificate"), kAgent);
}

TEST(AccessPolicyTest, LimitsDefaultAndFollowTheRate) {
  EXPECT_EQ(AccessPolicy().limits().requests_per_second, 200);
  AccessPolicy policy(AccessFrom(
      "  per_caller: {requests_per_second: 5, max_concurrent_calls: 2}\n"));
  EXPECT_EQ(policy.limits().burst, 5);
  EXPECT_EQ(policy.limits().max_concurrent_calls, 2u);
}

TEST(IdentitySelectorTest, ExactPrefixAndSegmentPatterns) {
  EXPECT_TRUE(SelectorMatches("a.example", "a.example"));
  EXPECT_FALSE(SelectorMatches("a.example", "b.example"));
  EXPECT_TRUE(SelectorMatches("*", "anyone"));
  EXPECT_FALSE(SelectorMatches("*", ""));
  EXPECT_TRUE(SelectorMatches("spiffe://c/ns/pay/*", "spiffe://c/ns/pay/sa/x"));
  EXPECT_TRUE(
      SelectorMatches("spiffe://c/ns/*/sa/web", "spiffe://c/ns/pay/sa/web"));
  EXPECT_FALSE(
      SelectorMatches("spiffe://c/ns/*/sa/web", "spiffe://c/ns/a/b/sa/web"));
  EXPECT_FALSE(
      SelectorMatches("spiffe://c/ns/*/sa/web", "spiffe://c/ns//sa/web"));
  EXPECT_EQ(SelectorProblem("spiffe://c/ns/p*y/sa"),
            "'*' stands for a whole path segment, or ends a prefix");
  EXPECT_EQ(SelectorProblem(""), "an empty selector selects nobody");
  EXPECT_EQ(SelectorProblem("spiffe://c/ns/*/sa/web"), std::nullopt);
  EXPECT_TRUE(
      SelectorsMayOverlap("spiffe://c/ns/*/sa/web", "spiffe://c/ns/pay/*"));
  EXPECT_FALSE(SelectorsMayOverlap("spiffe://c/ns/a/*", "spiffe://c/ns/b/*"));
  EXPECT_TRUE(SelectorsMayOverlap("spiffe://c/ns/a/x", "spiffe://c/ns/*/x"));
}

}  // namespace
}  // namespace certbroker::auth

// Tests of ResolveTarget: URL parsing, defaults, normalization, and errors
// that name the field.
#include "broker/policy/target.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace certbroker::policy {
namespace {

using ::certbroker::v1::Target;
using ::testing::HasSubstr;

Target MakeTarget(const std::string& url, const std::string& host = "",
                  uint32_t port = 0, const std::string& sni = "") {
  Target target;
  target.set_url(url);
  target.set_host(host);
  target.set_port(port);
  target.set_sni(sni);
  return target;
}

TEST(ResolveTargetTest, TakesSchemeHostAndPortFromUrl) {
  auto target =
      ResolveTarget(MakeTarget("HTTPS://API.Example.com:8443/v1/items?q=1"));
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->scheme, "https");
  EXPECT_EQ(target->host, "api.example.com");
  EXPECT_EQ(target->port, 8443u);
  EXPECT_FALSE(target->host_is_ip);
  EXPECT_EQ(target->ToString(), "https://api.example.com:8443");
}

TEST(ResolveTargetTest, DefaultsPortFromScheme) {
  EXPECT_EQ(ResolveTarget(MakeTarget("http://a.example/"))->port, 80u);
  EXPECT_EQ(ResolveTarget(MakeTarget("https://a.example"))->port, 443u);
  EXPECT_EQ(ResolveTarget(MakeTarget("", "a.example"))->port, 443u);
  EXPECT_EQ(ResolveTarget(MakeTarget("", "a.example"))->scheme, "https");
}

TEST(ResolveTargetTest, HandlesIpv6AndUserInfo) {
  auto target =
      ResolveTarget(MakeTarget("https://user:pw@[2001:db8::1]:9443/x"));
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->host, "2001:db8::1");
  EXPECT_TRUE(target->host_is_ip);
  EXPECT_EQ(target->port, 9443u);
  EXPECT_EQ(target->ToString(), "https://[2001:db8::1]:9443");
}

TEST(ResolveTargetTest, NormalizesHostAndSni) {
  auto target =
      ResolveTarget(MakeTarget("", "Api.Example.COM.", 0, "Front.Example.com"));
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->host, "api.example.com");
  EXPECT_EQ(target->sni, "front.example.com");
}

TEST(ResolveTargetTest, AcceptsAgreeingUrlAndFields) {
  auto target =
      ResolveTarget(MakeTarget("https://a.example:8443/", "A.example", 8443));
  ASSERT_TRUE(target.ok()) << target.status();
}

struct BadTarget {
  Target target;
  const char* message;
};

class ResolveTargetErrorTest : public ::testing::TestWithParam<BadTarget> {};

TEST_P(ResolveTargetErrorTest, NamesTheField) {
  auto target = ResolveTarget(GetParam().target);
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(target.status().message()),
              HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ResolveTargetErrorTest,
    ::testing::Values(
        BadTarget{MakeTarget(""), "target.host: required (give host or url)"},
        BadTarget{MakeTarget("api.example.com"),
                  "target.url: 'api.example.com' is not an absolute URL"},
        BadTarget{MakeTarget("https://:443/"), "target.url: has no host"},
        BadTarget{MakeTarget("https://a.example:0/"),
                  "target.url: '0' is not a port"},
        BadTarget{MakeTarget("https://a.example:99999/"),
                  "target.url: '99999' is not a port"},
        BadTarget{MakeTarget("https://[::1/"), "target.url: unterminated '['"},
        BadTarget{MakeTarget("ht tp://a.example/"),
                  "target.url: 'ht tp' is not a URL scheme"},
        BadTarget{MakeTarget("https://a.example/", "b.example"),
                  "target.host: 'b.example' disagrees with the URL's host "
                  "'a.example'"},
        BadTarget{MakeTarget("https://a.example:8443/", "", 443),
                  "target.port: 443 disagrees with the URL's port 8443"},
        BadTarget{MakeTarget("", "a.example", 70000),
                  "target.port: 70000 is not a port"},
        BadTarget{MakeTarget("", "bad_host!"),
                  "target.host: 'bad_host!' is not a DNS name"},
        BadTarget{MakeTarget("", "a.example", 0, "10.0.0.1"),
                  "target.sni: '10.0.0.1' is not a DNS name"}));

}  // namespace
}  // namespace certbroker::policy

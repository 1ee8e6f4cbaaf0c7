// ParseHttpsUrl and ResolveRedirect: accepted forms, each rejection's
// message, and redirect resolution.
#include "agents/transfer/https_url.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace certbroker::transfer {
namespace {

using ::testing::HasSubstr;

TEST(HttpsUrlTest, ParsesHostPortAndTarget) {
  auto url = ParseHttpsUrl("HTTPS://Repo.Example.TEST:8443/a/b.tar?x=1#frag");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "repo.example.test");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->target, "/a/b.tar?x=1");
  EXPECT_EQ(url->HostHeader(), "repo.example.test:8443");
  EXPECT_EQ(url->ToString(), "https://repo.example.test:8443/a/b.tar?x=1");
}

TEST(HttpsUrlTest, DefaultsPortAndPath) {
  auto url = ParseHttpsUrl("https://example.test");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->target, "/");
  EXPECT_EQ(url->HostHeader(), "example.test");
  url = ParseHttpsUrl("https://example.test?q");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->target, "/?q");
}

TEST(HttpsUrlTest, ParsesIpv6) {
  auto url = ParseHttpsUrl("https://[::1]:9443/f");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 9443);
  EXPECT_EQ(url->HostHeader(), "[::1]:9443");
}

TEST(HttpsUrlTest, RejectsMalformedUrls) {
  struct Case {
    const char* url;
    const char* message;
  };
  for (const Case& c : {
           Case{"", "empty"},
           Case{"https://a b/", "spaces or control characters"},
           Case{"example.test/x", "not an absolute URL"},
           Case{"ftp://example.test/x", "scheme \"ftp\" is not supported"},
           Case{"https://u:p@example.test/", "user information"},
           Case{"https://:443/", "no host"},
           Case{"https://example.test:/", "empty port"},
           Case{"https://example.test:0/", "invalid port \"0\""},
           Case{"https://example.test:65536/", "invalid port \"65536\""},
           Case{"https://example.test:-1/", "invalid port \"-1\""},
           Case{"https://exa$mple.test/", "invalid character '$'"},
           Case{"https://[::1/", "unterminated IPv6 host"},
           Case{"https://[::g]/", "malformed IPv6 host"},
       }) {
    auto url = ParseHttpsUrl(c.url);
    ASSERT_FALSE(url.ok()) << c.url;
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(url.status().message(), HasSubstr(c.message)) << c.url;
  }
}

TEST(HttpsUrlTest, ResolvesRedirects) {
  HttpsUrl base = *ParseHttpsUrl("https://a.test:8443/dir/file?q=1");
  EXPECT_EQ(ResolveRedirect(base, "/other")->ToString(),
            "https://a.test:8443/other");
  EXPECT_EQ(ResolveRedirect(base, "sibling#x")->ToString(),
            "https://a.test:8443/dir/sibling");
  EXPECT_EQ(ResolveRedirect(base, "//b.test/x")->ToString(),
            "https://b.test/x");
  EXPECT_EQ(ResolveRedirect(base, "https://c.test:9/y")->ToString(),
            "https://c.test:9/y");
  EXPECT_THAT(ResolveRedirect(base, "http://c.test/y").status().message(),
              HasSubstr("scheme \"http\" is not supported"));
  EXPECT_FALSE(ResolveRedirect(base, "").ok());
  EXPECT_FALSE(ResolveRedirect(base, "/a b").ok());
}

}  // namespace
}  // namespace certbroker::transfer

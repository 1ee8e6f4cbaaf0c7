// Rotation: the broker's client certificate is replaced (a Kubernetes-style
// Secret mount swapped under a running certbrokerd); within a second the
// broker gives the new one, and the binding's handshakes present it within
// the client's certificate_cache_ttl, without any change on the agent's
// side (the binding asks GetClientCertificate at each CertificateRequest,
// and the client serves it from its cache for up to that TTL).
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agents/tls/tls_test_env.h"
#include "tests/support/kubernetes_volume.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kGet[] = "GET / HTTP/1.0\r\n\r\n";

TEST(RotationTest, NextHandshakePresentsRotatedCertificate) {
  TempDir dir;
  SdkPki pki = SdkPki::Generate();
  pki.Write(dir);
  devpki::CertificateSpec first_spec = devpki::ClientSpec("rotating-first");
  devpki::CertificateSpec second_spec = devpki::ClientSpec("rotating-second");
  devpki::Issued first = MustIssue(first_spec, &pki.client_root);
  devpki::Issued second = MustIssue(second_spec, &pki.client_root);
  std::string mount = dir.Path("mounts/client-tls");
  KubernetesVolume volume(mount);
  volume.Publish(
      {{"tls.crt", first.CertificatePem()}, {"tls.key", first.KeyPem()}});
  std::string config = dir.Write(
      "rotation.yaml",
      absl::StrCat("trust_bundles: [{name: server-roots, pem_file: "
                   "pki/server-root.pem}]\n"
                   "certificates: [{id: mounted, secret_dir: ",
                   mount,
                   ", exportable: true}]\n"
                   "rules:\n"
                   "  - name: rotating\n"
                   "    match: { hosts: [exportable.test] }\n"
                   "    client_certificate: mounted\n"
                   "    server_validation: { trust_bundles: [server-roots], "
                   "mode: BROKER }\n"));
  auto broker = BrokerProcess::Start(
      {"--config=" + config, "--listen=127.0.0.1:0"}, dir.path());
  ASSERT_TRUE(broker.ok()) << broker.status();
  // The binding's client caches certificates for kCacheTtl; `uncached`
  // (certificate_cache_ttl 0) sees what the broker gives at each moment.
  constexpr absl::Duration kCacheTtl = absl::Seconds(2);
  agent::BrokerClientOptions options;
  options.address = (*broker)->addresses()[0];
  options.deadline = absl::Seconds(10);
  options.max_attempts = 2;
  options.initial_backoff = absl::Milliseconds(50);
  options.max_backoff = absl::Milliseconds(200);
  options.certificate_cache_ttl = kCacheTtl;
  auto client = agent::BrokerClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  options.certificate_cache_ttl = absl::ZeroDuration();
  auto uncached = agent::BrokerClient::Create(options);
  ASSERT_TRUE(uncached.ok()) << uncached.status();
  auto binding = agent::TlsBinding::Create(**client, {});
  ASSERT_TRUE(binding.ok()) << binding.status();
  bssl::UniquePtr<SSL_CTX> ctx = NewClientContext(**binding);
  int port = 0;
  auto server = StartSServer(dir, port);
  ASSERT_TRUE(server.ok()) << server.status();

  // given_is polls until GetClientCertificate gives `der` (the watch's
  // own timing is tested with the BrokerClient, tests/agents/sdk).
  auto given_is = [&](const std::string& der, absl::Duration timeout) {
    absl::Time deadline = absl::Now() + timeout;
    v1::GetClientCertificateRequest request;
    *request.mutable_target() = MakeTarget("exportable.test", port);
    while (true) {
      auto given = (*uncached)->GetClientCertificate(request);
      if (given.ok() && given->certificate_chain_size() > 0 &&
          given->certificate_chain(0) == der) {
        return true;
      }
      if (absl::Now() >= deadline) return false;
      absl::SleepFor(absl::Milliseconds(10));
    }
  };
  ASSERT_TRUE(given_is(first.Der(), absl::Seconds(10)));

  ClientResult before = RunClient(
      **binding, ctx.get(), MakeTarget("exportable.test", port), port, kGet);
  ASSERT_FALSE(before.error)
      << before.error.message() << ": " << before.last_error;
  EXPECT_THAT(before.response, HasSubstr("Subject: CN=rotating-first"));

  absl::Time swapped = absl::Now();
  volume.Publish(
      {{"tls.crt", second.CertificatePem()}, {"tls.key", second.KeyPem()}});
  EXPECT_TRUE(given_is(second.Der(), absl::Seconds(1)))
      << "the broker did not give the rotated certificate within 1 s";
  ASSERT_TRUE(given_is(second.Der(), absl::Seconds(10)));
  RecordProperty("rotation_given_ms", static_cast<int>((absl::Now() - swapped) /
                                                       absl::Milliseconds(1)));

  // The binding's client may still serve the first certificate from its
  // cache, for at most kCacheTtl after it asked (before the swap): poll
  // handshakes until one presents the second.
  ClientResult after;
  absl::Time deadline = swapped + kCacheTtl + absl::Seconds(20);
  do {
    after = RunClient(**binding, ctx.get(), MakeTarget("exportable.test", port),
                      port, kGet);
    ASSERT_FALSE(after.error)
        << after.error.message() << ": " << after.last_error;
    if (absl::StrContains(after.response, "rotating-second")) break;
    EXPECT_THAT(after.response, HasSubstr("Subject: CN=rotating-first"));
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  absl::Duration presented = absl::Now() - swapped;
  RecordProperty("rotation_presented_ms",
                 static_cast<int>(presented / absl::Milliseconds(1)));
  EXPECT_THAT(after.response, HasSubstr("Subject: CN=rotating-second"));
  EXPECT_THAT(after.response, Not(HasSubstr("rotating-first")));
  // Within the cache TTL after the broker gave it (plus generous slack for
  // a loaded machine's handshakes).
  EXPECT_LT(presented, kCacheTtl + absl::Seconds(8));
}

}  // namespace
}  // namespace certbroker::testing

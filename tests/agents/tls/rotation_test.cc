// Rotation: the broker's client certificate is replaced (a Kubernetes-style
// Secret mount swapped under a running certbrokerd); within a second the
// binding's next handshake presents the new one, without any change on the
// agent's side (the binding asks GetClientCertificate, never cached, at each
// CertificateRequest).
#include <memory>
#include <string>

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
  auto client = MakeClient((*broker)->addresses()[0]);
  auto binding = agent::TlsBinding::Create(*client, {});
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
      auto given = client->GetClientCertificate(request);
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

  ClientResult after = RunClient(
      **binding, ctx.get(), MakeTarget("exportable.test", port), port, kGet);
  ASSERT_FALSE(after.error)
      << after.error.message() << ": " << after.last_error;
  EXPECT_THAT(after.response, HasSubstr("Subject: CN=rotating-second"));
  EXPECT_THAT(after.response, Not(HasSubstr("rotating-first")));
}

}  // namespace
}  // namespace certbroker::testing

// WatchClientCertificate against a real certbrokerd: the current
// certificate at once, the renewed one pushed when its Kubernetes Secret
// rotates, a message when the rule stops giving one, a refusal for a
// caller no rule selects, and a clean end when the broker shuts down.
#include <signal.h>

#include <memory>
#include <string>

#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "broker/x509/certificate.h"
#include "gtest/gtest.h"
#include "tests/integration/broker_fixture.h"
#include "tests/support/kubernetes_volume.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {
namespace {

namespace v1 = ::certbroker::v1;

constexpr char kConfig[] = R"(
certificates:
  - id: web-client
    secret_dir: secret
    exportable: true
rules:
  - name: payments
    match: { hosts: [payments.example.test] }
    CLIENT_CERTIFICATE
    server_validation: { mode: AGENT }
)";

class WatchRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MustIssue(devpki::RootSpec("Watch Root"), nullptr);
    volume_ = std::make_unique<KubernetesVolume>(dir_.Path("secret"));
    first_ = Publish("first");
    WriteConfig(true);
    auto broker = BrokerProcess::Start(
        {"--config=" + dir_.Path("config.yaml"), "--listen=127.0.0.1:0"},
        dir_.path());
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(broker).value();
    stub_ = MakeStub(broker_->addresses()[0]);
  }

  void TearDown() override {
    if (broker_ != nullptr) EXPECT_EQ(broker_->Stop(), 0) << broker_->Log();
  }

  // Publish issues a client certificate and makes it the Secret's content;
  // returns its DER.
  std::string Publish(const std::string& name) {
    devpki::Issued client = MustIssue(devpki::ClientSpec(name), &root_);
    volume_->Publish(
        {{"tls.crt", client.CertificatePem()}, {"tls.key", client.KeyPem()}});
    return client.Der();
  }

  void WriteConfig(bool with_certificate) {
    dir_.Write("config.yaml",
               absl::StrReplaceAll(
                   kConfig, {{"CLIENT_CERTIFICATE",
                              with_certificate
                                  ? "client_certificate: web-client"
                                  : ""}}));
  }

  std::unique_ptr<grpc::ClientReader<v1::WatchClientCertificateResponse>>
  Watch(grpc::ClientContext& context, const std::string& host) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    v1::WatchClientCertificateRequest request;
    request.mutable_target()->set_host(host);
    return stub_->WatchClientCertificate(&context, request);
  }

  TempDir dir_;
  devpki::Issued root_;
  std::unique_ptr<KubernetesVolume> volume_;
  std::string first_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<v1::CertificateBroker::Stub> stub_;
};

TEST_F(WatchRpcTest, PushesTheRotatedCertificateWithinASecond) {
  grpc::ClientContext context;
  auto stream = Watch(context, "payments.example.test");
  v1::WatchClientCertificateResponse answer;
  ASSERT_TRUE(stream->Read(&answer));
  ASSERT_TRUE(answer.has_certificate()) << answer.unavailable_message();
  EXPECT_EQ(answer.certificate().certificate_id(), "web-client");
  EXPECT_EQ(answer.certificate().certificate_chain(0), first_);
  EXPECT_FALSE(answer.certificate().private_key().empty());

  const absl::Time rotated = absl::Now();
  std::string second = Publish("second");
  ASSERT_TRUE(stream->Read(&answer));
  const absl::Duration seen_after = absl::Now() - rotated;
  ASSERT_TRUE(answer.has_certificate());
  EXPECT_EQ(answer.certificate().certificate_chain(0), second);
  // The directory watcher waits 100 ms for the kubelet to finish; the
  // reload and the push take milliseconds. One second is the promise.
  EXPECT_LT(seen_after, absl::Seconds(1)) << seen_after;
  context.TryCancel();
}

TEST_F(WatchRpcTest, SaysWhenTheRuleNoLongerGivesACertificate) {
  grpc::ClientContext context;
  auto stream = Watch(context, "payments.example.test");
  v1::WatchClientCertificateResponse answer;
  ASSERT_TRUE(stream->Read(&answer));
  ASSERT_TRUE(answer.has_certificate());
  const std::string first_version = answer.policy_version();

  WriteConfig(false);
  broker_->Signal(SIGHUP);
  ASSERT_TRUE(stream->Read(&answer));
  EXPECT_FALSE(answer.has_certificate());
  EXPECT_EQ(answer.unavailable_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(answer.unavailable_message(),
            "rule 'payments' assigns no client certificate to "
            "https://payments.example.test:443");
  EXPECT_NE(answer.policy_version(), first_version);

  WriteConfig(true);
  broker_->Signal(SIGHUP);
  ASSERT_TRUE(stream->Read(&answer));
  ASSERT_TRUE(answer.has_certificate());
  EXPECT_EQ(answer.certificate().certificate_chain(0), first_);
  context.TryCancel();
}

TEST_F(WatchRpcTest, RefusesATargetNoRuleCovers) {
  grpc::ClientContext context;
  auto stream = Watch(context, "elsewhere.example.test");
  v1::WatchClientCertificateResponse answer;
  EXPECT_FALSE(stream->Read(&answer));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(),
            "no rule gives 'dev:insecure-loopback' a client certificate for "
            "https://elsewhere.example.test:443");
}

TEST_F(WatchRpcTest, EndsWithOkWhenTheBrokerShutsDown) {
  grpc::ClientContext context;
  auto stream = Watch(context, "payments.example.test");
  v1::WatchClientCertificateResponse answer;
  ASSERT_TRUE(stream->Read(&answer));
  EXPECT_EQ(broker_->Stop(), 0) << broker_->Log();
  broker_.reset();
  EXPECT_FALSE(stream->Read(&answer));
  grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_code() << " "
                           << status.error_message();
}

}  // namespace
}  // namespace certbroker::testing

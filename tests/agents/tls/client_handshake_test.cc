// The binding as a TLS client against openssl s_server requiring a client
// certificate: the broker's exportable and keyless certificates, the
// broker's rejections, local errors a connection asks to ignore (tolerated
// only where the rule allows them), an unreachable broker, and many handshakes
// on one thread while the broker is slow.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agents/tls/tls_test_env.h"
#include "tests/support/command_runner.h"

namespace certbroker::testing {
namespace {

using agent::TlsBinding;
using agent::TlsBindingOptions;
using agent::TlsErrc;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kGet[] = "GET / HTTP/1.0\r\n\r\n";

class ClientHandshakeTest : public BrokerBackedTest {
 protected:
  void SetUp() override {
    BrokerBackedTest::SetUp();
    if (HasFatalFailure()) return;
    TlsBindingOptions options;
    options.trust_store_pem_file = dir_.Path("pki/server-root.pem");
    auto binding = TlsBinding::Create(*client_, options);
    ASSERT_TRUE(binding.ok()) << binding.status();
    binding_ = std::move(binding).value();
    ctx_ = NewClientContext(*binding_);
    auto server = StartSServer(dir_, port_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
  }

  std::unique_ptr<TlsBinding> binding_;
  bssl::UniquePtr<SSL_CTX> ctx_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> server_;
};

TEST_F(ClientHandshakeTest, PresentsExportableCertificateToSServer) {
  ClientResult result = RunClient(
      *binding_, ctx_.get(), MakeTarget("exportable.test", port_), port_, kGet);
  ASSERT_FALSE(result.error)
      << result.error.message() << ": " << result.last_error << "\n"
      << server_->Log();
  EXPECT_TRUE(result.verdict.accepted);
  EXPECT_EQ(result.verdict.reason, v1::ACCEPTED);
  EXPECT_EQ(result.verdict.rule_name, "exportable");
  EXPECT_FALSE(result.verdict.decision_id.empty());
  EXPECT_TRUE(result.certificate.requested);
  EXPECT_TRUE(result.certificate.presented);
  EXPECT_FALSE(result.certificate.keyless);
  EXPECT_EQ(result.certificate.certificate_id, "exportable-client");
  EXPECT_EQ(result.certificate.signatures, 0);
  // s_server -www describes the client certificate it verified.
  EXPECT_THAT(result.response, HasSubstr("Client certificate"));
  EXPECT_THAT(result.response, HasSubstr("Subject: CN=sdk-client"));
  EXPECT_EQ(binding_->stats().keyless_signatures, 0u);
}

TEST_F(ClientHandshakeTest, SignsThroughBrokerForNonExportableCertificate) {
  v1::GetClientCertificateRequest request;
  *request.mutable_target() = MakeTarget("keyless.test", port_);
  auto answer = client_->GetClientCertificate(request);
  if (!answer.ok() &&
      absl::StrContains(answer.status().message(), "not exportable")) {
    GTEST_SKIP() << "this certbrokerd gives no key handles yet (Sign is "
                    "built in the keyless branch): "
                 << answer.status();
  }
  ASSERT_TRUE(answer.ok()) << answer.status();
  // The broker's answer carries a key handle and no key bytes.
  EXPECT_TRUE(answer->private_key().empty());
  EXPECT_FALSE(answer->key_handle().handle().empty());

  ClientResult result = RunClient(
      *binding_, ctx_.get(), MakeTarget("keyless.test", port_), port_, kGet);
  ASSERT_FALSE(result.error)
      << result.error.message() << ": " << result.last_error << "\n"
      << server_->Log();
  EXPECT_TRUE(result.verdict.accepted);
  EXPECT_TRUE(result.certificate.presented);
  EXPECT_TRUE(result.certificate.keyless);
  EXPECT_EQ(result.certificate.certificate_id, "keyless-client");
  EXPECT_EQ(result.certificate.signatures, 1);
  EXPECT_EQ(binding_->stats().keyless_signatures, 1u);
  EXPECT_THAT(result.response, HasSubstr("Subject: CN=sdk-client"));
}

TEST_F(ClientHandshakeTest, FailsWithBrokerReasonForUntrustedRoot) {
  ClientResult result = RunClient(*binding_, ctx_.get(),
                                  MakeTarget("untrusted.test", port_), port_);
  EXPECT_EQ(result.error, make_error_code(TlsErrc::kBrokerRejected))
      << result.error.message();
  EXPECT_TRUE(result.verdict.decided);
  EXPECT_FALSE(result.verdict.accepted);
  EXPECT_FALSE(result.verdict.broker_unavailable);
  EXPECT_EQ(result.verdict.step, agent::TlsStep::kServerCertificate);
  EXPECT_EQ(result.verdict.reason, v1::UNTRUSTED_ROOT);
  EXPECT_EQ(result.verdict.rule_name, "untrusted");
  EXPECT_FALSE(result.verdict.decision_id.empty());
  EXPECT_THAT(result.last_error, HasSubstr("UNTRUSTED_ROOT"));
  EXPECT_FALSE(result.certificate.presented);
}

TEST_F(ClientHandshakeTest, FailsWithBrokerReasonForWrongHost) {
  ClientResult result = RunClient(*binding_, ctx_.get(),
                                  MakeTarget("mismatch.test", port_), port_);
  EXPECT_EQ(result.error, make_error_code(TlsErrc::kBrokerRejected))
      << result.error.message();
  EXPECT_EQ(result.verdict.reason, v1::HOSTNAME_MISMATCH);
  EXPECT_THAT(result.verdict.detail, HasSubstr("mismatch.test"));
  EXPECT_THAT(result.last_error, HasSubstr("HOSTNAME_MISMATCH"));
}

TEST_F(ClientHandshakeTest, ChecksLocallyAndAsksBrokerInModeBoth) {
  ClientResult result = RunClient(*binding_, ctx_.get(),
                                  MakeTarget("both.test", port_), port_, kGet);
  ASSERT_FALSE(result.error)
      << result.error.message() << ": " << result.last_error;
  EXPECT_EQ(result.verdict.local_check, "ok");
  EXPECT_EQ(result.verdict.rule_name, "both");

  // Without a local trust store the local check fails and so does BOTH.
  auto bare = TlsBinding::Create(*client_, TlsBindingOptions());
  ASSERT_TRUE(bare.ok()) << bare.status();
  bssl::UniquePtr<SSL_CTX> bare_ctx = NewClientContext(**bare);
  ClientResult refused =
      RunClient(**bare, bare_ctx.get(), MakeTarget("both.test", port_), port_);
  EXPECT_EQ(refused.error, make_error_code(TlsErrc::kBrokerRejected));
  EXPECT_EQ(refused.verdict.reason, v1::AGENT_REJECTED);
  EXPECT_THAT(refused.verdict.local_check,
              HasSubstr("no local trust store configured"));
}

// IgnoreMismatch asks a connection to tolerate a local HOSTNAME_MISMATCH.
agent::TlsConnectionOptions IgnoreMismatch() {
  agent::TlsConnectionOptions options;
  options.ignore_local_errors = {v1::HOSTNAME_MISMATCH};
  return options;
}

TEST_F(ClientHandshakeTest, ToleratesLocalErrorAskedAndAllowed) {
  ClientResult result =
      RunClient(*binding_, ctx_.get(), MakeTarget("lenient.test", port_), port_,
                kGet, IgnoreMismatch());
  ASSERT_FALSE(result.error)
      << result.error.message() << ": " << result.last_error;
  EXPECT_TRUE(result.verdict.accepted);
  EXPECT_EQ(result.verdict.rule_name, "lenient");
  EXPECT_EQ(result.verdict.local_check,
            "Hostname mismatch (tolerated: the rule allows "
            "HOSTNAME_MISMATCH)");
  EXPECT_THAT(result.response, HasSubstr("Subject: CN=sdk-client"));
}

TEST_F(ClientHandshakeTest, RejectsLocalErrorAllowedButNotAsked) {
  ClientResult result = RunClient(*binding_, ctx_.get(),
                                  MakeTarget("lenient.test", port_), port_);
  EXPECT_EQ(result.error, make_error_code(TlsErrc::kBrokerRejected))
      << result.error.message();
  EXPECT_EQ(result.verdict.reason, v1::AGENT_REJECTED);
  EXPECT_EQ(result.verdict.local_check, "Hostname mismatch");
  EXPECT_THAT(result.verdict.detail,
              HasSubstr("the agent's own verification failed: Hostname "
                        "mismatch"));
}

TEST_F(ClientHandshakeTest, RejectsLocalErrorAskedButNotAllowed) {
  ClientResult result =
      RunClient(*binding_, ctx_.get(), MakeTarget("strict.test", port_), port_,
                "", IgnoreMismatch());
  EXPECT_EQ(result.error, make_error_code(TlsErrc::kBrokerRejected))
      << result.error.message();
  EXPECT_EQ(result.verdict.reason, v1::AGENT_REJECTED);
  EXPECT_EQ(result.verdict.rule_name, "strict");
  EXPECT_EQ(result.verdict.local_check,
            "Hostname mismatch (not ignored: the rule does not allow "
            "HOSTNAME_MISMATCH)");
}

TEST_F(ClientHandshakeTest, RejectsLocalErrorWhenAnotherIsAsked) {
  agent::TlsConnectionOptions options;
  options.ignore_local_errors = {v1::EXPIRED};
  ClientResult result =
      RunClient(*binding_, ctx_.get(), MakeTarget("lenient.test", port_), port_,
                "", options);
  EXPECT_EQ(result.error, make_error_code(TlsErrc::kBrokerRejected));
  EXPECT_EQ(result.verdict.reason, v1::AGENT_REJECTED);
  EXPECT_EQ(result.verdict.local_check, "Hostname mismatch");
}

TEST_F(ClientHandshakeTest, FailsAsBrokerUnavailableWhenBrokerStopped) {
  ASSERT_EQ(broker_->Stop(), 0);
  ClientResult result = RunClient(*binding_, ctx_.get(),
                                  MakeTarget("exportable.test", port_), port_);
  EXPECT_EQ(result.error, make_error_code(TlsErrc::kBrokerUnavailable))
      << result.error.message();
  EXPECT_TRUE(result.verdict.decided);
  EXPECT_FALSE(result.verdict.accepted);
  EXPECT_TRUE(result.verdict.broker_unavailable);
  EXPECT_EQ(result.verdict.reason, v1::REASON_UNSPECIFIED);
  EXPECT_TRUE(result.verdict.decision_id.empty());
  EXPECT_THAT(result.verdict.detail, StartsWith("broker unavailable"));
  EXPECT_THAT(result.last_error, HasSubstr("broker unavailable"));
}

// The example program prints the broker's verdict and the response head.
TEST_F(ClientHandshakeTest, ExampleProgramFetchesThroughBroker) {
  std::vector<std::string> argv = {
      CERTBROKER_TLS_GET_PATH, "--broker=" + broker_->addresses()[0],
      "--host=exportable.test", absl::StrCat("--port=", port_),
      "--connect=127.0.0.1"};
  CommandResult fetched = RunCommand(argv);
  EXPECT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_THAT(fetched.out,
              HasSubstr("verdict: accepted reason=ACCEPTED rule=exportable"));
  EXPECT_THAT(fetched.out,
              HasSubstr("client certificate: exportable-client (exportable)"));
  EXPECT_THAT(fetched.out, HasSubstr("HTTP/1.0 200 ok"));

  argv[2] = "--host=untrusted.test";
  CommandResult refused = RunCommand(argv);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.out,
              HasSubstr("verdict: rejected reason=UNTRUSTED_ROOT"));
  EXPECT_THAT(refused.err,
              HasSubstr("the broker rejected the peer's certificate"));
}

// Many handshakes share one io_context thread while every broker answer
// takes 200 ms: they overlap, so the total is far below 50 x the delay.
TEST(ClientAsynchronyTest, FiftyHandshakesOnOneThreadOverlapSlowBroker) {
  namespace asio = boost::asio;
  constexpr int kHandshakes = 50;
  TempDir dir;
  SdkPki pki = SdkPki::Generate();
  pki.Write(dir);
  auto broker = StartBroker(dir, {"--test_only_response_delay=200ms"});
  if (!broker.ok() && absl::StrContains(broker.status().message(),
                                        "test_only_response_delay")) {
    GTEST_SKIP() << "this certbrokerd has no --test_only_response_delay yet "
                    "(the lead adds it to main): "
                 << broker.status();
  }
  ASSERT_TRUE(broker.ok()) << broker.status();
  // No cache: every handshake asks the broker twice (policy, verdict).
  auto client = MakeClient((*broker)->addresses()[0], /*cache_entries=*/0);
  auto binding = TlsBinding::Create(*client, TlsBindingOptions());
  ASSERT_TRUE(binding.ok()) << binding.status();
  bssl::UniquePtr<SSL_CTX> client_ctx = NewClientContext(**binding);

  bssl::UniquePtr<SSL_CTX> server_ctx(SSL_CTX_new(TLS_method()));
  ASSERT_EQ(SSL_CTX_use_certificate_chain_file(
                server_ctx.get(), dir.Path("pki/server-chain.pem").c_str()),
            1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey_file(server_ctx.get(),
                                        dir.Path("pki/server.key").c_str(),
                                        SSL_FILETYPE_PEM),
            1);
  SSL_CTX_set_num_tickets(server_ctx.get(), 0);

  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io,
                                   {asio::ip::make_address("127.0.0.1"), 0});
  int port = acceptor.local_endpoint().port();
  std::vector<std::unique_ptr<agent::AsioTlsStream>> servers;
  std::function<void()> accept = [&] {
    acceptor.async_accept(
        [&](boost::system::error_code ec, asio::ip::tcp::socket socket) {
          if (ec) return;
          bssl::UniquePtr<SSL> ssl(SSL_new(server_ctx.get()));
          SSL_set_accept_state(ssl.get());
          servers.push_back(std::make_unique<agent::AsioTlsStream>(
              std::move(socket), std::move(ssl)));
          servers.back()->async_handshake([](boost::system::error_code) {});
          accept();
        });
  };
  accept();

  std::vector<std::unique_ptr<agent::AsioTlsStream>> clients;
  std::atomic<int> succeeded{0};
  std::vector<std::string> failures;
  auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration shortest = std::chrono::hours(1);
  for (int i = 0; i < kHandshakes; ++i) {
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"),
                    static_cast<unsigned short>(port)});
    bssl::UniquePtr<SSL> ssl(SSL_new(client_ctx.get()));
    ASSERT_TRUE(
        (*binding)
            ->AttachClient(ssl.get(), MakeTarget("exportable.test", port))
            .ok());
    clients.push_back(std::make_unique<agent::AsioTlsStream>(std::move(socket),
                                                             std::move(ssl)));
    agent::AsioTlsStream* stream = clients.back().get();
    stream->async_handshake([&, stream](boost::system::error_code ec) {
      shortest = std::min(shortest, std::chrono::steady_clock::now() - start);
      if (ec) {
        failures.push_back(ec.message() + ": " + stream->last_error());
      } else {
        ++succeeded;
      }
      if (succeeded + static_cast<int>(failures.size()) == kHandshakes) {
        acceptor.close();
        io.stop();
      }
    });
  }
  io.run_for(std::chrono::seconds(60));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(succeeded, kHandshakes) << (failures.empty() ? "" : failures[0]);
  // Each handshake waited for two slow answers...
  EXPECT_GE(shortest, std::chrono::milliseconds(400));
  // ...yet all of them together took less than 50 x one delay (10 s).
  EXPECT_LT(elapsed, std::chrono::milliseconds(5000))
      << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
      << " ms";
}

}  // namespace
}  // namespace certbroker::testing

// The binding as a TLS server (AsioTlsStream accepting) against
// openssl s_client with and without a client certificate, under each
// negotiation mode of the broker's inbound rules; the accepted peer's
// identity is readable by the application.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agents/tls/tls_test_env.h"

namespace certbroker::testing {
namespace {

namespace asio = boost::asio;
using agent::TlsBinding;
using agent::TlsErrc;
using ::testing::HasSubstr;

enum class ClientCert { kNone, kGood, kStranger };

// ServerResult is the server side's view of one handshake.
struct ServerResult {
  boost::system::error_code error;
  std::string last_error;
  agent::TlsOutcome verdict;
  agent::PeerInfo peer;
  std::string s_client_log;  // What s_client printed (the CA names it got).
};

class ServerNegotiationTest : public BrokerBackedTest {
 protected:
  void SetUp() override {
    BrokerBackedTest::SetUp();
    if (HasFatalFailure()) return;
    v1::GetNegotiationPolicyRequest probe;
    probe.mutable_listener()->set_name("sdk-ignore");
    auto answer = client_->GetNegotiationPolicy(probe);
    if (!answer.ok() &&
        answer.status().code() == absl::StatusCode::kUnimplemented) {
      GTEST_SKIP() << "this certbrokerd does not answer GetNegotiationPolicy "
                      "yet (the lead builds the server side): "
                   << answer.status();
    }
    ASSERT_TRUE(answer.ok()) << answer.status();
  }

  // Serve accepts one connection on `listener` and handshakes with an
  // s_client presenting `cert`.
  ServerResult Serve(const std::string& listener, ClientCert cert) {
    ServerResult result;
    agent::TlsBindingOptions options;
    options.listener_name = listener;
    auto binding = TlsBinding::Create(*client_, options);
    EXPECT_TRUE(binding.ok()) << binding.status();
    if (!binding.ok()) return result;
    bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
    EXPECT_EQ(SSL_CTX_use_certificate_chain_file(
                  ctx.get(), dir_.Path("pki/server-chain.pem").c_str()),
              1);
    EXPECT_EQ(
        SSL_CTX_use_PrivateKey_file(
            ctx.get(), dir_.Path("pki/server.key").c_str(), SSL_FILETYPE_PEM),
        1);
    // No tickets: s_client may be gone before they would be sent.
    SSL_CTX_set_num_tickets(ctx.get(), 0);
    absl::Status configured = (*binding)->ConfigureServer(ctx.get());
    EXPECT_TRUE(configured.ok()) << configured;

    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io,
                                     {asio::ip::make_address("127.0.0.1"), 0});
    int port = acceptor.local_endpoint().port();
    std::unique_ptr<agent::AsioTlsStream> stream;
    bool done = false;
    acceptor.async_accept(
        [&](boost::system::error_code ec, asio::ip::tcp::socket socket) {
          if (ec) {
            result.error = ec;
            done = true;
            return;
          }
          bssl::UniquePtr<SSL> ssl(SSL_new(ctx.get()));
          EXPECT_TRUE((*binding)->AttachServer(ssl.get()).ok());
          stream = std::make_unique<agent::AsioTlsStream>(std::move(socket),
                                                          std::move(ssl));
          stream->async_handshake([&](boost::system::error_code ec) {
            result.error = ec;
            done = true;
          });
        });
    std::vector<std::string> argv = {
        "openssl",     "s_client", "-connect", absl::StrCat("127.0.0.1:", port),
        "-servername", "app.test"};
    if (cert == ClientCert::kGood) {
      argv.insert(argv.end(), {"-cert", dir_.Path("pki/client-chain.pem"),
                               "-key", dir_.Path("pki/client.key")});
    } else if (cert == ClientCert::kStranger) {
      argv.insert(argv.end(), {"-cert", dir_.Path("pki/stranger-client.pem"),
                               "-key", dir_.Path("pki/stranger-client.key")});
    }
    auto s_client = ChildProcess::Start(
        argv, dir_.Path(absl::StrCat("s_client-", port, ".log")));
    EXPECT_TRUE(s_client.ok()) << s_client.status();
    io.run_for(std::chrono::seconds(30));
    EXPECT_TRUE(done) << "the server handshake did not finish within 30 s";
    if (s_client.ok()) {
      (*s_client)->Wait(absl::Seconds(10));
      result.s_client_log = (*s_client)->Log();
    }
    if (stream != nullptr) {
      result.last_error = stream->last_error();
      result.verdict = TlsBinding::PeerVerdict(stream->native_handle());
      result.peer = TlsBinding::Peer(stream->native_handle());
    }
    return result;
  }

};

TEST_F(ServerNegotiationTest, IgnoreServesWithoutAskingForCertificate) {
  ServerResult result = Serve("sdk-ignore", ClientCert::kGood);
  ASSERT_FALSE(result.error)
      << result.error.message() << ": " << result.last_error;
  EXPECT_EQ(result.peer.mode, v1::IGNORE);
  EXPECT_TRUE(result.peer.anonymous);
  EXPECT_THAT(result.s_client_log,
              HasSubstr("No client certificate CA names sent"));
  EXPECT_TRUE(result.peer.identity.identity().empty());
}

TEST_F(ServerNegotiationTest, RequestServesAnonymousClientWithoutCertificate) {
  ServerResult result = Serve("sdk-request", ClientCert::kNone);
  ASSERT_FALSE(result.error)
      << result.error.message() << ": " << result.last_error;
  EXPECT_EQ(result.peer.mode, v1::REQUEST);
  EXPECT_TRUE(result.peer.anonymous);
}

TEST_F(ServerNegotiationTest, RequestNamesClientWithCertificate) {
  ServerResult result = Serve("sdk-request", ClientCert::kGood);
  ASSERT_FALSE(result.error)
      << result.error.message() << ": " << result.last_error;
  EXPECT_EQ(result.peer.mode, v1::REQUEST);
  EXPECT_FALSE(result.peer.anonymous);
  EXPECT_EQ(result.peer.identity.identity(), "spiffe://test.example/sdk");
  EXPECT_EQ(result.peer.identity.spiffe_id(), "spiffe://test.example/sdk");
  EXPECT_TRUE(result.verdict.accepted);
  EXPECT_EQ(result.verdict.rule_name, "request");
}

TEST_F(ServerNegotiationTest, RequireRefusesClientWithoutCertificate) {
  ServerResult result = Serve("sdk-require", ClientCert::kNone);
  EXPECT_EQ(result.error, make_error_code(TlsErrc::kTlsFailure))
      << result.error.message();
  EXPECT_THAT(result.last_error,
              HasSubstr("PEER_DID_NOT_RETURN_A_CERTIFICATE"));
  EXPECT_EQ(result.peer.mode, v1::REQUIRE);
  EXPECT_FALSE(result.peer.anonymous);
}

TEST_F(ServerNegotiationTest, RequireNamesAllowedClient) {
  ServerResult result = Serve("sdk-require", ClientCert::kGood);
  ASSERT_FALSE(result.error)
      << result.error.message() << ": " << result.last_error;
  EXPECT_EQ(result.peer.identity.identity(), "spiffe://test.example/sdk");
  EXPECT_EQ(result.peer.identity.subject(), "CN=sdk-client");
  // The CertificateRequest listed the inbound rule's trust anchor.
  EXPECT_THAT(result.s_client_log,
              HasSubstr("Acceptable client certificate CA names"));
  EXPECT_THAT(result.s_client_log, HasSubstr("SDK Client Root"));
  EXPECT_FALSE(result.verdict.decision_id.empty());
}

TEST_F(ServerNegotiationTest, RequireRefusesClientFromUntrustedCa) {
  ServerResult result = Serve("sdk-require", ClientCert::kStranger);
  EXPECT_EQ(result.error, make_error_code(TlsErrc::kBrokerRejected))
      << result.error.message();
  EXPECT_FALSE(result.verdict.accepted);
  EXPECT_EQ(result.verdict.step, agent::TlsStep::kClientCertificateCheck);
  EXPECT_EQ(result.verdict.reason, v1::INCOMPLETE_CHAIN);
  EXPECT_THAT(result.last_error, HasSubstr("INCOMPLETE_CHAIN"));
  EXPECT_TRUE(result.peer.identity.identity().empty());
}

}  // namespace
}  // namespace certbroker::testing

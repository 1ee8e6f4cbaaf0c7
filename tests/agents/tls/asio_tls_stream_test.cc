// AsioTlsStream on its own (plain BoringSSL contexts, no broker): a
// megabyte each way through in-process client and server streams (partial
// writes, full BIO pairs), in turn and at once (full duplex), close_notify
// seen as eof, and a failed local verification reported as kTlsFailure
// with BoringSSL's reason.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agents/tls/tls_test_env.h"

namespace certbroker::testing {
namespace {

namespace asio = boost::asio;
using agent::AsioTlsStream;
using ::testing::HasSubstr;

class AsioTlsStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = SdkPki::Generate();
    pki_.Write(dir_);
    server_ctx_.reset(SSL_CTX_new(TLS_method()));
    ASSERT_EQ(SSL_CTX_use_certificate_chain_file(
                  server_ctx_.get(), dir_.Path("pki/server-chain.pem").c_str()),
              1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey_file(server_ctx_.get(),
                                          dir_.Path("pki/server.key").c_str(),
                                          SSL_FILETYPE_PEM),
              1);
    client_ctx_.reset(SSL_CTX_new(TLS_method()));
    X509_STORE_add_cert(SSL_CTX_get_cert_store(client_ctx_.get()),
                        pki_.server_root.certificate.get());
    SSL_CTX_set_verify(client_ctx_.get(), SSL_VERIFY_PEER, nullptr);
  }

  // Connect makes a connected client/server stream pair on io_; the client
  // checks the server's certificate for `host`.
  void Connect(const std::string& host) {
    asio::ip::tcp::acceptor acceptor(io_,
                                     {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket client_socket(io_);
    client_socket.connect(acceptor.local_endpoint());
    asio::ip::tcp::socket server_socket = acceptor.accept();
    bssl::UniquePtr<SSL> server_ssl(SSL_new(server_ctx_.get()));
    SSL_set_accept_state(server_ssl.get());
    server_ = std::make_unique<AsioTlsStream>(std::move(server_socket),
                                              std::move(server_ssl));
    bssl::UniquePtr<SSL> client_ssl(SSL_new(client_ctx_.get()));
    SSL_set_connect_state(client_ssl.get());
    SSL_set1_host(client_ssl.get(), host.c_str());
    client_ = std::make_unique<AsioTlsStream>(std::move(client_socket),
                                              std::move(client_ssl));
  }

  TempDir dir_;
  SdkPki pki_;
  bssl::UniquePtr<SSL_CTX> server_ctx_, client_ctx_;
  asio::io_context io_;
  std::unique_ptr<AsioTlsStream> server_, client_;
};

TEST_F(AsioTlsStreamTest, EchoesAMegabyteAndEndsWithEof) {
  Connect("server.test");
  std::string sent(1 << 20, '\0');
  for (size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>(i * 7);
  std::string at_server(sent.size(), '\0');
  std::string at_client(sent.size(), '\0');
  boost::system::error_code server_error, client_error, eof_error;
  bool server_done = false, client_done = false;

  server_->async_handshake([&](boost::system::error_code ec) {
    if ((server_error = ec)) return;
    asio::async_read(
        *server_, asio::buffer(at_server),
        [&](boost::system::error_code ec, size_t) {
          if ((server_error = ec)) return;
          asio::async_write(
              *server_, asio::buffer(at_server),
              [&](boost::system::error_code ec, size_t) {
                if ((server_error = ec)) return;
                server_->async_shutdown([&](boost::system::error_code ec) {
                  server_error = ec;
                  server_done = true;
                });
              });
        });
  });
  client_->async_handshake([&](boost::system::error_code ec) {
    if ((client_error = ec)) return;
    asio::async_write(*client_, asio::buffer(sent),
                      [&](boost::system::error_code ec, size_t) {
                        if ((client_error = ec)) return;
                        asio::async_read(
                            *client_, asio::buffer(at_client),
                            [&](boost::system::error_code ec, size_t) {
                              if ((client_error = ec)) return;
                              static char one;
                              client_->async_read_some(
                                  asio::buffer(&one, 1),
                                  [&](boost::system::error_code ec, size_t) {
                                    eof_error = ec;
                                    client_done = true;
                                  });
                            });
                      });
  });
  io_.run_for(std::chrono::seconds(60));
  ASSERT_TRUE(server_done && client_done)
      << "server: " << server_error.message() << " " << server_->last_error()
      << "; client: " << client_error.message() << " " << client_->last_error();
  EXPECT_FALSE(server_error) << server_error.message();
  EXPECT_FALSE(client_error) << client_error.message();
  EXPECT_TRUE(at_client == sent) << "the echo differs";
  EXPECT_EQ(eof_error, asio::error::eof) << eof_error.message();
}

// Both ends write a megabyte and read the other's at the same time: one
// read and one write in progress on each stream (full duplex).
TEST_F(AsioTlsStreamTest, ReadsAndWritesAtOnce) {
  Connect("server.test");
  std::string from_client(1 << 20, 'c'), from_server(1 << 20, 's');
  for (size_t i = 0; i < from_client.size(); i += 4093) from_client[i] = 'C';
  for (size_t i = 0; i < from_server.size(); i += 4091) from_server[i] = 'S';
  std::string at_server(from_client.size(), '\0');
  std::string at_client(from_server.size(), '\0');
  int finished = 0;
  std::vector<std::string> errors;
  auto note = [&](const char* what) {
    return [&, what](boost::system::error_code ec, size_t) {
      if (ec) errors.push_back(std::string(what) + ": " + ec.message());
      ++finished;
    };
  };
  auto pump = [&](AsioTlsStream& stream, const std::string& out,
                  std::string& in, const char* side) {
    stream.async_handshake([&, side](boost::system::error_code ec) {
      if (ec) {
        errors.push_back(std::string(side) + " handshake: " + ec.message());
        finished += 2;
        return;
      }
      asio::async_write(stream, asio::buffer(out), note(side));
      asio::async_read(stream, asio::buffer(in), note(side));
    });
  };
  pump(*server_, from_server, at_server, "server");
  pump(*client_, from_client, at_client, "client");
  io_.run_for(std::chrono::seconds(60));
  ASSERT_EQ(finished, 4) << "not finished within 60 s";
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_TRUE(at_server == from_client) << "the server read other bytes";
  EXPECT_TRUE(at_client == from_server) << "the client read other bytes";
}

TEST_F(AsioTlsStreamTest, FailedLocalVerificationIsTlsFailure) {
  Connect("elsewhere.test");
  boost::system::error_code client_error;
  bool client_done = false;
  server_->async_handshake([](boost::system::error_code) {});
  client_->async_handshake([&](boost::system::error_code ec) {
    client_error = ec;
    client_done = true;
  });
  io_.run_for(std::chrono::seconds(30));
  ASSERT_TRUE(client_done);
  EXPECT_EQ(client_error, make_error_code(agent::TlsErrc::kTlsFailure))
      << client_error.message();
  EXPECT_THAT(client_->last_error(), HasSubstr("CERTIFICATE_VERIFY_FAILED"));
  // Not attached to a binding: no broker outcome.
  EXPECT_FALSE(
      agent::TlsBinding::ServerVerdict(client_->native_handle()).decided);
}

TEST(AsioTlsStreamNoSslTest, FailsEveryOperationWithoutCrashing) {
  asio::io_context io;
  AsioTlsStream stream(asio::ip::tcp::socket(io), nullptr);
  boost::system::error_code handshake_error, read_error;
  char byte;
  stream.async_handshake(
      [&](boost::system::error_code ec) { handshake_error = ec; });
  stream.async_read_some(
      asio::buffer(&byte, 1),
      [&](boost::system::error_code ec, size_t) { read_error = ec; });
  io.run_for(std::chrono::seconds(10));
  EXPECT_EQ(handshake_error, make_error_code(agent::TlsErrc::kTlsFailure));
  EXPECT_EQ(read_error, make_error_code(agent::TlsErrc::kTlsFailure));
  EXPECT_EQ(stream.last_error(), "the stream has no SSL (or no BIO pair)");
}

}  // namespace
}  // namespace certbroker::testing

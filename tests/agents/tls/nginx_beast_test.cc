// The binding as a TLS client of nginx (ssl_verify_client on) over
// AsioTlsStream, with one Beast HTTP GET: nginx echoes the client
// certificate it verified, exportable and keyless.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agents/tls/tls_test_env.h"

namespace certbroker::testing {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using agent::TlsBinding;
using ::testing::HasSubstr;

std::string SerialHex(const X509* certificate) {
  bssl::UniquePtr<BIGNUM> serial(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr));
  char* hex = BN_bn2hex(serial.get());
  std::string text = absl::AsciiStrToUpper(hex);  // nginx's form.
  OPENSSL_free(hex);
  return text;
}

class NginxBeastTest : public BrokerBackedTest {
 protected:
  void SetUp() override {
    BrokerBackedTest::SetUp();
    if (HasFatalFailure()) return;
    auto binding = TlsBinding::Create(*client_, agent::TlsBindingOptions());
    ASSERT_TRUE(binding.ok()) << binding.status();
    binding_ = std::move(binding).value();
    ctx_ = NewClientContext(*binding_);

    NginxOptions options;
    options.locations = R"(
    location /whoami {
      default_type text/plain;
      return 200 "dn=$ssl_client_s_dn serial=$ssl_client_serial\n";
    })";
    auto nginx = StartNginx(dir_, options, port_);
    ASSERT_TRUE(nginx.ok()) << nginx.status();
    nginx_ = std::move(nginx).value();
  }

  // Get does one HTTPS GET of /whoami through the binding, with Beast.
  http::response<http::string_body> Get(const std::string& host,
                                        boost::system::error_code& error,
                                        agent::ClientCertificateInfo& info) {
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"),
                    static_cast<unsigned short>(port_)});
    bssl::UniquePtr<SSL> ssl(SSL_new(ctx_.get()));
    EXPECT_TRUE(
        binding_->AttachClient(ssl.get(), MakeTarget(host, port_)).ok());
    agent::AsioTlsStream stream(std::move(socket), std::move(ssl));
    http::request<http::empty_body> request(http::verb::get, "/whoami", 11);
    request.set(http::field::host, host);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    stream.async_handshake([&](boost::system::error_code ec) {
      if (ec) {
        error = ec;
        return;
      }
      http::async_write(
          stream, request, [&](boost::system::error_code ec, size_t) {
            if (ec) {
              error = ec;
              return;
            }
            http::async_read(
                stream, buffer, response,
                [&](boost::system::error_code ec, size_t) { error = ec; });
          });
    });
    io.run_for(std::chrono::seconds(30));
    EXPECT_TRUE(io.stopped()) << "the GET did not finish within 30 s";
    if (error) ADD_FAILURE() << error.message() << ": " << stream.last_error();
    info = TlsBinding::ClientCertificate(stream.native_handle());
    return response;
  }

  std::unique_ptr<TlsBinding> binding_;
  bssl::UniquePtr<SSL_CTX> ctx_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> nginx_;
};

TEST_F(NginxBeastTest, GetsWithExportableClientCertificate) {
  boost::system::error_code error;
  agent::ClientCertificateInfo info;
  auto response = Get("exportable.test", error, info);
  ASSERT_FALSE(error) << nginx_->Log();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(),
            absl::StrCat("dn=CN=sdk-client serial=",
                         SerialHex(pki_.client.certificate.get()), "\n"));
  EXPECT_TRUE(info.presented);
  EXPECT_FALSE(info.keyless);
}

TEST_F(NginxBeastTest, GetsWithKeylessClientCertificate) {
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
  ASSERT_TRUE(answer->private_key().empty());

  boost::system::error_code error;
  agent::ClientCertificateInfo info;
  auto response = Get("keyless.test", error, info);
  ASSERT_FALSE(error) << nginx_->Log();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_THAT(response.body(), HasSubstr("dn=CN=sdk-client serial="));
  EXPECT_TRUE(info.presented);
  EXPECT_TRUE(info.keyless);
  EXPECT_EQ(info.signatures, 1);
  EXPECT_EQ(binding_->stats().keyless_signatures, 1u);
}

}  // namespace
}  // namespace certbroker::testing

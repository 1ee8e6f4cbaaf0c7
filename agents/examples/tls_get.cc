// certbroker-tls-get: fetches one HTTPS URL path through the agent SDK (the
// broker judges the server's certificate and supplies the client
// certificate) and prints the broker's verdict and the response head.
//
//   certbroker-tls-get --broker=127.0.0.1:7443 --host=api.example.test \
//       --port=8443 [--connect=127.0.0.1] [--path=/] [--trust_store=roots.pem]
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "certbroker/agent/asio_tls_stream.h"
#include "certbroker/agent/broker_client.h"
#include "certbroker/agent/tls_binding.h"

ABSL_FLAG(std::string, broker, "", "certbrokerd's gRPC address");
ABSL_FLAG(std::string, host, "", "the server's name (the broker's target)");
ABSL_FLAG(int, port, 443, "the server's port");
ABSL_FLAG(std::string, connect, "",
          "address to connect to instead of resolving --host");
ABSL_FLAG(std::string, path, "/", "the path to GET");
ABSL_FLAG(std::string, trust_store, "",
          "PEM roots for the local check (rules in mode AGENT or BOTH)");

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using certbroker::agent::TlsBinding;

void PrintVerdict(SSL* ssl) {
  certbroker::agent::TlsOutcome verdict = TlsBinding::ServerVerdict(ssl);
  if (!verdict.decided) {
    std::cout << "verdict: none\n";
    return;
  }
  if (verdict.broker_unavailable) {
    std::cout << "verdict: " << verdict.detail << "\n";
    return;
  }
  std::cout << "verdict: " << (verdict.accepted ? "accepted" : "rejected")
            << " reason=" << certbroker::v1::Reason_Name(verdict.reason)
            << " rule=" << verdict.rule_name
            << " decision=" << verdict.decision_id;
  if (!verdict.detail.empty()) std::cout << " detail=" << verdict.detail;
  if (!verdict.local_check.empty()) {
    std::cout << " local_check=" << verdict.local_check;
  }
  std::cout << "\n";
  certbroker::agent::ClientCertificateInfo certificate =
      TlsBinding::ClientCertificate(ssl);
  if (certificate.presented) {
    std::cout << "client certificate: " << certificate.certificate_id
              << (certificate.keyless ? " (keyless)" : " (exportable)") << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::string host = absl::GetFlag(FLAGS_host);
  int port = absl::GetFlag(FLAGS_port);
  if (absl::GetFlag(FLAGS_broker).empty() || host.empty()) {
    std::cerr << "usage: certbroker-tls-get --broker=ADDR --host=NAME "
                 "[--port=N] [--connect=ADDR] [--path=/]\n";
    return 2;
  }
  certbroker::agent::BrokerClientOptions client_options;
  client_options.address = absl::GetFlag(FLAGS_broker);
  auto client = certbroker::agent::BrokerClient::Create(client_options);
  if (!client.ok()) {
    std::cerr << client.status() << "\n";
    return 2;
  }
  certbroker::agent::TlsBindingOptions options;
  options.trust_store_pem_file = absl::GetFlag(FLAGS_trust_store);
  auto binding = TlsBinding::Create(**client, options);
  if (!binding.ok()) {
    std::cerr << binding.status() << "\n";
    return 2;
  }
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  if (ctx == nullptr || !(*binding)->ConfigureClient(ctx.get()).ok()) {
    std::cerr << "cannot make a TLS context\n";
    return 2;
  }

  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  std::string connect_to = absl::GetFlag(FLAGS_connect);
  boost::system::error_code error;
  auto endpoints = resolver.resolve(connect_to.empty() ? host : connect_to,
                                    std::to_string(port), error);
  asio::ip::tcp::socket socket(io);
  if (!error) asio::connect(socket, endpoints, error);
  if (error) {
    std::cerr << "connect: " << error.message() << "\n";
    return 1;
  }
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx.get()));
  certbroker::v1::Target target;
  target.set_host(host);
  target.set_port(port);
  absl::Status attached = (*binding)->AttachClient(ssl.get(), target);
  if (!attached.ok()) {
    std::cerr << attached << "\n";
    return 2;
  }
  certbroker::agent::AsioTlsStream stream(std::move(socket), std::move(ssl));
  http::request<http::empty_body> request(http::verb::get,
                                          absl::GetFlag(FLAGS_path), 11);
  request.set(http::field::host, host);
  request.set(http::field::connection, "close");
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  stream.async_handshake([&](boost::system::error_code ec) {
    PrintVerdict(stream.native_handle());
    if ((error = ec)) return;
    http::async_write(
        stream, request, [&](boost::system::error_code ec, size_t) {
          if ((error = ec)) return;
          http::async_read(
              stream, buffer, response,
              [&](boost::system::error_code ec, size_t) { error = ec; });
        });
  });
  io.run();
  if (error) {
    std::cerr << "failed: " << error.message();
    if (!stream.last_error().empty()) std::cerr << ": " << stream.last_error();
    std::cerr << "\n";
    return 1;
  }
  std::cout << response.base();
  return 0;
}

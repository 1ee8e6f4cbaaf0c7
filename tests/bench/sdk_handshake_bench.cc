// Handshakes per second through the agent SDK (AsioTlsStream + TlsBinding,
// the server's chain judged by the broker, answered from the BrokerClient's
// warm cache) against the same handshakes verified locally by BoringSSL
// (trust store + host name, no broker), same process, same in-process TLS
// server, same io_context thread, same run. Runs alternate between the two
// so that drift on a shared machine hits both.
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "certbroker/agent/asio_tls_stream.h"
#include "certbroker/agent/broker_client.h"
#include "certbroker/agent/tls_binding.h"
#include "tests/bench/bench_support.h"

namespace certbroker::bench {
namespace {

namespace asio = boost::asio;
constexpr int kConcurrency = 8;
constexpr int kHandshakesPerRound = 1000;
constexpr int kRounds = 4;

// Server accepts TLS connections on the io_context and handshakes them.
class Server {
 public:
  Server(asio::io_context& io, SSL_CTX* ctx)
      : acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}), ctx_(ctx) {
    Accept();
  }
  int port() const { return acceptor_.local_endpoint().port(); }

 private:
  void Accept() {
    acceptor_.async_accept(
        [this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
          if (ec) return;
          bssl::UniquePtr<SSL> ssl(SSL_new(ctx_));
          SSL_set_accept_state(ssl.get());
          auto stream = std::make_shared<agent::AsioTlsStream>(
              std::move(socket), std::move(ssl));
          stream->async_handshake([stream](boost::system::error_code) {});
          Accept();
        });
  }
  asio::ip::tcp::acceptor acceptor_;
  SSL_CTX* ctx_;
};

// Run makes `count` client handshakes, `kConcurrency` at a time, and
// returns handshakes per second; `prepare` readies each client SSL.
double Run(asio::io_context& io, int port, SSL_CTX* ctx, int count,
           const std::function<void(SSL*)>& prepare) {
  int started = 0;
  int finished = 0;
  int failed = 0;
  std::string failure;
  std::function<void()> start_one = [&] {
    if (started == count) return;
    ++started;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"),
                    static_cast<unsigned short>(port)});
    socket.set_option(asio::ip::tcp::no_delay(true));
    bssl::UniquePtr<SSL> ssl(SSL_new(ctx));
    prepare(ssl.get());
    auto stream = std::make_shared<agent::AsioTlsStream>(std::move(socket),
                                                         std::move(ssl));
    stream->async_handshake([&, stream](boost::system::error_code ec) {
      if (ec) {
        ++failed;
        failure = ec.message() + ": " + stream->last_error();
      }
      if (++finished == count) {
        io.stop();
      } else {
        start_one();
      }
    });
  };
  auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < kConcurrency; ++i) start_one();
  io.restart();
  io.run();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin)
          .count();
  if (failed > 0) {
    Fail("handshakes", absl::InternalError(absl::StrCat(failed, " of ", count,
                                                        " failed: ", failure)));
  }
  return count / seconds;
}

int Main() {
  testing::TempDir dir;
  BenchChain chain = MakeChain({"api.example.test"});
  std::string config = WriteBenchConfig(dir, chain.root);
  auto broker = StartBroker(dir, config);

  agent::BrokerClientOptions options;
  options.address = broker->addresses()[0];
  auto client = agent::BrokerClient::Create(options);
  if (!client.ok()) Fail("BrokerClient", client.status());
  auto binding = agent::TlsBinding::Create(**client, {});
  if (!binding.ok()) Fail("TlsBinding", binding.status());

  bssl::UniquePtr<SSL_CTX> server_ctx(SSL_CTX_new(TLS_method()));
  if (!SSL_CTX_use_certificate(server_ctx.get(),
                               chain.leaf.certificate.get()) ||
      !SSL_CTX_add1_chain_cert(server_ctx.get(),
                               chain.intermediate.certificate.get()) ||
      !SSL_CTX_use_PrivateKey(server_ctx.get(), chain.leaf.key.get())) {
    Fail("server context", absl::InternalError("certificate or key"));
  }
  SSL_CTX_set_num_tickets(server_ctx.get(), 0);

  // SDK: the broker decides (mode BROKER), from the client's cache.
  bssl::UniquePtr<SSL_CTX> sdk_ctx(SSL_CTX_new(TLS_method()));
  absl::Status configured = (*binding)->ConfigureClient(sdk_ctx.get());
  if (!configured.ok()) Fail("ConfigureClient", configured);
  v1::Target target;
  target.set_host("api.example.test");
  auto prepare_sdk = [&](SSL* ssl) {
    absl::Status attached = (*binding)->AttachClient(ssl, target);
    if (!attached.ok()) Fail("AttachClient", attached);
  };

  // Local: BoringSSL's own verification against the same root and name.
  bssl::UniquePtr<SSL_CTX> local_ctx(SSL_CTX_new(TLS_method()));
  X509_STORE_add_cert(SSL_CTX_get_cert_store(local_ctx.get()),
                      chain.root.certificate.get());
  SSL_CTX_set_verify(local_ctx.get(), SSL_VERIFY_PEER, nullptr);
  auto prepare_local = [](SSL* ssl) {
    SSL_set_connect_state(ssl);
    SSL_set_tlsext_host_name(ssl, "api.example.test");
    SSL_set1_host(ssl, "api.example.test");
  };

  asio::io_context io;
  Server server(io, server_ctx.get());
  // Warm up both paths (and the client's cache: policy and verdict).
  Run(io, server.port(), sdk_ctx.get(), 50, prepare_sdk);
  Run(io, server.port(), local_ctx.get(), 50, prepare_local);
  agent::CacheStats warm = (*client)->cache_stats();

  double sdk_total = 0, local_total = 0;
  double sdk_cpu = 0, local_cpu = 0;
  for (int round = 0; round < kRounds; ++round) {
    double cpu_before = SelfCpuSeconds();
    double sdk =
        Run(io, server.port(), sdk_ctx.get(), kHandshakesPerRound, prepare_sdk);
    double cpu_between = SelfCpuSeconds();
    double local = Run(io, server.port(), local_ctx.get(), kHandshakesPerRound,
                       prepare_local);
    sdk_cpu += cpu_between - cpu_before;
    local_cpu += SelfCpuSeconds() - cpu_between;
    std::printf("round %d: sdk %.0f/s, local %.0f/s\n", round, sdk, local);
    sdk_total += sdk;
    local_total += local;
  }
  // CPU per handshake, client and in-process server together.
  double handshakes = static_cast<double>(kRounds) * kHandshakesPerRound;
  double sdk_cpu_us = sdk_cpu / handshakes * 1e6;
  double local_cpu_us = local_cpu / handshakes * 1e6;
  std::printf(
      "process CPU per handshake (client + server): sdk %.0f us, "
      "local %.0f us\n",
      sdk_cpu_us, local_cpu_us);
  agent::CacheStats after = (*client)->cache_stats();
  std::printf("client cache during the rounds: %llu hits, %llu misses\n",
              static_cast<unsigned long long>(after.hits - warm.hits),
              static_cast<unsigned long long>(after.misses - warm.misses));
  std::printf(
      "broker verdicts used: %llu\n",
      static_cast<unsigned long long>((*binding)->stats().server_verdicts));
  PrintFigures(
      {{"sdk_handshake_rate_warm_cache_c8", sdk_total / kRounds, "handshakes/s",
        "local_verify_handshake_rate_c8", local_total / kRounds},
       {"sdk_handshake_process_cpu_per_handshake", sdk_cpu_us, "us",
        "local_verify_process_cpu_per_handshake", local_cpu_us}});
  broker->Stop();
  return 0;
}

}  // namespace
}  // namespace certbroker::bench

int main() { return certbroker::bench::Main(); }

// Benchmarks of a server-certificate decision, each against a baseline
// measured in the same run on this (shared, noisy) machine:
//   * OnServerCertificate over the real certbrokerd's Unix socket, against a
//     bare gRPC health check on the same channel: the cost of a decision on
//     top of an RPC;
//   * ValidateServerChain in process, against BoringSSL's X509_verify_cert
//     on the same chain and roots: the cost of the broker's own checks.
// Prints a summary, then one JSON line per figure.
#include <cstdio>
#include <functional>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "broker/devpki/pki.h"
#include "broker/validation/server_chain_validator.h"
#include "certbroker/v1/broker.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tests/bench/bench_support.h"
#include "tests/support/broker_process.h"
#include "tests/support/grpc_probes.h"
#include "tests/support/temp_dir.h"

namespace certbroker::bench {
namespace {

constexpr absl::Duration kRunTime = absl::Seconds(2);

// Rate runs `operation` repeatedly for kRunTime and returns operations/s;
// a false return from `operation` aborts the benchmark.
double Rate(const char* what, const std::function<bool()>& operation) {
  for (int i = 0; i < 50; ++i) operation();  // Warm up.
  int64_t count = 0;
  absl::Time start = absl::Now();
  absl::Time end = start + kRunTime;
  while (absl::Now() < end) {
    for (int i = 0; i < 20; ++i) {
      if (!operation()) {
        std::fprintf(stderr, "benchmark %s: operation failed\n", what);
        std::exit(1);
      }
    }
    count += 20;
  }
  return static_cast<double>(count) /
         absl::ToDoubleSeconds(absl::Now() - start);
}

void PrintFigure(const char* metric, double value, const char* baseline,
                 double baseline_value) {
  std::printf(
      "{\"metric\":\"%s\",\"value\":%.1f,\"unit\":\"ops/"
      "s\",\"baseline\":\"%s\","
      "\"baseline_value\":%.1f,\"ratio\":%.3f}\n",
      metric, value, baseline, baseline_value, value / baseline_value);
}

devpki::Issued MustIssue(const devpki::CertificateSpec& spec,
                         const devpki::Issued* issuer) {
  auto issued = devpki::Issue(spec, issuer);
  if (!issued.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(issued.status().message()).c_str());
    std::exit(1);
  }
  return std::move(issued).value();
}

int Run() {
  devpki::Issued root = MustIssue(devpki::RootSpec("Bench Root"), nullptr);
  devpki::Issued intermediate =
      MustIssue(devpki::IntermediateSpec("Bench Int"), &root);
  devpki::Issued leaf =
      MustIssue(devpki::ServerSpec("api.example.test", {"api.example.test"}),
                &intermediate);

  // In process: the broker's validator against raw X509_verify_cert.
  x509::CertificateList roots;
  roots.push_back(bssl::UpRef(root.certificate));
  auto trust = validation::TrustStore::Create(roots, {"bench"});
  x509::CertificateList chain;
  chain.push_back(bssl::UpRef(leaf.certificate));
  chain.push_back(bssl::UpRef(intermediate.certificate));
  validation::ServerChainCheck check{"api.example.test", absl::Now()};
  validation::ChainPolicy policy;
  double validator = Rate("validator", [&] {
    return validation::ValidateServerChain(**trust, chain, check, policy)
        .accepted();
  });
  double raw_verify = Rate("X509_verify_cert", [&] {
    bssl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
    bssl::PushToStack(untrusted.get(), bssl::UpRef(intermediate.certificate));
    bssl::UniquePtr<X509_STORE_CTX> context(X509_STORE_CTX_new());
    X509_STORE_CTX_init(context.get(), (*trust)->store(),
                        leaf.certificate.get(), untrusted.get());
    return X509_verify_cert(context.get()) == 1;
  });

  // Over the real broker's Unix socket.
  testing::TempDir dir;
  std::string config = WriteBenchConfig(dir, root);
  auto broker = testing::BrokerProcess::Start(
      {"--config=" + config, "--listen=unix:" + dir.Path("bench.sock")},
      dir.path());
  if (!broker.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(broker.status().message()).c_str());
    return 1;
  }
  auto channel = grpc::CreateChannel((*broker)->addresses()[0],
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::CertificateBroker::NewStub(channel);
  v1::OnServerCertificateRequest request;
  request.mutable_target()->set_host("api.example.test");
  request.add_certificate_chain(leaf.Der());
  request.add_certificate_chain(intermediate.Der());
  double rpc = Rate("OnServerCertificate", [&] {
    grpc::ClientContext context;
    v1::OnServerCertificateResponse response;
    return stub->OnServerCertificate(&context, request, &response).ok() &&
           response.accepted();
  });
  double health = Rate("health check",
                       [&] { return testing::HealthStatus(channel, "") == 1; });
  (*broker)->Stop();

  std::printf(
      "validator %.0f/s, raw X509_verify_cert %.0f/s; "
      "OnServerCertificate %.0f/s, bare health RPC %.0f/s (one client, "
      "sequential)\n",
      validator, raw_verify, rpc, health);
  PrintFigure("validate_server_chain_rate", validator, "x509_verify_cert_rate",
              raw_verify);
  PrintFigure("on_server_certificate_rpc_rate", rpc, "health_check_rpc_rate",
              health);
  return 0;
}

}  // namespace
}  // namespace certbroker::bench

int main() { return certbroker::bench::Run(); }

// Keyless Sign throughput and latency: ECDSA P-256 signatures from the real
// certbrokerd (--insecure_dev_loopback, Unix socket) at a concurrency of
// kThreads client threads (CPU-bound on this machine) and of one (an agent's
// handshakes one after another), each thread with a channel (and
// connection) of its own, against the lower of two baselines measured in
// the same run at the same concurrency:
//   - grpc.health.v1 Check, an empty unary RPC on the same server stack,
//     the same channels and the same concurrency (what any RPC costs);
//   - raw BoringSSL ECDSA P-256 signing in this process on as many
//     threads (what the signatures alone cost).
// Short rounds rotate through the three kinds so that drift in the
// machine's load hits all alike. Latency (p50, p99) of Sign is compared
// with the health check's. Prints a summary, then the JSON figures.
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/x509/boringssl.h"
#include "certbroker/v1/broker.pb.h"
#include "tests/bench/bench_support.h"
#include "tests/support/grpc_probes.h"

namespace certbroker::bench {
namespace {

constexpr int kThreads = 8;
constexpr int kRounds = 4;
constexpr absl::Duration kRoundTime = absl::Milliseconds(750);
constexpr int64_t kMaxCallsPerThreadPerRound = 200000;
constexpr char kGetClientCertificate[] =
    "/certbroker.v1.CertificateBroker/GetClientCertificate";
constexpr char kSign[] = "/certbroker.v1.CertificateBroker/Sign";

// Totals accumulates the rounds of one kind of call, with each call's
// latency in microseconds and both processes' CPU time.
struct Totals {
  int64_t calls = 0;
  double seconds = 0;
  double broker_cpu = 0;
  double client_cpu = 0;
  std::vector<double> micros;

  double Rate() const { return static_cast<double>(calls) / seconds; }
  double BrokerMicrosPerCall() const { return broker_cpu * 1e6 / calls; }
  double ClientMicrosPerCall() const { return client_cpu * 1e6 / calls; }
};

// RunRound has `threads` threads call `call(thread)` for kRoundTime,
// timing each call, and adds to `totals`.
void RunRound(pid_t broker_pid, int threads_wanted, const char* what,
              const std::function<bool(int)>& call, Totals& totals) {
  std::atomic<bool> failed{false};
  std::vector<std::vector<double>> micros(threads_wanted);
  const double broker_cpu = ProcessCpuSeconds(broker_pid);
  const double client_cpu = SelfCpuSeconds();
  absl::Time start = absl::Now();
  absl::Time deadline = start + kRoundTime;
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_wanted; ++t) {
    micros[t].reserve(50000);
    threads.emplace_back([&, t] {
      int64_t made = 0;
      absl::Time before = absl::Now();
      while (made < kMaxCallsPerThreadPerRound && !failed.load() &&
             before < deadline) {
        if (!call(t)) failed.store(true);
        absl::Time after = absl::Now();
        micros[t].push_back(absl::ToDoubleMicroseconds(after - before));
        before = after;
        ++made;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  totals.seconds += absl::ToDoubleSeconds(absl::Now() - start);
  totals.broker_cpu += ProcessCpuSeconds(broker_pid) - broker_cpu;
  totals.client_cpu += SelfCpuSeconds() - client_cpu;
  if (failed.load()) {
    Fail(what, absl::InternalError("a call failed or was rejected"));
  }
  for (const std::vector<double>& samples : micros) {
    totals.calls += static_cast<int64_t>(samples.size());
    totals.micros.insert(totals.micros.end(), samples.begin(), samples.end());
  }
}

int Run() {
  BenchChain pki = MakeChain({"api.example.test"});
  devpki::CertificateSpec spec = devpki::ClientSpec("keyless-bench");
  spec.key_type = devpki::KeyType::kEcP256;
  absl::StatusOr<devpki::Issued> client = devpki::Issue(spec, &pki.root);
  if (!client.ok()) Fail("issuing the client certificate", client.status());
  testing::TempDir dir;
  dir.Write("pki/ca.pem", pki.root.CertificatePem());
  dir.Write("pki/client.pem", client->CertificatePem());
  dir.Write("pki/client.key", client->KeyPem());
  const std::string config = dir.Write(
      "config.yaml",
      "trust_bundles: [{name: bench, pem_file: pki/ca.pem}]\n"
      "certificates: [{id: keyless, chain_pem_file: pki/client.pem, "
      "key_pem_file: pki/client.key}]\n"
      "rules: [{name: sign, match: {hosts: [sign.example.test]}, "
      "client_certificate: keyless, server_validation: {trust_bundles: "
      "[bench]}}]\n");
  auto broker = StartBroker(dir, config);
  const pid_t pid = FindBrokerPid(config);

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int t = 0; t < kThreads; ++t) {
    channels.push_back(NewChannel(broker->addresses()[0]));
  }
  // Every thread gets its own handle (the caller is the same identity, so
  // any would do; this is what separate agents would hold).
  v1::GetClientCertificateRequest given_request;
  given_request.mutable_target()->set_host("sign.example.test");
  std::vector<std::string> sign_requests;
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>("bench"), 5, digest);
  for (int t = 0; t < kThreads; ++t) {
    std::string bytes;
    v1::GetClientCertificateResponse given;
    if (!testing::RawUnaryCall(channels[t], kGetClientCertificate,
                               given_request.SerializeAsString(), bytes) ||
        !given.ParseFromString(bytes) || given.key_handle().handle().empty()) {
      Fail("GetClientCertificate", absl::InternalError("no key handle"));
    }
    v1::SignRequest sign;
    sign.set_key_handle(given.key_handle().handle());
    sign.set_algorithm(0x0403);
    sign.set_input(reinterpret_cast<const char*>(digest), sizeof(digest));
    sign_requests.push_back(sign.SerializeAsString());
  }
  auto sign = [&](int thread) {
    std::string bytes;
    v1::SignResponse response;
    return testing::RawUnaryCall(channels[thread], kSign, sign_requests[thread],
                                 bytes) &&
           response.ParseFromString(bytes) && !response.signature().empty();
  };
  auto health = [&](int thread) {
    return testing::HealthStatus(channels[thread], "") == 1;
  };
  const EC_KEY* raw_key = EVP_PKEY_get0_EC_KEY(client->key.get());
  auto raw = [&](int) {
    uint8_t signature[128];  // A P-256 DER signature is at most 72.
    unsigned length = 0;
    return ECDSA_sign(0, digest, sizeof(digest), signature, &length, raw_key) ==
               1 &&
           length <= ECDSA_size(raw_key);
  };
  // The raw signature verifies under the leaf, as the broker's must.
  {
    std::string bytes;
    v1::SignResponse response;
    if (!testing::RawUnaryCall(channels[0], kSign, sign_requests[0], bytes) ||
        !response.ParseFromString(bytes)) {
      Fail("first Sign", absl::InternalError("failed"));
    }
    bssl::UniquePtr<EVP_PKEY> leaf_key(
        X509_get_pubkey(client->certificate.get()));
    if (ECDSA_verify(
            0, digest, sizeof(digest),
            reinterpret_cast<const uint8_t*>(response.signature().data()),
            response.signature().size(),
            EVP_PKEY_get0_EC_KEY(leaf_key.get())) != 1) {
      Fail("first Sign", absl::InternalError("signature does not verify"));
    }
  }
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < 50; ++i) {
      if (!sign(t) || !health(t) || !raw(t)) {
        Fail("warm-up", absl::InternalError("a call failed or was rejected"));
      }
    }
  }

  struct Kind {
    const char* what;
    std::function<bool(int)> call;
  };
  const Kind kinds[] = {
      {"Sign", sign}, {"health check", health}, {"raw ECDSA P-256", raw}};
  // Measured at kThreads (CPU-bound: client, broker and signatures share
  // the cores) and at 1 (one agent's handshakes, latency-bound).
  std::vector<Figure> figures;
  for (int threads : {kThreads, 1}) {
    Totals totals[3];  // Sign, health check, raw signature.
    for (int round = 0; round < kRounds; ++round) {
      for (int k = 0; k < 3; ++k) {
        const int kind = (round + k) % 3;
        RunRound(pid, threads, kinds[kind].what, kinds[kind].call,
                 totals[kind]);
      }
    }
    Totals& signs = totals[0];
    Totals& checks = totals[1];
    const Totals& raws = totals[2];
    const std::string c = absl::StrCat("_c", threads);
    const bool rpc_is_lower = checks.Rate() <= raws.Rate();
    const Totals& lower = rpc_is_lower ? checks : raws;
    const std::string lower_name =
        rpc_is_lower ? "health_check_rate" + c : "raw_ecdsa_p256_sign_rate" + c;
    const double sign_p50 = Percentile(signs.micros, 0.50);
    const double sign_p99 = Percentile(signs.micros, 0.99);
    const double health_p50 = Percentile(checks.micros, 0.50);
    const double health_p99 = Percentile(checks.micros, 0.99);
    std::printf(
        "%d client thread(s), a channel each, Unix socket, %d rounds of "
        "%.2fs per kind, alternating: Sign (ECDSA P-256) %.0f/s vs health "
        "Check %.0f/s vs raw BoringSSL ECDSA P-256 %.0f/s\n",
        threads, kRounds, absl::ToDoubleSeconds(kRoundTime), signs.Rate(),
        checks.Rate(), raws.Rate());
    std::printf(
        "  latency: Sign p50 %.0fus p99 %.0fus; health Check p50 %.0fus p99 "
        "%.0fus\n",
        sign_p50, sign_p99, health_p50, health_p99);
    std::printf(
        "  CPU per call: broker Sign %.1fus, health %.1fus; client Sign "
        "%.1fus, health %.1fus, raw signature %.1fus\n",
        signs.BrokerMicrosPerCall(), checks.BrokerMicrosPerCall(),
        signs.ClientMicrosPerCall(), checks.ClientMicrosPerCall(),
        raws.ClientMicrosPerCall());
    // Client and broker share the machine's cores: when CPU-bound, a Sign
    // can be no cheaper than an empty RPC plus one signature.
    const double empty_rpc_cpu =
        checks.BrokerMicrosPerCall() + checks.ClientMicrosPerCall();
    std::printf(
        "  ceiling when CPU-bound: empty RPC %.1fus / (empty RPC + one raw "
        "signature %.1fus) = %.3f\n",
        empty_rpc_cpu, raws.ClientMicrosPerCall(),
        empty_rpc_cpu / (empty_rpc_cpu + raws.ClientMicrosPerCall()));
    figures.push_back({"sign_ecdsa_p256_rate" + c, signs.Rate(), "ops/s",
                       lower_name, lower.Rate()});
    figures.push_back({"sign_ecdsa_p256_vs_raw_sign_rate" + c, signs.Rate(),
                       "ops/s", "raw_ecdsa_p256_sign_rate" + c, raws.Rate()});
    figures.push_back({"sign_ecdsa_p256_p50_latency" + c, sign_p50, "us",
                       "health_check_p50_latency" + c, health_p50});
    figures.push_back({"sign_ecdsa_p256_p99_latency" + c, sign_p99, "us",
                       "health_check_p99_latency" + c, health_p99});
  }
  std::string log = broker->Log();
  broker->Stop();
  std::printf("%zu Sign decisions logged, %zu signed\n",
              CountOccurrences(log, "decision rpc=Sign "),
              CountOccurrences(log, " verdict=sign "));
  PrintFigures(figures);
  return 0;
}

}  // namespace
}  // namespace certbroker::bench

int main() { return certbroker::bench::Run(); }

// CPU cost of an uncached server-certificate decision: certbrokerd runs
// with `verdict_cache: {disabled: true}` and judges a 2-certificate ECDSA
// P-256 chain (leaf + intermediate, the root in the trust bundle) over its
// Unix socket; its CPU time (utime + stime of the whole process, from
// /proc/<pid>/stat) per decision is compared with the sum of
//   * the CPU time of BoringSSL's X509_verify_cert on the same chain and
//     roots in this process (as decision_bench does), and
//   * the broker's CPU time per grpc.health.v1 Check, an empty RPC,
//     measured the same way as the decisions.
// Blocks of the three alternate so that drift in the machine's load hits
// all of them alike. Prints a summary, then the JSON figure.
#include <unistd.h>

#include <cstdio>
#include <functional>

#include "absl/time/clock.h"
#include "broker/validation/server_chain_validator.h"
#include "broker/x509/certificate.h"
#include "certbroker/v1/broker.pb.h"
#include "tests/bench/bench_support.h"
#include "tests/support/grpc_probes.h"

namespace certbroker::bench {
namespace {

constexpr int kRounds = 3;
constexpr absl::Duration kRpcBlockTime = absl::Milliseconds(1200);
constexpr absl::Duration kLocalBlockTime = absl::Milliseconds(400);
constexpr int64_t kMaxCallsPerBlock = 100000;
constexpr char kOnServerCertificate[] =
    "/certbroker.v1.CertificateBroker/OnServerCertificate";

// CpuCost accumulates the CPU time and count of one kind of operation.
struct CpuCost {
  double cpu_seconds = 0;
  int64_t count = 0;
  double wall_seconds = 0;

  double Micros() const {
    return cpu_seconds * 1e6 / static_cast<double>(count);
  }
};

// Block runs `operation` for `time` (at most kMaxCallsPerBlock times) and
// adds to `cost` the change of `cpu()` over the block.
void Block(const char* what, absl::Duration time,
           const std::function<double()>& cpu,
           const std::function<bool()>& operation, CpuCost& cost) {
  double cpu_start = cpu();
  absl::Time start = absl::Now();
  absl::Time deadline = start + time;
  int64_t count = 0;
  while (count < kMaxCallsPerBlock && absl::Now() < deadline) {
    if (!operation()) Fail(what, absl::InternalError("operation failed"));
    ++count;
  }
  cost.cpu_seconds += cpu() - cpu_start;
  cost.wall_seconds += absl::ToDoubleSeconds(absl::Now() - start);
  cost.count += count;
}

int Run() {
  BenchChain pki = MakeChain({"api.example.test"});
  testing::TempDir dir;
  std::string config =
      WriteBenchConfig(dir, pki.root, "verdict_cache: {disabled: true}\n");
  auto broker = StartBroker(dir, config);
  pid_t pid = FindBrokerPid(config);
  auto broker_cpu = [pid] { return ProcessCpuSeconds(pid); };
  auto channel = NewChannel(broker->addresses()[0]);

  v1::OnServerCertificateRequest request;
  request.mutable_target()->set_host("api.example.test");
  request.add_certificate_chain(pki.leaf.Der());
  request.add_certificate_chain(pki.intermediate.Der());
  const std::string request_bytes = request.SerializeAsString();
  auto decide = [&] {
    std::string bytes;
    v1::OnServerCertificateResponse response;
    return testing::RawUnaryCall(channel, kOnServerCertificate, request_bytes,
                                 bytes) &&
           response.ParseFromString(bytes) && response.accepted();
  };
  auto health = [&] { return testing::HealthStatus(channel, "") == 1; };
  // The same request for a target no rule covers: the chain is sent and
  // parsed, but not validated. Only for the summary: it separates what the
  // request costs from what validating costs inside the RPC.
  v1::OnServerCertificateRequest unmatched = request;
  unmatched.mutable_target()->set_host("nowhere.invalid");
  const std::string unmatched_bytes = unmatched.SerializeAsString();
  auto decide_unmatched = [&] {
    std::string bytes;
    v1::OnServerCertificateResponse response;
    return testing::RawUnaryCall(channel, kOnServerCertificate, unmatched_bytes,
                                 bytes) &&
           response.ParseFromString(bytes) &&
           response.reason() == v1::NO_MATCHING_RULE;
  };

  // In process: raw X509_verify_cert, as decision_bench does, and (for the
  // summary only) the broker's parsing and validator.
  x509::CertificateList roots;
  roots.push_back(bssl::UpRef(pki.root.certificate));
  auto trust = validation::TrustStore::Create(roots, {"bench"});
  if (!trust.ok()) Fail("trust store", trust.status());
  auto raw_verify = [&] {
    bssl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
    bssl::PushToStack(untrusted.get(),
                      bssl::UpRef(pki.intermediate.certificate));
    bssl::UniquePtr<X509_STORE_CTX> context(X509_STORE_CTX_new());
    X509_STORE_CTX_init(context.get(), (*trust)->store(),
                        pki.leaf.certificate.get(), untrusted.get());
    return X509_verify_cert(context.get()) == 1;
  };
  const std::string leaf_der = pki.leaf.Der();
  const std::string intermediate_der = pki.intermediate.Der();
  auto parse_chain = [&](x509::CertificateList& chain) {
    for (const std::string* der : {&leaf_der, &intermediate_der}) {
      auto certificate = x509::ParseDerCertificate(*der);
      if (!certificate.ok()) return false;
      chain.push_back(std::move(certificate).value());
    }
    return true;
  };
  // Parsing alone (and freeing), for the summary: the part of the broker's
  // validation that X509_verify_cert on parsed certificates does not pay.
  auto parse_only = [&] {
    x509::CertificateList chain;
    return parse_chain(chain);
  };
  auto parse_and_validate = [&] {
    x509::CertificateList chain;
    if (!parse_chain(chain)) return false;
    validation::ServerChainCheck check;
    check.server_name = "api.example.test";
    check.now = absl::Now();
    return validation::ValidateServerChain(**trust, chain, check,
                                           validation::ChainPolicy())
        .accepted();
  };

  for (int i = 0; i < 100; ++i) {
    if (!decide() || !health() || !raw_verify() || !parse_and_validate() ||
        !decide_unmatched()) {
      Fail("warm-up", absl::InternalError("an operation failed"));
    }
  }
  CpuCost decisions;
  CpuCost checks;
  CpuCost verifies;
  CpuCost validations;
  CpuCost unmatched_decisions;
  CpuCost parses;
  for (int round = 0; round < kRounds; ++round) {
    Block("OnServerCertificate", kRpcBlockTime, broker_cpu, decide, decisions);
    Block("OnServerCertificate, no rule", kRpcBlockTime, broker_cpu,
          decide_unmatched, unmatched_decisions);
    Block("health check", kRpcBlockTime, broker_cpu, health, checks);
    Block("X509_verify_cert", kLocalBlockTime, ThreadCpuSeconds, raw_verify,
          verifies);
    Block("parse + ValidateServerChain", kLocalBlockTime, ThreadCpuSeconds,
          parse_and_validate, validations);
    Block("parse", kLocalBlockTime, ThreadCpuSeconds, parse_only, parses);
  }
  std::string log = broker->Log();
  broker->Stop();
  size_t logged = CountOccurrences(log, "decision rpc=OnServerCertificate ");
  size_t hits = CountOccurrences(log, " cached=true");

  double baseline = verifies.Micros() + checks.Micros();
  std::printf(
      "broker CPU per uncached decision %.1fus vs X509_verify_cert %.1fus + "
      "broker CPU per health Check %.1fus = %.1fus (%d alternating rounds, "
      "one sequential client, Unix socket)\n",
      decisions.Micros(), verifies.Micros(), checks.Micros(), baseline,
      kRounds);
  std::printf(
      "  in-process, for comparison: parse 2 DER certificates + "
      "ValidateServerChain %.1fus; decision overhead beyond it and the empty "
      "RPC: %.1fus\n",
      validations.Micros(),
      decisions.Micros() - checks.Micros() - validations.Micros());
  std::printf(
      "  in-process, parsing and freeing the 2 DER certificates alone: "
      "%.1fus (paid by every request that sends a chain, matched or not)\n",
      parses.Micros());
  std::printf(
      "  the same request for a target no rule covers (sent and parsed, not "
      "validated): %.1fus of broker CPU, %.1fus more than a health check\n",
      unmatched_decisions.Micros(),
      unmatched_decisions.Micros() - checks.Micros());
  std::printf(
      "  %lld decisions (%.0f/s) over %.1f broker CPU-seconds, %lld health "
      "checks over %.1f; %zu decisions logged, %zu cache hits (want 0); CPU "
      "from /proc/%d/stat in %ld Hz ticks\n",
      static_cast<long long>(decisions.count),
      static_cast<double>(decisions.count) / decisions.wall_seconds,
      decisions.cpu_seconds, static_cast<long long>(checks.count),
      checks.cpu_seconds, logged, hits, static_cast<int>(pid),
      ::sysconf(_SC_CLK_TCK));
  if (hits != 0) {
    Fail("verdict cache", absl::InternalError("disabled, but hits logged"));
  }
  PrintFigures({{"uncached_decision_broker_cpu", decisions.Micros(), "us_cpu",
                 "x509_verify_cert_cpu+health_check_broker_cpu", baseline}});
  return 0;
}

}  // namespace
}  // namespace certbroker::bench

int main() { return certbroker::bench::Run(); }

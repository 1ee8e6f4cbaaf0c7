// Throughput of cached OnServerCertificate decisions over the real
// certbrokerd's Unix socket at a concurrency of kThreads clients, each with
// a channel (and connection) of its own, against grpc.health.v1 Check, an
// empty unary RPC served by the same server stack, at the same concurrency
// and over the same channels. Two kinds of cached decision: the request
// carrying the whole chain, and the request naming the chain by the digest
// an earlier answer returned (certificate_chain_sha256), which is how an
// agent asks again about a server it has seen. Every decision repeats one
// request, so all but the first are verdict-cache hits (checked in the
// broker's log). Short rounds rotate through the three kinds so that drift
// in the machine's load hits all alike. Prints a summary, then the JSON
// figures.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/common/log.h"
#include "certbroker/v1/broker.pb.h"
#include "tests/bench/bench_support.h"
#include "tests/support/grpc_probes.h"

namespace certbroker::bench {
namespace {

constexpr int kThreads = 4;
constexpr int kRoundPairs = 4;
constexpr absl::Duration kRoundTime = absl::Milliseconds(750);
constexpr int64_t kMaxCallsPerThreadPerRound = 200000;
constexpr char kOnServerCertificate[] =
    "/certbroker.v1.CertificateBroker/OnServerCertificate";

// Totals accumulates the rounds of one kind of call.
struct Totals {
  int64_t calls = 0;
  double seconds = 0;
  double broker_cpu = 0;
  double client_cpu = 0;

  double Rate() const { return static_cast<double>(calls) / seconds; }
  double BrokerMicrosPerCall() const {
    return broker_cpu * 1e6 / static_cast<double>(calls);
  }
  double ClientMicrosPerCall() const {
    return client_cpu * 1e6 / static_cast<double>(calls);
  }
};

// RunRound has kThreads threads call `call(thread)` for kRoundTime and adds
// the calls made, the wall time and both processes' CPU time to `totals`.
void RunRound(pid_t broker_pid, const char* what,
              const std::function<bool(int)>& call, Totals& totals) {
  std::atomic<int64_t> calls{0};
  std::atomic<bool> failed{false};
  double broker_cpu = ProcessCpuSeconds(broker_pid);
  double client_cpu = SelfCpuSeconds();
  absl::Time start = absl::Now();
  absl::Time deadline = start + kRoundTime;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      int64_t made = 0;
      while (made < kMaxCallsPerThreadPerRound && !failed.load() &&
             absl::Now() < deadline) {
        if (!call(t)) failed.store(true);
        ++made;
      }
      calls.fetch_add(made);
    });
  }
  for (std::thread& thread : threads) thread.join();
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (failed.load()) {
    Fail(what, absl::InternalError("a call failed or was rejected"));
  }
  totals.calls += calls.load();
  totals.seconds += seconds;
  totals.broker_cpu += ProcessCpuSeconds(broker_pid) - broker_cpu;
  totals.client_cpu += SelfCpuSeconds() - client_cpu;
}

// LogLineMicros is the CPU time, in this process, of the broker's own
// logger (broker/common/log.h: timestamp, mutex, fwrite and fflush to
// stderr) writing `message` to a file, as certbrokerd's stderr is under
// BrokerProcess. Stderr is restored afterwards.
double LogLineMicros(const std::string& path, const std::string& message) {
  std::fflush(stderr);
  int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (file < 0) return 0;
  int saved = ::dup(2);
  if (saved < 0) {
    ::close(file);
    return 0;
  }
  ::dup2(file, 2);
  ::close(file);
  constexpr int kLines = 20000;
  double start = ThreadCpuSeconds();
  for (int i = 0; i < kLines; ++i) LogInfo(message);
  double micros = (ThreadCpuSeconds() - start) * 1e6 / kLines;
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  return micros;
}

int Run() {
  BenchChain pki = MakeChain({"api.example.test"});
  testing::TempDir dir;
  std::string config = WriteBenchConfig(dir, pki.root);
  auto broker = StartBroker(dir, config);
  pid_t pid = FindBrokerPid(config);

  v1::OnServerCertificateRequest request;
  request.mutable_target()->set_host("api.example.test");
  request.add_certificate_chain(pki.leaf.Der());
  request.add_certificate_chain(pki.intermediate.Der());
  const std::string request_bytes = request.SerializeAsString();

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int t = 0; t < kThreads; ++t) {
    channels.push_back(NewChannel(broker->addresses()[0]));
  }
  auto decide = [&](int thread) {
    std::string bytes;
    v1::OnServerCertificateResponse response;
    return testing::RawUnaryCall(channels[thread], kOnServerCertificate,
                                 request_bytes, bytes) &&
           response.ParseFromString(bytes) && response.accepted();
  };
  auto health = [&](int thread) {
    return testing::HealthStatus(channels[thread], "") == 1;
  };
  std::string first_bytes;
  v1::OnServerCertificateResponse first;
  if (!testing::RawUnaryCall(channels[0], kOnServerCertificate, request_bytes,
                             first_bytes) ||
      !first.ParseFromString(first_bytes) ||
      first.certificate_chain_sha256().size() != 32) {
    Fail("first decision", absl::InternalError("no chain digest returned"));
  }
  v1::OnServerCertificateRequest named = request;
  named.clear_certificate_chain();
  named.set_certificate_chain_sha256(first.certificate_chain_sha256());
  const std::string named_bytes = named.SerializeAsString();
  auto decide_named = [&](int thread) {
    std::string bytes;
    v1::OnServerCertificateResponse response;
    return testing::RawUnaryCall(channels[thread], kOnServerCertificate,
                                 named_bytes, bytes) &&
           response.ParseFromString(bytes) && response.accepted();
  };
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < 50; ++i) {
      if (!decide(t) || !health(t) || !decide_named(t)) {
        Fail("warm-up", absl::InternalError("a call failed or was rejected"));
      }
    }
  }

  Totals decisions;
  Totals checks;
  Totals named_decisions;
  struct Kind {
    const char* what;
    std::function<bool(int)> call;
    Totals* totals;
  };
  const Kind kinds[] = {
      {"OnServerCertificate", decide, &decisions},
      {"health check", health, &checks},
      {"OnServerCertificate by digest", decide_named, &named_decisions}};
  for (int round = 0; round < kRoundPairs; ++round) {
    // D H N, H N D, N D H, ...: no kind always runs first.
    for (int k = 0; k < 3; ++k) {
      const Kind& kind = kinds[(round + k) % 3];
      RunRound(pid, kind.what, kind.call, *kind.totals);
    }
  }

  std::string log = broker->Log();
  broker->Stop();
  size_t logged = CountOccurrences(log, "decision rpc=OnServerCertificate ");
  size_t hits = CountOccurrences(log, " cached=true");
  // The message of the last decision line, without timestamp and level.
  size_t last_line = log.rfind("decision rpc=OnServerCertificate ");
  std::string message =
      last_line == std::string::npos
          ? std::string(270, 'x')
          : log.substr(last_line, log.find('\n', last_line) - last_line);
  double log_micros = LogLineMicros(dir.Path("log-cost.txt"), message);

  std::printf(
      "cached OnServerCertificate %.0f/s vs health Check %.0f/s; %d client "
      "threads, a channel each, Unix socket, %d rounds of %.2fs per kind, "
      "alternating\n",
      decisions.Rate(), checks.Rate(), kThreads, kRoundPairs,
      absl::ToDoubleSeconds(kRoundTime));
  std::printf(
      "  broker CPU per call: decision %.1fus, health %.1fus; client CPU per "
      "call: decision %.1fus, health %.1fus (the 2 cores are the limit: "
      "health/decision total CPU per call = %.3f)\n",
      decisions.BrokerMicrosPerCall(), checks.BrokerMicrosPerCall(),
      decisions.ClientMicrosPerCall(), checks.ClientMicrosPerCall(),
      (checks.BrokerMicrosPerCall() + checks.ClientMicrosPerCall()) /
          (decisions.BrokerMicrosPerCall() + decisions.ClientMicrosPerCall()));
  std::printf(
      "  verdict cache: %zu of %zu logged decisions were hits; one log line "
      "per decision (%zu bytes): the broker's logger takes %.1fus CPU per "
      "such line (measured in this process), of the %.1fus more broker CPU "
      "a decision takes than a health check\n",
      hits, logged, message.size() + 30, log_micros,
      decisions.BrokerMicrosPerCall() - checks.BrokerMicrosPerCall());
  std::printf(
      "  by digest: cached OnServerCertificate naming the chain by its "
      "SHA-256 %.0f/s (%zu request bytes instead of %zu); broker CPU per call "
      "%.1fus, client %.1fus\n",
      named_decisions.Rate(), named_bytes.size(), request_bytes.size(),
      named_decisions.BrokerMicrosPerCall(),
      named_decisions.ClientMicrosPerCall());
  PrintFigures({{"cached_on_server_certificate_rate_c4", decisions.Rate(),
                 "ops/s", "health_check_rate_c4", checks.Rate()},
                {"cached_on_server_certificate_by_digest_rate_c4",
                 named_decisions.Rate(), "ops/s", "health_check_rate_c4",
                 checks.Rate()}});
  return 0;
}

}  // namespace
}  // namespace certbroker::bench

int main() { return certbroker::bench::Run(); }

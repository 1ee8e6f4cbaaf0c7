// The agent SDK's BrokerClient against the same broker, same run: an
// uncached call through the client (retry machine, callback hand-off) vs
// the same call on a bare generated stub, sequentially on one thread; and
// a cached OnServerCertificate answered from the client's cache vs the
// same verdict asked of the broker. Prints, last, one JSON line per figure.
#include <cstdio>

#include "absl/time/clock.h"
#include "certbroker/agent/broker_client.h"
#include "certbroker/v1/broker.grpc.pb.h"
#include "tests/bench/bench_support.h"

namespace certbroker::bench {
namespace {

constexpr int kCalls = 3000;

double PerSecond(int calls, absl::Duration elapsed) {
  return calls / absl::ToDoubleSeconds(elapsed);
}

int Main() {
  testing::TempDir dir;
  BenchChain chain = MakeChain({"api.example.test"});
  std::string config = WriteBenchConfig(dir, chain.root);
  auto broker = StartBroker(dir, config);
  const std::string address = broker->addresses()[0];

  v1::GetCertificatePolicyRequest policy;
  policy.mutable_target()->set_host("api.example.test");
  v1::OnServerCertificateRequest verdict;
  verdict.mutable_target()->set_host("api.example.test");
  verdict.add_certificate_chain(chain.leaf.Der());
  verdict.add_certificate_chain(chain.intermediate.Der());

  agent::BrokerClientOptions options;
  options.address = address;
  options.cache_max_entries = 0;
  auto uncached = agent::BrokerClient::Create(options);
  if (!uncached.ok()) Fail("BrokerClient::Create", uncached.status());
  options.cache_max_entries = 1000;
  auto cached = agent::BrokerClient::Create(options);
  if (!cached.ok()) Fail("BrokerClient::Create", cached.status());
  auto stub = v1::CertificateBroker::NewStub(NewChannel(address));

  auto stub_call = [&] {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    v1::GetCertificatePolicyResponse response;
    grpc::Status status =
        stub->GetCertificatePolicy(&context, policy, &response);
    if (!status.ok())
      Fail("stub call", absl::InternalError(status.error_message()));
  };
  auto client_call = [&] {
    auto response = (*uncached)->GetCertificatePolicy(policy);
    if (!response.ok()) Fail("client call", response.status());
  };
  for (int i = 0; i < 200; ++i) {  // Warm up both connections.
    stub_call();
    client_call();
  }
  // Interleaved rounds, so that drift on the shared machine hits both.
  absl::Duration stub_time, client_time;
  for (int round = 0; round < 3; ++round) {
    absl::Time start = absl::Now();
    for (int i = 0; i < kCalls / 3; ++i) stub_call();
    stub_time += absl::Now() - start;
    start = absl::Now();
    for (int i = 0; i < kCalls / 3; ++i) client_call();
    client_time += absl::Now() - start;
  }

  auto asked = (*uncached)->OnServerCertificate(verdict);
  if (!asked.ok() || !asked->accepted()) Fail("verdict", asked.status());
  absl::Time start = absl::Now();
  for (int i = 0; i < kCalls / 3; ++i) {
    if (!(*uncached)->OnServerCertificate(verdict).ok()) {
      Fail("verdict", absl::InternalError("failed"));
    }
  }
  absl::Duration broker_verdicts = absl::Now() - start;
  if (!(*cached)->OnServerCertificate(verdict).ok()) {
    Fail("verdict", absl::InternalError("failed"));
  }
  start = absl::Now();
  for (int i = 0; i < kCalls; ++i) {
    if (!(*cached)->OnServerCertificate(verdict).ok()) {
      Fail("verdict", absl::InternalError("failed"));
    }
  }
  absl::Duration cached_verdicts = absl::Now() - start;
  agent::CacheStats stats = (*cached)->cache_stats();
  std::printf("client %d calls in %s, stub in %s; cache hits %llu\n", kCalls,
              absl::FormatDuration(client_time).c_str(),
              absl::FormatDuration(stub_time).c_str(),
              static_cast<unsigned long long>(stats.hits));
  broker->Stop();
  PrintFigures({
      {"client_uncached_calls_per_second", PerSecond(kCalls, client_time),
       "calls/s", "stub_calls_per_second", PerSecond(kCalls, stub_time)},
      {"client_cached_verdicts_per_second", PerSecond(kCalls, cached_verdicts),
       "calls/s", "client_broker_verdicts_per_second",
       PerSecond(kCalls / 3, broker_verdicts)},
  });
  return 0;
}

}  // namespace
}  // namespace certbroker::bench

int main() { return certbroker::bench::Main(); }

// The policy engine at scale: a configuration of kLargeRules rules (exact
// hosts host-N.example.test, every tenth a wildcard *.zone-N.example.test,
// all valid and no two equally specific) against one of 10 such rules. Both
// hold the rule host-54321 that matches the benchmark's target, so the two
// brokers receive byte-identical requests. Figures:
//   * p50 latency of a cached OnServerCertificate over the Unix socket, one
//     sequential client, blocks alternating between the two brokers (both
//     running at once);
//   * compile time of the configuration (LoadPolicyFile: YAML, validation,
//     rule index) in this process;
//   * VmRSS of certbrokerd with the configuration loaded and warmed.
// Prints a summary, then the JSON figures.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/config/config_loader.h"
#include "broker/policy/policy_snapshot.h"
#include "certbroker/v1/broker.grpc.pb.h"
#include "tests/bench/bench_support.h"

namespace certbroker::bench {
namespace {

constexpr int kLargeRules = 100000;
constexpr int kTargetRule = 54321;  // An exact-host rule (not a multiple of
                                    // ten minus one).
// The small configuration: eight exact hosts and two wildcards, with the
// target's rule.
constexpr int kSmallRules[] = {1, 2, 3, 4, 5, 6, 7, 9, 19, kTargetRule};
constexpr int kCallsPerBroker = 2000;
constexpr int kBlock = 100;  // Calls per broker before switching.
constexpr int kWarmUpCalls = 200;
constexpr absl::Duration kLatencyTimeLimit = absl::Seconds(20);
constexpr absl::Duration kCompileTimeLimit = absl::Seconds(10);

std::string RuleName(int i) {
  return absl::StrCat(i % 10 == 9 ? "zone-" : "host-", i);
}

// RuleYaml is rule `i`: a wildcard for every tenth, else an exact host.
std::string RuleYaml(int i) {
  std::string host = i % 10 == 9 ? absl::StrCat("'*.zone-", i, ".example.test'")
                                 : absl::StrCat("host-", i, ".example.test");
  return absl::StrCat("- {name: ", RuleName(i), ", match: {hosts: [", host,
                      "]}, server_validation: {trust_bundles: [bench]}}\n");
}

std::string ConfigYaml(const std::vector<int>& rules) {
  std::string yaml =
      "trust_bundles: [{name: bench, pem_file: ca.pem}]\n"
      "rules:\n";
  for (int i : rules) absl::StrAppend(&yaml, RuleYaml(i));
  return yaml;
}

// ConfigJson is ConfigYaml's policy as a JSON document, which certbrokerd
// reads without the YAML step.
std::string ConfigJson(const std::vector<int>& rules) {
  std::string json =
      "{\"trust_bundles\": [{\"name\": \"bench\", \"pem_file\": \"ca.pem\"}], "
      "\"rules\": [";
  for (size_t k = 0; k < rules.size(); ++k) {
    int i = rules[k];
    std::string host = i % 10 == 9 ? absl::StrCat("*.zone-", i, ".example.test")
                                   : absl::StrCat("host-", i, ".example.test");
    absl::StrAppend(
        &json, k ? ", " : "", "{\"name\": \"", RuleName(i),
        "\", \"match\": {\"hosts\": [\"", host,
        "\"]}, \"server_validation\": {\"trust_bundles\": [\"bench\"]}}");
  }
  return json + "]}\n";
}

// CompileSeconds loads the policy at `path` repeatedly (at most `runs`
// times, within kCompileTimeLimit) and returns the median wall time.
double CompileSeconds(const std::string& path, int runs, size_t rules) {
  std::vector<double> seconds;
  absl::Time deadline = absl::Now() + kCompileTimeLimit;
  while (static_cast<int>(seconds.size()) < runs &&
         (seconds.empty() || absl::Now() < deadline)) {
    absl::Time start = absl::Now();
    auto snapshot = policy::LoadPolicyFile(path);
    absl::Duration elapsed = absl::Now() - start;
    if (!snapshot.ok()) Fail("LoadPolicyFile", snapshot.status());
    if ((*snapshot)->rule_count() != rules) {
      Fail("LoadPolicyFile", absl::InternalError("wrong rule count"));
    }
    seconds.push_back(absl::ToDoubleSeconds(elapsed));
  }
  return Percentile(seconds, 0.5);
}

// HeapInUse is the heap memory this process has allocated and not freed.
size_t HeapInUse() {
  struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

// LoadBreakdown splits one LoadPolicyFile of `path` into its two steps,
// for the summary: parsing (YAML, JSON, proto, validation) and compiling
// (files, trust stores, rule index), with the heap each leaves in use.
struct LoadBreakdown {
  double parse_seconds = 0;
  double compile_seconds = 0;
  double config_megabytes = 0;    // The parsed BrokerConfig message.
  double snapshot_megabytes = 0;  // The PolicySnapshot, config freed.
  double peak_megabytes = 0;      // Growth of this process's peak RSS.
};

LoadBreakdown BreakDownLoad(const std::string& path) {
  LoadBreakdown breakdown;
  // Writing 5 to clear_refs resets VmHWM to the current RSS.
  std::FILE* clear_refs = std::fopen("/proc/self/clear_refs", "w");
  if (clear_refs != nullptr) {
    std::fputs("5", clear_refs);
    std::fclose(clear_refs);
  }
  const double rss_before = StatusMegabytes(::getpid(), "VmRSS");
  const size_t heap_before = HeapInUse();
  std::shared_ptr<const policy::PolicySnapshot> snapshot;
  {
    absl::Time start = absl::Now();
    auto config = config::LoadConfigFile(path);
    absl::Time parsed = absl::Now();
    if (!config.ok()) Fail("LoadConfigFile", config.status());
    breakdown.config_megabytes =
        static_cast<double>(HeapInUse() - heap_before) / 1e6;
    auto compiled =
        policy::CompilePolicy(*config, path.substr(0, path.rfind('/')), path);
    if (!compiled.ok()) Fail("CompilePolicy", compiled.status());
    breakdown.parse_seconds = absl::ToDoubleSeconds(parsed - start);
    breakdown.compile_seconds = absl::ToDoubleSeconds(absl::Now() - parsed);
    snapshot = *std::move(compiled);
  }
  breakdown.snapshot_megabytes =
      static_cast<double>(HeapInUse() - heap_before) / 1e6;
  breakdown.peak_megabytes = StatusMegabytes(::getpid(), "VmHWM") - rss_before;
  return breakdown;
}

// Broker is one running certbrokerd with its own configuration.
struct Broker {
  testing::TempDir dir;
  std::string config;
  std::unique_ptr<testing::BrokerProcess> process;
  pid_t pid = -1;
  double start_seconds = 0;
  std::unique_ptr<v1::CertificateBroker::Stub> stub;
  std::vector<double> latencies_us;
};

void Start(Broker& broker) {
  absl::Time start = absl::Now();
  broker.process = StartBroker(broker.dir, broker.config, absl::Seconds(60));
  broker.start_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  broker.pid = FindBrokerPid(broker.config);
  broker.stub = v1::CertificateBroker::NewStub(
      NewChannel(broker.process->addresses()[0]));
}

// Call makes one decision and returns its latency in microseconds.
double Call(Broker& broker, const v1::OnServerCertificateRequest& request) {
  grpc::ClientContext context;
  v1::OnServerCertificateResponse response;
  absl::Time start = absl::Now();
  grpc::Status status =
      broker.stub->OnServerCertificate(&context, request, &response);
  double micros = absl::ToDoubleMicroseconds(absl::Now() - start);
  if (!status.ok() || !response.accepted() ||
      response.rule_name() != RuleName(kTargetRule)) {
    Fail("OnServerCertificate",
         absl::InternalError(absl::StrCat(status.error_message(), " ",
                                          response.ShortDebugString())));
  }
  return micros;
}

int Run() {
  const std::string host = absl::StrCat("host-", kTargetRule, ".example.test");
  BenchChain pki = MakeChain({host});
  std::vector<int> large_rules(kLargeRules);
  for (int i = 0; i < kLargeRules; ++i) large_rules[i] = i;
  Broker large;
  Broker small;
  large.dir.Write("ca.pem", pki.root.CertificatePem());
  small.dir.Write("ca.pem", pki.root.CertificatePem());
  large.config = large.dir.Write("config.yaml", ConfigYaml(large_rules));
  small.config = small.dir.Write(
      "config.yaml",
      ConfigYaml({std::begin(kSmallRules), std::end(kSmallRules)}));

  // Compile in this process first, while no broker runs; the breakdown
  // first of all, while the heap is fresh, so that its peak shows.
  LoadBreakdown breakdown = BreakDownLoad(large.config);
  double compile_small = CompileSeconds(small.config, 25, 10);
  double compile_large = CompileSeconds(large.config, 3, kLargeRules);
  double compile_large_json = CompileSeconds(
      large.dir.Write("config.json", ConfigJson(large_rules)), 3, kLargeRules);
  const double self_rss = StatusMegabytes(::getpid(), "VmRSS");
  const double self_heap = static_cast<double>(HeapInUse()) / 1e6;

  Start(small);
  Start(large);
  v1::OnServerCertificateRequest request;
  request.mutable_target()->set_host(host);
  request.add_certificate_chain(pki.leaf.Der());
  request.add_certificate_chain(pki.intermediate.Der());
  for (int i = 0; i < kWarmUpCalls; ++i) {
    Call(small, request);
    Call(large, request);
  }
  absl::Time deadline = absl::Now() + kLatencyTimeLimit;
  for (int done = 0; done < kCallsPerBroker && absl::Now() < deadline;
       done += kBlock) {
    // ABBA, so that neither broker always goes first.
    Broker* order[] = {&small, &large};
    if ((done / kBlock) % 2 == 1) std::swap(order[0], order[1]);
    for (Broker* broker : order) {
      for (int i = 0; i < kBlock; ++i) {
        broker->latencies_us.push_back(Call(*broker, request));
      }
    }
  }
  double rss_small = StatusMegabytes(small.pid, "VmRSS");
  double rss_large = StatusMegabytes(large.pid, "VmRSS");
  size_t calls = large.latencies_us.size();
  double p50_small = Percentile(small.latencies_us, 0.5);
  double p50_large = Percentile(large.latencies_us, 0.5);
  double p90_small = Percentile(small.latencies_us, 0.9);
  double p90_large = Percentile(large.latencies_us, 0.9);
  std::string small_log = small.process->Log();
  std::string large_log = large.process->Log();
  small.process->Stop();
  large.process->Stop();
  auto hits = [](const std::string& log) {
    return absl::StrCat(CountOccurrences(log, " cached=true"), "/",
                        CountOccurrences(log, "rpc=OnServerCertificate "));
  };

  std::printf(
      "cached OnServerCertificate p50 %.0fus (p90 %.0fus) with %d rules vs "
      "p50 %.0fus (p90 %.0fus) with 10; %zu sequential calls each, "
      "alternating blocks of %d; cache hits %s and %s\n",
      p50_large, p90_large, kLargeRules, p50_small, p90_small, calls, kBlock,
      hits(large_log).c_str(), hits(small_log).c_str());
  std::printf(
      "  LoadPolicyFile in-process (median): %.3fs for %d rules, %.2fms for "
      "10; certbrokerd ready after %.2fs vs %.2fs\n",
      compile_large, kLargeRules, compile_small * 1e3, large.start_seconds,
      small.start_seconds);
  std::printf(
      "  of which parsing the config (YAML, JSON, proto) %.3fs and compiling "
      "it %.3fs; heap in use: BrokerConfig %.1f MB, PolicySnapshot alone "
      "%.1f MB; RSS peak while loading +%.1f MB; after the loads, with every "
      "snapshot freed, this process still has %.1f MB resident for %.1f MB "
      "of heap in use\n",
      breakdown.parse_seconds, breakdown.compile_seconds,
      breakdown.config_megabytes, breakdown.snapshot_megabytes,
      breakdown.peak_megabytes, self_rss, self_heap);
  std::printf(
      "  certbrokerd VmRSS warmed: %.1f MB with %d rules, %.1f MB "
      "with 10 (%.0f bytes per extra rule)\n",
      rss_large, kLargeRules, rss_small,
      (rss_large - rss_small) * 1e6 / (kLargeRules - 10));
  PrintFigures({
      {"cached_decision_p50_latency_100k_rules", p50_large, "us",
       "cached_decision_p50_latency_10_rules", p50_small},
      {"policy_compile_time_100k_rules", compile_large * 1e3, "ms",
       "policy_compile_time_10_rules", compile_small * 1e3},
      {"policy_compile_time_100k_rules_json", compile_large_json * 1e3, "ms",
       "policy_compile_time_10_rules", compile_small * 1e3},
      {"broker_rss_100k_rules", rss_large, "MB", "broker_rss_10_rules",
       rss_small},
  });
  return 0;
}

}  // namespace
}  // namespace certbroker::bench

int main() { return certbroker::bench::Run(); }

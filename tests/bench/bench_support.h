// Helpers shared by the certbroker_*_bench binaries: figures printed as the
// JSON lines run.sh collects, a test PKI, the CPU time and resident memory of
// a certbrokerd started by BrokerProcess (found by its unique --config path),
// and one unary call path used for every RPC a benchmark compares, so that
// client-side costs cancel out of the ratios.
#ifndef CERTBROKER_TESTS_BENCH_BENCH_SUPPORT_H_
#define CERTBROKER_TESTS_BENCH_BENCH_SUPPORT_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "broker/devpki/pki.h"
#include "grpcpp/grpcpp.h"
#include "tests/support/broker_process.h"
#include "tests/support/grpc_probes.h"
#include "tests/support/temp_dir.h"

namespace certbroker::bench {

// Figure is one benchmark result with the baseline measured in the same run.
struct Figure {
  std::string metric;
  double value = 0;
  std::string unit;
  std::string baseline;
  double baseline_value = 0;
};

// PrintFigures prints one JSON line per figure, in the format of
// decision_bench: {"metric","value","unit","baseline","baseline_value",
// "ratio"}, ratio being value / baseline_value.
void PrintFigures(const std::vector<Figure>& figures);

// Fail prints `what` and `status` to stderr and exits 1.
[[noreturn]] void Fail(absl::string_view what, const absl::Status& status);

// BenchChain is a root, an intermediate and a serverAuth leaf, all ECDSA
// P-256 signed with SHA-256, valid for 90 days from an hour ago.
struct BenchChain {
  devpki::Issued root;
  devpki::Issued intermediate;
  devpki::Issued leaf;
};

// MakeChain issues a BenchChain whose leaf holds `dns_names`; exits on error.
BenchChain MakeChain(const std::vector<std::string>& dns_names);

// WriteBenchConfig writes `root` as dir/pki/ca.pem and a configuration
// with one rule trusting it for *.example.test, plus `extra` (YAML lines),
// and returns the configuration's path.
std::string WriteBenchConfig(const testing::TempDir& dir,
                             const devpki::Issued& root,
                             absl::string_view extra = "");

// StartBroker starts certbrokerd on `config_path`, listening on a Unix
// socket in `dir`; exits on error.
std::unique_ptr<testing::BrokerProcess> StartBroker(
    const testing::TempDir& dir, const std::string& config_path,
    absl::Duration timeout = absl::Seconds(20));

// FindBrokerPid returns the pid of our child certbrokerd whose command line
// holds --config=`config_path`; exits when there is none.
pid_t FindBrokerPid(const std::string& config_path);

// ProcessCpuSeconds returns utime + stime of `pid` (all its threads, living
// and exited) from /proc/<pid>/stat. The kernel reports it in clock ticks
// (10 ms), so measure intervals of many ticks.
double ProcessCpuSeconds(pid_t pid);

// SelfCpuSeconds returns this process's user + system CPU time, all
// threads included.
double SelfCpuSeconds();

// StatusMegabytes returns a memory `field` of /proc/<pid>/status ("VmRSS",
// "VmHWM") in MB (10^6 bytes); exits on error.
double StatusMegabytes(pid_t pid, absl::string_view field);

// ThreadCpuSeconds is the CPU time of the calling thread.
double ThreadCpuSeconds();

// NewChannel opens a plaintext channel to `address` with a connection of
// its own (not shared with other channels to the same address).
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address);

// CountOccurrences counts the non-overlapping occurrences of `needle`.
size_t CountOccurrences(absl::string_view haystack, absl::string_view needle);

// Percentile returns the `fraction` quantile (nearest rank) of `samples`,
// which it sorts.
double Percentile(std::vector<double>& samples, double fraction);

}  // namespace certbroker::bench

#endif  // CERTBROKER_TESTS_BENCH_BENCH_SUPPORT_H_

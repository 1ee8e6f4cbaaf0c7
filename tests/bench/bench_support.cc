// Shared benchmark helpers: figures, PKI, /proc readings, unary calls.
#include "tests/bench/bench_support.h"

#include <dirent.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <future>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "broker/common/file.h"
#include "grpcpp/generic/generic_stub.h"

namespace certbroker::bench {
namespace {

devpki::Issued MustIssue(const devpki::CertificateSpec& spec,
                         const devpki::Issued* issuer) {
  auto issued = devpki::Issue(spec, issuer);
  if (!issued.ok()) Fail("issuing a certificate", issued.status());
  return std::move(issued).value();
}

// StatFields returns the fields of /proc/<pid>/stat after the command name,
// so that element 0 is field 3 (state) of proc(5).
std::vector<std::string> StatFields(pid_t pid) {
  auto text = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!text.ok()) return {};
  size_t paren = text->rfind(')');
  if (paren == std::string::npos) return {};
  return absl::StrSplit(absl::string_view(*text).substr(paren + 1), ' ',
                        absl::SkipEmpty());
}

}  // namespace

void PrintFigures(const std::vector<Figure>& figures) {
  for (const Figure& figure : figures) {
    std::string ratio =
        figure.baseline_value > 0
            ? absl::StrFormat("%.3f", figure.value / figure.baseline_value)
            : "null";
    std::printf(
        "{\"metric\":\"%s\",\"value\":%.3f,\"unit\":\"%s\",\"baseline\":\"%s\","
        "\"baseline_value\":%.3f,\"ratio\":%s}\n",
        figure.metric.c_str(), figure.value, figure.unit.c_str(),
        figure.baseline.c_str(), figure.baseline_value, ratio.c_str());
  }
  std::fflush(stdout);
}

void Fail(absl::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "benchmark failed: %s: %s\n", std::string(what).c_str(),
               status.ToString().c_str());
  std::exit(1);
}

BenchChain MakeChain(const std::vector<std::string>& dns_names) {
  BenchChain chain;
  chain.root = MustIssue(devpki::RootSpec("Bench Root"), nullptr);
  chain.intermediate =
      MustIssue(devpki::IntermediateSpec("Bench Intermediate"), &chain.root);
  chain.leaf = MustIssue(devpki::ServerSpec(dns_names.at(0), dns_names),
                         &chain.intermediate);
  return chain;
}

std::string WriteBenchConfig(const testing::TempDir& dir,
                             const devpki::Issued& root,
                             absl::string_view extra) {
  dir.Write("pki/ca.pem", root.CertificatePem());
  return dir.Write(
      "config.yaml",
      absl::StrCat("trust_bundles: [{name: bench, pem_file: pki/ca.pem}]\n",
                   extra,
                   "rules: [{name: bench, match: {hosts: ['*.example.test']}, "
                   "server_validation: {trust_bundles: [bench]}}]\n"));
}

std::unique_ptr<testing::BrokerProcess> StartBroker(
    const testing::TempDir& dir, const std::string& config_path,
    absl::Duration timeout) {
  auto broker = testing::BrokerProcess::Start(
      {"--config=" + config_path, "--listen=unix:" + dir.Path("broker.sock")},
      dir.path(), timeout);
  if (!broker.ok()) Fail("starting certbrokerd", broker.status());
  return std::move(broker).value();
}

pid_t FindBrokerPid(const std::string& config_path) {
  const std::string wanted = "--config=" + config_path;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) Fail("FindBrokerPid", absl::InternalError("no /proc"));
  pid_t found = -1;
  while (dirent* entry = ::readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    auto cmdline = ReadFile(absl::StrCat("/proc/", pid, "/cmdline"));
    if (!cmdline.ok()) continue;
    std::vector<absl::string_view> arguments = absl::StrSplit(*cmdline, '\0');
    if (std::find(arguments.begin(), arguments.end(), wanted) ==
        arguments.end()) {
      continue;
    }
    std::vector<std::string> fields = StatFields(pid);
    int parent = 0;
    if (fields.size() > 1 && absl::SimpleAtoi(fields[1], &parent) &&
        parent == ::getpid()) {
      found = pid;
      break;
    }
  }
  ::closedir(proc);
  if (found < 0) {
    Fail("FindBrokerPid",
         absl::NotFoundError(absl::StrCat("no child process with ", wanted)));
  }
  return found;
}

double SelfCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) /
             1e6;
}

double ProcessCpuSeconds(pid_t pid) {
  std::vector<std::string> fields = StatFields(pid);
  int64_t utime = 0;
  int64_t stime = 0;
  // utime and stime are fields 14 and 15 of proc(5).
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    Fail("ProcessCpuSeconds",
         absl::InternalError(absl::StrCat("cannot read /proc/", pid, "/stat")));
  }
  return static_cast<double>(utime + stime) /
         static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double StatusMegabytes(pid_t pid, absl::string_view field) {
  auto status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  if (!status.ok()) Fail("StatusMegabytes", status.status());
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (!absl::ConsumePrefix(&line, field) || !absl::ConsumePrefix(&line, ":"))
      continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, "kB");
    int64_t kib = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &kib)) {
      return static_cast<double>(kib) * 1024 / 1e6;
    }
  }
  Fail("StatusMegabytes", absl::InternalError(absl::StrCat(
                              "no ", field, " in /proc/", pid, "/status")));
}

double ThreadCpuSeconds() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) +
         static_cast<double>(now.tv_nsec) / 1e9;
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address) {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   arguments);
}

size_t CountOccurrences(absl::string_view haystack, absl::string_view needle) {
  size_t count = 0;
  for (size_t at = haystack.find(needle); at != absl::string_view::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

double Percentile(std::vector<double>& samples, double fraction) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  size_t rank = static_cast<size_t>(
      std::ceil(fraction * static_cast<double>(samples.size())));
  return samples[std::clamp<size_t>(rank, 1, samples.size()) - 1];
}

}  // namespace certbroker::bench

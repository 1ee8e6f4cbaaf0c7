// certbroker-agent fetch vs curl: one large file (1 GiB by default;
// CERTBROKER_FETCH_BENCH_MB overrides) from the same nginx
// (ssl_verify_client on) with the same client certificate (the broker's
// exportable one, which curl reads from files). Each tool runs twice,
// alternately; the best run of each counts. Figures: throughput (MB/s) and
// peak RSS (MB) of the downloading process, against curl's, and the
// throughput of a fetch that also checks --sha256 (curl does not hash).
#include <fcntl.h>
#include <openssl/sha.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/agents/tls/tls_test_env.h"
#include "tests/bench/bench_support.h"

namespace certbroker::bench {
namespace {

// Run is one download: its wall time, the process's CPU time (user and
// system) and its peak RSS.
struct Run {
  double seconds = 0;
  double peak_rss_mb = 0;
  double user_seconds = 0;
  double system_seconds = 0;
};

// RunProcess runs argv with stdout and stderr to `log`, and measures it.
Run RunProcess(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<std::string> storage = argv;
  std::vector<char*> raw;
  for (std::string& argument : storage) raw.push_back(argument.data());
  raw.push_back(nullptr);
  absl::Time start = absl::Now();
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execvp(raw[0], raw.data());
    ::_exit(127);
  }
  int status = 0;
  struct rusage usage = {};
  ::wait4(pid, &status, 0, &usage);
  Run run;
  run.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  run.peak_rss_mb = usage.ru_maxrss * 1024.0 / 1e6;  // ru_maxrss is in KiB.
  run.user_seconds = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6;
  run.system_seconds = usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    Fail(argv[0], absl::InternalError(
                      absl::StrCat("exit status ", status, "; see ", log)));
  }
  return run;
}

// Sha256OfRepeated is the SHA-256 (hex) of `block` repeated `times`.
std::string Sha256OfRepeated(const std::string& block, uint64_t times) {
  SHA256_CTX sha;
  SHA256_Init(&sha);
  for (uint64_t i = 0; i < times; ++i) {
    SHA256_Update(&sha, block.data(), block.size());
  }
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &sha);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

}  // namespace
}  // namespace certbroker::bench

int main() {
  uint64_t megabytes = 1024;
  if (const char* env = std::getenv("CERTBROKER_FETCH_BENCH_MB")) {
    if (!absl::SimpleAtoi(env, &megabytes) || megabytes == 0) megabytes = 1024;
  }
  certbroker::testing::TempDir dir;
  certbroker::testing::SdkPki pki = certbroker::testing::SdkPki::Generate();
  pki.Write(dir);
  auto broker = certbroker::testing::StartBroker(dir);
  if (!broker.ok()) certbroker::bench::Fail("certbrokerd", broker.status());
  certbroker::testing::NginxOptions nginx_options;
  nginx_options.locations = "    location /files/ { }\n";
  int port = 0;
  auto nginx = certbroker::testing::StartNginx(dir, nginx_options, port);
  if (!nginx.ok()) certbroker::bench::Fail("nginx", nginx.status());

  // The file: 1 MiB of pseudo-random bytes, repeated.
  std::string block(1 << 20, '\0');
  uint32_t state = 12345;
  for (char& c : block) {
    state = state * 1664525u + 1013904223u;
    c = static_cast<char>(state >> 24);
  }
  dir.Write("www/files/.keep", "");
  std::string file = dir.Path("www/files/big.bin");
  {
    FILE* out = std::fopen(file.c_str(), "wb");
    for (uint64_t i = 0; i < megabytes; ++i) {
      std::fwrite(block.data(), 1, block.size(), out);
    }
    std::fclose(out);
  }
  uint64_t size = megabytes << 20;
  std::string url =
      absl::StrCat("https://exportable.test:", port, "/files/big.bin");
  std::string output = dir.Path("download.bin");

  std::vector<std::string> agent = {CERTBROKER_AGENT_PATH,
                                    "fetch",
                                    url,
                                    "-o",
                                    output,
                                    "--broker=" + (*broker)->addresses()[0],
                                    "--resolve=exportable.test:127.0.0.1",
                                    absl::StrCat("--expected_size=", size)};
  std::vector<std::string> curl = {
      "curl",
      "-sS",
      "--fail",
      "--cacert",
      dir.Path("pki/server-root.pem"),
      "--cert",
      dir.Path("pki/client-chain.pem"),
      "--key",
      dir.Path("pki/client.key"),
      "--resolve",
      absl::StrCat("exportable.test:", port, ":127.0.0.1"),
      "-o",
      output,
      url};
  std::string sha256 = certbroker::bench::Sha256OfRepeated(block, megabytes);
  std::vector<std::string> agent_sha = agent;
  agent_sha.push_back("--sha256=" + sha256);
  certbroker::bench::Run best_agent_sha{1e9, 0};
  certbroker::bench::Run best_agent{1e9, 0};
  certbroker::bench::Run best_curl{1e9, 0};
  for (int round = 0; round < 2; ++round) {
    certbroker::bench::Run c =
        certbroker::bench::RunProcess(curl, dir.Path("curl.log"));
    ::unlink(output.c_str());
    certbroker::bench::Run a =
        certbroker::bench::RunProcess(agent, dir.Path("agent.log"));
    ::unlink(output.c_str());
    certbroker::bench::Run h =
        certbroker::bench::RunProcess(agent_sha, dir.Path("agent-sha.log"));
    ::unlink(output.c_str());
    best_agent_sha.seconds = std::min(best_agent_sha.seconds, h.seconds);
    std::fprintf(stderr, "round %d: certbroker-agent --sha256 %.2f s\n", round,
                 h.seconds);
    std::fprintf(stderr,
                 "round %d: certbroker-agent %.2f s (%.1f MB RSS, CPU %.2f s "
                 "user %.2f s system), curl %.2f s (%.1f MB RSS, CPU %.2f s "
                 "user %.2f s system)\n",
                 round, a.seconds, a.peak_rss_mb, a.user_seconds,
                 a.system_seconds, c.seconds, c.peak_rss_mb, c.user_seconds,
                 c.system_seconds);
    if (a.seconds < best_agent.seconds) best_agent.seconds = a.seconds;
    if (c.seconds < best_curl.seconds) best_curl.seconds = c.seconds;
    best_agent.peak_rss_mb = std::max(best_agent.peak_rss_mb, a.peak_rss_mb);
    best_curl.peak_rss_mb = std::max(best_curl.peak_rss_mb, c.peak_rss_mb);
  }
  double mb = size / 1e6;
  std::printf("%llu MiB over HTTPS with a client certificate, best of 2\n",
              static_cast<unsigned long long>(megabytes));
  certbroker::bench::PrintFigures({
      {"fetch_throughput", mb / best_agent.seconds, "MB/s", "curl",
       mb / best_curl.seconds},
      {"fetch_peak_rss", best_agent.peak_rss_mb, "MB", "curl",
       best_curl.peak_rss_mb},
      {"fetch_throughput_with_sha256", mb / best_agent_sha.seconds, "MB/s",
       "curl", mb / best_curl.seconds},
  });
  return 0;
}

// Starting, signalling and reaping a real certbrokerd for tests.
#include "tests/support/broker_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "broker/common/file.h"

namespace certbroker::testing {
namespace {

// Spawn starts certbrokerd with stderr (and stdout) into `log_path`.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& arguments,
                            const std::string& log_path, BrokerAccess access) {
  std::vector<std::string> argv_storage = {CERTBROKERD_PATH};
  argv_storage.insert(argv_storage.end(), arguments.begin(), arguments.end());
  if (access == BrokerAccess::kDevLoopback) {
    argv_storage.push_back("--insecure_dev_loopback");
  }
  std::vector<char*> argv;
  for (std::string& argument : argv_storage) argv.push_back(argument.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    // Start the broker as nohup would, with SIGHUP and SIGINT ignored: it
    // must still handle them.
    ::signal(SIGHUP, SIG_IGN);
    ::signal(SIGINT, SIG_IGN);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// ExitCode turns a waitpid status into an exit code (128+N for signal N).
int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// WaitExit waits up to `timeout` for `pid`; returns -1 if still running.
int WaitExit(pid_t pid, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return ExitCode(status);
    if (absl::Now() > deadline) return -1;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

std::string ReadLog(const std::string& path) {
  // Benchmarks log far more than ReadFile's default cap.
  auto text = ReadFile(path, size_t{1} << 30);
  return text.ok() ? *text : std::string();
}

}  // namespace

absl::StatusOr<std::unique_ptr<BrokerProcess>> BrokerProcess::Start(
    const std::vector<std::string>& arguments, const std::string& work_dir,
    absl::Duration timeout, BrokerAccess access) {
  std::unique_ptr<BrokerProcess> process(new BrokerProcess());
  process->log_path_ = absl::StrCat(work_dir, "/certbrokerd.log");
  std::string ready = absl::StrCat(work_dir, "/certbrokerd.ready");
  ::unlink(ready.c_str());
  std::vector<std::string> full = arguments;
  full.push_back("--ready_file=" + ready);
  auto pid = Spawn(full, process->log_path_, access);
  if (!pid.ok()) return pid.status();
  process->pid_ = *pid;
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    auto contents = ReadFile(ready);
    if (contents.ok()) {
      for (absl::string_view line :
           absl::StrSplit(*contents, '\n', absl::SkipEmpty())) {
        process->addresses_.emplace_back(line);
      }
      return process;
    }
    int status = 0;
    if (::waitpid(process->pid_, &status, WNOHANG) == process->pid_) {
      process->pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrCat("certbrokerd exited with ", ExitCode(status),
                       " before serving:\n", ReadLog(process->log_path_)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "certbrokerd did not become ready:\n", ReadLog(process->log_path_)));
}

absl::StatusOr<int> BrokerProcess::RunToExit(
    const std::vector<std::string>& arguments, const std::string& work_dir,
    std::string& log, absl::Duration timeout, BrokerAccess access) {
  std::string log_path = absl::StrCat(work_dir, "/certbrokerd-exit.log");
  auto pid = Spawn(arguments, log_path, access);
  if (!pid.ok()) return pid.status();
  int code = WaitExit(*pid, timeout);
  if (code < 0) {
    ::kill(*pid, SIGKILL);
    WaitExit(*pid, absl::Seconds(5));
    log = ReadLog(log_path);
    return absl::DeadlineExceededError("certbrokerd kept running");
  }
  log = ReadLog(log_path);
  return code;
}

BrokerProcess::~BrokerProcess() {
  if (pid_ > 0) Stop(absl::Seconds(5));
}

void BrokerProcess::Signal(int signal_number) const {
  if (pid_ > 0) ::kill(pid_, signal_number);
}

int BrokerProcess::Stop(absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int code = WaitExit(pid_, timeout);
  if (code < 0) {
    ::kill(pid_, SIGKILL);
    code = WaitExit(pid_, absl::Seconds(5));
  }
  pid_ = -1;
  return code;
}

std::string BrokerProcess::Log() const { return ReadLog(log_path_); }

bool BrokerProcess::WaitForLog(const std::string& text,
                               absl::Duration timeout) const {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (Log().find(text) != std::string::npos) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

absl::Status BrokerProcess::Reload() {
  Signal(SIGHUP);
  ++reloads_;
  // The log says so once per reload; wait for this one's line.
  constexpr char kReloaded[] = "reloaded policy_version=";
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    std::string log = Log();
    int seen = 0;
    for (size_t at = log.find(kReloaded); at != std::string::npos;
         at = log.find(kReloaded, at + 1)) {
      ++seen;
    }
    if (seen >= reloads_) return absl::OkStatus();
    if (log.find("reload failed") != std::string::npos) {
      return absl::FailedPreconditionError("the reload failed:\n" + log);
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError("no reload in the broker's log:\n" +
                                     Log());
}

}  // namespace certbroker::testing

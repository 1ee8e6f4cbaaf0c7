// BrokerProcess: runs the real certbrokerd binary for an integration test,
// waits until it has written its ready file, and stops it with a signal,
// reporting its exit code. Its stderr goes to a file the test can read.
#ifndef CERTBROKER_TESTS_SUPPORT_BROKER_PROCESS_H_
#define CERTBROKER_TESTS_SUPPORT_BROKER_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace certbroker::testing {

// BrokerAccess says how a test broker treats callers.
enum class BrokerAccess {
  // kDevLoopback adds --insecure_dev_loopback: plaintext loopback TCP, and
  // every caller holds every role. Tests of anything but access use it.
  kDevLoopback,
  // kAsConfigured runs the broker exactly as its arguments and policy say.
  kAsConfigured,
};

class BrokerProcess {
 public:
  // Start runs certbrokerd with `arguments` plus --ready_file in
  // `work_dir`, and waits up to `timeout` for it to be serving. Fails with
  // the broker's stderr when it exits first or the timeout passes.
  static absl::StatusOr<std::unique_ptr<BrokerProcess>> Start(
      const std::vector<std::string>& arguments, const std::string& work_dir,
      absl::Duration timeout = absl::Seconds(20),
      BrokerAccess access = BrokerAccess::kDevLoopback);

  // RunToExit runs certbrokerd with `arguments`, expecting it to exit by
  // itself (a start-up failure), and returns its exit code; `log` receives
  // its stderr.
  static absl::StatusOr<int> RunToExit(
      const std::vector<std::string>& arguments, const std::string& work_dir,
      std::string& log, absl::Duration timeout = absl::Seconds(20),
      BrokerAccess access = BrokerAccess::kDevLoopback);

  ~BrokerProcess();

  // addresses are the bound listen addresses from the ready file, in
  // --listen order ("127.0.0.1:PORT", "unix:/path").
  const std::vector<std::string>& addresses() const { return addresses_; }

  // Signal sends `signal_number` to the broker.
  void Signal(int signal_number) const;

  // Stop sends SIGTERM and returns the exit code (128+N if killed by a
  // signal), waiting at most `timeout` before killing it.
  int Stop(absl::Duration timeout = absl::Seconds(20));

  // Log returns what the broker has written to stderr so far.
  std::string Log() const;

  // WaitForLog waits up to `timeout` for `text` to appear in the log.
  bool WaitForLog(const std::string& text,
                  absl::Duration timeout = absl::Seconds(10)) const;

  // Reload has the broker reload its configuration (SIGHUP) and waits for
  // the log to say it did. Fails (with the log) when it says the reload
  // failed, or after 20 s.
  absl::Status Reload();

 private:
  BrokerProcess() = default;

  pid_t pid_ = -1;
  std::string log_path_;
  std::vector<std::string> addresses_;
  int reloads_ = 0;  // Reloads asked of this process.
};

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_SUPPORT_BROKER_PROCESS_H_

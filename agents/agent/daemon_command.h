// daemon_command.h: `certbroker-agent daemon [flags]`: its flags, its
// --help, and its run (agents/daemon does the work).
#ifndef CERTBROKER_AGENTS_AGENT_DAEMON_COMMAND_H_
#define CERTBROKER_AGENTS_AGENT_DAEMON_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agents/daemon/daemon.h"

namespace certbroker::agent_cli {

// DaemonArgs are the daemon command's parsed arguments.
struct DaemonArgs {
  bool help = false;
  daemon::DaemonOptions options;
};

// ParseDaemonArgs reads the arguments after the word "daemon"; the error
// (INVALID_ARGUMENT) names the wrong one.
absl::StatusOr<DaemonArgs> ParseDaemonArgs(
    const std::vector<std::string>& args);

// DaemonUsage is the daemon command's --help text.
std::string DaemonUsage();

// RunDaemonCommand runs `daemon` until SIGTERM or SIGINT and returns the
// exit code (0 after a clean stop, 1 when it cannot start); usage errors
// go to `err`, the daemon's log lines to stderr.
int RunDaemonCommand(const std::vector<std::string>& args, std::ostream& out,
                     std::ostream& err);

}  // namespace certbroker::agent_cli

#endif  // CERTBROKER_AGENTS_AGENT_DAEMON_COMMAND_H_

// RunDaemonCommand: the daemon command's run, apart from its parsing
// because it links the JobManager.
#include <ostream>

#include "agents/agent/daemon_command.h"
#include "agents/agent/exit_codes.h"

namespace certbroker::agent_cli {

int RunDaemonCommand(const std::vector<std::string>& args, std::ostream& out,
                     std::ostream& err) {
  auto parsed = ParseDaemonArgs(args);
  if (!parsed.ok()) {
    err << "certbroker-agent daemon: " << parsed.status().message()
        << "\n(see certbroker-agent daemon --help)\n";
    return kExitUsage;
  }
  if (parsed->help) {
    out << DaemonUsage();
    return kExitOk;
  }
  return daemon::RunDaemon(parsed->options);
}

}  // namespace certbroker::agent_cli

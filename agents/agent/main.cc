// certbroker-agent: the transfer agent's command line. Subcommands: fetch
// (a one-shot HTTPS download whose TLS trust comes from certbrokerd),
// daemon (persistent download jobs served on a Unix socket) and job (the
// daemon's client).
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "agents/agent/daemon_command.h"
#include "agents/agent/fetch_command.h"
#include "agents/agent/job_command.h"

namespace {

const char kUsage[] = R"(usage: certbroker-agent COMMAND [ARGS]

commands:
  fetch URL -o FILE [flags]   download an https URL (see fetch --help)
  daemon [flags]              run the job daemon (see daemon --help)
  job SUBCOMMAND [ARGS]       create and control the daemon's download jobs
                              (see job --help)
)";

}  // namespace

int main(int argc, char** argv) {
  namespace cli = certbroker::agent_cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return cli::kExitUsage;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return cli::kExitOk;
  }
  if (args[0] == "fetch") {
    return cli::RunFetch(rest, std::cout, std::cerr,
                         ::isatty(STDERR_FILENO) == 1);
  }
  if (args[0] == "job") {
    return cli::RunJob(rest, std::cout, std::cerr,
                       ::isatty(STDERR_FILENO) == 1);
  }
  if (args[0] == "daemon") {
    return cli::RunDaemonCommand(rest, std::cout, std::cerr);
  }
  std::cerr << "certbroker-agent: unknown command \"" << args[0] << "\"\n"
            << kUsage;
  return cli::kExitUsage;
}

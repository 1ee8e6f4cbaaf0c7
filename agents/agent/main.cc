// certbroker-agent: the transfer agent's command line. Subcommands: fetch
// (a one-shot HTTPS download whose TLS trust comes from certbrokerd).
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "agents/agent/fetch_command.h"

namespace {

const char kUsage[] = R"(usage: certbroker-agent COMMAND [ARGS]

commands:
  fetch URL -o FILE [flags]   download an https URL (see fetch --help)
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return certbroker::agent_cli::kExitUsage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage << "\n" << certbroker::agent_cli::FetchUsage();
    return certbroker::agent_cli::kExitOk;
  }
  if (args[0] == "fetch") {
    return certbroker::agent_cli::RunFetch(
        std::vector<std::string>(args.begin() + 1, args.end()), std::cout,
        std::cerr, ::isatty(STDERR_FILENO) == 1);
  }
  std::cerr << "certbroker-agent: unknown command \"" << args[0] << "\"\n"
            << kUsage;
  return certbroker::agent_cli::kExitUsage;
}

// fetch_command.h: `certbroker-agent fetch URL -o FILE`: its arguments, its
// run, and the exit codes scripts rely on.
#ifndef CERTBROKER_AGENTS_AGENT_FETCH_COMMAND_H_
#define CERTBROKER_AGENTS_AGENT_FETCH_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "agents/transfer/transfer_error.h"

namespace certbroker::agent_cli {

// ExitCode are certbroker-agent's exit codes.
enum ExitCode {
  kExitOk = 0,
  kExitUsage = 1,
  kExitLocalFile = 2,
  kExitRemoteFile = 3,
  kExitTransport = 4,
  kExitServerCertificate = 5,
  kExitBrokerUnavailable = 6,
  kExitClientCertificate = 7,
};

// ExitCodeFor maps an error context to its exit code.
int ExitCodeFor(transfer::ErrorContext context);

// FetchUsage is the fetch command's --help text, exit codes included.
std::string FetchUsage();

// RunFetch runs `fetch` with the arguments after the word "fetch"; progress,
// notices and errors go to `err` (a bar when `terminal`), the result line
// to `out`. Returns the exit code.
int RunFetch(const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err, bool terminal);

}  // namespace certbroker::agent_cli

#endif  // CERTBROKER_AGENTS_AGENT_FETCH_COMMAND_H_

// fetch_command.h: `certbroker-agent fetch URL -o FILE`: its arguments and
// its run (its exit codes are in exit_codes.h).
#ifndef CERTBROKER_AGENTS_AGENT_FETCH_COMMAND_H_
#define CERTBROKER_AGENTS_AGENT_FETCH_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "agents/agent/exit_codes.h"

namespace certbroker::agent_cli {

// FetchUsage is the fetch command's --help text, exit codes included.
std::string FetchUsage();

// RunFetch runs `fetch` with the arguments after the word "fetch"; progress,
// notices and errors go to `err` (a bar when `terminal`), the result line
// to `out`. Returns the exit code.
int RunFetch(const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err, bool terminal);

}  // namespace certbroker::agent_cli

#endif  // CERTBROKER_AGENTS_AGENT_FETCH_COMMAND_H_

// exit_codes.h: certbroker-agent's exit codes, which scripts rely on, and
// the report of a transfer error that goes with them; shared by fetch and
// job watch.
#ifndef CERTBROKER_AGENTS_AGENT_EXIT_CODES_H_
#define CERTBROKER_AGENTS_AGENT_EXIT_CODES_H_

#include <ostream>

#include "agents/transfer/transfer_error.h"

namespace certbroker::agent_cli {

// ExitCode are certbroker-agent's exit codes.
enum ExitCode {
  kExitOk = 0,
  // kExitUsage: a bad flag or argument, or a request the daemon refused
  // (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION: the message says).
  kExitUsage = 1,
  kExitLocalFile = 2,
  kExitRemoteFile = 3,
  kExitTransport = 4,
  kExitServerCertificate = 5,
  kExitBrokerUnavailable = 6,
  kExitClientCertificate = 7,
  // kExitCancelled: the watched job was cancelled.
  kExitCancelled = 8,
  // kExitNoDaemon: the agent daemon could not be reached (or went away).
  kExitNoDaemon = 9,
};

// ExitCodeFor maps an error context to its exit code.
int ExitCodeFor(transfer::ErrorContext context);

// WriteErrorDetails writes an error's "key: value" lines (context,
// http_status, broker_reason, broker_decision_id, broker_rule, url; those
// that apply), each after `indent`.
void WriteErrorDetails(const transfer::TransferError& error, std::ostream& out,
                       const char* indent = "");

}  // namespace certbroker::agent_cli

#endif  // CERTBROKER_AGENTS_AGENT_EXIT_CODES_H_

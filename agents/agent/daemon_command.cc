// The daemon command's flags and --help (its run is in daemon_run.cc, so
// that the parsing links without the JobManager).
#include "agents/agent/daemon_command.h"

#include "absl/strings/str_cat.h"
#include "agents/agent/broker_flags.h"
#include "agents/agent/flag_parser.h"
#include "broker/common/status_macros.h"

namespace certbroker::agent_cli {

absl::StatusOr<DaemonArgs> ParseDaemonArgs(
    const std::vector<std::string>& args) {
  std::vector<std::string> valued = {"socket",
                                     "database",
                                     "max_concurrent_jobs",
                                     "checkpoint_interval",
                                     "connect_timeout",
                                     "idle_timeout",
                                     "min_retry_delay",
                                     "no_progress_timeout"};
  valued.insert(valued.end(), kBrokerFlagNames.begin(), kBrokerFlagNames.end());
  CB_ASSIGN_OR_RETURN(ParsedArgs split, ParseArgs(args, valued));
  DaemonArgs parsed;
  parsed.help = split.help;
  daemon::DaemonOptions& options = parsed.options;
  options.socket_path = "var/certbroker-agent.sock";
  options.jobs.database_path = "var/certbroker-agent.db";
  BrokerFlags broker = DefaultBrokerFlags();
  for (const auto& [name, value] : split.flags) {
    if (ApplyBrokerFlag(name, value, broker)) continue;
    if (name == "socket") {
      options.socket_path = value;
    } else if (name == "database") {
      options.jobs.database_path = value;
    } else if (name == "max_concurrent_jobs") {
      CB_ASSIGN_OR_RETURN(options.jobs.max_concurrent_jobs,
                          ParseInt(name, value, 1, 1000));
    } else if (name == "checkpoint_interval") {
      CB_ASSIGN_OR_RETURN(options.jobs.checkpoint_interval,
                          ParseSeconds(name, value));
    } else if (name == "connect_timeout") {
      CB_ASSIGN_OR_RETURN(options.jobs.connect_timeout,
                          ParseSeconds(name, value));
    } else if (name == "idle_timeout") {
      CB_ASSIGN_OR_RETURN(options.jobs.idle_timeout, ParseSeconds(name, value));
    } else if (name == "min_retry_delay") {
      CB_ASSIGN_OR_RETURN(options.jobs.default_min_retry_delay,
                          ParseSeconds(name, value));
    } else if (name == "no_progress_timeout") {
      CB_ASSIGN_OR_RETURN(options.jobs.default_no_progress_timeout,
                          ParseSeconds(name, value));
    }
  }
  if (!split.positional.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "daemon takes no arguments, got \"", split.positional[0], "\""));
  }
  if (options.socket_path.empty() || options.jobs.database_path.empty()) {
    return absl::InvalidArgumentError(
        "--socket and --database must not be empty");
  }
  options.broker = broker.client;
  options.trust_store_pem_file = broker.trust_store;
  return parsed;
}

std::string DaemonUsage() {
  return absl::StrCat(
      R"(usage: certbroker-agent daemon [flags]

Runs the transfer agent: persistent download jobs, journalled in SQLite,
controlled through `certbroker-agent job` (or any gRPC client of
certbroker.agent.v1.TransferAgent) over a Unix socket. Whoever can connect
to the socket controls every job, so the socket is the daemon user's only:
its directory is created with mode 0700 when missing and the socket has
mode 0600. A second daemon refuses to start on a socket that is served; a
socket left by a daemon that died is replaced. SIGTERM or SIGINT stop the
daemon cleanly (jobs are journalled and resume at the next start).

flags:
  --socket PATH                the control socket (default
                               var/certbroker-agent.sock)
  --database PATH              the job journal (default
                               var/certbroker-agent.db)
)",
      kBrokerFlagsUsage,
      R"(  --max_concurrent_jobs N      jobs transferring at once (default 4)
  --checkpoint_interval SECONDS
                               how often progress is synced and journalled:
                               a crash loses at most this much (default 1)
  --connect_timeout SECONDS    connect + TLS handshake (default 30)
  --idle_timeout SECONDS       longest silence of a connection (default 60)
  --min_retry_delay SECONDS    wait before retrying a transient error, for
                               jobs without their own (default 60)
  --no_progress_timeout SECONDS
                               transient errors become ERROR after this
                               long without progress, for jobs without
                               their own (default 1209600: 14 days)

exit codes: 0 after a clean stop, 1 when the daemon cannot start (the
reason is logged on stderr).
)");
}

}  // namespace certbroker::agent_cli

// daemon.h: `certbroker-agent daemon`'s life: the broker client, the TLS
// binding and the JobManager it serves, a gRPC server on a Unix socket
// only the daemon's user can use (see agent_socket.h), and a clean
// shutdown on SIGTERM or SIGINT.
#ifndef CERTBROKER_AGENTS_DAEMON_DAEMON_H_
#define CERTBROKER_AGENTS_DAEMON_DAEMON_H_

#include <string>

#include "absl/time/time.h"
#include "agents/jobs/job_manager.h"
#include "certbroker/agent/broker_client.h"

namespace certbroker::daemon {

// DaemonOptions configure the daemon.
struct DaemonOptions {
  // socket_path is where the TransferAgent service listens.
  std::string socket_path = "var/certbroker-agent.sock";
  // broker says how to reach certbrokerd.
  agent::BrokerClientOptions broker;
  // trust_store_pem_file is the local check's roots (TlsBindingOptions).
  std::string trust_store_pem_file;
  // jobs configures the JobManager (its database_path included).
  jobs::JobManagerOptions jobs;
  // shutdown_grace bounds how long calls in flight may take to finish at
  // shutdown before they are cancelled.
  absl::Duration shutdown_grace = absl::Seconds(5);
};

// RunDaemon runs the daemon until SIGTERM or SIGINT and returns the
// process's exit code: 0 after a clean shutdown (the jobs journalled), 1
// when it cannot start (the reason logged to stderr: a bad option, an
// unusable database, another daemon on the socket). Call it from the main
// thread before any other thread starts: it blocks the two signals so
// that every thread inherits the mask.
int RunDaemon(const DaemonOptions& options);

}  // namespace certbroker::daemon

#endif  // CERTBROKER_AGENTS_DAEMON_DAEMON_H_

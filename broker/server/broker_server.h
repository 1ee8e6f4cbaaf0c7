// Runs certbrokerd: opens the store and KEKs, loads the policy, serves
// CertificateBroker (and CertificateAdmin when enabled), health and
// reflection on every listen address, reloads the policy on SIGHUP (keeping
// the old one when the new one is bad), and shuts down gracefully on SIGTERM
// or SIGINT.
#ifndef CERTBROKER_BROKER_SERVER_BROKER_SERVER_H_
#define CERTBROKER_BROKER_SERVER_BROKER_SERVER_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "broker/audit/audit_writer.h"

namespace certbroker::server {

struct BrokerServerOptions {
  // Where the policy comes from; see broker/state/policy_manager.h.
  std::string config_path;
  std::string seed_config_path;
  // kek_file seals and opens stored private keys; previous_kek_files only
  // open (during a rotation).
  std::string kek_file;
  std::vector<std::string> previous_kek_files;
  bool allow_insecure_kek_permissions = false;
  std::vector<std::string> listen;
  // ready_file, when set, receives one bound address per line once every
  // listener is up (TCP as HOST:PORT with the real port, Unix as unix:PATH).
  std::string ready_file;
  absl::Duration shutdown_grace = absl::Seconds(5);
  // enable_admin serves the whole CertificateAdmin API; enable_simulation
  // only its SimulateServerCertificate. Off by default; callers need the
  // ADMIN (or, for reading audit and status, AUDITOR) role as well.
  bool enable_admin = false;
  bool enable_simulation = false;
  // insecure_dev_loopback: plaintext loopback TCP and unmapped Unix peers
  // are development callers with every role (see auth::CallerResolver).
  bool insecure_dev_loopback = false;
  // test_only_response_delay, when positive, delays every CertificateBroker
  // answer (for tests of agents facing a slow broker).
  absl::Duration test_only_response_delay;
  // data_dir, when set, holds the SQLite store (certbroker.db): stored
  // certificates, bundles, CRLs, the policy, and the audit log of every
  // decision. Empty: no store, no audit log.
  std::string data_dir;
  audit::AuditWriterOptions audit;
};

// RunBroker serves until SIGTERM or SIGINT and returns the process exit
// code: 0 after a graceful shutdown, 1 when start-up fails (the reason is
// logged first).
int RunBroker(const BrokerServerOptions& options);

}  // namespace certbroker::server

#endif  // CERTBROKER_BROKER_SERVER_BROKER_SERVER_H_

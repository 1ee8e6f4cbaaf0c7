// certbrokerd: the Certbroker service. See --help.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/common/log.h"
#include "broker/server/broker_server.h"

ABSL_FLAG(std::string, config, "",
          "YAML configuration file (schema: "
          "protos/certbroker/config/v1/config.proto) that defines the policy. "
          "Send SIGHUP to reload it. With --data_dir, rules may also name the "
          "store's certificates, bundles and CRLs; refused if the store holds "
          "a policy document of its own.");
ABSL_FLAG(std::string, seed_config, "",
          "With --data_dir and no --config: a configuration file stored as "
          "the policy document when the store holds none yet. Afterwards the "
          "store defines the policy (changed through the admin API) and this "
          "file is ignored.");
ABSL_FLAG(std::string, kek_file, "",
          "Key-encryption key that seals the private keys in the store: 32 "
          "raw bytes, 64 hex digits or base64, in a file only the broker's "
          "user may read (e.g. a Kubernetes Secret mounted with defaultMode "
          "0400).");
ABSL_FLAG(std::vector<std::string>, previous_kek_files, {},
          "Older KEK files, comma-separated, still accepted to open keys; "
          "`certbrokerctl kek rotate` re-wraps every key under --kek_file.");
ABSL_FLAG(bool, allow_insecure_kek_permissions, false,
          "Accept KEK files that group or others may read.");
ABSL_FLAG(bool, enable_admin, false,
          "Serve the whole certbroker.v1.CertificateAdmin API (certificates, "
          "bundles, CRLs, policy, audit, status, KEK rotation) to callers "
          "whose role allows it (access.roles: ADMIN, AUDITOR). Off by "
          "default.");
ABSL_FLAG(std::vector<std::string>, listen, {},
          "Comma-separated listen addresses: HOST:PORT (TLS as the policy's "
          "access.tls says; port 0 picks a free port) or unix:PATH (callers "
          "identified by their uid/gid, access.unix_peers). Required.");
ABSL_FLAG(
    std::string, ready_file, "",
    "When set, write the bound addresses (one per line) here once serving.");
ABSL_FLAG(bool, enable_simulation, false,
          "Serve certbroker.v1.CertificateAdmin/SimulateServerCertificate "
          "(evaluate a chain "
          "against the live or an inline policy at a chosen time). Off by "
          "default; callers need the ADMIN role.");
ABSL_FLAG(bool, insecure_dev_loopback, false,
          "DEVELOPMENT ONLY: TCP listeners on loopback addresses serve "
          "plaintext when the policy has no access.tls, and every caller on "
          "them, and every Unix-socket peer access.unix_peers does not name, "
          "is 'dev:insecure-loopback' with every role.");
ABSL_FLAG(absl::Duration, test_only_response_delay, absl::ZeroDuration(),
          "TESTS ONLY: delay every CertificateBroker answer by this much "
          "(without holding a thread), to test agents facing a slow broker.");
ABSL_FLAG(std::string, data_dir, "",
          "Directory of the broker's SQLite store (certbroker.db, created if "
          "missing): stored certificates with sealed keys, trust bundles, "
          "CRLs, the policy document and version, and the audit log of every "
          "decision and admin change.");
ABSL_FLAG(absl::Duration, audit_retention, absl::Hours(24 * 30),
          "Audit records older than this are pruned (hourly).");
ABSL_FLAG(int64_t, audit_max_records, 1000000,
          "At most this many audit records are kept (the newest).");
ABSL_FLAG(int64_t, audit_queue, 10000,
          "Decisions waiting to be written to the audit log. When full, calls "
          "fail with "
          "UNAVAILABLE rather than answer a decision that is not recorded.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(5),
          "How long SIGTERM/SIGINT waits for calls in flight to finish before "
          "cancelling them. New calls get UNAVAILABLE meanwhile.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "certbrokerd serves certbroker.v1.CertificateBroker (with gRPC health "
      "and\n"
      "reflection) from a YAML policy.\n"
      "Usage: certbrokerd (--config FILE | --data_dir DIR [--seed_config FILE]"
      " [--kek_file FILE]) --listen ADDR[,ADDR...]\n"
      "Example: certbrokerd --config var/config.yaml "
      "--listen 127.0.0.1:8443,unix:var/certbrokerd.sock");
  // Flags may be spelled with dashes too (--data-dir for --data_dir), as
  // most command lines do; only the name before any '=' changes.
  std::vector<std::string> spelled(argv, argv + argc);
  for (size_t i = 1; i < spelled.size(); ++i) {
    std::string& arg = spelled[i];
    if (arg == "--") break;
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) continue;
    size_t end = std::min(arg.find('='), arg.size());
    std::replace(arg.begin() + 2, arg.begin() + static_cast<long>(end), '-',
                 '_');
  }
  std::vector<char*> spelled_argv;
  for (std::string& arg : spelled) spelled_argv.push_back(arg.data());
  std::vector<char*> rest = absl::ParseCommandLine(
      static_cast<int>(spelled_argv.size()), spelled_argv.data());
  // Debian's abseil checks lock order on every Mutex operation (a few
  // percent of each call); the broker's lock use is simple and tested.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (rest.size() > 1) {
    certbroker::LogError(std::string("unexpected argument: ") + rest[1] +
                         " (see --help)");
    return 2;
  }
  certbroker::server::BrokerServerOptions options;
  options.config_path = absl::GetFlag(FLAGS_config);
  options.seed_config_path = absl::GetFlag(FLAGS_seed_config);
  options.kek_file = absl::GetFlag(FLAGS_kek_file);
  options.previous_kek_files = absl::GetFlag(FLAGS_previous_kek_files);
  options.allow_insecure_kek_permissions =
      absl::GetFlag(FLAGS_allow_insecure_kek_permissions);
  options.enable_admin = absl::GetFlag(FLAGS_enable_admin);
  options.listen = absl::GetFlag(FLAGS_listen);
  options.ready_file = absl::GetFlag(FLAGS_ready_file);
  options.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  options.enable_simulation = absl::GetFlag(FLAGS_enable_simulation);
  options.insecure_dev_loopback = absl::GetFlag(FLAGS_insecure_dev_loopback);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.test_only_response_delay =
      absl::GetFlag(FLAGS_test_only_response_delay);
  options.audit.retention = absl::GetFlag(FLAGS_audit_retention);
  if (absl::GetFlag(FLAGS_audit_max_records) < 1 ||
      absl::GetFlag(FLAGS_audit_queue) < 1) {
    certbroker::LogError(
        "--audit_max_records and --audit_queue must be at least 1");
    return 2;
  }
  options.audit.max_records =
      static_cast<size_t>(absl::GetFlag(FLAGS_audit_max_records));
  options.audit.queue_capacity =
      static_cast<size_t>(absl::GetFlag(FLAGS_audit_queue));
  if (options.listen.empty()) {
    certbroker::LogError("--listen is required (see --help)");
    return 2;
  }
  if (options.config_path.empty() && options.data_dir.empty()) {
    certbroker::LogError(
        "give --config FILE, or --data_dir DIR to keep the policy in a store "
        "(see --help)");
    return 2;
  }
  return certbroker::server::RunBroker(options);
}

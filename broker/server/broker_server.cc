// certbrokerd's server lifecycle: start-up, signals, reload and shutdown.
#include "broker/server/broker_server.h"

#include <pthread.h>
#include <signal.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/file.h"
#include "broker/common/log.h"
#include "broker/keys/kek.h"
#include "broker/keys/key_ring.h"
#include "broker/policy/policy_snapshot.h"
#include "broker/server/listen_address.h"
#include "broker/server/listeners.h"
#include "broker/service/certificate_admin_service.h"
#include "broker/service/certificate_broker_service.h"
#include "broker/state/policy_manager.h"
#include "broker/store/sqlite_store.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"

namespace certbroker::server {
namespace {

constexpr char kServiceName[] = "certbroker.v1.CertificateBroker";

// LoadKeys reads the KEKs, or returns null without --kek_file.
absl::StatusOr<std::unique_ptr<keys::KeyRing>> LoadKeys(
    const BrokerServerOptions& options) {
  if (options.kek_file.empty()) {
    if (!options.previous_kek_files.empty()) {
      return absl::InvalidArgumentError(
          "--previous_kek_files needs --kek_file (the KEK to rotate to)");
    }
    return nullptr;
  }
  keys::KekFileOptions file_options;
  file_options.allow_insecure_permissions =
      options.allow_insecure_kek_permissions;
  file_options.insecure_permissions_hint =
      "start certbrokerd with --allow_insecure_kek_permissions";
  auto flag_error = [](absl::string_view flag, const absl::Status& status) {
    return absl::Status(status.code(),
                        absl::StrCat(flag, ": ", status.message()));
  };
  auto current = keys::Kek::FromFile(options.kek_file, file_options);
  if (!current.ok()) return flag_error("--kek_file", current.status());
  std::vector<keys::Kek> previous;
  for (const std::string& path : options.previous_kek_files) {
    auto kek = keys::Kek::FromFile(path, file_options);
    if (!kek.ok()) return flag_error("--previous_kek_files", kek.status());
    previous.push_back(std::move(kek).value());
  }
  return std::make_unique<keys::KeyRing>(std::move(current).value(),
                                         std::move(previous));
}

// HandshakeAuditor records refused client certificates (when there is an
// audit log) and logs them: at most kMaxRecordedPerSecond a second, so that
// a storm of bad handshakes cannot fill the audit queue that decisions
// need; the rest are counted in the next recorded one.
HandshakeRefusal HandshakeAuditor(audit::AuditWriter* writer) {
  constexpr int kMaxRecordedPerSecond = 50;
  struct Window {
    absl::Mutex mutex;
    int64_t second = 0;
    int recorded = 0;
    int dropped = 0;
  };
  auto window = std::make_shared<Window>();
  return
      [writer, window](const std::string& subject, const std::string& reason) {
        int dropped = 0;
        {
          absl::MutexLock lock(&window->mutex);
          int64_t second = absl::ToUnixSeconds(absl::Now());
          if (second != window->second) {
            window->second = second;
            window->recorded = 0;
          }
          if (window->recorded == kMaxRecordedPerSecond) {
            window->dropped += 1;
            return;
          }
          window->recorded += 1;
          std::swap(dropped, window->dropped);
        }
        std::string detail =
            dropped == 0 ? reason
                         : absl::StrCat(reason, " (and ", dropped,
                                        " refused handshakes not recorded)");
        LogWarning(absl::StrCat("TLS handshake refused: ", detail));
        if (writer == nullptr) return;
        store::AuditRecord record;
        record.time = absl::Now();
        record.decision_id = service::NewDecisionId();
        record.rpc = "Handshake";
        record.target = subject.substr(0, store::kMaxAuditFieldBytes);
        record.verdict = "refused";
        record.reason = "UNAUTHENTICATED";
        record.detail = detail.substr(0, store::kMaxAuditFieldBytes);
        writer->Submit(std::move(record));
      };
}

}  // namespace

int RunBroker(const BrokerServerOptions& options) {
  // Signals are taken synchronously by this thread; block them before gRPC
  // starts its threads so that they inherit the mask.
  // A signal inherited as ignored (nohup, a background job of a script) is
  // discarded instead of queued, and sigwait would never see it: restore
  // the default disposition first.
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal_number : {SIGTERM, SIGINT, SIGHUP}) {
    ::signal(signal_number, SIG_DFL);
    sigaddset(&signals, signal_number);
  }
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // KEKs first: a start refused for them must not create a store.
  auto keys = LoadKeys(options);
  if (!keys.ok()) {
    LogError(std::string(keys.status().message()));
    return 1;
  }
  std::unique_ptr<store::SqliteStore> store;
  if (!options.data_dir.empty()) {
    auto opened = store::OpenSqliteStore(options.data_dir);
    if (!opened.ok()) {
      LogError(absl::StrCat("cannot open the store in --data_dir ",
                            options.data_dir, ": ", opened.status().message()));
      return 1;
    }
    store = std::move(opened).value();
  }
  if (*keys != nullptr) {
    if (store == nullptr) {
      LogWarning("--kek_file has no effect without --data_dir");
    } else {
      LogInfo(absl::StrCat("sealing keys with KEK ", (*keys)->current().id()));
    }
  }
  std::unique_ptr<audit::AuditWriter> audit_writer;
  if (store != nullptr) {
    audit_writer = std::make_unique<audit::AuditWriter>(*store, options.audit);
  }
  state::PolicyManagerOptions manager_options;
  if (audit_writer != nullptr) {
    manager_options.on_reload = [writer = audit_writer.get()](
                                    absl::string_view reason,
                                    const absl::Status& status,
                                    const std::string& version) {
      store::AuditRecord record;
      record.time = absl::Now();
      record.decision_id = service::NewDecisionId();
      record.rpc = "Reload";
      record.target = "policy";
      record.verdict = status.ok() ? "reloaded" : "refused";
      record.reason = absl::StatusCodeToString(status.code());
      record.policy_version = version;
      record.detail =
          absl::StrCat(reason, status.ok() ? "" : ": ", status.message())
              .substr(0, store::kMaxAuditFieldBytes);
      absl::Status appended = writer->AppendNow(std::move(record));
      if (!appended.ok()) {
        LogError(absl::StrCat("cannot audit a reload: ", appended.message()));
      }
    };
  }
  manager_options.config_path = options.config_path;
  manager_options.seed_config_path = options.seed_config_path;
  manager_options.store = store.get();
  manager_options.keys = keys->get();
  auto manager = state::PolicyManager::Create(manager_options);
  if (!manager.ok()) {
    LogError(
        absl::StrCat("cannot load the policy: ", manager.status().message()));
    return 1;
  }
  policy::CurrentPolicy& current = (*manager)->current();
  std::shared_ptr<const policy::PolicySnapshot> initial = current.Get();
  LogInfo(absl::StrCat("loaded policy_version=", initial->version(),
                       " rules=", initial->rule_count(),
                       " source=", (*manager)->policy_source()));

  std::vector<ListenAddress> addresses;
  for (const std::string& text : options.listen) {
    auto address = ParseListenAddress(text);
    if (!address.ok()) {
      LogError(std::string(address.status().message()));
      return 1;
    }
    addresses.push_back(*address);
  }
  if (addresses.empty()) {
    LogError("no --listen address given");
    return 1;
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  service::CallTracker calls;
  service::CertificateBrokerService broker(current, calls);
  std::unique_ptr<service::DelayedAnswers> delayed;
  if (options.test_only_response_delay > absl::ZeroDuration()) {
    delayed = std::make_unique<service::DelayedAnswers>(
        options.test_only_response_delay);
    broker.set_delayed_answers(delayed.get());
    LogWarning(absl::StrCat("TEST ONLY: every CertificateBroker answer is "
                            "delayed by ",
                            absl::FormatDuration(
                                options.test_only_response_delay)));
  }
  if (audit_writer != nullptr) {
    broker.set_audit(audit_writer.get());
    LogInfo(absl::StrCat("auditing every decision to ", options.data_dir,
                         "/certbroker.db"));
  }
  std::string config_file = !options.config_path.empty()
                                ? options.config_path
                                : options.seed_config_path;
  size_t slash = config_file.rfind('/');
  std::string base_dir =
      slash == std::string::npos ? "." : config_file.substr(0, slash);
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(initial->max_message_bytes()));
  Listeners listeners;
  absl::Status listening =
      listeners.Add(addresses, base_dir, current, options.insecure_dev_loopback,
                    HandshakeAuditor(audit_writer.get()), builder);
  if (!listening.ok()) {
    LogError(std::string(listening.message()));
    return 1;
  }
  // One connection's streams are bounded here; one caller's calls across
  // connections by access.per_caller.max_concurrent_calls.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 100);
  // Peers that vanish are found by keepalive pings (every 60 s, 20 s to
  // answer); idle connections close after 10 minutes.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 10 * 60 * 1000);
  auth::CallerResolver resolver(&listeners.unix_peers(),
                                options.insecure_dev_loopback);
  service::Admission admission(current, resolver, audit_writer.get());
  broker.set_admission(&admission);
  builder.RegisterService(&broker);
  service::CertificateAdminService admin(
      **manager, calls, base_dir, /*simulation_only=*/!options.enable_admin);
  admin.set_audit(audit_writer.get());
  admin.set_admission(&admission);
  if (store != nullptr) admin.set_store_path(store->path());
  if (options.enable_admin || options.enable_simulation) {
    builder.RegisterService(&admin);
    LogInfo(absl::StrCat(
        options.enable_admin ? "the admin API" : "policy simulation",
        " (certbroker.v1.CertificateAdmin) is enabled for callers with the "
        "ADMIN role",
        options.enable_admin ? " (AUDITOR: audit and status)" : ""));
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    LogError(absl::StrCat("cannot listen on ",
                          absl::StrJoin(options.listen, ", "),
                          " (address in use, or no permission?)"));
    return 1;
  }
  listeners.Start(server.get());
  auto bound = listeners.Bound();
  if (!bound.ok()) {
    LogError(std::string(bound.status().message()));
    listeners.Stop();
    server->Shutdown();
    return 1;
  }
  (*manager)->StartPolling();
  server->GetHealthCheckService()->SetServingStatus(kServiceName, true);
  for (const std::string& line : listeners.Describe()) {
    LogInfo(absl::StrCat("listening on ", line));
  }
  // Everything said while starting is out before anyone is told it is up.
  FlushLog();
  if (!options.ready_file.empty()) {
    absl::Status written = WriteFileAtomically(
        options.ready_file, absl::StrCat(absl::StrJoin(*bound, "\n"), "\n"));
    if (!written.ok()) {
      LogError(absl::StrCat("cannot write --ready_file: ", written.message()));
      listeners.Stop();
      server->Shutdown();
      return 1;
    }
  }

  while (true) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number == SIGHUP) {
      (void)(*manager)->Reload("SIGHUP");
      if (current.Get()->max_message_bytes() != initial->max_message_bytes()) {
        LogWarning(
            "limits.max_message_bytes changed: it takes effect at the next "
            "restart");
      }
      continue;
    }
    LogInfo(absl::StrCat("received ",
                         signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
                         ", shutting down (grace ",
                         absl::FormatDuration(options.shutdown_grace), ")"));
    break;
  }
  // Health says NOT_SERVING and new calls get UNAVAILABLE while the calls in
  // flight finish; then the server stops at once instead of waiting for idle
  // client connections to close.
  server->GetHealthCheckService()->SetServingStatus(kServiceName, false);
  broker.StopWatches();
  int unfinished = calls.Drain(options.shutdown_grace);
  if (unfinished > 0) {
    LogWarning(absl::StrCat(
        unfinished,
        " calls still running after the grace period: cancelling them"));
  }
  listeners.Stop();
  server->Shutdown(std::chrono::system_clock::now());
  server->Wait();
  if (audit_writer != nullptr) {
    audit_writer->Stop();
    LogInfo(absl::StrCat("audit log flushed: ", audit_writer->written(),
                         " records written, ", audit_writer->refused(),
                         " decisions refused for a full queue"));
  }
  LogInfo("stopped");
  FlushLog();
  return 0;
}

}  // namespace certbroker::server

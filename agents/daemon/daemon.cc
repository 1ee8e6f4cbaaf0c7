// RunDaemon: start-up in dependency order, the signal wait, and shutdown in
// the reverse order (watches, server, then the JobManager, which journals).
#include "agents/daemon/daemon.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "agents/daemon/agent_socket.h"
#include "agents/daemon/transfer_agent_service.h"
#include "broker/common/log.h"
#include "broker/common/status_macros.h"
#include "certbroker/agent/tls_binding.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::daemon {
namespace {

// StartServer listens on `socket_path`. gRPC creates the socket with the
// process's umask; to leave no moment in which another user could connect,
// it is bound in a fresh 0700 directory beside the target, set to 0600,
// and only then renamed into place (a bound socket keeps listening under
// its new name).
absl::StatusOr<std::unique_ptr<grpc::Server>> StartServer(
    const std::string& socket_path, TransferAgentService& service) {
  CB_ASSIGN_OR_RETURN(PrivateSocket staging, PrivateSocket::Make(socket_path));
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(absl::StrCat("unix:", staging.path()),
                           grpc::InsecureServerCredentials(), &bound);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound == 0) {
    if (server != nullptr) server->Shutdown();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on unix:", socket_path));
  }
  absl::Status moved = staging.MoveTo(socket_path);
  if (!moved.ok()) {
    server->Shutdown();
    return moved;
  }
  return server;
}

}  // namespace

int RunDaemon(const DaemonOptions& options) {
  // Signals are taken synchronously by this thread (sigwait). A signal
  // inherited as ignored would be discarded instead of queued: restore the
  // default disposition, then block, before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal_number : {SIGTERM, SIGINT}) {
    ::signal(signal_number, SIG_DFL);
    sigaddset(&signals, signal_number);
  }
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The socket first: a second daemon must not open the first's journal.
  absl::Status prepared = PrepareSocketPath(options.socket_path);
  if (!prepared.ok()) {
    LogError(absl::StrCat("certbroker-agent daemon: ", prepared.message()));
    return 1;
  }
  auto client = agent::BrokerClient::Create(options.broker);
  if (!client.ok()) {
    LogError(
        absl::StrCat("certbroker-agent daemon: ", client.status().message()));
    return 1;
  }
  agent::TlsBindingOptions binding_options;
  binding_options.trust_store_pem_file = options.trust_store_pem_file;
  auto binding = agent::TlsBinding::Create(**client, binding_options);
  if (!binding.ok()) {
    LogError(
        absl::StrCat("certbroker-agent daemon: ", binding.status().message()));
    return 1;
  }
  auto jobs = jobs::JobManager::Open(options.jobs, **binding);
  if (!jobs.ok()) {
    LogError(absl::StrCat("certbroker-agent daemon: cannot open the jobs in ",
                          options.jobs.database_path, ": ",
                          jobs.status().message()));
    return 1;
  }
  auto service = std::make_unique<TransferAgentService>(**jobs);
  auto server = StartServer(options.socket_path, *service);
  if (!server.ok()) {
    LogError(
        absl::StrCat("certbroker-agent daemon: ", server.status().message()));
    return 1;
  }
  LogInfo(absl::StrCat(
      "certbroker-agent daemon: serving on unix:", options.socket_path,
      " (jobs in ", options.jobs.database_path, ", broker ",
      options.broker.address, ")"));
  FlushLog();

  int signal_number = 0;
  while (sigwait(&signals, &signal_number) != 0) {
  }
  service->StopWatches();
  (*server)->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoMilliseconds(options.shutdown_grace));
  (*server)->Wait();
  server->reset();
  service.reset();
  jobs->reset();  // Journals the jobs as they are.
  RemoveSocket(options.socket_path);
  LogInfo(absl::StrCat("certbroker-agent daemon: stopped (",
                       signal_number == SIGTERM ? "SIGTERM" : "SIGINT", ")"));
  FlushLog();
  return 0;
}

}  // namespace certbroker::daemon

// UnixListener: a Unix-socket listener that certbrokerd accepts on itself,
// so that it can ask the kernel who connected (SO_PEERCRED) before handing
// the connection to gRPC. Each accepted socket's credentials go to a
// registry that call authorization reads (gRPC names the peer "fd:N").
#ifndef CERTBROKER_BROKER_SERVER_UNIX_LISTENER_H_
#define CERTBROKER_BROKER_SERVER_UNIX_LISTENER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "broker/auth/peer_credentials.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::server {

class UnixListener {
 public:
  // Open binds and listens on `path`, replacing a stale socket file left
  // by an earlier run (but not any other kind of file). The socket is
  // world-connectable: who may do what is decided per caller from its
  // credentials.
  static absl::StatusOr<std::unique_ptr<UnixListener>> Open(
      const std::string& path);

  // Start accepts connections on a thread of its own, handing each to
  // `server` after recording its peer's credentials in `registry`.
  void Start(grpc::Server* server, auth::PeerCredentialsRegistry* registry);

  // Stop stops accepting (connections already handed over stay) and removes
  // the socket file.
  void Stop();

  ~UnixListener();

 private:
  UnixListener(int fd, int wake_fd, std::string path)
      : fd_(fd), wake_fd_(wake_fd), path_(std::move(path)) {}
  void AcceptLoop(grpc::Server* server,
                  auth::PeerCredentialsRegistry* registry);

  int fd_;
  int wake_fd_;  // An eventfd that wakes the accept loop to stop.
  std::string path_;
  std::thread thread_;
};

}  // namespace certbroker::server

#endif  // CERTBROKER_BROKER_SERVER_UNIX_LISTENER_H_

// Listeners: certbrokerd's --listen addresses put on a gRPC server. TCP
// listeners serve TLS as the policy's access.tls says (or, for development
// with --insecure_dev_loopback, plaintext on loopback only); Unix sockets
// are accepted by certbrokerd itself to learn each peer's credentials.
#ifndef CERTBROKER_BROKER_SERVER_LISTENERS_H_
#define CERTBROKER_BROKER_SERVER_LISTENERS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "broker/auth/peer_credentials.h"
#include "broker/policy/policy_snapshot.h"
#include "broker/server/listen_address.h"
#include "broker/server/tls_credentials.h"
#include "broker/server/unix_listener.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::server {

class Listeners {
 public:
  // Add puts every address on `builder` (TCP) or opens it (Unix). Fails,
  // naming the address, for a TCP listener the policy gives no TLS (unless
  // `dev_loopback` and it is on loopback), bad TLS material, or a socket
  // path that cannot be bound.
  absl::Status Add(const std::vector<ListenAddress>& addresses,
                   const std::string& base_dir, policy::CurrentPolicy& current,
                   bool dev_loopback, const HandshakeRefusal& on_refusal,
                   grpc::ServerBuilder& builder);

  // Start begins accepting on the Unix sockets, for the built `server`.
  void Start(grpc::Server* server);

  // Bound returns the addresses as bound, in --listen order (TCP with its
  // real port), or fails naming a TCP address that could not be bound.
  absl::StatusOr<std::vector<std::string>> Bound() const;

  // Describe says how each bound address is served, for the log.
  std::vector<std::string> Describe() const;

  // Stop stops accepting on the Unix sockets.
  void Stop();

  const auth::PeerCredentialsRegistry& unix_peers() const { return peers_; }

 private:
  std::vector<ListenAddress> addresses_;
  std::vector<int> ports_;          // Per address; TCP only.
  std::vector<std::string> modes_;  // Per address: "tls", "plaintext", "unix".
  std::vector<std::unique_ptr<UnixListener>> unix_;
  auth::PeerCredentialsRegistry peers_;
};

}  // namespace certbroker::server

#endif  // CERTBROKER_BROKER_SERVER_LISTENERS_H_

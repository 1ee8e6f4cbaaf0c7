// CallerResolver: who is behind a call. A TLS caller is named by its
// verified client certificate, a Unix-socket caller by its kernel
// credentials (mapped through access.unix_peers), and, only when
// certbrokerd runs with --insecure_dev_loopback, a caller on a plaintext
// loopback listener or an unmapped Unix-socket peer is a development caller
// holding every role. Everyone else is unauthenticated.
#ifndef CERTBROKER_BROKER_AUTH_CALLER_RESOLVER_H_
#define CERTBROKER_BROKER_AUTH_CALLER_RESOLVER_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/auth/access_policy.h"
#include "broker/auth/peer_credentials.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::auth {

// Caller is the outcome of resolving one call.
struct Caller {
  // identity is empty for an unauthenticated caller; `refusal` says why.
  std::string identity;
  RoleSet roles = 0;
  std::string refusal;
  // peer is gRPC's name for the other end ("ipv4:127.0.0.1:5000", "fd:12").
  std::string peer;
  // credentials are the kernel's, for a Unix-socket peer.
  std::optional<PeerCredentials> credentials;
  bool tls = false;

  // Transport describes the connection for refusals and their audit
  // records ("tls ipv4:10.0.0.1:5000", "unix uid=1000 gid=1000 pid=42",
  // "plaintext ipv4:127.0.0.1:5000"). Built on demand: an admitted call
  // never needs it.
  std::string Transport() const;
};

class CallerResolver {
 public:
  // `unix_peers` (may be null) holds the credentials of accepted Unix
  // sockets. `dev_loopback` is --insecure_dev_loopback.
  CallerResolver(const PeerCredentialsRegistry* unix_peers, bool dev_loopback)
      : unix_peers_(unix_peers), dev_loopback_(dev_loopback) {}

  // Resolve names the caller of `context` under `access`, the access policy
  // of policy version `version`.
  Caller Resolve(const grpc::ServerContextBase& context,
                 const AccessPolicy& access, const std::string& version) const;

  // DevIdentity is the identity of development callers.
  static constexpr char kDevIdentity[] = "dev:insecure-loopback";

 private:
  // CertificateIdentity names the holder of a leaf certificate (PEM),
  // remembering the answer per policy version: parsing costs more than the
  // rest of a cached decision.
  absl::StatusOr<std::string> CertificateIdentity(
      absl::string_view pem, const AccessPolicy& access,
      const std::string& version) const;

  const PeerCredentialsRegistry* unix_peers_;
  bool dev_loopback_;
  mutable absl::Mutex mutex_;
  mutable std::string cached_version_ ABSL_GUARDED_BY(mutex_);
  mutable absl::flat_hash_map<std::string, absl::StatusOr<std::string>>
      identities_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace certbroker::auth

#endif  // CERTBROKER_BROKER_AUTH_CALLER_RESOLVER_H_

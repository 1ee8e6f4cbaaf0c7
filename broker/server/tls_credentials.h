// TLS for certbrokerd's TCP listeners (access.tls): the serving certificate
// and key, re-read by gRPC every second so that a renewed pair (a rewritten
// file, a Kubernetes Secret update) reaches new connections without a
// restart; and agents' client certificates, verified by certbrokerd itself
// against the client CA bundles and CRLs of the policy in force at each
// handshake (clientAuth, expiry, revocation), then named by the access
// policy. A refused handshake is reported to `on_refusal` (for the audit
// log) with the reason.
#ifndef CERTBROKER_BROKER_SERVER_TLS_CREDENTIALS_H_
#define CERTBROKER_BROKER_SERVER_TLS_CREDENTIALS_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "broker/policy/policy_snapshot.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::server {

// HandshakeRefusal receives the subject of a refused client certificate
// (empty when there was none) and the reason.
using HandshakeRefusal =
    std::function<void(const std::string& subject, const std::string& reason)>;

// MakeTlsCredentials builds the server credentials for `tls` (paths
// relative to `base_dir`). It first reads the serving chain and key and
// fails, naming the file, when they are unreadable or do not match.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeTlsCredentials(
    const config::v1::Tls& tls, const std::string& base_dir,
    policy::CurrentPolicy& current, HandshakeRefusal on_refusal);

}  // namespace certbroker::server

#endif  // CERTBROKER_BROKER_SERVER_TLS_CREDENTIALS_H_

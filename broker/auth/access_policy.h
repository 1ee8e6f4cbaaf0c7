// AccessPolicy: the compiled `access` section of a configuration. It names
// callers (from a client certificate, or from a Unix-socket peer's uid and
// gid), gives them roles, and holds the per-caller limits. Immutable; one
// per policy version.
#ifndef CERTBROKER_BROKER_AUTH_ACCESS_POLICY_H_
#define CERTBROKER_BROKER_AUTH_ACCESS_POLICY_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/auth/certificate_namer.h"
#include "broker/auth/roles.h"
#include "broker/x509/boringssl.h"
#include "certbroker/config/v1/config.pb.h"

namespace certbroker::auth {

// CallerLimits are the per-identity bounds, defaults filled in.
struct CallerLimits {
  double requests_per_second = 200;
  double burst = 200;
  uint32_t max_concurrent_calls = 64;
};

class AccessPolicy {
 public:
  // The default: certificate identities SPIFFE ID, DNS name, CN in that
  // order; no Unix peers; every authenticated caller an AGENT.
  AccessPolicy() : AccessPolicy(config::v1::Access()) {}
  // `access` must have passed config validation.
  explicit AccessPolicy(const config::v1::Access& access);

  // CertificateIdentity names the holder of `leaf` (a client certificate
  // already verified). Fails with UNAUTHENTICATED, saying why, when it has
  // no name of the configured kinds, or a SPIFFE ID that is malformed, of a
  // trust domain not allowed, or not alone among its URI SANs.
  absl::StatusOr<std::string> CertificateIdentity(const X509* leaf) const;

  // UnixIdentity names a Unix-socket peer by its credentials; empty when no
  // entry maps it.
  std::string UnixIdentity(uid_t uid, gid_t gid) const;

  // RolesOf returns the roles of `identity` (none for an empty one).
  RoleSet RolesOf(absl::string_view identity) const;

  const CallerLimits& limits() const { return limits_; }

 private:
  struct UnixPeer {
    bool has_uid = false, has_gid = false;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string identity;
  };
  struct Binding {
    std::vector<std::string> selectors;
    RoleSet roles = 0;
  };

  CertificateNamer namer_;
  std::vector<UnixPeer> unix_peers_;
  std::vector<Binding> bindings_;
  CallerLimits limits_;
};

}  // namespace certbroker::auth

#endif  // CERTBROKER_BROKER_AUTH_ACCESS_POLICY_H_

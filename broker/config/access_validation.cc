// Validation of the `access` section: the TLS settings, identity sources,
// Unix-socket peers, role bindings and per-caller limits.
#include "broker/common/host_name.h"
#include "broker/common/identity_selector.h"
#include "broker/config/config_loader.h"
#include "broker/config/config_problem.h"

namespace certbroker::config::internal {
namespace {

constexpr double kMaxRequestsPerSecond = 1e6;

absl::Status ValidateTls(const v1::Tls& tls, absl::string_view source,
                         const std::set<std::string>& bundles) {
  absl::Status pair =
      CheckKeyPairSource(source, "access.tls", tls.chain_pem_file(),
                         tls.key_pem_file(), tls.secret_dir());
  if (!pair.ok()) return pair;
  if (tls.client_ca_bundles_size() == 0) {
    return Problem(source, "access.tls.client_ca_bundles",
                   "required: the trust bundles that issue agents' "
                   "certificates");
  }
  for (int i = 0; i < tls.client_ca_bundles_size(); ++i) {
    const std::string& name = tls.client_ca_bundles(i);
    if (bundles.count(name) == 0) {
      return Problem(source,
                     absl::StrCat("access.tls.client_ca_bundles[", i, "]"),
                     absl::StrCat("no trust bundle is named '", name, "'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateIdentitySource(const v1::IdentitySource& identity,
                                    absl::string_view source,
                                    const std::string& path) {
  for (int i = 0; i < identity.order_size(); ++i) {
    if (identity.order(i) == v1::IdentitySource::KIND_UNSPECIFIED) {
      return Problem(source, absl::StrCat(path, ".order[", i, "]"),
                     "SPIFFE_ID, DNS_NAME or COMMON_NAME");
    }
  }
  for (int i = 0; i < identity.spiffe_trust_domains_size(); ++i) {
    const std::string& domain = identity.spiffe_trust_domains(i);
    if (!IsDnsName(domain) || domain != NormalizeHost(domain)) {
      return Problem(
          source, absl::StrCat(path, ".spiffe_trust_domains[", i, "]"),
          absl::StrCat("'", domain,
                       "' is not a trust domain (lowercase letters, digits, "
                       "'.', '-', '_'; no scheme or path)"));
    }
  }
  return absl::OkStatus();
}

namespace {

absl::Status ValidateUnixPeers(const v1::Access& access,
                               absl::string_view source) {
  for (int i = 0; i < access.unix_peers_size(); ++i) {
    const v1::UnixPeer& peer = access.unix_peers(i);
    std::string path = absl::StrCat("access.unix_peers[", i, "]");
    if (!peer.has_uid() && !peer.has_gid()) {
      return Problem(source, path, "uid or gid is required");
    }
    if (peer.identity().empty()) {
      return Problem(source, path + ".identity", "required");
    }
    if (peer.identity().find_first_of("* \t\r\n") != std::string::npos) {
      return Problem(source, path + ".identity",
                     "an identity, not a selector (no '*' or whitespace)");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRoles(const v1::Access& access, absl::string_view source) {
  for (int i = 0; i < access.roles_size(); ++i) {
    const v1::RoleBinding& binding = access.roles(i);
    std::string path = absl::StrCat("access.roles[", i, "]");
    if (binding.identities_size() == 0) {
      return Problem(source, path + ".identities", "at least one selector");
    }
    for (int j = 0; j < binding.identities_size(); ++j) {
      if (auto problem = SelectorProblem(binding.identities(j))) {
        return Problem(source, absl::StrCat(path, ".identities[", j, "]"),
                       *problem);
      }
    }
    if (binding.roles_size() == 0) {
      return Problem(source, path + ".roles", "AGENT, ADMIN and/or AUDITOR");
    }
    for (int j = 0; j < binding.roles_size(); ++j) {
      if (binding.roles(j) == v1::RoleBinding::ROLE_UNSPECIFIED) {
        return Problem(source, absl::StrCat(path, ".roles[", j, "]"),
                       "AGENT, ADMIN or AUDITOR");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateLimits(const v1::CallerLimits& limits,
                            absl::string_view source) {
  if (limits.requests_per_second() < 0 ||
      limits.requests_per_second() > kMaxRequestsPerSecond) {
    return Problem(source, "access.per_caller.requests_per_second",
                   "must be between 0 (the default) and 1000000");
  }
  if (limits.max_concurrent_calls() > 100000) {
    return Problem(source, "access.per_caller.max_concurrent_calls",
                   "must be at most 100000");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateAccess(const v1::Access& access, absl::string_view source,
                            const std::set<std::string>& bundles) {
  if (access.has_tls()) {
    absl::Status status = ValidateTls(access.tls(), source, bundles);
    if (!status.ok()) return status;
  }
  absl::Status status = ValidateIdentitySource(access.identity(), source, "access.identity");
  if (status.ok()) status = ValidateUnixPeers(access, source);
  if (status.ok()) status = ValidateRoles(access, source);
  if (status.ok()) status = ValidateLimits(access.per_caller(), source);
  return status;
}

}  // namespace certbroker::config::internal

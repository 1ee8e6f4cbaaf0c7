// Naming callers and giving them roles.
#include "broker/auth/access_policy.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "broker/common/identity_selector.h"
#include "broker/x509/certificate.h"

namespace certbroker::auth {


AccessPolicy::AccessPolicy(const config::v1::Access& access)
    : namer_(access.identity()) {
  for (const config::v1::UnixPeer& peer : access.unix_peers()) {
    unix_peers_.push_back(
        UnixPeer{peer.has_uid(), peer.has_gid(), static_cast<uid_t>(peer.uid()),
                 static_cast<gid_t>(peer.gid()), peer.identity()});
  }
  for (const config::v1::RoleBinding& binding : access.roles()) {
    Binding compiled;
    compiled.selectors.assign(binding.identities().begin(),
                              binding.identities().end());
    for (int role : binding.roles()) {
      if (role == config::v1::RoleBinding::AGENT) compiled.roles |= kAgent;
      if (role == config::v1::RoleBinding::ADMIN) compiled.roles |= kAdmin;
      if (role == config::v1::RoleBinding::AUDITOR) compiled.roles |= kAuditor;
    }
    bindings_.push_back(std::move(compiled));
  }
  if (bindings_.empty()) bindings_.push_back(Binding{{"*"}, kAgent});
  const auto& limits = access.per_caller();
  if (limits.requests_per_second() > 0) {
    limits_.requests_per_second = limits.requests_per_second();
  }
  limits_.burst = limits.burst() > 0
                      ? limits.burst()
                      : std::max(1.0, limits_.requests_per_second);
  if (limits.max_concurrent_calls() > 0) {
    limits_.max_concurrent_calls = limits.max_concurrent_calls();
  }
}

absl::StatusOr<std::string> AccessPolicy::CertificateIdentity(
    const X509* leaf) const {
  return namer_.Name(leaf);
}

std::string AccessPolicy::UnixIdentity(uid_t uid, gid_t gid) const {
  for (const UnixPeer& peer : unix_peers_) {
    if ((!peer.has_uid || peer.uid == uid) &&
        (!peer.has_gid || peer.gid == gid)) {
      return peer.identity;
    }
  }
  return "";
}

RoleSet AccessPolicy::RolesOf(absl::string_view identity) const {
  RoleSet roles = 0;
  for (const Binding& binding : bindings_) {
    for (const std::string& selector : binding.selectors) {
      if (SelectorMatches(selector, identity)) {
        roles |= binding.roles;
        break;
      }
    }
  }
  return roles;
}

}  // namespace certbroker::auth

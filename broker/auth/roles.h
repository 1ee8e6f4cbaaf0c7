// Roles a caller may hold, and which methods each role may call.
#ifndef CERTBROKER_BROKER_AUTH_ROLES_H_
#define CERTBROKER_BROKER_AUTH_ROLES_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace certbroker::auth {

// RoleSet is a set of roles, as bits.
using RoleSet = uint32_t;
inline constexpr RoleSet kAgent = 1;    // CertificateBroker.
inline constexpr RoleSet kAdmin = 2;    // All of CertificateAdmin.
inline constexpr RoleSet kAuditor = 4;  // Audit records and status.

// RoleNames renders `roles` as "AGENT,ADMIN" ("none" when empty).
std::string RoleNames(RoleSet roles);

// Service names the two services whose calls are authorized.
enum class Service { kBroker, kAdmin };

// RolesAllowed returns the roles, any one of which allows calling `rpc`
// (a method name, "GetStatus") of `service`. Health checks and reflection
// are not authorized: they answer anyone who can connect.
RoleSet RolesAllowed(Service service, absl::string_view rpc);

}  // namespace certbroker::auth

#endif  // CERTBROKER_BROKER_AUTH_ROLES_H_

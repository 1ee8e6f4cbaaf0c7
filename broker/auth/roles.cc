// The method-to-role table.
#include "broker/auth/roles.h"

#include <vector>

#include "absl/strings/str_join.h"

namespace certbroker::auth {
namespace {

// Admin methods an auditor may call as well: reading, never changing.
constexpr absl::string_view kAuditorMethods[] = {
    "ListAuditRecords", "WatchAuditRecords", "GetStatus"};

}  // namespace

std::string RoleNames(RoleSet roles) {
  std::vector<absl::string_view> names;
  if (roles & kAgent) names.push_back("AGENT");
  if (roles & kAdmin) names.push_back("ADMIN");
  if (roles & kAuditor) names.push_back("AUDITOR");
  return names.empty() ? "none" : absl::StrJoin(names, ",");
}

RoleSet RolesAllowed(Service service, absl::string_view rpc) {
  if (service == Service::kBroker) return kAgent;
  for (absl::string_view name : kAuditorMethods) {
    if (rpc == name) return kAdmin | kAuditor;
  }
  return kAdmin;
}

}  // namespace certbroker::auth

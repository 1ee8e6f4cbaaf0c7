// Host names as rules and targets use them: syntax checks for DNS names and
// IP literals, and the one normal form (lowercase, no trailing dot, no IPv6
// brackets) every comparison uses.
#ifndef CERTBROKER_BROKER_COMMON_HOST_NAME_H_
#define CERTBROKER_BROKER_COMMON_HOST_NAME_H_

#include <string>

#include "absl/strings/string_view.h"

namespace certbroker {

// NormalizeHost lowercases ASCII letters, removes one trailing dot and the
// brackets around an IPv6 literal. It does not validate.
std::string NormalizeHost(absl::string_view host);

// IsIpAddress is true for a dotted IPv4 or an IPv6 literal (no brackets).
bool IsIpAddress(absl::string_view host);

// IsDnsName is true for a normalized DNS name: 1 to 253 characters of labels
// of 1 to 63 letters, digits, '-' or '_', not starting or ending with '-'.
// Internationalized names must be given in their A-label form (xn--...).
bool IsDnsName(absl::string_view host);

}  // namespace certbroker

#endif  // CERTBROKER_BROKER_COMMON_HOST_NAME_H_

// Host-name normal form and syntax checks.
#include "broker/common/host_name.h"

#include <arpa/inet.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace certbroker {

std::string NormalizeHost(absl::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return absl::AsciiStrToLower(host);
}

bool IsIpAddress(absl::string_view host) {
  // An IPv6 literal has a colon and an IPv4 one (dotted quad) ends in a
  // digit: most DNS names are told apart without a copy or inet_pton.
  // (A NUL takes the long way: inet_pton reads only up to it.)
  if (host.empty() ||
      (host.find(':') == absl::string_view::npos &&
       !absl::ascii_isdigit(static_cast<unsigned char>(host.back())) &&
       host.find('\0') == absl::string_view::npos)) {
    return false;
  }
  std::string text(host);
  unsigned char buffer[16];
  return ::inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

bool IsDnsName(absl::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (absl::string_view label : absl::StrSplit(host, '.')) {
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      bool ok = absl::ascii_islower(static_cast<unsigned char>(c)) ||
                absl::ascii_isdigit(static_cast<unsigned char>(c)) ||
                c == '-' || c == '_';
      if (!ok) return false;
    }
  }
  return true;
}

}  // namespace certbroker

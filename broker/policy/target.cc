// Parsing and normalizing the Target of a request.
#include "broker/policy/target.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/common/host_name.h"

namespace certbroker::policy {
namespace {

constexpr size_t kMaxUrlLength = 8192;

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("target.", field, ": ", what));
}

uint32_t DefaultPort(absl::string_view scheme) {
  if (scheme == "http" || scheme == "ws") return 80;
  return 443;
}

// UrlParts are the pieces of an absolute URL the broker cares about.
struct UrlParts {
  std::string scheme;
  std::string host;
  uint32_t port = 0;
};

absl::StatusOr<UrlParts> ParseUrl(absl::string_view url) {
  if (url.size() > kMaxUrlLength) {
    return Invalid("url",
                   absl::StrCat("longer than ", kMaxUrlLength, " bytes"));
  }
  size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos || scheme_end == 0) {
    return Invalid(
        "url",
        absl::StrCat("'", url, "' is not an absolute URL (scheme://host...)"));
  }
  UrlParts parts;
  parts.scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  for (char c : parts.scheme) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '+' &&
        c != '-' && c != '.') {
      return Invalid("url",
                     absl::StrCat("'", parts.scheme, "' is not a URL scheme"));
    }
  }
  absl::string_view rest = url.substr(scheme_end + 3);
  absl::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  size_t at = authority.rfind('@');
  if (at != absl::string_view::npos) authority.remove_prefix(at + 1);
  absl::string_view host = authority;
  absl::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return Invalid("url", "unterminated '[' in the host");
    }
    host = authority.substr(0, close + 1);
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return Invalid("url", "junk after ']' in the host");
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != absl::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
  }
  if (host.empty()) return Invalid("url", "has no host");
  parts.host = std::string(host);
  if (!port.empty()) {
    uint32_t number = 0;
    if (!absl::SimpleAtoi(port, &number) || number == 0 || number > 65535) {
      return Invalid("url",
                     absl::StrCat("'", port, "' is not a port (1-65535)"));
    }
    parts.port = number;
  }
  return parts;
}

}  // namespace

std::string ResolvedTarget::ToString() const {
  // Assembled by hand: this runs for every decision, and StrCat of seven
  // pieces costs more than the appends.
  const bool bracket = host.find(':') != std::string::npos;
  std::string text;
  text.reserve(scheme.size() + host.size() + 16);
  text.append(scheme).append("://");
  if (bracket) text.push_back('[');
  text.append(host);
  if (bracket) text.push_back(']');
  text.push_back(':');
  absl::StrAppend(&text, port);
  return text;
}

absl::StatusOr<ResolvedTarget> ResolveTarget(
    const ::certbroker::v1::Target& target) {
  ResolvedTarget resolved;
  resolved.scheme = "https";
  std::string url_host;
  uint32_t url_port = 0;
  if (!target.url().empty()) {
    auto parts = ParseUrl(target.url());
    if (!parts.ok()) return parts.status();
    resolved.scheme = parts->scheme;
    url_host = NormalizeHost(parts->host);
    url_port = parts->port;
  }
  std::string host = NormalizeHost(target.host());
  if (!host.empty() && !url_host.empty() && host != url_host) {
    return Invalid("host", absl::StrCat("'", target.host(),
                                        "' disagrees with the URL's host '",
                                        url_host, "'"));
  }
  if (host.empty()) host = url_host;
  if (host.empty()) return Invalid("host", "required (give host or url)");
  resolved.host_is_ip = IsIpAddress(host);
  if (!resolved.host_is_ip && !IsDnsName(host)) {
    return Invalid(
        target.host().empty() ? "url" : "host",
        absl::StrCat("'", host, "' is not a DNS name or IP address"));
  }
  resolved.host = std::move(host);

  if (target.port() > 65535) {
    return Invalid("port",
                   absl::StrCat(target.port(), " is not a port (1-65535)"));
  }
  if (target.port() != 0 && url_port != 0 && target.port() != url_port) {
    return Invalid(
        "port", absl::StrCat(target.port(), " disagrees with the URL's port ",
                             url_port));
  }
  resolved.port = target.port() != 0 ? target.port()
                  : url_port != 0    ? url_port
                                     : DefaultPort(resolved.scheme);

  if (!target.sni().empty()) {
    resolved.sni = NormalizeHost(target.sni());
    if (!IsDnsName(resolved.sni) || IsIpAddress(resolved.sni)) {
      return Invalid("sni",
                     absl::StrCat("'", target.sni(), "' is not a DNS name"));
    }
  }
  return resolved;
}

}  // namespace certbroker::policy

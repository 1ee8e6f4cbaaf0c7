// ParseHttpsUrl and ResolveRedirect: just enough of RFC 3986 for https
// request targets.
#include "agents/transfer/https_url.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace certbroker::transfer {
namespace {

bool HasSpaceOrControl(const std::string& text) {
  for (unsigned char c : text) {
    if (c <= 0x20 || c == 0x7f) return true;
  }
  return false;
}

bool IsHostChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string StripFragment(const std::string& text) {
  size_t hash = text.find('#');
  return hash == std::string::npos ? text : text.substr(0, hash);
}

}  // namespace

std::string HttpsUrl::HostHeader() const {
  std::string name =
      absl::StrContains(host, ':') ? absl::StrCat("[", host, "]") : host;
  if (port != 443) absl::StrAppend(&name, ":", port);
  return name;
}

std::string HttpsUrl::ToString() const {
  return absl::StrCat("https://", HostHeader(), target);
}

absl::StatusOr<HttpsUrl> ParseHttpsUrl(const std::string& text) {
  auto invalid = [&text](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed URL \"", text, "\": ", why));
  };
  if (text.empty()) return invalid("empty");
  if (HasSpaceOrControl(text)) {
    return invalid("contains spaces or control characters");
  }
  size_t colon = text.find("://");
  if (colon == std::string::npos) {
    return invalid("not an absolute URL (expected https://host/path)");
  }
  std::string scheme = absl::AsciiStrToLower(text.substr(0, colon));
  if (scheme != "https") {
    return invalid(
        absl::StrCat("scheme \"", scheme, "\" is not supported (only https)"));
  }
  std::string rest = StripFragment(text.substr(colon + 3));
  size_t slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  HttpsUrl url;
  url.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (url.target[0] == '?') url.target = "/" + url.target;
  if (absl::StrContains(authority, '@')) {
    return invalid("user information is not supported");
  }
  std::string port_text;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return invalid("unterminated IPv6 host");
    url.host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return invalid("junk after the IPv6 host");
      port_text = after.substr(1);
    }
    for (char c : url.host) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) && c != ':' &&
          c != '.') {
        return invalid("malformed IPv6 host");
      }
    }
  } else {
    size_t port_colon = authority.rfind(':');
    url.host = authority.substr(0, port_colon);
    if (port_colon != std::string::npos) {
      port_text = authority.substr(port_colon + 1);
    }
    for (char c : url.host) {
      if (!IsHostChar(c)) {
        return invalid(absl::StrCat("invalid character '", std::string(1, c),
                                    "' in the host"));
      }
    }
  }
  if (url.host.empty()) return invalid("no host");
  url.host = absl::AsciiStrToLower(url.host);
  if (authority.find(':') != std::string::npos && authority[0] != '[' &&
      port_text.empty()) {
    return invalid("empty port");
  }
  if (!port_text.empty()) {
    uint32_t port = 0;
    if (!absl::SimpleAtoi(port_text, &port) || port == 0 || port > 65535 ||
        !absl::ascii_isdigit(static_cast<unsigned char>(port_text[0]))) {
      return invalid(absl::StrCat("invalid port \"", port_text, "\""));
    }
    url.port = static_cast<uint16_t>(port);
  }
  return url;
}

absl::StatusOr<HttpsUrl> ResolveRedirect(const HttpsUrl& base,
                                         const std::string& location) {
  if (location.empty()) {
    return absl::InvalidArgumentError("redirect without a Location");
  }
  if (HasSpaceOrControl(location)) {
    return absl::InvalidArgumentError(
        absl::StrCat("redirect Location \"", location,
                     "\" contains spaces or control characters"));
  }
  if (absl::StartsWith(location, "//")) {
    return ParseHttpsUrl("https:" + location);
  }
  size_t colon = location.find(':');
  size_t slash = location.find('/');
  if (colon != std::string::npos &&
      (slash == std::string::npos || colon < slash)) {
    return ParseHttpsUrl(location);  // Absolute: rejects non-https.
  }
  HttpsUrl url = base;
  std::string reference = StripFragment(location);
  if (absl::StartsWith(reference, "/")) {
    url.target = reference;
  } else {
    std::string path = base.target.substr(0, base.target.find('?'));
    url.target = path.substr(0, path.rfind('/') + 1) + reference;
  }
  return url;
}

}  // namespace certbroker::transfer

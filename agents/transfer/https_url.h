// https_url.h: the https URLs a transfer fetches, parsed and checked, and
// the resolution of a redirect's Location against the URL it came from.
#ifndef CERTBROKER_AGENTS_TRANSFER_HTTPS_URL_H_
#define CERTBROKER_AGENTS_TRANSFER_HTTPS_URL_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace certbroker::transfer {

// HttpsUrl is an absolute https URL split into what a request needs.
struct HttpsUrl {
  // host is the DNS name or IP address (IPv6 without brackets), lowercase.
  std::string host;
  // port is the URL's port, 443 when it names none.
  uint16_t port = 443;
  // target is the request target: the path (at least "/") and the query,
  // without the fragment.
  std::string target;

  // HostHeader is the Host header's value: host, with the port when not
  // 443, IPv6 in brackets.
  std::string HostHeader() const;
  // ToString is the URL again ("https://" + HostHeader() + target).
  std::string ToString() const;
};

// ParseHttpsUrl parses an absolute https URL. INVALID_ARGUMENT, naming the
// problem, for another scheme, user information, an empty or malformed
// host, a port outside 1..65535, or spaces and control characters.
absl::StatusOr<HttpsUrl> ParseHttpsUrl(const std::string& text);

// ResolveRedirect resolves a Location header against `base`: an absolute
// URL, a scheme-relative "//host/path", an absolute path or a relative
// path. The result must be https (INVALID_ARGUMENT otherwise).
absl::StatusOr<HttpsUrl> ResolveRedirect(const HttpsUrl& base,
                                         const std::string& location);

}  // namespace certbroker::transfer

#endif  // CERTBROKER_AGENTS_TRANSFER_HTTPS_URL_H_

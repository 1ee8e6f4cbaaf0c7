// Parsing and checking certbrokerd's --listen addresses.
#include "broker/server/listen_address.h"

#include <arpa/inet.h>
#include <unistd.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace certbroker::server {
namespace {

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4;
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

}  // namespace

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view address) {
  ListenAddress parsed;
  if (absl::StartsWith(address, "unix:")) {
    std::string path(address.substr(5));
    if (absl::StartsWith(path, "//")) path = path.substr(2);  // unix:///abs
    if (path.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("listen address '", address, "': empty socket path"));
    }
    if (path[0] != '/') {
      char cwd[4096];
      if (::getcwd(cwd, sizeof(cwd)) == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "listen address '", address, "': cannot resolve a relative path"));
      }
      path = absl::StrCat(cwd, "/", path);
    }
    if (path.size() > 107) {  // sockaddr_un.sun_path holds 108 bytes.
      return absl::InvalidArgumentError(absl::StrCat(
          "listen address '", address, "': socket path longer than 107 bytes"));
    }
    parsed.is_unix = true;
    parsed.host = path;
    parsed.grpc_uri = absl::StrCat("unix:", path);
    return parsed;
  }
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address '", address, "': expected HOST:PORT or unix:PATH"));
  }
  std::string host(address.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", address, "': bad port"));
  }
  parsed.loopback = IsLoopback(host);
  parsed.host = host;
  parsed.port = port;
  bool bracket = host.find(':') != std::string::npos;
  parsed.grpc_uri =
      absl::StrCat(bracket ? "[" : "", host, bracket ? "]" : "", ":", port);
  return parsed;
}

}  // namespace certbroker::server

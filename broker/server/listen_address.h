// Listen addresses for certbrokerd: "unix:PATH" for a Unix socket, or
// "HOST:PORT" for TCP.
#ifndef CERTBROKER_BROKER_SERVER_LISTEN_ADDRESS_H_
#define CERTBROKER_BROKER_SERVER_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace certbroker::server {

struct ListenAddress {
  bool is_unix = false;
  // grpc_uri is what grpc::ServerBuilder::AddListeningPort takes.
  std::string grpc_uri;
  // host is the TCP host (without brackets) or the socket path.
  std::string host;
  int port = 0;  // 0 asks the kernel for a free port.
  // loopback: a TCP host in 127.0.0.0/8, ::1 or "localhost".
  bool loopback = false;
};

// ParseListenAddress accepts "unix:PATH" (a relative PATH is made absolute)
// and "HOST:PORT". Fails with INVALID_ARGUMENT naming the address
// otherwise.
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view address);

}  // namespace certbroker::server

#endif  // CERTBROKER_BROKER_SERVER_LISTEN_ADDRESS_H_

// agent_socket.h: the safety of the daemon's Unix socket. Whoever can
// connect to it controls every job (what is downloaded, where it is
// written), so the socket is the daemon user's alone: its directory is
// created 0700 when missing, the socket is bound in a private directory,
// set to 0600 and only then moved into place, and a second daemon never
// takes over the socket of one that is serving.
#ifndef CERTBROKER_AGENTS_DAEMON_AGENT_SOCKET_H_
#define CERTBROKER_AGENTS_DAEMON_AGENT_SOCKET_H_

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace certbroker::daemon {

// PrepareSocketPath readies `path` for a new listener: creates its
// directory (mode 0700, parents included) when missing, and removes a
// stale socket file (one nobody accepts connections on). Fails with
// FAILED_PRECONDITION when a daemon is serving on `path` or `path` exists
// and is not a socket, INVALID_ARGUMENT when it is too long for a Unix
// socket address, UNAVAILABLE on a system error; each names the path.
absl::Status PrepareSocketPath(const std::string& path);

// IsServing is true when something accepts connections on the Unix socket
// `path`.
bool IsServing(const std::string& path);

// PrivateSocket is a path at which to bind a listening socket that no one
// else can reach: DIR/.certbroker-agent-XXXXXX/socket, in a fresh 0700
// directory beside the final path. The destructor removes what is left.
class PrivateSocket {
 public:
  // Make creates the directory for a socket that will become `final_path`.
  static absl::StatusOr<PrivateSocket> Make(const std::string& final_path);
  PrivateSocket(PrivateSocket&& other) noexcept;
  PrivateSocket& operator=(PrivateSocket&&) = delete;
  ~PrivateSocket();

  // path is where to bind.
  const std::string& path() const { return path_; }

  // MoveTo sets the bound socket's mode to 0600 and renames it (atomically)
  // to `final_path`.
  absl::Status MoveTo(const std::string& final_path);

 private:
  PrivateSocket(std::string directory, std::string path)
      : directory_(std::move(directory)), path_(std::move(path)) {}
  std::string directory_;
  std::string path_;
};

// RemoveSocket removes the socket file `path` at shutdown (if it is one).
void RemoveSocket(const std::string& path);

}  // namespace certbroker::daemon

#endif  // CERTBROKER_AGENTS_DAEMON_AGENT_SOCKET_H_

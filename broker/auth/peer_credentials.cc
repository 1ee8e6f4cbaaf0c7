// SO_PEERCRED and the registry of accepted Unix sockets.
#include "broker/auth/peer_credentials.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace certbroker::auth {

std::string PeerCredentials::ToString() const {
  return absl::StrCat("uid=", uid, " gid=", gid, " pid=", pid);
}

absl::StatusOr<PeerCredentials> ReadPeerCredentials(int fd) {
  struct ucred credentials {};
  socklen_t size = sizeof(credentials);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0) {
    return absl::InternalError(
        absl::StrCat("SO_PEERCRED: ", std::strerror(errno)));
  }
  return PeerCredentials{credentials.pid, credentials.uid, credentials.gid};
}

void PeerCredentialsRegistry::Add(int fd, const PeerCredentials& credentials) {
  absl::MutexLock lock(&mutex_);
  by_fd_[fd] = credentials;
}

std::optional<PeerCredentials> PeerCredentialsRegistry::Find(
    absl::string_view peer) const {
  int fd = 0;
  if (!absl::ConsumePrefix(&peer, "fd:") || !absl::SimpleAtoi(peer, &fd)) {
    return std::nullopt;
  }
  absl::MutexLock lock(&mutex_);
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return std::nullopt;
  return it->second;
}

}  // namespace certbroker::auth

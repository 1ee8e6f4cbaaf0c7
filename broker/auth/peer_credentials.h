// PeerCredentials: the kernel's word on who is at the other end of a Unix
// socket (SO_PEERCRED), kept per accepted socket so that calls arriving on
// it can be attributed. certbrokerd accepts Unix-socket connections itself
// and hands each socket to gRPC, whose peer string for it is "fd:N".
#ifndef CERTBROKER_BROKER_AUTH_PEER_CREDENTIALS_H_
#define CERTBROKER_BROKER_AUTH_PEER_CREDENTIALS_H_

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace certbroker::auth {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;

  // ToString renders "uid=1000 gid=1000 pid=42".
  std::string ToString() const;
};

// ReadPeerCredentials asks the kernel for the credentials of the process
// connected to the Unix socket `fd`.
absl::StatusOr<PeerCredentials> ReadPeerCredentials(int fd);

class PeerCredentialsRegistry {
 public:
  // Add records the credentials of the accepted socket `fd`, replacing what
  // an earlier, since closed, socket of the same number left.
  void Add(int fd, const PeerCredentials& credentials);

  // Find returns the credentials behind a gRPC peer string ("fd:N"), or
  // nullopt for any other peer.
  std::optional<PeerCredentials> Find(absl::string_view peer) const;

 private:
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<int, PeerCredentials> by_fd_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace certbroker::auth

#endif  // CERTBROKER_BROKER_AUTH_PEER_CREDENTIALS_H_

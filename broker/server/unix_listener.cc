// Accepting Unix-socket connections and handing them to gRPC.
#include "broker/server/unix_listener.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "broker/common/log.h"
#include "grpcpp/server_posix.h"

namespace certbroker::server {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<UnixListener>> UnixListener::Open(
    const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path too long: ", path));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  struct stat existing {};
  if (::lstat(path.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot listen on ", path, ": it exists and is not a socket"));
    }
    ::unlink(path.c_str());  // A socket left by an earlier run.
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket for", path);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::chmod(path.c_str(), 0666) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    absl::Status status = Errno("cannot listen on", path);
    ::close(fd);
    return status;
  }
  int wake_fd = ::eventfd(0, EFD_CLOEXEC);
  if (wake_fd < 0) {
    absl::Status status = Errno("eventfd for", path);
    ::close(fd);
    return status;
  }
  return std::unique_ptr<UnixListener>(new UnixListener(fd, wake_fd, path));
}

void UnixListener::Start(grpc::Server* server,
                         auth::PeerCredentialsRegistry* registry) {
  thread_ =
      std::thread([this, server, registry] { AcceptLoop(server, registry); });
}

void UnixListener::AcceptLoop(grpc::Server* server,
                              auth::PeerCredentialsRegistry* registry) {
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (true) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      LogError(absl::StrCat("polling ", path_, ": ", std::strerror(errno)));
      return;
    }
    if (fds[1].revents != 0) return;
    int connection =
        ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (connection < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
        LogWarning(
            absl::StrCat("accepting on ", path_, ": ", std::strerror(errno)));
        // Out of descriptors, say: back off instead of spinning.
        ::poll(nullptr, 0, 100);
      }
      continue;
    }
    auto credentials = auth::ReadPeerCredentials(connection);
    if (!credentials.ok()) {
      LogWarning(absl::StrCat("dropping a connection on ", path_, ": ",
                              credentials.status().message()));
      ::close(connection);
      continue;
    }
    registry->Add(connection, *credentials);
    grpc::AddInsecureChannelFromFd(server, connection);
  }
}

void UnixListener::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)::write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    ::unlink(path_.c_str());
  }
}

UnixListener::~UnixListener() {
  Stop();
  ::close(wake_fd_);
}

}  // namespace certbroker::server

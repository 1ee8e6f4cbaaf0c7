// Preparing and restricting the daemon's Unix socket.
#include "agents/daemon/agent_socket.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace certbroker::daemon {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// MakeDirectories creates `dir` and its missing parents with mode 0700.
absl::Status MakeDirectories(const std::string& dir) {
  if (dir.empty()) return absl::OkStatus();
  struct stat existing {};
  if (::stat(dir.c_str(), &existing) == 0) {
    if (!S_ISDIR(existing.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("socket directory ", dir, " is not a directory"));
    }
    return absl::OkStatus();
  }
  size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    absl::Status parent = MakeDirectories(dir.substr(0, slash));
    if (!parent.ok()) return parent;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Errno(absl::StrCat("cannot create the socket directory ", dir));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsServing(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) return false;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address),
                             sizeof(address)) == 0;
  ::close(fd);
  return connected;
}

absl::Status PrepareSocketPath(const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("the socket path is empty");
  }
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path too long (", path.size(), " bytes, at most ",
                     sizeof(sockaddr_un{}.sun_path) - 1, "): ", path));
  }
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos) {
    absl::Status made = MakeDirectories(path.substr(0, slash));
    if (!made.ok()) return made;
  }
  struct stat existing {};
  if (::lstat(path.c_str(), &existing) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return Errno(absl::StrCat("cannot inspect ", path));
  }
  if (!S_ISSOCK(existing.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot listen on ", path, ": it exists and is not a socket"));
  }
  if (IsServing(path)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "another agent daemon is serving on ", path, ": stop it first"));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Errno(absl::StrCat("cannot remove the stale socket ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<PrivateSocket> PrivateSocket::Make(
    const std::string& final_path) {
  size_t slash = final_path.find_last_of('/');
  std::string parent =
      slash == std::string::npos ? "." : final_path.substr(0, slash);
  std::string pattern = absl::StrCat(parent, "/.certbroker-agent-XXXXXX");
  std::string path_of_socket = absl::StrCat(pattern, "/socket");
  if (path_of_socket.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "socket directory path too long: binding needs ", path_of_socket.size(),
        " bytes, a Unix socket address holds ",
        sizeof(sockaddr_un{}.sun_path) - 1, ": ", final_path));
  }
  if (::mkdtemp(pattern.data()) == nullptr) {  // Mode 0700.
    return Errno(absl::StrCat("cannot create a directory in ", parent));
  }
  return PrivateSocket(pattern, absl::StrCat(pattern, "/socket"));
}

PrivateSocket::PrivateSocket(PrivateSocket&& other) noexcept
    : directory_(std::move(other.directory_)), path_(std::move(other.path_)) {
  other.directory_.clear();
  other.path_.clear();
}

PrivateSocket::~PrivateSocket() {
  if (directory_.empty()) return;
  ::unlink(path_.c_str());
  ::rmdir(directory_.c_str());
}

absl::Status PrivateSocket::MoveTo(const std::string& final_path) {
  if (::chmod(path_.c_str(), 0600) != 0) {
    return Errno(absl::StrCat("cannot set the mode of ", path_, " to 0600"));
  }
  if (::rename(path_.c_str(), final_path.c_str()) != 0) {
    return Errno(absl::StrCat("cannot move the socket to ", final_path));
  }
  return absl::OkStatus();
}

void RemoveSocket(const std::string& path) {
  struct stat existing {};
  if (::lstat(path.c_str(), &existing) == 0 && S_ISSOCK(existing.st_mode)) {
    ::unlink(path.c_str());
  }
}

}  // namespace certbroker::daemon

// The daemon socket's safety, with real Unix sockets: the directory made
// 0700, a stale socket replaced, a served one refused, the socket bound
// privately and moved into place with mode 0600.
#include "agents/daemon/agent_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace certbroker::daemon {
namespace {

using testing::TempDir;

// Listen binds a Unix socket at `path`; with `listen` it accepts
// connections. Returns the descriptor.
int Bind(const std::string& path, bool listen) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
            0)
      << std::strerror(errno);
  if (listen) EXPECT_EQ(::listen(fd, 4), 0);
  return fd;
}

mode_t Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode;
}

TEST(AgentSocketTest, CreatesMissingDirectoriesPrivate) {
  TempDir dir;
  std::string path = dir.Path("a/b/agent.sock");
  ASSERT_TRUE(PrepareSocketPath(path).ok());
  EXPECT_EQ(Mode(dir.Path("a")) & 0777, 0700u);
  EXPECT_EQ(Mode(dir.Path("a/b")) & 0777, 0700u);
}

TEST(AgentSocketTest, RemovesAStaleSocket) {
  TempDir dir;
  std::string path = dir.Path("agent.sock");
  ::close(Bind(path, /*listen=*/false));  // A socket file nobody serves.
  ASSERT_TRUE(S_ISSOCK(Mode(path)));
  EXPECT_FALSE(IsServing(path));
  ASSERT_TRUE(PrepareSocketPath(path).ok());
  struct stat st {};
  EXPECT_NE(::lstat(path.c_str(), &st), 0);
}

TEST(AgentSocketTest, RefusesASocketThatIsServed) {
  TempDir dir;
  std::string path = dir.Path("agent.sock");
  int fd = Bind(path, /*listen=*/true);
  EXPECT_TRUE(IsServing(path));
  absl::Status status = PrepareSocketPath(path);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            "another agent daemon is serving on " + path + ": stop it first");
  EXPECT_TRUE(S_ISSOCK(Mode(path)));  // Left alone.
  ::close(fd);
}

TEST(AgentSocketTest, RefusesAPathThatIsNotASocket) {
  TempDir dir;
  std::string path = dir.Write("agent.sock", "not a socket");
  absl::Status status = PrepareSocketPath(path);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            "cannot listen on " + path + ": it exists and is not a socket");
}

TEST(AgentSocketTest, RefusesAPathTooLong) {
  absl::Status status = PrepareSocketPath("/tmp/" + std::string(120, 'x'));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

TEST(AgentSocketTest, BindsPrivatelyAndMovesIntoPlaceWithMode0600) {
  TempDir dir;
  std::string path = dir.Path("agent.sock");
  std::string staging_dir;
  int fd = -1;
  {
    auto staging = PrivateSocket::Make(path);
    ASSERT_TRUE(staging.ok()) << staging.status();
    staging_dir = staging->path().substr(0, staging->path().rfind('/'));
    EXPECT_EQ(Mode(staging_dir) & 0777, 0700u);
    fd = Bind(staging->path(), /*listen=*/true);
    ASSERT_TRUE(staging->MoveTo(path).ok());
  }
  EXPECT_EQ(Mode(path) & 0777, 0600u);
  EXPECT_TRUE(IsServing(path));  // Still listening under its new name.
  struct stat st {};
  EXPECT_NE(::lstat(staging_dir.c_str(), &st), 0) << "staging dir left";
  ::close(fd);
  RemoveSocket(path);
  EXPECT_NE(::lstat(path.c_str(), &st), 0);
}

}  // namespace
}  // namespace certbroker::daemon

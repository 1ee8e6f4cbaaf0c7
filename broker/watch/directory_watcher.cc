// The inotify loop behind DirectoryWatcher.
#include "broker/watch/directory_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "broker/common/file.h"
#include "broker/common/log.h"

namespace certbroker::watch {
namespace {

// The directory's own entries changing (IN_CLOSE_WRITE rather than
// IN_MODIFY: one event per finished write, not one per write call), and
// the directory itself going away. IN_DONT_FOLLOW is deliberately absent:
// a configured path that is a symlink to a directory watches the
// directory; the entries' symlinks (`..data`) are seen as entries anyway.
constexpr uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MOVED_TO |
                                IN_MOVED_FROM | IN_CLOSE_WRITE | IN_ATTRIB |
                                IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
// Events after which the watch no longer covers the configured path.
constexpr uint32_t kLostMask =
    IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT;

}  // namespace

absl::StatusOr<std::unique_ptr<DirectoryWatcher>> DirectoryWatcher::Create(
    Callback callback, DirectoryWatcherOptions options) {
  if (!callback) {
    return absl::InvalidArgumentError("directory watcher: no callback");
  }
  if (options.debounce < absl::ZeroDuration() ||
      options.max_delay < options.debounce ||
      options.retry_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "directory watcher: bad intervals (debounce ",
        absl::FormatDuration(options.debounce), ", max_delay ",
        absl::FormatDuration(options.max_delay), ", retry_interval ",
        absl::FormatDuration(options.retry_interval), ")"));
  }
  int inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd < 0) {
    return ErrnoStatus(errno, "directory watcher: inotify_init1");
  }
  int wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) {
    int error = errno;
    ::close(inotify_fd);
    return ErrnoStatus(error, "directory watcher: eventfd");
  }
  std::unique_ptr<DirectoryWatcher> watcher(
      new DirectoryWatcher(std::move(callback), options, inotify_fd, wake_fd));
  DirectoryWatcher* loop = watcher.get();
  absl::MutexLock lock(&watcher->join_mu_);
  watcher->thread_ = std::thread([loop] { loop->Loop(); });
  return watcher;
}

DirectoryWatcher::DirectoryWatcher(Callback callback,
                                   DirectoryWatcherOptions options,
                                   int inotify_fd, int wake_fd)
    : callback_(std::move(callback)),
      options_(options),
      inotify_fd_(inotify_fd),
      wake_fd_(wake_fd) {}

DirectoryWatcher::~DirectoryWatcher() {
  Stop();
  ::close(inotify_fd_);
  ::close(wake_fd_);
}

void DirectoryWatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  Wake();
  absl::MutexLock lock(&join_mu_);
  if (thread_.joinable()) thread_.join();
}

void DirectoryWatcher::Wake() {
  uint64_t one = 1;
  // Only fails when the counter is saturated, and then the loop wakes anyway.
  ssize_t written = ::write(wake_fd_, &one, sizeof(one));
  (void)written;
}

DirectoryWatcherStats DirectoryWatcher::stats() const {
  DirectoryWatcherStats stats;
  stats.events = events_.load();
  stats.callbacks = callbacks_.load();
  stats.overflows = overflows_.load();
  stats.rewatches = rewatches_.load();
  return stats;
}

std::vector<std::string> DirectoryWatcher::UnwatchedDirectories() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> unwatched;
  for (const auto& [dir, wd] : dirs_) {
    if (wd < 0) unwatched.push_back(dir);
  }
  return unwatched;
}

absl::StatusOr<int> DirectoryWatcher::AddWatch(const std::string& dir) const {
  int wd = ::inotify_add_watch(inotify_fd_, dir.c_str(), kWatchMask);
  if (wd < 0) return ErrnoStatus(errno, absl::StrCat("cannot watch ", dir));
  return wd;
}

void DirectoryWatcher::Unwatch(const std::string& dir) {
  int& slot = dirs_[dir];
  int wd = slot;
  slot = -1;
  if (wd < 0) return;
  // Two paths to one directory share a watch descriptor; keep it while the
  // other path is still in the set.
  for (const auto& [other, other_wd] : dirs_) {
    if (other_wd == wd) return;
  }
  ::inotify_rm_watch(inotify_fd_, wd);
}

absl::Status DirectoryWatcher::SetDirectories(
    const std::vector<std::string>& dirs) {
  for (const std::string& dir : dirs) {
    if (dir.empty()) {
      return absl::InvalidArgumentError(
          "directory watcher: empty directory path");
    }
  }
  std::set<std::string> wanted(dirs.begin(), dirs.end());
  std::vector<std::string> failures;
  absl::StatusCode code = absl::StatusCode::kOk;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return absl::FailedPreconditionError("directory watcher is stopped");
    }
    for (auto it = dirs_.begin(); it != dirs_.end();) {
      if (wanted.count(it->first) != 0) {
        ++it;
        continue;
      }
      Unwatch(it->first);
      changed_.erase(it->first);
      it = dirs_.erase(it);
    }
    if (changed_.empty()) {
      first_change_ = last_change_ = absl::InfiniteFuture();
    }
    for (const std::string& dir : wanted) {
      auto found = dirs_.find(dir);
      bool known = found != dirs_.end();
      if (known && found->second >= 0) continue;
      absl::StatusOr<int> wd = AddWatch(dir);
      dirs_[dir] = wd.ok() ? *wd : -1;
      if (wd.ok()) {
        // A directory of the old set that is back: the caller last saw it
        // missing, so report it as the retry loop would have.
        if (known) {
          ++rewatches_;
          MarkChanged(dir, absl::Now());
        }
        continue;
      }
      if (code == absl::StatusCode::kOk) code = wd.status().code();
      failures.emplace_back(wd.status().message());
    }
    next_retry_ = failures.empty() ? absl::InfiniteFuture()
                                   : absl::Now() + options_.retry_interval;
  }
  Wake();  // the loop's next wakeup may have moved
  if (failures.empty()) return absl::OkStatus();
  return absl::Status(
      code, absl::StrCat(absl::StrJoin(failures, "; "), " (retrying every ",
                         absl::FormatDuration(options_.retry_interval), ")"));
}

void DirectoryWatcher::MarkChanged(const std::string& dir, absl::Time now) {
  if (changed_.empty()) first_change_ = now;
  last_change_ = now;
  changed_.insert(dir);
}

void DirectoryWatcher::HandleEvent(int wd, uint32_t mask, absl::Time now) {
  if (mask & IN_Q_OVERFLOW) {
    // Events were dropped: anything may have changed.
    ++overflows_;
    for (const auto& [dir, dir_wd] : dirs_) {
      if (dir_wd >= 0) MarkChanged(dir, now);
    }
    return;
  }
  bool lost = (mask & kLostMask) != 0;
  bool matched = false;
  for (auto& [dir, dir_wd] : dirs_) {
    if (dir_wd != wd) continue;
    matched = true;
    MarkChanged(dir, now);
    if (lost) {
      dir_wd = -1;
      LogWarning(absl::StrCat("watched directory ", LogValue(dir),
                              " was deleted or moved; watching it again once "
                              "it exists"));
    }
  }
  // Unmatched events are stale: queued before their watch was removed.
  if (!matched || !lost) return;
  // A moved directory keeps its watch; drop it (harmless after a delete).
  if ((mask & IN_IGNORED) == 0) ::inotify_rm_watch(inotify_fd_, wd);
  next_retry_ = now;  // the path may already be back
}

void DirectoryWatcher::RetryUnwatched(absl::Time now) {
  bool unwatched = false;
  for (auto& [dir, wd] : dirs_) {
    if (wd >= 0) continue;
    absl::StatusOr<int> added = AddWatch(dir);
    if (!added.ok()) {
      unwatched = true;
      continue;
    }
    wd = *added;
    ++rewatches_;
    LogInfo(absl::StrCat("now watching directory ", LogValue(dir)));
    MarkChanged(dir, now);  // its contents may differ from the last read
  }
  next_retry_ =
      unwatched ? now + options_.retry_interval : absl::InfiniteFuture();
}

absl::Time DirectoryWatcher::NextWakeup() const {
  absl::Time wakeup = next_retry_;
  if (!changed_.empty()) {
    wakeup = std::min({wakeup, last_change_ + options_.debounce,
                       first_change_ + options_.max_delay});
  }
  return wakeup;
}

void DirectoryWatcher::ReadEvents() {
  alignas(struct inotify_event) char buffer[16 * 1024];
  while (true) {
    ssize_t n = ::read(inotify_fd_, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) {
      LogError(absl::StrCat("directory watcher: reading inotify events: ",
                            std::strerror(errno)));
    }
    if (n <= 0) return;
    absl::MutexLock lock(&mu_);
    absl::Time now = absl::Now();
    for (ssize_t offset = 0; offset < n;) {
      const auto* event =
          reinterpret_cast<const struct inotify_event*>(buffer + offset);
      ++events_;
      HandleEvent(event->wd, event->mask, now);
      offset += static_cast<ssize_t>(sizeof(struct inotify_event) + event->len);
    }
  }
}

void DirectoryWatcher::Loop() {
  while (true) {
    absl::Time wakeup;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      wakeup = NextWakeup();
    }
    int timeout_ms = -1;
    if (wakeup != absl::InfiniteFuture()) {
      // Rounded up, so the loop does not wake just before the deadline.
      int64_t ms = absl::ToInt64Milliseconds(
          absl::Ceil(wakeup - absl::Now(), absl::Milliseconds(1)));
      timeout_ms = static_cast<int>(
          std::clamp<int64_t>(ms, 0, std::numeric_limits<int>::max()));
    }
    struct pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, timeout_ms) < 0 && errno != EINTR) {
      LogError(absl::StrCat("directory watcher: poll: ", std::strerror(errno)));
      absl::SleepFor(absl::Milliseconds(100));  // no busy loop
    }
    if (fds[1].revents & POLLIN) {
      uint64_t count;
      ssize_t drained = ::read(wake_fd_, &count, sizeof(count));
      (void)drained;
    }
    if (fds[0].revents & POLLIN) ReadEvents();
    std::vector<std::string> changed;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      absl::Time now = absl::Now();
      if (now >= next_retry_) RetryUnwatched(now);
      if (!changed_.empty() &&
          now >= std::min(last_change_ + options_.debounce,
                          first_change_ + options_.max_delay)) {
        changed.assign(changed_.begin(), changed_.end());
        changed_.clear();
        first_change_ = last_change_ = absl::InfiniteFuture();
      }
    }
    if (!changed.empty()) {
      ++callbacks_;
      callback_(changed);
    }
  }
}

}  // namespace certbroker::watch

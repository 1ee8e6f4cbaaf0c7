// DirectoryWatcher tells the broker when the directories holding its
// certificates, keys and configuration change, so it can re-read them (with
// ReadSecretDir) instead of polling. One background thread waits on an
// inotify descriptor and reports each burst of changes once, after the
// directory has been quiet for a debounce interval: a Kubernetes secret
// update (new generation directory, `..data_tmp` link, rename over
// `..data`, removal of the old generation) is one callback, not five.
//
// Directories that do not exist, or disappear, are retried: a directory
// that is missing when it is set, or that is deleted or moved away later,
// is re-watched as soon as it exists again (checked every retry interval),
// and is then reported as changed, since its contents may differ from what
// the caller last read. Only the directory's own entries are watched, not
// subdirectories; that covers Kubernetes volumes, whose swap happens in the
// top level.
#ifndef CERTBROKER_BROKER_WATCH_DIRECTORY_WATCHER_H_
#define CERTBROKER_BROKER_WATCH_DIRECTORY_WATCHER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace certbroker::watch {

struct DirectoryWatcherOptions {
  // debounce is how long a directory must be quiet after its last event
  // before the callback reports it.
  absl::Duration debounce = absl::Milliseconds(100);
  // max_delay bounds the wait under a continuous stream of events: a change
  // is reported at most this long after its first event.
  absl::Duration max_delay = absl::Seconds(1);
  // retry_interval is how often a missing or lost directory is re-watched.
  absl::Duration retry_interval = absl::Seconds(1);
};

// DirectoryWatcherStats counts what the watcher has seen since Create.
struct DirectoryWatcherStats {
  size_t events = 0;     // inotify events read, including stale ones
  size_t callbacks = 0;  // callbacks run
  size_t overflows = 0;  // kernel queue overflows (all dirs reported)
  size_t rewatches = 0;  // watches re-established after a missing dir
};

class DirectoryWatcher {
 public:
  // Callback receives the changed directories, sorted, each spelled as it
  // was given to SetDirectories. It runs on the watcher thread, one call at
  // a time, without the watcher's lock held: it may call SetDirectories but
  // must not call Stop or destroy the watcher, and while it runs no further
  // changes are reported (they are kept for the next call).
  using Callback =
      std::function<void(const std::vector<std::string>& changed_dirs)>;

  // Create starts a watcher with no directories. Fails with
  // INVALID_ARGUMENT for an empty callback, a negative debounce, a
  // max_delay shorter than the debounce or a non-positive retry interval;
  // RESOURCE_EXHAUSTED or UNAVAILABLE when inotify cannot be set up.
  static absl::StatusOr<std::unique_ptr<DirectoryWatcher>> Create(
      Callback callback, DirectoryWatcherOptions options = {});

  // The destructor stops the watcher (see Stop).
  ~DirectoryWatcher();
  DirectoryWatcher(const DirectoryWatcher&) = delete;
  DirectoryWatcher& operator=(const DirectoryWatcher&) = delete;

  // SetDirectories replaces the watched set with `dirs` (duplicates are
  // ignored). Directories no longer in the set stop being watched and are
  // dropped from any change not yet reported; a callback already running
  // may still name them. Directories newly in the set are not reported as
  // changed: the caller is expected to read them itself. (One that was
  // already in the set but unwatched, and is watched again here, is
  // reported, as the retry would have.)
  //
  // Returns OK when every directory is watched. Otherwise every directory
  // still joins the set, those that could not be watched are retried every
  // retry interval (and reported as changed once watched), and the status
  // names each of them: NOT_FOUND when one is missing or not a directory,
  // PERMISSION_DENIED, RESOURCE_EXHAUSTED (the inotify watch limit) or
  // UNAVAILABLE otherwise. INVALID_ARGUMENT (set unchanged) for an empty
  // path; FAILED_PRECONDITION after Stop.
  absl::Status SetDirectories(const std::vector<std::string>& dirs);

  // UnwatchedDirectories returns the directories of the set that are not
  // watched at the moment (missing, or lost and not yet back), sorted.
  std::vector<std::string> UnwatchedDirectories() const;

  // Stop wakes the watcher thread and joins it; no callback runs after Stop
  // returns, and changes not yet reported are dropped. Idempotent. Must not
  // be called from the callback.
  void Stop();

  // stats returns the counters so far; callable from any thread.
  DirectoryWatcherStats stats() const;

 private:
  DirectoryWatcher(Callback callback, DirectoryWatcherOptions options,
                   int inotify_fd, int wake_fd);

  void Loop();
  void Wake();
  // AddWatch adds an inotify watch for `dir` and returns its descriptor.
  absl::StatusOr<int> AddWatch(const std::string& dir) const;
  void Unwatch(const std::string& dir) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkChanged(const std::string& dir, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ReadEvents drains the inotify descriptor and records what changed.
  void ReadEvents();
  void HandleEvent(int wd, uint32_t mask, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RetryUnwatched(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // NextWakeup is when the loop must run next even without events.
  absl::Time NextWakeup() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Callback callback_;
  const DirectoryWatcherOptions options_;
  const int inotify_fd_;
  const int wake_fd_;  // an eventfd: written to wake the loop

  mutable absl::Mutex mu_;
  // dirs_ maps each directory of the set to its watch descriptor, or -1
  // while it is not watched.
  std::map<std::string, int> dirs_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> changed_ ABSL_GUARDED_BY(mu_);
  absl::Time first_change_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::Time last_change_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::Time next_retry_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  absl::Mutex join_mu_;  // serializes concurrent Stop calls

  std::atomic<size_t> events_{0};
  std::atomic<size_t> callbacks_{0};
  std::atomic<size_t> overflows_{0};
  std::atomic<size_t> rewatches_{0};
  std::thread thread_ ABSL_GUARDED_BY(join_mu_);
};

}  // namespace certbroker::watch

#endif  // CERTBROKER_BROKER_WATCH_DIRECTORY_WATCHER_H_

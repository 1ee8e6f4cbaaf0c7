// TaskRunner: a few threads of the BrokerClient that run tasks now or at a
// given time. It delivers callbacks off the caller's thread (cache hits
// too) and times retry backoffs and watch reconnections without blocking a
// thread per wait.
#ifndef CERTBROKER_AGENTS_SDK_TASK_RUNNER_H_
#define CERTBROKER_AGENTS_SDK_TASK_RUNNER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace certbroker::agent {

class TaskRunner {
 public:
  // TaskId names a task scheduled with PostAt, for Cancel.
  using TaskId = uint64_t;

  // TaskRunner starts `threads` threads (at least one).
  explicit TaskRunner(int threads);
  // ~TaskRunner runs the tasks already due, drops the others, and joins the
  // threads. It must not be called from one of them.
  ~TaskRunner();
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // Post runs `task` as soon as a thread is free.
  void Post(std::function<void()> task);

  // PostAt runs `task` at `when` (or soon after) and returns its id.
  TaskId PostAt(absl::Time when, std::function<void()> task);

  // Cancel removes the task `id` if it has not started; true when it did
  // (the task will never run), false when it ran, runs, or never existed.
  bool Cancel(TaskId id);

  // ExpediteAll makes every scheduled task due now.
  void ExpediteAll();

  // RunsOnThisThread is true when called from one of the runner's threads.
  bool RunsOnThisThread() const;

 private:
  struct Task {
    TaskId id;
    std::function<void()> run;
  };
  void Loop();

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  TaskId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::multimap<absl::Time, Task> tasks_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TaskId, std::multimap<absl::Time, Task>::iterator> by_id_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

}  // namespace certbroker::agent

#endif  // CERTBROKER_AGENTS_SDK_TASK_RUNNER_H_

// TaskRunner: threads running immediate and timed tasks for the BrokerClient.
#include "agents/sdk/task_runner.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace certbroker::agent {

TaskRunner::TaskRunner(int threads) {
  for (int i = 0; i < std::max(threads, 1); ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
}

TaskRunner::~TaskRunner() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

void TaskRunner::Post(std::function<void()> task) {
  PostAt(absl::InfinitePast(), std::move(task));
}

TaskRunner::TaskId TaskRunner::PostAt(absl::Time when,
                                      std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  TaskId id = next_id_++;
  auto it = tasks_.emplace(when, Task{id, std::move(task)});
  by_id_.emplace(id, it);
  return id;
}

bool TaskRunner::Cancel(TaskId id) {
  absl::MutexLock lock(&mu_);
  auto found = by_id_.find(id);
  if (found == by_id_.end()) return false;
  tasks_.erase(found->second);
  by_id_.erase(found);
  return true;
}

void TaskRunner::ExpediteAll() {
  absl::MutexLock lock(&mu_);
  std::multimap<absl::Time, Task> due;
  by_id_.clear();
  for (auto& [when, task] : tasks_) {
    TaskId id = task.id;
    auto it = due.emplace(absl::InfinitePast(), std::move(task));
    by_id_.emplace(id, it);
  }
  tasks_ = std::move(due);
}

bool TaskRunner::RunsOnThisThread() const {
  std::thread::id self = std::this_thread::get_id();
  for (const std::thread& thread : threads_) {
    if (thread.get_id() == self) return true;
  }
  return false;
}

void TaskRunner::Loop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    absl::Time now = absl::Now();
    if (!tasks_.empty() && tasks_.begin()->first <= now) {
      Task task = std::move(tasks_.begin()->second);
      tasks_.erase(tasks_.begin());
      by_id_.erase(task.id);
      mu_.Unlock();
      task.run();
      task.run = nullptr;  // Destroy captures outside the lock too.
      mu_.Lock();
      continue;
    }
    if (stopping_) return;
    absl::Time wake =
        tasks_.empty() ? absl::InfiniteFuture() : tasks_.begin()->first;
    auto woken = [this, wake]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || (!tasks_.empty() && tasks_.begin()->first < wake);
    };
    mu_.AwaitWithDeadline(absl::Condition(&woken), wake);
  }
}

}  // namespace certbroker::agent

// JobManager: the public API, which runs every operation on the manager's
// event-loop thread (so jobs, downloads and the journal have one owner),
// and the loop's life: start, recovery, shutdown.
#include "agents/jobs/job_manager.h"

#include <future>
#include <thread>
#include <utility>

#include "agents/jobs/job_loop.h"
#include "broker/common/log.h"

namespace certbroker::jobs {

class JobManager::Impl {
 public:
  explicit Impl(std::unique_ptr<JobLoop> loop) : loop_(std::move(loop)) {}

  // Start runs the loop on its thread and recovers the journalled jobs.
  absl::Status Start() {
    thread_ = std::thread([this] { loop_->Run(); });
    loop_thread_ = thread_.get_id();
    return OnLoop([this] { return loop_->Recover(); });
  }

  ~Impl() {
    if (thread_.joinable()) {
      loop_->RequestShutdown();
      thread_.join();
    }
  }

  // OnLoop runs `task` on the loop thread and returns its result.
  template <typename Task>
  auto OnLoop(Task task) -> decltype(task()) {
    if (std::this_thread::get_id() == loop_thread_) return task();
    std::packaged_task<decltype(task())()> packaged(std::move(task));
    auto result = packaged.get_future();
    loop_->Post([&packaged] { packaged(); });
    return result.get();
  }

  JobLoop& loop() { return *loop_; }

 private:
  std::unique_ptr<JobLoop> loop_;
  std::thread thread_;
  std::thread::id loop_thread_;
};

absl::StatusOr<std::unique_ptr<JobManager>> JobManager::Open(
    const JobManagerOptions& options, agent::TlsBinding& binding) {
  auto loop = JobLoop::Create(options, binding);
  if (!loop.ok()) return loop.status();
  auto impl = std::make_unique<Impl>(std::move(*loop));
  absl::Status started = impl->Start();
  if (!started.ok()) return started;
  return std::unique_ptr<JobManager>(new JobManager(std::move(impl)));
}

JobManager::JobManager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JobManager::~JobManager() = default;

absl::StatusOr<agent::v1::Job> JobManager::Create(
    const agent::v1::CreateJobRequest& request) {
  return impl_->OnLoop([&] { return impl_->loop().Create(request); });
}

absl::StatusOr<agent::v1::Job> JobManager::AddFiles(
    const agent::v1::AddFilesRequest& request) {
  return impl_->OnLoop([&] { return impl_->loop().AddFiles(request); });
}

absl::StatusOr<agent::v1::Job> JobManager::Resume(const std::string& job_id) {
  return impl_->OnLoop([&] { return impl_->loop().Resume(job_id); });
}

absl::StatusOr<agent::v1::Job> JobManager::Suspend(const std::string& job_id) {
  return impl_->OnLoop([&] { return impl_->loop().Suspend(job_id); });
}

absl::StatusOr<agent::v1::Job> JobManager::Cancel(const std::string& job_id) {
  return impl_->OnLoop([&] { return impl_->loop().Cancel(job_id); });
}

absl::StatusOr<agent::v1::Job> JobManager::Complete(const std::string& job_id) {
  return impl_->OnLoop([&] { return impl_->loop().Complete(job_id); });
}

absl::StatusOr<agent::v1::Job> JobManager::Get(
    const std::string& job_id) const {
  return impl_->OnLoop([&] { return impl_->loop().Get(job_id); });
}

std::vector<agent::v1::Job> JobManager::List(bool include_ended) const {
  return impl_->OnLoop([&] { return impl_->loop().List(include_ended); });
}

absl::StatusOr<int64_t> JobManager::Watch(
    const std::string& job_id, absl::Duration progress_interval,
    std::function<void(const agent::v1::Job&)> on_change) {
  return impl_->OnLoop([&] {
    return impl_->loop().Watch(job_id, progress_interval, std::move(on_change));
  });
}

void JobManager::Unwatch(int64_t watch_id) {
  impl_->OnLoop([&] { impl_->loop().Unwatch(watch_id); });
}

bool IsEnded(agent::v1::JobState state) {
  return state == agent::v1::ACKNOWLEDGED || state == agent::v1::CANCELLED;
}

}  // namespace certbroker::jobs

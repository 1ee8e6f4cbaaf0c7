// JobWatch: a JobManager watch forwarded to one WatchJob stream.
#include "agents/daemon/job_watch.h"

#include <utility>

#include "agents/daemon/transfer_agent_service.h"

namespace certbroker::daemon {

JobWatch::JobWatch(TransferAgentService& service, jobs::JobManager& jobs,
                   const agent::v1::WatchJobRequest& request)
    : service_(service),
      jobs_(jobs),
      until_(request.until().begin(), request.until().end()) {}

absl::Status JobWatch::Start(const std::string& job_id,
                             absl::Duration interval) {
  auto id = jobs_.Watch(job_id, interval,
                        [this](const agent::v1::Job& job) { OnChange(job); });
  if (!id.ok()) return id.status();
  watch_id_ = *id;
  return absl::OkStatus();
}

void JobWatch::OnChange(const agent::v1::Job& job) {
  absl::MutexLock lock(&mu_);
  if (finished_ || last_seen_) return;
  if (!queue_.empty() && queue_.back().state() == job.state()) {
    queue_.back() = job;  // Newer progress of the same state.
  } else {
    queue_.push_back(job);
  }
  last_seen_ = jobs::IsEnded(job.state()) || until_.count(job.state()) > 0;
  WriteNextLocked();
}

void JobWatch::WriteNextLocked() {
  if (writing_ || finished_ || queue_.empty()) return;
  current_ = std::move(queue_.front());
  queue_.pop_front();
  if (last_seen_ && queue_.empty()) {
    finished_ = true;
    StartWriteAndFinish(&current_, grpc::WriteOptions(), grpc::Status::OK);
    return;
  }
  writing_ = true;
  StartWrite(&current_);
}

void JobWatch::FinishLocked(const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  queue_.clear();
  Finish(status);
}

void JobWatch::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  if (!ok) {
    FinishLocked(
        grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away"));
    return;
  }
  WriteNextLocked();
}

void JobWatch::OnCancel() {
  absl::MutexLock lock(&mu_);
  FinishLocked(grpc::Status::CANCELLED);
}

void JobWatch::Stop() {
  absl::MutexLock lock(&mu_);
  FinishLocked(grpc::Status::OK);
}

void JobWatch::OnDone() {
  service_.Forget(this);
  // After Unwatch the manager neither runs nor will run OnChange.
  jobs_.Unwatch(watch_id_);
  delete this;
}

}  // namespace certbroker::daemon

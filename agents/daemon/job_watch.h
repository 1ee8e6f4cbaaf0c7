// job_watch.h: one WatchJob stream: the reactor that forwards a
// JobManager watch's updates to the client, one write in flight at a time,
// and ends the call once the job ends or reaches a requested state.
#ifndef CERTBROKER_AGENTS_DAEMON_JOB_WATCH_H_
#define CERTBROKER_AGENTS_DAEMON_JOB_WATCH_H_

#include <cstdint>
#include <deque>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agents/jobs/job_manager.h"
#include "certbroker/agent/v1/agent.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::daemon {

class TransferAgentService;

// JobWatch streams one job. Updates that only move progress replace a
// queued update of the same state, so a slow client gets the newest
// progress without losing a state. The stream ends with OK after the
// update that shows the job ended (IsEnded) or in an `until` state, with OK
// on Stop (daemon shutdown), and when the client cancels or goes away.
// OnDone unwatches (after which the manager no longer calls it) and
// deletes the reactor.
class JobWatch final : public grpc::ServerWriteReactor<agent::v1::Job> {
 public:
  JobWatch(TransferAgentService& service, jobs::JobManager& jobs,
           const agent::v1::WatchJobRequest& request);

  // Start asks the manager for the job's updates; on failure (NOT_FOUND)
  // the reactor was not started and the caller deletes it.
  absl::Status Start(const std::string& job_id, absl::Duration interval);

  // Stop ends the call with OK unless it has ended already.
  void Stop();

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // OnChange is the manager's callback.
  void OnChange(const agent::v1::Job& job);
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  TransferAgentService& service_;
  jobs::JobManager& jobs_;
  const std::set<int> until_;
  // watch_id_ is set by Start, before gRPC can call OnDone (the handler
  // has not returned yet), and read by OnDone.
  int64_t watch_id_ = -1;

  absl::Mutex mu_;
  std::deque<agent::v1::Job> queue_ ABSL_GUARDED_BY(mu_);
  agent::v1::Job current_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  // last_seen_ is true once the update that ends the stream is queued.
  bool last_seen_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace certbroker::daemon

#endif  // CERTBROKER_AGENTS_DAEMON_JOB_WATCH_H_

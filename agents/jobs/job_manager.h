// job_manager.h: the transfer agent's persistent jobs: their life
// (certbroker.agent.v1.JobState), their journal in SQLite, and the event
// loop that runs up to max_concurrent_jobs downloads at once. The gRPC
// service of `certbroker-agent daemon` is a thin layer over it.
#ifndef CERTBROKER_AGENTS_JOBS_JOB_MANAGER_H_
#define CERTBROKER_AGENTS_JOBS_JOB_MANAGER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certbroker/agent/tls_binding.h"
#include "certbroker/agent/v1/agent.pb.h"

namespace certbroker::jobs {

// JobManagerOptions configure a JobManager.
struct JobManagerOptions {
  // database_path is the SQLite journal (created when missing).
  std::string database_path;
  // max_concurrent_jobs bounds the jobs transferring at once.
  int max_concurrent_jobs = 4;
  // checkpoint_interval is how often a transferring file's bytes are synced
  // and journalled: a crash loses at most this much of the download.
  absl::Duration checkpoint_interval = absl::Seconds(1);
  // connect_timeout and idle_timeout bound each connection (see
  // transfer::DownloadOptions).
  absl::Duration connect_timeout = absl::Seconds(30);
  absl::Duration idle_timeout = absl::Seconds(60);
  // default_min_retry_delay and default_no_progress_timeout apply to jobs
  // created without their own.
  absl::Duration default_min_retry_delay = absl::Seconds(60);
  absl::Duration default_no_progress_timeout = absl::Hours(24 * 14);
};

// JobManager owns the jobs. Its methods are thread-safe (the gRPC service
// calls them from its threads); the transfers run on its own event-loop
// thread. Errors follow the TransferAgent service's contract (NOT_FOUND,
// INVALID_ARGUMENT, FAILED_PRECONDITION) with messages naming the job, the
// field or the state.
class JobManager {
 public:
  // Open opens (or creates) the journal, recovers its jobs (a job that was
  // connecting or transferring is queued again; each unfinished file
  // resumes from its journalled size) and starts the event loop. `binding`
  // configures the TLS connections and must outlive the manager.
  static absl::StatusOr<std::unique_ptr<JobManager>> Open(
      const JobManagerOptions& options, agent::TlsBinding& binding);
  ~JobManager();  // Stops the loop; transferring jobs are journalled as is.

  absl::StatusOr<agent::v1::Job> Create(
      const agent::v1::CreateJobRequest& request);
  absl::StatusOr<agent::v1::Job> AddFiles(
      const agent::v1::AddFilesRequest& request);
  absl::StatusOr<agent::v1::Job> Resume(const std::string& job_id);
  absl::StatusOr<agent::v1::Job> Suspend(const std::string& job_id);
  absl::StatusOr<agent::v1::Job> Cancel(const std::string& job_id);
  absl::StatusOr<agent::v1::Job> Complete(const std::string& job_id);
  absl::StatusOr<agent::v1::Job> Get(const std::string& job_id) const;
  std::vector<agent::v1::Job> List(bool include_ended) const;

  // Watch calls `on_change` with the job now and after each change (state,
  // error, files; progress at most every `progress_interval`), on a thread
  // of the manager's, never concurrently for one watch. Returns a watch id
  // for Unwatch, or NOT_FOUND. After Unwatch returns, on_change is not
  // running and is never called again.
  absl::StatusOr<int64_t> Watch(
      const std::string& job_id, absl::Duration progress_interval,
      std::function<void(const agent::v1::Job&)> on_change);
  void Unwatch(int64_t watch_id);

  class Impl;

 private:
  explicit JobManager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// IsEnded is true for ACKNOWLEDGED and CANCELLED.
bool IsEnded(agent::v1::JobState state);

}  // namespace certbroker::jobs

#endif  // CERTBROKER_AGENTS_JOBS_JOB_MANAGER_H_

// job_loop.h: the JobManager's event loop and everything that lives on its
// thread: the jobs in memory, their journal, their downloads (up to
// max_concurrent_jobs at once on one io_context), retry timers, the
// periodic checkpoint, and the watchers. Every method but Post and
// RequestShutdown must run on the loop's thread (JobManager sees to it).
#ifndef CERTBROKER_AGENTS_JOBS_JOB_LOOP_H_
#define CERTBROKER_AGENTS_JOBS_JOB_LOOP_H_

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agents/jobs/job_manager.h"
#include "agents/jobs/job_store.h"
#include "agents/transfer/download.h"

namespace certbroker::jobs {

class JobLoop {
 public:
  // Create opens the journal and the connection pool; Run starts the loop.
  static absl::StatusOr<std::unique_ptr<JobLoop>> Create(
      const JobManagerOptions& options, agent::TlsBinding& binding);
  ~JobLoop();

  // Run runs the loop until a shutdown requested by RequestShutdown has
  // finished (every download stopped and journalled).
  void Run();
  // Post queues `task` on the loop. Any thread.
  void Post(std::function<void()> task);
  // RequestShutdown stops every download (journalling its progress; the
  // job is queued again at the next start) and ends Run. Any thread.
  void RequestShutdown();

  // Recover loads the journal: jobs that were connecting or transferring
  // are queued again, retry timers are re-armed, and queued jobs start.
  absl::Status Recover();

  // The operations of JobManager (see job_manager.h).
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
  absl::StatusOr<int64_t> Watch(
      const std::string& job_id, absl::Duration progress_interval,
      std::function<void(const agent::v1::Job&)> on_change);
  void Unwatch(int64_t watch_id);

 private:
  // Entry is one job and its running state.
  struct Entry {
    agent::v1::Job job;
    // download is the file transfer in progress (running_file's), also
    // while it finishes after being stopped.
    std::shared_ptr<transfer::Download> download;
    int running_file = -1;
    // synced is the running file's journalled byte count.
    uint64_t synced = 0;
    // stopping: the download was cancelled by Suspend, Cancel or the
    // shutdown; its end changes nothing.
    bool stopping = false;
    std::unique_ptr<boost::asio::steady_timer> retry_timer;
  };

  // Watcher is one Watch.
  struct Watcher {
    std::string job_id;
    absl::Duration progress_interval;
    std::function<void(const agent::v1::Job&)> on_change;
    absl::Time last_sent = absl::InfinitePast();
  };

  JobLoop(const JobManagerOptions& options, std::unique_ptr<JobStore> store,
          std::unique_ptr<transfer::ConnectionPool> pool,
          std::unique_ptr<boost::asio::io_context> io);

  absl::StatusOr<Entry*> Find(const std::string& job_id);
  absl::StatusOr<const Entry*> Find(const std::string& job_id) const;
  absl::Status CheckNewFiles(
      const google::protobuf::RepeatedPtrField<agent::v1::FileSpec>& files,
      const std::string& field, int existing_files) const;

  // SetState changes the job's state and modify time, journals it and
  // tells its watchers. A journal failure is returned (and logged).
  absl::Status SetState(Entry& entry, agent::v1::JobState state);
  // Journal writes the entries' jobs (with the journalled byte counts).
  absl::Status Journal(const std::vector<Entry*>& entries);
  // Notify tells the job's watchers (progress-only changes at most every
  // watcher's interval).
  void Notify(const Entry& entry, bool progress_only);

  // Schedule starts queued jobs while slots are free (highest priority,
  // then oldest).
  void Schedule();
  // StartNextFile starts the job's first file not yet transferred, or
  // marks the job TRANSFERRED when there is none.
  void StartNextFile(Entry& entry);
  void OnPhase(const std::string& job_id, transfer::DownloadPhase phase);
  void OnProgress(const std::string& job_id, int file, uint64_t bytes,
                  int64_t total);
  void OnNotice(const std::string& job_id, int file, const std::string& text);
  void OnDone(const std::string& job_id, int file,
              transfer::FetchResult result);
  void OnFailure(Entry& entry, int file, const transfer::TransferError& error,
                 bool progressed);
  // Stop stops the job's download (journalling its progress first) and
  // its retry timer.
  void Stop(Entry& entry);
  void ArmRetry(Entry& entry);
  void Checkpoint();
  void ArmCheckpoint();
  void RemovePartFiles(const Entry& entry);
  void MaybeFinishShutdown();

  JobManagerOptions options_;
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<transfer::ConnectionPool> pool_;
  std::optional<
      boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      work_;
  boost::asio::steady_timer checkpoint_timer_;
  std::map<std::string, Entry> jobs_;
  std::map<int64_t, Watcher> watchers_;
  int64_t next_watch_id_ = 1;
  int running_ = 0;
  bool shutting_down_ = false;
};

}  // namespace certbroker::jobs

#endif  // CERTBROKER_AGENTS_JOBS_JOB_LOOP_H_

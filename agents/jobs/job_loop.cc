// JobLoop's life (create, run, recover, shut down), the user's operations
// on jobs, the journal and the watchers. The transfers themselves are in
// job_transfers.cc.
#include "agents/jobs/job_loop.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agents/jobs/job_rules.h"
#include "agents/transfer/part_file.h"
#include "broker/common/log.h"
#include "broker/common/proto_duration.h"

namespace certbroker::jobs {

namespace asio = boost::asio;
using agent::v1::Job;
using agent::v1::JobState;

absl::StatusOr<std::unique_ptr<JobLoop>> JobLoop::Create(
    const JobManagerOptions& options, agent::TlsBinding& binding) {
  if (options.max_concurrent_jobs < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_concurrent_jobs must be at least 1, not ",
                     options.max_concurrent_jobs));
  }
  if (options.checkpoint_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("checkpoint_interval must be positive");
  }
  auto store = JobStore::Open(options.database_path);
  if (!store.ok()) return store.status();
  auto io = std::make_unique<asio::io_context>(1);
  auto pool = transfer::ConnectionPool::Create(*io, binding);
  if (!pool.ok()) return pool.status();
  return std::unique_ptr<JobLoop>(new JobLoop(
      options, binding, std::move(*store), std::move(*pool), std::move(io)));
}

JobLoop::JobLoop(const JobManagerOptions& options, agent::TlsBinding& binding,
                 std::unique_ptr<JobStore> store,
                 std::unique_ptr<transfer::ConnectionPool> pool,
                 std::unique_ptr<asio::io_context> io)
    : options_(options),
      binding_(binding),
      store_(std::move(store)),
      io_(std::move(io)),
      pool_(std::move(pool)),
      work_(asio::make_work_guard(*io_)),
      checkpoint_timer_(*io_) {}

JobLoop::~JobLoop() {
  // The loop's thread has ended. Run what it left queued (the release of
  // finished downloads, cancelled timers' handlers), then drop the timers
  // and the pool before the io_context that serves them.
  io_->restart();
  io_->poll();
  jobs_.clear();
  pool_.reset();
}

void JobLoop::Run() {
  ArmCheckpoint();
  io_->run();
}

void JobLoop::Post(std::function<void()> task) {
  asio::post(*io_, std::move(task));
}

void JobLoop::RequestShutdown() {
  Post([this] {
    if (shutting_down_) return;
    shutting_down_ = true;
    checkpoint_timer_.cancel();
    std::vector<Entry*> stopped;
    for (auto& [id, entry] : jobs_) {
      if (entry.download != nullptr || entry.retry_timer != nullptr) {
        Stop(entry);
        stopped.push_back(&entry);
      }
    }
    Journal(stopped).IgnoreError();  // Journal logs its failures.
    MaybeFinishShutdown();
  });
}

void JobLoop::MaybeFinishShutdown() {
  if (!shutting_down_ || running_ > 0) return;
  for (auto& [id, entry] : jobs_) entry.retry_timer.reset();
  pool_->Clear();
  work_.reset();
  io_->stop();
}

absl::Status JobLoop::Recover() {
  auto loaded = store_->LoadAll();
  if (!loaded.ok()) return loaded.status();
  std::vector<Entry*> requeued;
  for (Job& job : *loaded) {
    Entry& entry = jobs_[job.id()];
    entry.job = std::move(job);
    JobState state = entry.job.state();
    if (state == agent::v1::CONNECTING || state == agent::v1::TRANSFERRING) {
      entry.job.set_state(agent::v1::QUEUED);
      requeued.push_back(&entry);
    } else if (state == agent::v1::TRANSIENT_ERROR) {
      ArmRetry(entry);
    }
  }
  if (!requeued.empty()) {
    LogInfo(absl::StrCat("job journal: ", requeued.size(),
                         " job(s) were transferring when the agent stopped; "
                         "they resume from their journalled progress"));
  }
  absl::Status journalled = Journal(requeued);
  if (!journalled.ok()) return journalled;
  Schedule();
  return absl::OkStatus();
}

absl::StatusOr<JobLoop::Entry*> JobLoop::Find(const std::string& job_id) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) {
    return absl::NotFoundError(absl::StrCat("no job \"", job_id, "\""));
  }
  return &it->second;
}

absl::StatusOr<const JobLoop::Entry*> JobLoop::Find(
    const std::string& job_id) const {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) {
    return absl::NotFoundError(absl::StrCat("no job \"", job_id, "\""));
  }
  return &it->second;
}

absl::Status JobLoop::CheckNewFiles(
    const google::protobuf::RepeatedPtrField<agent::v1::FileSpec>& files,
    const std::string& field, int existing_files) const {
  if (existing_files + files.size() > kMaxFilesPerJob) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a job holds at most ", kMaxFilesPerJob, " files; this one would hold ",
        existing_files + files.size()));
  }
  for (int i = 0; i < files.size(); ++i) {
    std::string name = absl::StrCat(field, "[", i, "]");
    absl::Status valid = ValidateFileSpec(files[i], name);
    if (!valid.ok()) return valid;
    const std::string& path = files[i].local_path();
    for (int j = 0; j < i; ++j) {
      if (files[j].local_path() == path) {
        return absl::InvalidArgumentError(absl::StrCat(
            name, ".local_path \"", path, "\" is also ", field, "[", j, "]'s"));
      }
    }
    for (const auto& [id, entry] : jobs_) {
      if (IsEnded(entry.job.state())) continue;
      for (const agent::v1::JobFile& file : entry.job.files()) {
        if (file.spec().local_path() == path) {
          return absl::FailedPreconditionError(
              absl::StrCat(name, ".local_path \"", path,
                           "\" is already a destination of job ", id));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Job> JobLoop::Create(
    const agent::v1::CreateJobRequest& request) {
  if (request.display_name().size() > kMaxDisplayName) {
    return absl::InvalidArgumentError(absl::StrCat(
        "display_name is longer than ", kMaxDisplayName, " bytes"));
  }
  if (!agent::v1::Priority_IsValid(request.priority())) {
    return absl::InvalidArgumentError(
        absl::StrCat("priority ", request.priority(), " is not a Priority"));
  }
  absl::Status valid = ValidateOptions(request.options());
  if (valid.ok()) valid = CheckNewFiles(request.files(), "files", 0);
  if (!valid.ok()) return valid;

  Job job;
  job.set_id(NewJobId());
  job.set_display_name(request.display_name());
  job.set_priority(request.priority() == agent::v1::PRIORITY_UNSPECIFIED
                       ? agent::v1::NORMAL
                       : request.priority());
  job.set_state(agent::v1::SUSPENDED);
  for (const agent::v1::FileSpec& spec : request.files()) {
    agent::v1::JobFile* file = job.add_files();
    *file->mutable_spec() = spec;
    file->set_bytes_total(-1);
  }
  *job.mutable_options() = request.options();
  if (!job.options().has_min_retry_delay()) {
    SetWholeSeconds(options_.default_min_retry_delay,
                    *job.mutable_options()->mutable_min_retry_delay());
  }
  if (!job.options().has_no_progress_timeout()) {
    SetWholeSeconds(options_.default_no_progress_timeout,
                    *job.mutable_options()->mutable_no_progress_timeout());
  }
  absl::Time now = absl::Now();
  SetTimestamp(now, *job.mutable_create_time());
  SetTimestamp(now, *job.mutable_modify_time());
  absl::Status journalled = store_->Put(job);
  if (!journalled.ok()) return journalled;
  Entry& entry = jobs_[job.id()];
  entry.job = std::move(job);
  LogInfo(absl::StrCat("job ", entry.job.id(), " created with ",
                       entry.job.files_size(), " file(s)"));
  return entry.job;
}

absl::StatusOr<Job> JobLoop::AddFiles(
    const agent::v1::AddFilesRequest& request) {
  auto found = Find(request.job_id());
  if (!found.ok()) return found.status();
  Entry& entry = **found;
  if (IsEnded(entry.job.state())) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", request.job_id(), " is ",
                     StateName(entry.job.state()), "; files cannot be added"));
  }
  if (request.files().empty()) {
    return absl::InvalidArgumentError("files: at least one file is required");
  }
  absl::Status valid =
      CheckNewFiles(request.files(), "files", entry.job.files_size());
  if (!valid.ok()) return valid;
  for (const agent::v1::FileSpec& spec : request.files()) {
    agent::v1::JobFile* file = entry.job.add_files();
    *file->mutable_spec() = spec;
    file->set_bytes_total(-1);
  }
  absl::Status journalled = entry.job.state() == agent::v1::TRANSFERRED
                                ? SetState(entry, agent::v1::QUEUED)
                                : SetState(entry, entry.job.state());
  if (!journalled.ok()) return journalled;
  Schedule();
  return entry.job;
}

absl::StatusOr<Job> JobLoop::Resume(const std::string& job_id) {
  auto found = Find(job_id);
  if (!found.ok()) return found.status();
  Entry& entry = **found;
  JobState state = entry.job.state();
  if (IsActive(state)) return entry.job;
  if (state != agent::v1::SUSPENDED && state != agent::v1::ERROR &&
      state != agent::v1::TRANSIENT_ERROR) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", job_id, " is ", StateName(state), " and cannot be resumed"));
  }
  if (entry.job.files().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id, " has no files: add some first"));
  }
  agent::v1::ErrorContext refused = entry.job.error().context();
  if (refused == agent::v1::SERVER_CERTIFICATE ||
      refused == agent::v1::CLIENT_CERTIFICATE) {
    // The user may have changed the policy since the broker said no: ask
    // again rather than reuse the refusal for its cache_ttl.
    binding_.client().ForgetCachedAnswers();
  }
  entry.retry_timer.reset();
  entry.job.clear_next_retry_time();
  entry.job.set_error_count(0);
  SetTimestamp(absl::Now(), *entry.job.mutable_last_progress_time());
  absl::Status journalled = SetState(entry, agent::v1::QUEUED);
  if (!journalled.ok()) return journalled;
  Schedule();
  return entry.job;
}

absl::StatusOr<Job> JobLoop::Suspend(const std::string& job_id) {
  auto found = Find(job_id);
  if (!found.ok()) return found.status();
  Entry& entry = **found;
  JobState state = entry.job.state();
  if (state == agent::v1::SUSPENDED) return entry.job;
  if (state == agent::v1::TRANSFERRED || IsEnded(state)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", job_id, " is ", StateName(state), " and cannot be suspended"));
  }
  Stop(entry);
  entry.job.clear_next_retry_time();
  absl::Status journalled = SetState(entry, agent::v1::SUSPENDED);
  if (!journalled.ok()) return journalled;
  Schedule();
  return entry.job;
}

absl::StatusOr<Job> JobLoop::Cancel(const std::string& job_id) {
  auto found = Find(job_id);
  if (!found.ok()) return found.status();
  Entry& entry = **found;
  if (IsEnded(entry.job.state())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", job_id, " is already ", StateName(entry.job.state())));
  }
  Stop(entry);
  entry.job.clear_next_retry_time();
  // A download that is still finishing removes its files when it ends.
  if (entry.download == nullptr) RemovePartFiles(entry);
  absl::Status journalled = SetState(entry, agent::v1::CANCELLED);
  if (!journalled.ok()) return journalled;
  Schedule();
  return entry.job;
}

absl::StatusOr<Job> JobLoop::Complete(const std::string& job_id) {
  auto found = Find(job_id);
  if (!found.ok()) return found.status();
  Entry& entry = **found;
  if (entry.job.state() != agent::v1::TRANSFERRED) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id, " is ", StateName(entry.job.state()),
                     "; only a TRANSFERRED job can be completed"));
  }
  for (int i = 0; i < entry.job.files_size(); ++i) {
    agent::v1::JobFile& file = *entry.job.mutable_files(i);
    if (file.in_place()) continue;
    const std::string& path = file.spec().local_path();
    absl::Status committed = transfer::CommitPartFile(path);
    if (absl::IsNotFound(committed) &&
        transfer::PartFile::Sha256OfFile(path).value_or("") == file.sha256()) {
      // Renamed before a crash kept the journal from saying so.
      committed = absl::OkStatus();
    }
    if (committed.ok()) {
      file.set_in_place(true);
      // Journal logs its failures; the rename itself is done.
      Journal({&entry}).IgnoreError();
    } else {
      transfer::TransferError error;
      error.context = transfer::ErrorContext::kLocalFile;
      error.message = absl::StrCat("cannot put file ", i,
                                   " in place: ", committed.message());
      *entry.job.mutable_error() = ToJobError(error, i, absl::Now());
      SetState(entry, agent::v1::TRANSFERRED).IgnoreError();
      return absl::FailedPreconditionError(
          absl::StrCat("job ", job_id, ": LOCAL_FILE: ", error.message));
    }
  }
  entry.job.clear_error();  // A failed earlier CompleteJob's.
  absl::Status journalled = SetState(entry, agent::v1::ACKNOWLEDGED);
  if (!journalled.ok()) return journalled;
  LogInfo(absl::StrCat("job ", job_id, " completed"));
  return entry.job;
}

absl::StatusOr<Job> JobLoop::Get(const std::string& job_id) const {
  auto found = Find(job_id);
  if (!found.ok()) return found.status();
  return (*found)->job;
}

std::vector<Job> JobLoop::List(bool include_ended) const {
  std::vector<Job> jobs;
  for (const auto& [id, entry] : jobs_) {
    if (include_ended || !IsEnded(entry.job.state())) {
      jobs.push_back(entry.job);
    }
  }
  std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
    return FromTimestamp(a.create_time()) > FromTimestamp(b.create_time());
  });
  return jobs;
}

absl::StatusOr<int64_t> JobLoop::Watch(
    const std::string& job_id, absl::Duration progress_interval,
    std::function<void(const Job&)> on_change) {
  auto found = Find(job_id);
  if (!found.ok()) return found.status();
  int64_t id = next_watch_id_++;
  Watcher& watcher = watchers_[id];
  watcher.job_id = job_id;
  watcher.progress_interval = progress_interval;
  watcher.on_change = std::move(on_change);
  watcher.last_sent = absl::Now();
  watcher.on_change((*found)->job);
  return id;
}

void JobLoop::Unwatch(int64_t watch_id) { watchers_.erase(watch_id); }

void JobLoop::Notify(const Entry& entry, bool progress_only) {
  absl::Time now = absl::Now();
  std::vector<int64_t> ids;
  for (const auto& [id, watcher] : watchers_) {
    if (watcher.job_id == entry.job.id()) ids.push_back(id);
  }
  for (int64_t id : ids) {
    auto it = watchers_.find(id);  // An earlier call may have unwatched it.
    if (it == watchers_.end()) continue;
    Watcher& watcher = it->second;
    if (progress_only && now - watcher.last_sent < watcher.progress_interval) {
      continue;
    }
    watcher.last_sent = now;
    auto on_change = watcher.on_change;  // May unwatch itself.
    on_change(entry.job);
  }
}

absl::Status JobLoop::SetState(Entry& entry, JobState state) {
  entry.job.set_state(state);
  SetTimestamp(absl::Now(), *entry.job.mutable_modify_time());
  absl::Status journalled = Journal({&entry});
  Notify(entry, false);
  return journalled;
}

absl::Status JobLoop::Journal(const std::vector<Entry*>& entries) {
  if (entries.empty()) return absl::OkStatus();
  std::vector<Job> copies;
  copies.reserve(entries.size());
  for (const Entry* entry : entries) {
    copies.push_back(entry->job);
    if (entry->running_file >= 0) {
      copies.back()
          .mutable_files(entry->running_file)
          ->set_bytes_transferred(entry->synced);
    }
  }
  std::vector<const Job*> pointers;
  for (const Job& copy : copies) pointers.push_back(&copy);
  absl::Status written = store_->Put(pointers);
  if (!written.ok()) {
    LogError(absl::StrCat("job journal: ", written.message()));
  }
  return written;
}

}  // namespace certbroker::jobs

// JobLoop's transfers: scheduling queued jobs into the free slots, one
// Download per running job (its files one after another), progress and
// the periodic checkpoint, and what a download's end does to its job
// (next file, TRANSFERRED, TRANSIENT_ERROR with a retry timer, or ERROR).

#include <boost/asio/post.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agents/jobs/job_loop.h"
#include "agents/jobs/job_rules.h"
#include "agents/transfer/part_file.h"
#include "broker/common/log.h"
#include "broker/common/proto_duration.h"

namespace certbroker::jobs {
namespace {

namespace asio = boost::asio;
using agent::v1::Job;

// Rank orders queued jobs: lower first.
int Rank(agent::v1::Priority priority) {
  return priority == agent::v1::PRIORITY_UNSPECIFIED ? agent::v1::NORMAL
                                                     : priority;
}

}  // namespace

void JobLoop::Schedule() {
  while (!shutting_down_ && running_ < options_.max_concurrent_jobs) {
    Entry* best = nullptr;
    for (auto& [id, entry] : jobs_) {
      if (entry.job.state() != agent::v1::QUEUED || entry.download != nullptr) {
        continue;
      }
      if (best == nullptr ||
          Rank(entry.job.priority()) < Rank(best->job.priority()) ||
          (Rank(entry.job.priority()) == Rank(best->job.priority()) &&
           FromTimestamp(entry.job.create_time()) <
               FromTimestamp(best->job.create_time()))) {
        best = &entry;
      }
    }
    if (best == nullptr) return;
    StartNextFile(*best);
  }
}

void JobLoop::StartNextFile(Entry& entry) {
  int index = -1;
  for (int i = 0; i < entry.job.files_size(); ++i) {
    if (!entry.job.files(i).transferred()) {
      index = i;
      break;
    }
  }
  if (index < 0) {
    entry.job.clear_error();
    entry.job.set_error_count(0);
    SetTimestamp(absl::Now(), *entry.job.mutable_transfer_completion_time());
    SetState(entry, agent::v1::TRANSFERRED).IgnoreError();
    LogInfo(absl::StrCat("job ", entry.job.id(), " transferred ",
                         entry.job.files_size(), " file(s)"));
    return;
  }
  const agent::v1::JobFile& file = entry.job.files(index);
  const agent::v1::JobOptions& job_options = entry.job.options();
  transfer::DownloadOptions options;
  options.url = file.spec().url();
  options.output_path = file.spec().local_path();
  if (!file.spec().sha256().empty()) options.sha256_hex = file.spec().sha256();
  if (file.spec().has_expected_size()) {
    options.expected_size = file.spec().expected_size();
  }
  options.compute_sha256 = true;
  options.commit = false;
  options.truncate_to = file.bytes_transferred();
  options.connect_timeout = options_.connect_timeout;
  options.idle_timeout = options_.idle_timeout;
  options.resolve.insert(job_options.resolve().begin(),
                         job_options.resolve().end());
  for (int reason : job_options.ignore_local_errors()) {
    options.ignore_local_errors.push_back(static_cast<v1::Reason>(reason));
  }

  std::string id = entry.job.id();
  transfer::DownloadCallbacks callbacks;
  callbacks.on_phase = [this, id](transfer::DownloadPhase phase) {
    OnPhase(id, phase);
  };
  callbacks.on_progress = [this, id, index](uint64_t bytes, int64_t total) {
    OnProgress(id, index, bytes, total);
  };
  callbacks.on_notice = [this, id, index](const std::string& text) {
    OnNotice(id, index, text);
  };
  callbacks.on_done = [this, id, index](transfer::FetchResult result) {
    OnDone(id, index, std::move(result));
  };
  entry.running_file = index;
  entry.synced = file.bytes_transferred();
  entry.stopping = false;
  ++running_;
  entry.download = transfer::Download::Start(*pool_, std::move(options),
                                             std::move(callbacks));
  if (entry.job.state() != agent::v1::CONNECTING) {
    SetState(entry, agent::v1::CONNECTING).IgnoreError();
  }
}

void JobLoop::OnPhase(const std::string& job_id,
                      transfer::DownloadPhase phase) {
  Entry& entry = jobs_.at(job_id);
  if (entry.stopping) return;
  agent::v1::JobState state = phase == transfer::DownloadPhase::kTransferring
                                  ? agent::v1::TRANSFERRING
                                  : agent::v1::CONNECTING;
  if (entry.job.state() == state) return;
  // Not journalled: recovery treats both states alike.
  entry.job.set_state(state);
  SetTimestamp(absl::Now(), *entry.job.mutable_modify_time());
  Notify(entry, false);
}

void JobLoop::OnProgress(const std::string& job_id, int file, uint64_t bytes,
                         int64_t total) {
  Entry& entry = jobs_.at(job_id);
  if (entry.stopping) return;
  agent::v1::JobFile& progress = *entry.job.mutable_files(file);
  if (bytes > progress.bytes_transferred()) {
    SetTimestamp(absl::Now(), *entry.job.mutable_last_progress_time());
  }
  progress.set_bytes_transferred(bytes);
  progress.set_bytes_total(total);
  Notify(entry, true);
}

void JobLoop::OnNotice(const std::string& job_id, int file,
                       const std::string& text) {
  Entry& entry = jobs_.at(job_id);
  if (entry.stopping) return;
  entry.job.mutable_files(file)->set_last_notice(text);
  Notify(entry, false);
}

void JobLoop::OnDone(const std::string& job_id, int file,
                     transfer::FetchResult result) {
  Entry& entry = jobs_.at(job_id);
  // The Download is destroyed later, outside its own callback.
  asio::post(*io_, [download = std::move(entry.download)] {});
  entry.running_file = -1;
  --running_;
  agent::v1::JobFile& done = *entry.job.mutable_files(file);
  if (entry.stopping) {
    entry.stopping = false;
    if (!result.error.has_value()) {
      // It finished before the stop took effect: keep the verified file.
      done.set_transferred(true);
      done.set_sha256(result.sha256_hex);
      done.set_bytes_transferred(result.size);
      done.set_bytes_total(static_cast<int64_t>(result.size));
      Journal({&entry}).IgnoreError();  // Journal logs its failures.
    }
    if (entry.job.state() == agent::v1::CANCELLED) RemovePartFiles(entry);
    MaybeFinishShutdown();
    Schedule();
    return;
  }
  absl::Time now = absl::Now();
  if (!result.restarted.empty()) {
    done.set_restarts(done.restarts() + 1);
    done.set_last_notice(
        absl::StrCat("restarted from zero: ", result.restarted));
  }
  done.set_final_url(result.final_url);
  if (!result.error.has_value()) {
    done.set_transferred(true);
    done.set_sha256(result.sha256_hex);
    done.set_bytes_transferred(result.size);
    done.set_bytes_total(static_cast<int64_t>(result.size));
    entry.job.set_error_count(0);
    SetTimestamp(now, *entry.job.mutable_last_progress_time());
    StartNextFile(entry);  // Journals the file with the next state.
    Schedule();
    return;
  }
  uint64_t synced = transfer::PartFile::SyncExisting(done.spec().local_path());
  done.set_bytes_transferred(synced);
  entry.synced = synced;
  OnFailure(entry, file, *result.error, result.received > 0);
  Schedule();
}

void JobLoop::OnFailure(Entry& entry, int file,
                        const transfer::TransferError& error, bool progressed) {
  absl::Time now = absl::Now();
  if (progressed) {
    SetTimestamp(now, *entry.job.mutable_last_progress_time());
    entry.job.set_error_count(0);
  }
  agent::v1::JobError job_error = ToJobError(error, file, now);
  absl::Duration no_progress_timeout =
      ToDuration(entry.job.options().no_progress_timeout());
  absl::Time last_progress = FromTimestamp(entry.job.last_progress_time());
  if (job_error.transient() && now - last_progress >= no_progress_timeout) {
    job_error.set_transient(false);
    absl::StrAppend(job_error.mutable_message(),
                    " (giving up: no progress for ",
                    absl::FormatDuration(now - last_progress),
                    ", the no-progress timeout is ",
                    absl::FormatDuration(no_progress_timeout), ")");
  }
  *entry.job.mutable_error() = job_error;
  entry.job.set_error_count(entry.job.error_count() + 1);
  LogWarning(absl::StrCat("job ", entry.job.id(), " file ", file, ": ",
                          error.ToString(),
                          job_error.transient() ? " (will retry)" : ""));
  if (!job_error.transient()) {
    SetState(entry, agent::v1::ERROR).IgnoreError();
    return;
  }
  SetTimestamp(now + ToDuration(entry.job.options().min_retry_delay()),
               *entry.job.mutable_next_retry_time());
  SetState(entry, agent::v1::TRANSIENT_ERROR).IgnoreError();
  ArmRetry(entry);
}

void JobLoop::ArmRetry(Entry& entry) {
  entry.retry_timer = std::make_unique<asio::steady_timer>(*io_);
  absl::Duration wait =
      FromTimestamp(entry.job.next_retry_time()) - absl::Now();
  entry.retry_timer->expires_after(
      absl::ToChronoNanoseconds(std::max(wait, absl::ZeroDuration())));
  std::string id = entry.job.id();
  entry.retry_timer->async_wait([this, id](boost::system::error_code ec) {
    if (ec) return;  // Cancelled: the timer was replaced or dropped.
    Entry& retried = jobs_.at(id);
    if (retried.job.state() != agent::v1::TRANSIENT_ERROR) return;
    retried.job.clear_next_retry_time();
    SetState(retried, agent::v1::QUEUED).IgnoreError();
    Schedule();
  });
}

void JobLoop::Stop(Entry& entry) {
  entry.retry_timer.reset();
  if (entry.download == nullptr || entry.stopping) return;
  auto synced = entry.download->Checkpoint();
  if (synced.ok()) {
    entry.synced = *synced;
    entry.job.mutable_files(entry.running_file)->set_bytes_transferred(*synced);
  }
  entry.stopping = true;
  entry.download->Cancel();
}

void JobLoop::ArmCheckpoint() {
  checkpoint_timer_.expires_after(
      absl::ToChronoNanoseconds(options_.checkpoint_interval));
  checkpoint_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || shutting_down_) return;
    Checkpoint();
    ArmCheckpoint();
  });
}

void JobLoop::Checkpoint() {
  std::vector<Entry*> changed;
  for (auto& [id, entry] : jobs_) {
    if (entry.download == nullptr || entry.stopping) continue;
    auto synced = entry.download->Checkpoint();
    if (!synced.ok()) {
      LogWarning(absl::StrCat("job ", id,
                              ": checkpoint: ", synced.status().message()));
      continue;
    }
    if (*synced == entry.synced) continue;
    entry.synced = *synced;
    changed.push_back(&entry);
  }
  Journal(changed).IgnoreError();  // Journal logs its failures.
}

void JobLoop::RemovePartFiles(const Entry& entry) {
  for (const agent::v1::JobFile& file : entry.job.files()) {
    absl::Status removed = transfer::RemovePartFile(file.spec().local_path());
    if (!removed.ok()) {
      LogWarning(absl::StrCat("job ", entry.job.id(), ": ", removed.message()));
    }
  }
}

}  // namespace certbroker::jobs

// The batching audit writer.
#include "broker/audit/audit_writer.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/common/log.h"

namespace certbroker::audit {

AuditWriter::AuditWriter(store::AuditLog& log, AuditWriterOptions options)
    : log_(log), options_(options) {
  thread_ = std::thread([this] { Loop(); });
}

AuditWriter::~AuditWriter() { Stop(); }

bool AuditWriter::Submit(store::AuditRecord record) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || queue_.size() >= options_.queue_capacity) {
    size_t refused = ++refused_;
    // Logged on the first refusal and then every 1000th: visible, not a flood.
    if (refused == 1 || refused % 1000 == 0) {
      LogError(absl::StrCat(
          "audit queue full (", options_.queue_capacity,
          " records): refusing decisions until the audit log catches up; ",
          refused, " refused so far"));
    }
    return false;
  }
  queue_.push_back(std::move(record));
  return true;
}

absl::Status AuditWriter::AppendNow(store::AuditRecord record) {
  std::vector<store::AuditRecord> one;
  one.push_back(std::move(record));
  absl::Status appended = log_.AppendAudit(one);
  if (!appended.ok()) {
    ++append_failures_;
    return appended;
  }
  ++written_;
  Deliver(one);
  return absl::OkStatus();
}

int64_t AuditWriter::Subscribe(Delivery deliver) {
  absl::MutexLock lock(&subscribers_mu_);
  int64_t id = next_subscriber_++;
  subscribers_[id] = std::move(deliver);
  return id;
}

void AuditWriter::Unsubscribe(int64_t id) {
  absl::MutexLock lock(&subscribers_mu_);
  subscribers_.erase(id);
}

void AuditWriter::Deliver(const std::vector<store::AuditRecord>& records) {
  absl::MutexLock lock(&subscribers_mu_);
  for (auto& [id, deliver] : subscribers_) deliver(records);
}

void AuditWriter::Stop(absl::Duration deadline) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      stopping_ = true;
      stop_deadline_ = absl::Now() + deadline;
    }
  }
  if (thread_.joinable()) thread_.join();
}

void AuditWriter::Prune(absl::Time now) {
  auto pruned = log_.PruneAudit(now - options_.retention, options_.max_records);
  if (!pruned.ok()) {
    LogError(
        absl::StrCat("audit retention failed: ", pruned.status().message()));
  } else if (*pruned > 0) {
    LogInfo(absl::StrCat("audit retention pruned ", *pruned, " records"));
  }
}

void AuditWriter::Loop() {
  absl::Time next_prune = absl::Now() + options_.prune_interval;
  absl::Duration backoff = absl::Milliseconds(100);
  while (true) {
    std::vector<store::AuditRecord> batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || queue_.size() >= options_.batch_size;
      };
      mu_.AwaitWithTimeout(absl::Condition(&ready), options_.flush_interval);
      if (queue_.empty()) {
        if (stopping_) return;
      } else {
        size_t take = std::min(queue_.size(), options_.batch_size);
        batch.assign(
            std::make_move_iterator(queue_.begin()),
            std::make_move_iterator(queue_.begin() + static_cast<long>(take)));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(take));
      }
    }
    if (!batch.empty()) {
      absl::Status appended = log_.AppendAudit(batch);
      if (appended.ok()) {
        written_ += batch.size();
        Deliver(batch);
        backoff = absl::Milliseconds(100);
      } else {
        ++append_failures_;
        LogError(absl::StrCat(
            "audit append of ", batch.size(),
            " records failed, keeping them to retry: ", appended.message()));
        {
          absl::MutexLock lock(&mu_);
          if (stopping_ && absl::Now() > stop_deadline_) {
            LogError(absl::StrCat(
                "audit writer stopping: ", batch.size() + queue_.size(),
                " records could not be written"));
            return;
          }
          queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()),
                        std::make_move_iterator(batch.end()));
        }
        absl::SleepFor(backoff);
        backoff = std::min(backoff * 2, absl::Seconds(5));
      }
    }
    absl::Time now = absl::Now();
    if (now >= next_prune) {
      Prune(now);
      next_prune = now + options_.prune_interval;
    }
  }
}

}  // namespace certbroker::audit

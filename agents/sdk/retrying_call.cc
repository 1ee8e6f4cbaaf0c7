// The BrokerClient's retry machine: attempts, deadlines, full-jitter
// backoff on a timer thread, and the "broker unavailable" status.
#include "agents/sdk/retrying_call.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace certbroker::agent {
namespace {

// Call is one call's state across its attempts.
struct Call : std::enable_shared_from_this<Call> {
  RetryOptions options;
  TaskRunner* timers;
  CallTracker* tracker;
  StartAttempt start;
  std::function<void(absl::Status)> done;
  AttemptObserver observer;
  int attempts = 0;
  std::shared_ptr<grpc::ClientContext> context;

  void Attempt() {
    context = std::make_shared<grpc::ClientContext>();
    context->set_deadline(absl::ToChronoTime(absl::Now() + options.deadline));
    if (!tracker->AddContext(context)) {
      Finish(absl::CancelledError("BrokerClient destroyed"));
      return;
    }
    ++attempts;
    if (observer) observer(attempts);
    std::shared_ptr<Call> self = shared_from_this();
    start(context.get(),
          [self](grpc::Status status) { self->AttemptDone(status); });
  }

  void AttemptDone(const grpc::Status& status) {
    tracker->RemoveContext(context);
    // Release the attempt's context now, before the answer is delivered:
    // once it is, the client may be destroyed.
    context.reset();
    if (status.ok()) {
      Finish(absl::OkStatus());
      return;
    }
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      // Not retried: a broker too slow to answer would only get more load.
      Finish(BrokerUnavailable(status, attempts));
      return;
    }
    if (!IsRetryableCode(status.error_code())) {
      Finish(FromGrpcStatus(status));
      return;
    }
    if (attempts >= options.max_attempts) {
      Finish(BrokerUnavailable(status, attempts));
      return;
    }
    std::shared_ptr<Call> self = shared_from_this();
    absl::Time when = absl::Now() + FullJitterBackoff(options, attempts);
    if (!tracker->ScheduleRetry(*timers, when, [self] { self->Attempt(); })) {
      Finish(absl::CancelledError("BrokerClient destroyed"));
    }
  }

  void Finish(absl::Status status) {
    std::function<void(absl::Status)> callback = std::move(done);
    done = nullptr;
    start = nullptr;
    callback(std::move(status));
  }
};

}  // namespace

absl::Status FromGrpcStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

bool IsRetryableCode(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE;
}

absl::Status BrokerUnavailable(const grpc::Status& last, int attempts) {
  return absl::UnavailableError(
      absl::StrCat(kBrokerUnavailablePrefix,
                   absl::StatusCodeToString(
                       static_cast<absl::StatusCode>(last.error_code())),
                   ": ", last.error_message(), " (", attempts,
                   attempts == 1 ? " attempt)" : " attempts)"));
}

absl::Duration BackoffCeiling(const RetryOptions& options, int retry) {
  absl::Duration ceiling = options.initial_backoff;
  for (int i = 1; i < retry && ceiling < options.max_backoff; ++i) {
    ceiling *= 2;
  }
  return std::min(ceiling, options.max_backoff);
}

absl::Duration FullJitterBackoff(const RetryOptions& options, int retry) {
  thread_local absl::BitGen bitgen;
  double ceiling_ms =
      absl::ToDoubleMilliseconds(BackoffCeiling(options, retry));
  if (ceiling_ms <= 0) return absl::ZeroDuration();
  return absl::Milliseconds(absl::Uniform(bitgen, 0.0, ceiling_ms));
}

void CallTracker::Begin() {
  absl::MutexLock lock(&mu_);
  ++in_flight_;
}

void CallTracker::End() {
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

bool CallTracker::AddContext(std::shared_ptr<grpc::ClientContext> context) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return false;
  contexts_.insert(std::move(context));
  return true;
}

void CallTracker::RemoveContext(
    const std::shared_ptr<grpc::ClientContext>& context) {
  absl::MutexLock lock(&mu_);
  contexts_.erase(context);
}

bool CallTracker::ScheduleRetry(TaskRunner& timers, absl::Time when,
                                std::function<void()> task) {
  // Under mu_, so that Shutdown's ExpediteAll sees every retry scheduled
  // before it set shutting_down_.
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return false;
  timers.PostAt(when, std::move(task));
  return true;
}

void CallTracker::Shutdown(TaskRunner& timers) {
  std::vector<std::shared_ptr<grpc::ClientContext>> attempts;
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    attempts.assign(contexts_.begin(), contexts_.end());
  }
  for (auto& context : attempts) context->TryCancel();
  attempts.clear();
  timers.ExpediteAll();
  absl::MutexLock lock(&mu_);
  auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return in_flight_ == 0;
  };
  mu_.Await(absl::Condition(&ended));
}

int64_t CallTracker::calls_in_flight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

void RunRetrying(const RetryOptions& options, TaskRunner& timers,
                 CallTracker& tracker, StartAttempt start,
                 std::function<void(absl::Status)> done,
                 AttemptObserver observer) {
  auto call = std::make_shared<Call>();
  call->options = options;
  call->timers = &timers;
  call->tracker = &tracker;
  call->start = std::move(start);
  call->done = std::move(done);
  call->observer = std::move(observer);
  call->Attempt();
}

}  // namespace certbroker::agent

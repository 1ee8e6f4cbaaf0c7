// The retry machine of the BrokerClient's unary calls: each attempt gets its
// own deadline; an attempt that fails with UNAVAILABLE or DEADLINE_EXCEEDED
// is retried after a full-jitter exponential backoff, timed on a TaskRunner
// so that no thread sleeps; every other status (an answer of the broker) is
// final. Every CertificateBroker method is idempotent, so a retry after a
// deadline is safe: the broker may have answered the lost attempt, and
// answering again changes nothing. When every attempt failed that way the
// call fails with UNAVAILABLE "broker unavailable: <last error> (N
// attempts)", which IsBrokerUnavailable recognizes.
#ifndef CERTBROKER_AGENTS_SDK_RETRYING_CALL_H_
#define CERTBROKER_AGENTS_SDK_RETRYING_CALL_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agents/sdk/task_runner.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::agent {

// kBrokerUnavailablePrefix begins the message of every status for which
// IsBrokerUnavailable is true.
inline constexpr char kBrokerUnavailablePrefix[] = "broker unavailable: ";

// RetryOptions are the BrokerClientOptions the retry machine uses.
struct RetryOptions {
  absl::Duration deadline = absl::Seconds(5);
  int max_attempts = 3;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
};

// FromGrpcStatus converts a gRPC status to an absl::Status with the same
// code and message.
absl::Status FromGrpcStatus(const grpc::Status& status);

// IsRetryableCode is true for the codes that say the broker was not asked
// or did not answer in time: UNAVAILABLE and DEADLINE_EXCEEDED.
bool IsRetryableCode(grpc::StatusCode code);

// BrokerUnavailable builds the status a call ends with when it could not
// reach the broker: UNAVAILABLE, "broker unavailable: <code>: <message>
// (<attempts> attempts)".
absl::Status BrokerUnavailable(const grpc::Status& last, int attempts);

// BackoffCeiling is the most the client waits before retry number `retry`
// (1 for the first retry): initial_backoff doubled retry-1 times, at most
// max_backoff. FullJitterBackoff draws the actual wait uniformly below it.
absl::Duration BackoffCeiling(const RetryOptions& options, int retry);
absl::Duration FullJitterBackoff(const RetryOptions& options, int retry);

// CallTracker keeps count of a client's calls in flight and the contexts of
// their current attempts, so that the client can cancel them all and wait
// for their callbacks when it is destroyed.
class CallTracker {
 public:
  // Begin counts a new call; End, once it has delivered its answer.
  void Begin();
  void End();

  // AddContext registers an attempt's context; false when the client is
  // shutting down (the attempt must not start). RemoveContext unregisters.
  // The tracker shares ownership so that Shutdown may cancel a context
  // without holding its lock (a cancellation can run callbacks inline).
  bool AddContext(std::shared_ptr<grpc::ClientContext> context);
  void RemoveContext(const std::shared_ptr<grpc::ClientContext>& context);

  // ScheduleRetry schedules `task` on `timers` at `when`; false (nothing
  // scheduled) when the client is shutting down.
  bool ScheduleRetry(TaskRunner& timers, absl::Time when,
                     std::function<void()> task);

  // Shutdown cancels every attempt in flight, makes the pending retries run
  // now (they end with CANCELLED), and waits until every call has ended.
  void Shutdown(TaskRunner& timers);

  // calls_in_flight counts the calls begun and not ended.
  int64_t calls_in_flight() const;

 private:
  mutable absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_set<std::shared_ptr<grpc::ClientContext>> contexts_
      ABSL_GUARDED_BY(mu_);
};

// AttemptDone receives the status of one attempt.
using AttemptDone = std::function<void(grpc::Status)>;
// StartAttempt starts one attempt of a call on `context` (its deadline
// already set), and makes gRPC call `done` exactly once. It must reset the
// response it fills, which an earlier attempt may have touched.
using StartAttempt =
    std::function<void(grpc::ClientContext* context, AttemptDone done)>;
// AttemptObserver, when set, hears the number of each attempt as it starts
// (for tests and metrics).
using AttemptObserver = std::function<void(int attempt)>;

// RunRetrying runs a call: attempts through `start` as `options` say, then
// `done` exactly once with the final status, on a gRPC or `timers` thread,
// or inline when gRPC fails the first attempt at once: callers hand the
// answer on to their own thread. The caller has called tracker.Begin().
void RunRetrying(const RetryOptions& options, TaskRunner& timers,
                 CallTracker& tracker, StartAttempt start,
                 std::function<void(absl::Status)> done,
                 AttemptObserver observer = nullptr);

}  // namespace certbroker::agent

#endif  // CERTBROKER_AGENTS_SDK_RETRYING_CALL_H_

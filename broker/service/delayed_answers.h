// DelayedAnswers: finishes unary calls a fixed time after they were decided,
// from one timer thread, without holding a gRPC thread. Only for tests of
// agents that must stay responsive while the broker is slow
// (certbrokerd --test_only_response_delay).
#ifndef CERTBROKER_BROKER_SERVICE_DELAYED_ANSWERS_H_
#define CERTBROKER_BROKER_SERVICE_DELAYED_ANSWERS_H_

#include <queue>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::service {

class DelayedAnswers {
 public:
  explicit DelayedAnswers(absl::Duration delay);
  // The destructor finishes every call still waiting, at once.
  ~DelayedAnswers();
  DelayedAnswers(const DelayedAnswers&) = delete;
  DelayedAnswers& operator=(const DelayedAnswers&) = delete;

  // FinishLater finishes `reactor` with `status` once the delay has passed.
  void FinishLater(grpc::ServerUnaryReactor* reactor, grpc::Status status);

 private:
  struct Pending {
    absl::Time due;
    grpc::ServerUnaryReactor* reactor;
    grpc::Status status;
    bool operator>(const Pending& other) const { return due > other.due; }
  };
  void Run();

  const absl::Duration delay_;
  absl::Mutex mu_;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>>
      pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace certbroker::service

#endif  // CERTBROKER_BROKER_SERVICE_DELAYED_ANSWERS_H_

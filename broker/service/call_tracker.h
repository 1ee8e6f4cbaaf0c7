// CallTracker counts the broker's calls from start until gRPC is done with
// them, so a shutdown can wait for exactly the calls in flight (and not for
// idle client connections, which gRPC would otherwise wait on until the
// grace period ends). Once draining, new calls are refused with UNAVAILABLE.
#ifndef CERTBROKER_BROKER_SERVICE_CALL_TRACKER_H_
#define CERTBROKER_BROKER_SERVICE_CALL_TRACKER_H_

#include <atomic>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::service {

class CallTracker {
 public:
  // StartCall returns a reactor for one unary call that stays counted until
  // gRPC calls its OnDone, or null when draining (the caller must then
  // refuse the call; RefuseCall does).
  grpc::ServerUnaryReactor* StartCall();

  // RefuseCall finishes a call with UNAVAILABLE because the broker is
  // shutting down; clients retry on another replica or after a restart.
  grpc::ServerUnaryReactor* RefuseCall(grpc::CallbackServerContext* context);

  // Drain refuses new calls from now on and waits up to `timeout` for the
  // calls in flight to finish. Returns how many are still running.
  int Drain(absl::Duration timeout);

 private:
  class CountedReactor;
  void EndCall();

  // The counts are atomics: every call passes here twice, from several
  // threads, and a mutex would make them queue. Drain polls.
  std::atomic<int> in_flight_{0};
  std::atomic<bool> draining_{false};
};

}  // namespace certbroker::service

#endif  // CERTBROKER_BROKER_SERVICE_CALL_TRACKER_H_

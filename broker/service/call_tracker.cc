// Counting calls in flight and draining them at shutdown.
#include "broker/service/call_tracker.h"

namespace certbroker::service {

// CountedReactor is a unary reactor that deletes itself and leaves the count
// when gRPC is done with the call (after the status was sent, or cancelled).
class CallTracker::CountedReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit CountedReactor(CallTracker& tracker) : tracker_(tracker) {}
  void OnDone() override {
    tracker_.EndCall();
    delete this;
  }
  void OnCancel() override {}
  // OnDone only takes a lock for an instant and frees the reactor, so gRPC
  // may run it inline instead of hopping to another thread for every call.
  bool InternalInlineable() override { return true; }

 private:
  CallTracker& tracker_;
};

grpc::ServerUnaryReactor* CallTracker::StartCall() {
  absl::MutexLock lock(&mu_);
  if (draining_) return nullptr;
  ++in_flight_;
  return new CountedReactor(*this);
}

grpc::ServerUnaryReactor* CallTracker::RefuseCall(
    grpc::CallbackServerContext* context) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "certbrokerd is shutting down; retry"));
  return reactor;
}

void CallTracker::EndCall() {
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

int CallTracker::Drain(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  draining_ = true;
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return in_flight_ == 0;
  };
  mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
  return in_flight_;
}

}  // namespace certbroker::service

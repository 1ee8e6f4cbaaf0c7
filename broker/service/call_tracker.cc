// Counting calls in flight and draining them at shutdown.
#include "broker/service/call_tracker.h"

#include "absl/time/clock.h"

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
  in_flight_.fetch_add(1, std::memory_order_seq_cst);
  // Checked after counting: Drain sets draining_ before it reads the count,
  // so a call it does not see is one that sees draining_ here.
  if (draining_.load(std::memory_order_seq_cst)) {
    in_flight_.fetch_sub(1, std::memory_order_seq_cst);
    return nullptr;
  }
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
  in_flight_.fetch_sub(1, std::memory_order_seq_cst);
}

int CallTracker::Drain(absl::Duration timeout) {
  draining_.store(true, std::memory_order_seq_cst);
  absl::Time deadline = absl::Now() + timeout;
  while (in_flight_.load(std::memory_order_seq_cst) > 0 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  return in_flight_.load(std::memory_order_seq_cst);
}

}  // namespace certbroker::service

// The timer thread of DelayedAnswers.
#include "broker/service/delayed_answers.h"

#include "absl/time/clock.h"

namespace certbroker::service {

DelayedAnswers::DelayedAnswers(absl::Duration delay)
    : delay_(delay), thread_([this] { Run(); }) {}

DelayedAnswers::~DelayedAnswers() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void DelayedAnswers::FinishLater(grpc::ServerUnaryReactor* reactor,
                                 grpc::Status status) {
  absl::MutexLock lock(&mu_);
  pending_.push(Pending{absl::Now() + delay_, reactor, std::move(status)});
}

void DelayedAnswers::Run() {
  absl::MutexLock lock(&mu_);
  while (true) {
    if (pending_.empty()) {
      if (stopping_) return;
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](DelayedAnswers* self) {
                                 self->mu_.AssertHeld();
                                 return self->stopping_ ||
                                        !self->pending_.empty();
                               },
                               this),
                           absl::Milliseconds(100));
      continue;
    }
    const absl::Time due = pending_.top().due;
    if (!stopping_ && absl::Now() < due) {
      mu_.AwaitWithDeadline(absl::Condition(&stopping_), due);
      continue;
    }
    Pending next = pending_.top();
    pending_.pop();
    mu_.Unlock();
    next.reactor->Finish(std::move(next.status));
    mu_.Lock();
  }
}

}  // namespace certbroker::service

// QueuedStream: the write side shared by the broker's server streams
// (WatchAuditRecords, WatchClientCertificate). Messages wait in a queue and
// are written one at a time (gRPC allows one write in flight); the call ends
// when the peer goes away or cancels, or when the stream stops it, and the
// queue is dropped once the call has ended.
#ifndef CERTBROKER_BROKER_SERVICE_QUEUED_STREAM_H_
#define CERTBROKER_BROKER_SERVICE_QUEUED_STREAM_H_

#include <deque>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::service {

template <typename Message>
class QueuedStream : public grpc::ServerWriteReactor<Message> {
 public:
  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(
          grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away"));
      return;
    }
    WriteNextLocked();
  }

  void OnCancel() override { Stop(grpc::Status::CANCELLED); }

  // Stop ends the call with `status` unless it has ended already.
  void Stop(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    FinishLocked(status);
  }

 protected:
  // QueueLocked appends `message`; WriteNextLocked sends it in turn.
  void QueueLocked(Message message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    queue_.push_back(std::move(message));
  }
  void ClearQueueLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { queue_.clear(); }
  size_t QueuedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queue_.size();
  }
  bool FinishedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return finished_;
  }

  // WriteNextLocked starts writing the next queued message unless a write
  // is in flight or the call has ended.
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_ || queue_.empty()) return;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    this->StartWrite(&current_);
  }

  void FinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    queue_.clear();
    this->Finish(status);
  }

  mutable absl::Mutex mu_;

 private:
  std::deque<Message> queue_ ABSL_GUARDED_BY(mu_);
  Message current_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace certbroker::service

#endif  // CERTBROKER_BROKER_SERVICE_QUEUED_STREAM_H_

// WatchClientCertificate: one stream at a time through gRPC's
// ClientReadReactor, reconnected with full-jitter backoff while the broker
// is lost, stopped (and waited for) by the watch's destructor.
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "agents/sdk/client_core.h"

namespace certbroker::agent {
namespace {

using Response = v1::WatchClientCertificateResponse;

// ReconnectsAfter is true for the ends of a stream that say the broker was
// lost or let the watch go (OK is how a shutting-down broker ends it), as
// opposed to a refusal of the request, which ends the watch.
bool ReconnectsAfter(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
      return true;
    default:
      return false;
  }
}

class Watch final : public ClientCertificateWatch {
 public:
  Watch(std::shared_ptr<ClientCore> core,
        const v1::WatchClientCertificateRequest& request,
        std::function<void(const Response&)> on_update,
        std::function<void(const absl::Status&)> on_error)
      : core_(std::move(core)),
        request_(request),
        on_update_(std::move(on_update)),
        on_error_(std::move(on_error)) {}

  ~Watch() override {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (timer_pending_ && core_->timers.Cancel(timer_)) timer_pending_ = false;
    if (stream_ != nullptr) stream_->context.TryCancel();
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stream_ == nullptr && !timer_pending_;
    };
    mu_.Await(absl::Condition(&idle));
  }

  // Begin schedules the first stream on a timer thread, so that even a
  // failure to connect is reported on a client thread.
  void Begin() {
    absl::MutexLock lock(&mu_);
    timer_pending_ = true;
    timer_ = core_->timers.PostAt(absl::Now(), [this] { Connect(); });
  }

  // Connect opens a new stream unless the watch is stopping.
  void Connect() {
    Stream* stream;
    {
      absl::MutexLock lock(&mu_);
      timer_pending_ = false;
      if (stopping_) return;
      stream_ = new Stream(this);
      stream = stream_;
    }
    core_->stub->async()->WatchClientCertificate(&stream->context, &request_,
                                                 stream);
    stream->StartRead(&stream->response);
    stream->StartCall();
  }

 private:
  // Stream is one WatchClientCertificate call; it deletes itself when done.
  struct Stream final : grpc::ClientReadReactor<Response> {
    explicit Stream(Watch* w) : watch(w) {}

    void OnReadDone(bool ok) override {
      if (!ok) return;  // OnDone follows with the stream's status.
      watch->Deliver(response);
      StartRead(&response);
    }

    void OnDone(const grpc::Status& status) override {
      watch->Ended(status);
      delete this;
    }

    Watch* watch;
    grpc::ClientContext context;
    Response response;
  };

  void Deliver(const Response& response) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      breaks_ = 0;  // The broker answered: the next break backs off anew.
    }
    on_update_(response);
  }

  // Ended handles the end of the current stream: reconnect after a backoff,
  // or stop on a refusal. The watch's lock is not held while on_error runs.
  void Ended(const grpc::Status& status) {
    bool reconnect = ReconnectsAfter(status.error_code());
    int breaks;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        stream_ = nullptr;
        return;
      }
      breaks = ++breaks_;
    }
    if (reconnect) {
      on_error_(absl::UnavailableError(absl::StrCat(
          kBrokerUnavailablePrefix,
          status.ok() ? "the broker ended the watch (shutting down)"
                      : absl::StrCat(absl::StatusCodeToString(
                                         static_cast<absl::StatusCode>(
                                             status.error_code())),
                                     ": ", status.error_message()),
          " (watch reconnecting)")));
    } else {
      on_error_(FromGrpcStatus(status));
    }
    absl::MutexLock lock(&mu_);
    stream_ = nullptr;
    if (stopping_ || !reconnect) return;
    timer_pending_ = true;
    timer_ = core_->timers.PostAt(
        absl::Now() + FullJitterBackoff(core_->retry, breaks),
        [this] { Connect(); });
  }

  const std::shared_ptr<ClientCore> core_;
  const v1::WatchClientCertificateRequest request_;
  const std::function<void(const Response&)> on_update_;
  const std::function<void(const absl::Status&)> on_error_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Stream* stream_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool timer_pending_ ABSL_GUARDED_BY(mu_) = false;
  TaskRunner::TaskId timer_ ABSL_GUARDED_BY(mu_) = 0;
  int breaks_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

std::unique_ptr<ClientCertificateWatch> StartWatch(
    std::shared_ptr<ClientCore> core,
    const v1::WatchClientCertificateRequest& request,
    std::function<void(const v1::WatchClientCertificateResponse&)> on_update,
    std::function<void(const absl::Status&)> on_error) {
  auto watch = std::make_unique<Watch>(
      std::move(core), request, std::move(on_update), std::move(on_error));
  watch->Begin();
  return watch;
}

}  // namespace certbroker::agent

// Download: one file's download as a chain of asynchronous steps on the
// pool's event loop (resolve, connect, TLS handshake through the broker
// binding, request, response head, body), each step's handler starting the
// next. One steady_timer bounds the steps: a fixed deadline for connecting
// and handshaking, an idle deadline (moved on by every completion) for the
// request and response. A timeout or Cancel closes the socket; the pending
// step then completes with an error and its handler reports why.
#include "agents/transfer/download.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agents/transfer/download_internal.h"

namespace certbroker::transfer {
namespace download_internal {

void DownloadImpl::Begin() {
  if (cancelled_)
    return Fail(Error(ErrorContext::kTransport, "cancelled", options_.url));
  auto parsed = ParseHttpsUrl(options_.url);
  if (!parsed.ok()) {
    return Fail(Error(ErrorContext::kRemoteFile,
                      std::string(parsed.status().message()), options_.url));
  }
  url_ = *parsed;
  auto opened = PartFile::Open(
      options_.output_path, url_.ToString(),
      options_.sha256_hex.has_value() || options_.compute_sha256);
  if (!opened.ok()) {
    return Fail(ErrorContext::kLocalFile,
                std::string(opened.status().message()));
  }
  part_ = std::move(opened).value();
  auto restart = [&](std::string why) {
    result_.restarted = std::move(why);
    Notice("restarting from zero: " + result_.restarted);
    return part_->Restart();
  };
  absl::Status ready;
  if (options_.truncate_to.has_value() && part_->size() > 0) {
    if (part_->size() < *options_.truncate_to) {
      ready = restart(absl::StrCat("the partial file (", part_->size(),
                                   " bytes) is shorter than its journalled "
                                   "size of ",
                                   *options_.truncate_to, " bytes"));
    } else {
      ready = part_->TruncateTo(*options_.truncate_to);
    }
  }
  if (ready.ok() && part_->size() > 0 && part_->validator().empty()) {
    ready = restart(absl::StrCat(
        "the partial file (", part_->size(),
        " bytes) has no validator from its server to resume with"));
  }
  if (!ready.ok()) {
    return Fail(ErrorContext::kLocalFile, std::string(ready.message()));
  }
  StartRequest();
}

void DownloadImpl::StartRequest() {
  SetPhase(DownloadPhase::kConnecting);
  timed_out_ = false;
  retried_stale_ = false;
  drained_ = 0;
  key_ = PoolKey(url_, options_);
  stream_ = pool_.Take(key_);
  reused_ = stream_ != nullptr;
  if (reused_) return SendRequest();
  Connect();
}

void DownloadImpl::Connect() {
  reused_ = false;
  WatchFixed(Clock::now() +
             absl::ToChronoNanoseconds(options_.connect_timeout));
  auto resolved = options_.resolve.find(url_.host);
  resolver_.async_resolve(
      resolved != options_.resolve.end() ? resolved->second : url_.host,
      std::to_string(url_.port),
      [self = shared_from_this()](
          boost::system::error_code ec,
          asio::ip::tcp::resolver::results_type endpoints) {
        self->OnResolved(ec, std::move(endpoints));
      });
}

void DownloadImpl::OnResolved(boost::system::error_code ec,
                              asio::ip::tcp::resolver::results_type endpoints) {
  if (Interrupted(Stage::kConnect)) return;
  if (ec) {
    return Fail(ErrorContext::kTransport,
                absl::StrCat("cannot resolve ", url_.host, ": ", ec.message()));
  }
  socket_.emplace(pool_.io());
  asio::async_connect(
      *socket_, endpoints,
      [self = shared_from_this()](boost::system::error_code error,
                                  const asio::ip::tcp::endpoint&) {
        self->OnConnected(error);
      });
}

void DownloadImpl::OnConnected(boost::system::error_code ec) {
  if (Interrupted(Stage::kConnect)) return;
  if (ec) {
    return Fail(
        ErrorContext::kTransport,
        absl::StrCat("cannot connect to ", Where(), ": ", ec.message()));
  }
  // The handshake runs the local check and the broker's verdict, before
  // any byte of the request exists.
  bssl::UniquePtr<SSL> ssl(SSL_new(pool_.ctx()));
  if (ssl == nullptr) return Fail(ErrorContext::kTransport, "SSL_new failed");
  v1::Target target;
  target.set_url(url_.ToString());
  target.set_host(url_.host);
  target.set_port(url_.port);
  agent::TlsConnectionOptions connection;
  connection.ignore_local_errors = options_.ignore_local_errors;
  absl::Status attached =
      pool_.binding().AttachClient(ssl.get(), target, connection);
  if (!attached.ok()) {
    return Fail(ErrorContext::kTransport, std::string(attached.message()));
  }
  stream_ =
      std::make_unique<AsioTlsStream>(std::move(*socket_), std::move(ssl));
  socket_.reset();
  ++pool_.opened;
  stream_->async_handshake(
      [self = shared_from_this()](boost::system::error_code error) {
        self->OnHandshake(error);
      });
}

void DownloadImpl::OnHandshake(boost::system::error_code ec) {
  if (Interrupted(Stage::kHandshake)) return;
  if (ec) return Fail(HandshakeError(ec, *stream_, url_));
  SendRequest();
}

void DownloadImpl::SendRequest() {
  WatchIdle();
  buffer_.clear();
  parser_.emplace();
  parser_->body_limit((std::numeric_limits<std::uint64_t>::max)());
  request_ = {};
  request_.method(http::verb::get);
  request_.target(url_.target);
  request_.version(11);
  request_.set(http::field::host, url_.HostHeader());
  request_.set(http::field::user_agent, "certbroker-agent");
  ranged_ = part_->size() > 0;
  if (ranged_) {
    request_.set(http::field::range,
                 absl::StrCat("bytes=", part_->size(), "-"));
    request_.set(http::field::if_range, part_->validator());
  }
  http::async_write(*stream_, request_,
                    [self = shared_from_this()](boost::system::error_code ec,
                                                size_t) { self->OnSent(ec); });
}

void DownloadImpl::OnSent(boost::system::error_code ec) {
  Touch();
  if (Interrupted(Stage::kSend)) return;
  if (ec) {
    if (RetryStale()) return;
    return Fail(ErrorContext::kTransport,
                absl::StrCat("cannot send the request to ", Where(), ": ",
                             ec.message()));
  }
  http::async_read_header(
      *stream_, buffer_, *parser_,
      [self = shared_from_this()](boost::system::error_code error, size_t) {
        self->OnHead(error);
      });
}

bool DownloadImpl::Interrupted(Stage stage) {
  if (cancelled_) {
    Fail(ErrorContext::kTransport, "cancelled");
    return true;
  }
  if (!timed_out_) return false;
  std::string message;
  switch (stage) {
    case Stage::kConnect:
      message = absl::StrCat("timed out connecting to ", Where());
      break;
    case Stage::kHandshake:
      message = absl::StrCat("timed out in the TLS handshake with ", Where());
      break;
    case Stage::kSend:
      message = absl::StrCat("timed out sending the request to ", Where());
      break;
    case Stage::kHead:
      message = absl::StrCat("no response from ", Where(), " within ",
                             absl::FormatDuration(options_.idle_timeout));
      break;
  }
  Fail(ErrorContext::kTransport, message);
  return true;
}

void DownloadImpl::Fail(TransferError error) {
  result_.error = std::move(error);
  result_.final_url = url_.host.empty() ? "" : url_.ToString();
  // Keep what can be resumed; drop what cannot.
  if (part_ != nullptr && (part_->size() == 0 || part_->validator().empty())) {
    part_->Discard();
  }
  Finish();
}

void DownloadImpl::Finish() {
  finished_ = true;
  StopWatch();
  stream_.reset();
  socket_.reset();
  if (part_ != nullptr) final_size_ = part_->size();
  part_.reset();
  // Dropping the callbacks breaks any cycle through a handle they hold.
  std::function<void(FetchResult)> done = std::move(callbacks_.on_done);
  callbacks_ = {};
  if (done) done(std::move(result_));
}

void DownloadImpl::Abort() {
  resolver_.cancel();
  boost::system::error_code ignored;
  if (socket_.has_value()) socket_->close(ignored);
  if (stream_ != nullptr) stream_->close();
}

void DownloadImpl::Cancel() {
  if (finished_ || cancelled_) return;
  cancelled_ = true;
  StopWatch();
  Abort();
}

absl::StatusOr<uint64_t> DownloadImpl::Checkpoint() {
  if (part_ == nullptr) {
    return finished_ ? final_size_ : options_.truncate_to.value_or(0);
  }
  // Bytes still in the chunk are not in the file yet: not counted.
  return part_->Sync();
}

void DownloadImpl::WatchFixed(Clock::time_point deadline) {
  idle_watch_ = false;
  Arm(deadline);
}

void DownloadImpl::WatchIdle() {
  idle_watch_ = true;
  Touch();
  Arm(last_activity_ + absl::ToChronoNanoseconds(options_.idle_timeout));
}

void DownloadImpl::Arm(Clock::time_point at) {
  uint64_t generation = ++generation_;
  timer_.expires_at(at);
  timer_.async_wait(
      [self = shared_from_this(), generation](boost::system::error_code ec) {
        if (ec || generation != self->generation_ || self->finished_) return;
        if (self->idle_watch_) {
          Clock::time_point due =
              self->last_activity_ +
              absl::ToChronoNanoseconds(self->options_.idle_timeout);
          if (Clock::now() < due) return self->Arm(due);
        }
        self->timed_out_ = true;
        self->Abort();
      });
}

void DownloadImpl::StopWatch() {
  ++generation_;
  timer_.cancel();
}

}  // namespace download_internal

using download_internal::DownloadImpl;

std::shared_ptr<Download> Download::Start(ConnectionPool& pool,
                                          DownloadOptions options,
                                          DownloadCallbacks callbacks) {
  auto download = std::make_shared<DownloadImpl>(
      pool.impl(), std::move(options), std::move(callbacks));
  boost::asio::post(pool.impl().io(), [download] { download->Begin(); });
  return download;
}

absl::Status CommitPartFile(const std::string& output_path) {
  return PartFile::CommitExisting(output_path);
}

absl::Status RemovePartFile(const std::string& output_path) {
  return PartFile::Remove(output_path);
}

}  // namespace certbroker::transfer

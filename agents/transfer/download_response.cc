// Download's response: the head (redirects, ranges and restarts, the
// errors that mean the server wanted a client certificate), the body (read
// straight into the chunk when its length is known, else through Beast's
// parser), the checks before completion, and the connection's return to
// the pool.
#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "agents/transfer/download_internal.h"

namespace certbroker::transfer::download_internal {

void DownloadImpl::OnHead(boost::system::error_code ec) {
  Touch();
  if (Interrupted(Stage::kHead)) return;
  if (ec) {
    if (RetryStale()) return;
    std::string message = absl::StrCat("cannot read the response from ",
                                       Where(), ": ", ec.message());
    if (!stream_->last_error().empty()) {
      absl::StrAppend(&message, ": ", stream_->last_error());
    }
    // TLS 1.3 servers judge the client's certificate after the handshake:
    // their refusal comes with the response.
    if (WithoutClientCertificate()) return Fail(NoClientCertificate(message));
    return Fail(ErrorContext::kTransport, message);
  }
  const auto& head = parser_->get();
  int status = static_cast<int>(head.result_int());
  result_.http_status = status;
  if (WithoutClientCertificate() &&
      (status == 400 || status == 401 || status == 403 || status == 495 ||
       status == 496)) {
    TransferError error = NoClientCertificate(absl::StrCat(
        "the server answered ", status, " ", std::string(head.reason())));
    error.http_status = status;
    return Fail(error);
  }
  auto remote_error = [&](std::string message) {
    TransferError error =
        Error(ErrorContext::kRemoteFile, std::move(message), url_.ToString());
    error.http_status = status;
    return error;
  };

  if (IsRedirect(status)) {
    std::string location(head[http::field::location]);
    if (result_.redirects >= options_.max_redirects) {
      return Fail(remote_error(absl::StrCat("too many redirects (more than ",
                                            options_.max_redirects, ")")));
    }
    auto next = ResolveRedirect(url_, location);
    if (!next.ok()) {
      return Fail(
          remote_error(absl::StrCat("bad redirect from ", url_.ToString(), ": ",
                                    next.status().message())));
    }
    ++result_.redirects;
    Notice(absl::StrCat("redirected (", status, ") to ", next->ToString()));
    return DrainThen([this, next = *next] {
      url_ = next;
      StartRequest();
    });
  }
  if (status == 416 && ranged_ && !retried_without_range_) {
    retried_without_range_ = true;
    result_.restarted = absl::StrCat("the server refused the range from byte ",
                                     part_->size(), " (416)");
    Notice("restarting from zero: " + result_.restarted);
    absl::Status emptied = part_->Restart();
    if (!emptied.ok()) {
      return Fail(ErrorContext::kLocalFile, std::string(emptied.message()));
    }
    return DrainThen([this] { StartRequest(); });
  }
  if (status != 200 && status != 206) {
    return Fail(remote_error(absl::StrCat(url_.ToString(), ": ", status, " ",
                                          std::string(head.reason()))));
  }
  if (status == 206) {
    std::optional<uint64_t> start =
        ContentRangeStart(std::string(head[http::field::content_range]));
    if (!ranged_ || !start.has_value() || *start != part_->size()) {
      return Fail(remote_error(
          absl::StrCat("unexpected partial content (Content-Range \"",
                       std::string(head[http::field::content_range]),
                       "\") for a request from byte ", part_->size())));
    }
    absl::Status hashed = part_->ContinueAfterExisting();
    if (!hashed.ok()) {
      return Fail(ErrorContext::kLocalFile, std::string(hashed.message()));
    }
    result_.resumed_from = part_->size();
    Notice(absl::StrCat("resuming at byte ", part_->size()));
  } else if (part_->size() > 0) {
    result_.restarted = absl::StrCat(
        "the server sent the whole file instead of the range from byte ",
        part_->size(),
        " (it ignores ranges, or the file changed since the partial "
        "download)");
    Notice("restarting from zero: " + result_.restarted);
    absl::Status emptied = part_->Restart();
    if (!emptied.ok()) {
      return Fail(ErrorContext::kLocalFile, std::string(emptied.message()));
    }
  }
  absl::Status remembered = part_->SetValidator(Validator(head.base()));
  if (!remembered.ok()) {
    return Fail(ErrorContext::kLocalFile, std::string(remembered.message()));
  }
  StartBody();
}

void DownloadImpl::StartBody() {
  SetPhase(DownloadPhase::kTransferring);
  total_ = -1;
  if (parser_->content_length().has_value()) {
    total_ = static_cast<int64_t>(part_->size() + *parser_->content_length());
  } else if (options_.expected_size.has_value()) {
    total_ = static_cast<int64_t>(*options_.expected_size);
  }
  Progress();
  chunk_.resize(kChunkSize);
  fill_ = 0;
  direct_left_.reset();
  if (!parser_->chunked() && parser_->content_length().value_or(0) > 0) {
    // The header read may have brought the body's first bytes.
    direct_left_ = *parser_->content_length();
    size_t early = static_cast<size_t>(
        std::min<uint64_t>({buffer_.size(), *direct_left_, chunk_.size()}));
    asio::buffer_copy(asio::buffer(chunk_.data(), early), buffer_.data());
    buffer_.consume(early);
    fill_ = early;
    *direct_left_ -= early;
  }
  ReadBody();
}

void DownloadImpl::ReadBody() {
  if (BodyDone() && fill_ == 0) {
    ReleaseConnection();
    return Complete();
  }
  if (direct_left_.has_value()) {
    size_t room = static_cast<size_t>(
        std::min<uint64_t>(chunk_.size() - fill_, *direct_left_));
    if (room == 0) return OnBody({});  // Write out the full chunk first.
    stream_->async_read_some(
        asio::buffer(chunk_.data() + fill_, room),
        [self = shared_from_this()](boost::system::error_code ec, size_t n) {
          self->fill_ += n;
          *self->direct_left_ -= n;
          self->OnBody(ec);
        });
    return;
  }
  parser_->get().body().data = chunk_.data() + fill_;
  parser_->get().body().size = chunk_.size() - fill_;
  http::async_read_some(
      *stream_, buffer_, *parser_,
      [self = shared_from_this()](boost::system::error_code ec, size_t) {
        self->OnBody(ec);
      });
}

void DownloadImpl::OnBody(boost::system::error_code ec) {
  Touch();
  if (ec == http::error::need_buffer) ec = {};
  if (!direct_left_.has_value()) {
    fill_ = chunk_.size() - parser_->get().body().size;
  }
  bool stopping = ec || cancelled_ || timed_out_;
  if (fill_ > 0 && (fill_ == chunk_.size() || BodyDone() || stopping)) {
    absl::Status appended = part_->Append(chunk_.data(), fill_);
    if (!appended.ok()) {
      return Fail(ErrorContext::kLocalFile, std::string(appended.message()));
    }
    result_.received += fill_;
    fill_ = 0;
    Progress();
  }
  if (cancelled_) return Fail(ErrorContext::kTransport, "cancelled");
  if (timed_out_) {
    return Fail(ErrorContext::kTransport,
                absl::StrCat("no progress from ", Where(), " for ",
                             absl::FormatDuration(options_.idle_timeout),
                             " at byte ", part_->size()));
  }
  if (ec) {
    return Fail(ErrorContext::kTransport,
                absl::StrCat("the download from ", Where(), " broke at byte ",
                             part_->size(), ": ", ec.message()));
  }
  if (options_.expected_size.has_value() &&
      part_->size() + fill_ > *options_.expected_size) {
    TransferError error =
        Error(ErrorContext::kRemoteFile,
              absl::StrCat("the file is larger than the expected ",
                           *options_.expected_size, " bytes"),
              url_.ToString());
    error.http_status = result_.http_status;
    part_->Discard();
    return Fail(error);
  }
  ReadBody();
}

bool DownloadImpl::WithoutClientCertificate() const {
  if (stream_ == nullptr) return false;
  agent::ClientCertificateInfo info =
      TlsBinding::ClientCertificate(stream_->native_handle());
  return info.requested && !info.presented;
}

TransferError DownloadImpl::NoClientCertificate(const std::string& what) const {
  return Error(ErrorContext::kClientCertificate,
               absl::StrCat("the server asked for a client certificate and the "
                            "broker has none for ",
                            Where(), " (", what, ")"),
               url_.ToString());
}

void DownloadImpl::Complete() {
  result_.final_url = url_.ToString();
  result_.size = part_->size();
  result_.sha256_hex = part_->Sha256Hex();
  auto mismatch = [&](std::string message) {
    part_->Discard();
    TransferError error =
        Error(ErrorContext::kRemoteFile, std::move(message), url_.ToString());
    error.http_status = result_.http_status;
    Fail(error);
  };
  if (options_.expected_size.has_value() &&
      result_.size != *options_.expected_size) {
    return mismatch(absl::StrCat("size mismatch: expected ",
                                 *options_.expected_size, " bytes, got ",
                                 result_.size));
  }
  if (options_.sha256_hex.has_value() &&
      absl::AsciiStrToLower(*options_.sha256_hex) != result_.sha256_hex) {
    return mismatch(absl::StrCat("SHA-256 mismatch: expected ",
                                 absl::AsciiStrToLower(*options_.sha256_hex),
                                 ", got ", result_.sha256_hex));
  }
  absl::Status kept;
  if (options_.commit) {
    kept = part_->Commit();
  } else {
    kept = part_->Sync().status();
  }
  if (!kept.ok())
    return Fail(ErrorContext::kLocalFile, std::string(kept.message()));
  Finish();
}

void DownloadImpl::DrainThen(std::function<void()> next) {
  if (parser_->is_done() || !parser_->keep_alive() || drained_ > kDrainLimit) {
    ReleaseConnection();
    return next();
  }
  chunk_.resize(kChunkSize);
  parser_->get().body().data = chunk_.data();
  parser_->get().body().size = chunk_.size();
  http::async_read_some(
      *stream_, buffer_, *parser_,
      [self = shared_from_this(), next = std::move(next)](
          boost::system::error_code ec, size_t) mutable {
        self->Touch();
        if (ec == http::error::need_buffer) ec = {};
        if (self->cancelled_) {
          return self->Fail(ErrorContext::kTransport, "cancelled");
        }
        self->drained_ +=
            self->chunk_.size() - self->parser_->get().body().size;
        if (ec || self->timed_out_) {
          self->stream_.reset();
          return next();
        }
        self->DrainThen(std::move(next));
      });
}

void DownloadImpl::ReleaseConnection() {
  StopWatch();
  if (stream_ != nullptr && BodyDone() && parser_->keep_alive() &&
      buffer_.size() == 0) {
    pool_.Put(key_, std::move(stream_));
  }
  stream_.reset();
}

bool DownloadImpl::RetryStale() {
  if (!reused_ || retried_stale_ || cancelled_ || timed_out_ ||
      parser_->got_some() || buffer_.size() > 0) {
    return false;
  }
  retried_stale_ = true;
  stream_.reset();
  Connect();
  return true;
}

}  // namespace certbroker::transfer::download_internal

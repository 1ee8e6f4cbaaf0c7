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
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "agents/transfer/connection_pool.h"
#include "agents/transfer/https_url.h"
#include "agents/transfer/part_file.h"
#include "certbroker/agent/asio_tls_stream.h"

namespace certbroker::transfer {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using agent::AsioTlsStream;
using agent::TlsBinding;
using agent::TlsErrc;
using agent::TlsOutcome;
using agent::TlsStep;
using Clock = std::chrono::steady_clock;

// kChunkSize is how many body bytes are gathered before one write to the
// part file.
constexpr size_t kChunkSize = 256 * 1024;
// kDrainLimit bounds the body of a redirect (or 416) read to keep its
// connection; a longer one closes the connection instead.
constexpr uint64_t kDrainLimit = 64 * 1024;

TransferError Error(ErrorContext context, std::string message,
                    const std::string& url) {
  TransferError error;
  error.context = context;
  error.message = std::move(message);
  error.url = url;
  return error;
}

// HandshakeError classifies a failed handshake by the binding's outcome.
TransferError HandshakeError(const boost::system::error_code& ec,
                             AsioTlsStream& stream, const HttpsUrl& url) {
  TlsOutcome verdict = TlsBinding::ServerVerdict(stream.native_handle());
  std::string where = absl::StrCat(url.host, ":", url.port);
  if (ec == TlsErrc::kBrokerUnavailable || verdict.broker_unavailable) {
    return Error(ErrorContext::kBrokerUnavailable,
                 absl::StrCat("the broker could not be asked about ", where,
                              ": ", verdict.detail),
                 url.ToString());
  }
  if (ec == TlsErrc::kBrokerRejected || ec == TlsErrc::kBrokerError) {
    bool client_side = verdict.step == TlsStep::kClientCertificate ||
                       verdict.step == TlsStep::kSigning;
    TransferError error = Error(
        client_side ? ErrorContext::kClientCertificate
                    : ErrorContext::kServerCertificate,
        client_side
            ? absl::StrCat("no usable client certificate for ", where, ": ",
                           verdict.detail)
            : absl::StrCat("the broker rejected the certificate of ", where,
                           ": ", v1::Reason_Name(verdict.reason),
                           verdict.detail.empty() ? "" : " ", verdict.detail),
        url.ToString());
    if (!client_side && !verdict.local_check.empty() &&
        verdict.local_check != "ok") {
      absl::StrAppend(&error.message, " (local check: ", verdict.local_check,
                      ")");
    }
    error.reason = verdict.reason;
    error.decision_id = verdict.decision_id;
    error.rule_name = verdict.rule_name;
    return error;
  }
  std::string message =
      absl::StrCat("TLS handshake with ", where, " failed: ", ec.message());
  if (!stream.last_error().empty()) {
    absl::StrAppend(&message, ": ", stream.last_error());
  }
  return Error(ErrorContext::kTransport, message, url.ToString());
}

// ContentRangeStart parses the first byte position of "bytes FIRST-LAST/N".
std::optional<uint64_t> ContentRangeStart(absl::string_view value) {
  if (!absl::ConsumePrefix(&value, "bytes ")) return std::nullopt;
  size_t dash = value.find('-');
  uint64_t first = 0;
  if (dash == absl::string_view::npos ||
      !absl::SimpleAtoi(value.substr(0, dash), &first)) {
    return std::nullopt;
  }
  return first;
}

// Validator is what If-Range can carry for a response: its strong ETag,
// else its Last-Modified; empty when neither.
std::string Validator(const http::response_header<>& header) {
  std::string etag(header[http::field::etag]);
  if (!etag.empty() && !absl::StartsWith(etag, "W/")) return etag;
  return std::string(header[http::field::last_modified]);
}

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 ||
         status == 308;
}

// PoolKey names the connections a request to `url` may reuse: same host
// and port, same address override, same local errors ignored.
std::string PoolKey(const HttpsUrl& url, const DownloadOptions& options) {
  std::string key = absl::StrCat(url.host, ":", url.port);
  auto resolved = options.resolve.find(url.host);
  if (resolved != options.resolve.end()) {
    absl::StrAppend(&key, "@", resolved->second);
  }
  if (!options.ignore_local_errors.empty()) {
    std::vector<int> ignored(options.ignore_local_errors.begin(),
                             options.ignore_local_errors.end());
    std::sort(ignored.begin(), ignored.end());
    absl::StrAppend(&key, " ignore=", absl::StrJoin(ignored, ","));
  }
  return key;
}

class DownloadImpl final : public Download,
                           public std::enable_shared_from_this<DownloadImpl> {
 public:
  DownloadImpl(ConnectionPool::Impl& pool, DownloadOptions options,
               DownloadCallbacks callbacks)
      : pool_(pool),
        options_(std::move(options)),
        callbacks_(std::move(callbacks)),
        resolver_(pool.io()),
        timer_(pool.io()) {}

  void Begin();
  void Cancel() override;
  absl::StatusOr<uint64_t> Checkpoint() override;

 private:
  // Stage is the step a timeout interrupted, for its message.
  enum class Stage { kConnect, kHandshake, kSend, kHead };

  // Steps of one request, in order.
  void StartRequest();
  void Connect();
  void OnResolved(boost::system::error_code ec,
                  asio::ip::tcp::resolver::results_type endpoints);
  void OnConnected(boost::system::error_code ec);
  void OnHandshake(boost::system::error_code ec);
  void SendRequest();
  void OnSent(boost::system::error_code ec);
  void OnHead(boost::system::error_code ec);
  void StartBody();
  void ReadBody();
  void OnBody(boost::system::error_code ec);
  // BodyDone says whether the whole body has been read.
  bool BodyDone() const {
    return direct_left_.has_value() ? *direct_left_ == 0 : parser_->is_done();
  }
  void Complete();
  // WithoutClientCertificate says whether the server asked for a client
  // certificate and the broker gave none; NoClientCertificate is the
  // CLIENT_CERTIFICATE error for a failure that likely follows from it.
  bool WithoutClientCertificate() const;
  TransferError NoClientCertificate(const std::string& what) const;

  // DrainThen reads the rest of a short body (a redirect's) so that the
  // connection can be kept, then runs `next`.
  void DrainThen(std::function<void()> next);
  // ReleaseConnection returns the connection to the pool when its response
  // was read entirely and the server keeps it open, else closes it.
  void ReleaseConnection();
  // RetryStale starts the request again on a fresh connection when a
  // kept-alive one failed before any byte of the response (the server
  // closed it meanwhile); false when that does not apply.
  bool RetryStale();

  // Interrupted finishes the download when it was cancelled or `stage`
  // timed out, and says so.
  bool Interrupted(Stage stage);
  void Fail(TransferError error);
  void Fail(ErrorContext context, std::string message) {
    Fail(Error(context, std::move(message), url_.ToString()));
  }
  void Finish();
  // Abort closes whatever is pending, so that its handler runs soon.
  void Abort();

  // The timer: WatchFixed for a deadline, WatchIdle for the idle timeout
  // (Touch moves it on), StopWatch when no step is pending.
  void WatchFixed(Clock::time_point deadline);
  void WatchIdle();
  void Touch() { last_activity_ = Clock::now(); }
  void Arm(Clock::time_point at);
  void StopWatch();

  void Notice(const std::string& text) {
    if (callbacks_.on_notice) callbacks_.on_notice(text);
  }
  void SetPhase(DownloadPhase phase) {
    if (phase_ == phase) return;
    phase_ = phase;
    if (callbacks_.on_phase) callbacks_.on_phase(phase);
  }
  void Progress() {
    if (callbacks_.on_progress) callbacks_.on_progress(part_->size(), total_);
  }
  std::string Where() const { return absl::StrCat(url_.host, ":", url_.port); }

  ConnectionPool::Impl& pool_;
  DownloadOptions options_;
  DownloadCallbacks callbacks_;
  FetchResult result_;
  HttpsUrl url_;
  std::unique_ptr<PartFile> part_;
  std::optional<DownloadPhase> phase_;
  bool retried_without_range_ = false;
  bool cancelled_ = false;
  bool finished_ = false;
  uint64_t final_size_ = 0;  // The part file's size when it finished.

  // The current request.
  std::string key_;
  bool reused_ = false;
  bool retried_stale_ = false;
  bool ranged_ = false;
  Clock::time_point connect_deadline_;
  asio::ip::tcp::resolver resolver_;
  std::optional<asio::ip::tcp::socket> socket_;  // Until the handshake.
  std::unique_ptr<AsioTlsStream> stream_;
  http::request<http::empty_body> request_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::vector<char> chunk_;
  size_t fill_ = 0;  // Bytes of chunk_ not yet written to the part file.
  // direct_left_ counts the body bytes still to read when the body has a
  // Content-Length: they are read from the stream straight into chunk_
  // (Beast has parsed the header; a body of known length needs no parsing,
  // and this saves copying every byte through the parser's buffer).
  std::optional<uint64_t> direct_left_;
  uint64_t drained_ = 0;
  int64_t total_ = -1;

  // The timer.
  asio::steady_timer timer_;
  uint64_t generation_ = 0;  // Tells a stale expiry from the current one.
  bool idle_watch_ = false;
  bool timed_out_ = false;
  Clock::time_point last_activity_;
};

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

}  // namespace

std::shared_ptr<Download> Download::Start(ConnectionPool& pool,
                                          DownloadOptions options,
                                          DownloadCallbacks callbacks) {
  auto download = std::make_shared<DownloadImpl>(
      pool.impl(), std::move(options), std::move(callbacks));
  asio::post(pool.impl().io(), [download] { download->Begin(); });
  return download;
}

absl::Status CommitPartFile(const std::string& output_path) {
  return PartFile::CommitExisting(output_path);
}

absl::Status RemovePartFile(const std::string& output_path) {
  return PartFile::Remove(output_path);
}

}  // namespace certbroker::transfer

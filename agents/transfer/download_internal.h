// download_internal.h: the inside of Download, shared by its source files
// (download.cc: connecting, the handshake, the request, timers and ends;
// download_response.cc: the response head and body; download_http.cc: the
// small HTTP and error helpers). Not part of the public interface.
#ifndef CERTBROKER_AGENTS_TRANSFER_DOWNLOAD_INTERNAL_H_
#define CERTBROKER_AGENTS_TRANSFER_DOWNLOAD_INTERNAL_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "agents/transfer/connection_pool.h"
#include "agents/transfer/download.h"
#include "agents/transfer/https_url.h"
#include "agents/transfer/part_file.h"
#include "certbroker/agent/asio_tls_stream.h"

namespace certbroker::transfer::download_internal {

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

// Error makes a TransferError.
TransferError Error(ErrorContext context, std::string message,
                    const std::string& url);

// HandshakeError classifies a failed handshake by the binding's outcome.
TransferError HandshakeError(const boost::system::error_code& ec,
                             AsioTlsStream& stream, const HttpsUrl& url);

// ContentRangeStart parses the first byte position of "bytes FIRST-LAST/N".
std::optional<uint64_t> ContentRangeStart(absl::string_view value);

// Validator is what If-Range can carry for a response: its strong ETag,
// else its Last-Modified; empty when neither.
std::string Validator(const http::response_header<>& header);

// IsRedirect is true for the redirect statuses followed.
bool IsRedirect(int status);

// PoolKey names the connections a request to `url` may reuse: same host
// and port, same address override, same local errors ignored.
std::string PoolKey(const HttpsUrl& url, const DownloadOptions& options);

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

}  // namespace certbroker::transfer::download_internal

#endif  // CERTBROKER_AGENTS_TRANSFER_DOWNLOAD_INTERNAL_H_

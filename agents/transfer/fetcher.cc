// Fetcher: connection, handshake, request and body of each hop, driven one
// asynchronous step at a time on the Fetcher's io_context with a deadline
// per step.
#include "agents/transfer/fetcher.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <limits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
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

constexpr size_t kChunkSize = 256 * 1024;

TransferError Error(ErrorContext context, std::string message,
                    const HttpsUrl& url) {
  TransferError error;
  error.context = context;
  error.message = std::move(message);
  error.url = url.ToString();
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
                 url);
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
        url);
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
  return Error(ErrorContext::kTransport, message, url);
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

}  // namespace

class Fetcher::Impl {
 public:
  explicit Impl(TlsBinding& binding) : binding_(binding) {}

  absl::Status Init() {
    ctx_.reset(SSL_CTX_new(TLS_method()));
    if (ctx_ == nullptr) return absl::InternalError("SSL_CTX_new failed");
    return binding_.ConfigureClient(ctx_.get());
  }

  FetchResult Fetch(const FetchOptions& options);

 private:
  // Drive runs the loop until `done`. With `idle`, the deadline moves on
  // after every handler that ran; without, it is fixed. On the deadline it
  // closes the socket (which aborts the operation) and returns false once
  // the operation has completed.
  bool Drive(const bool& done, absl::Duration timeout, bool idle,
             asio::ip::tcp::socket& socket) {
    io_.restart();
    auto span = absl::ToChronoNanoseconds(timeout);
    Clock::time_point deadline = Clock::now() + span;
    bool timed_out = false;
    while (!done) {
      if (io_.run_one_until(deadline) > 0) {
        if (idle) deadline = Clock::now() + span;
        continue;
      }
      if (io_.stopped()) io_.restart();
      if (!done && Clock::now() >= deadline && !timed_out) {
        timed_out = true;
        boost::system::error_code ignored;
        socket.close(ignored);
        // The operation completes with an error soon (or, parked on the
        // broker, when the broker client's own deadline ends).
        deadline = Clock::time_point::max();
      }
    }
    return !timed_out;
  }

  void Notice(const FetchOptions& options, const std::string& text) {
    if (options.on_notice) options.on_notice(text);
  }

  // Hop is one request and the start of its response.
  enum class HopEnd { kBody, kRedirect, kRetryWithoutRange, kFailed };

  HopEnd RunHop(const FetchOptions& options, HttpsUrl& url, PartFile& part,
                FetchResult& result);

  TlsBinding& binding_;
  bssl::UniquePtr<SSL_CTX> ctx_;
  asio::io_context io_;
};

Fetcher::Impl::HopEnd Fetcher::Impl::RunHop(const FetchOptions& options,
                                            HttpsUrl& url, PartFile& part,
                                            FetchResult& result) {
  auto fail = [&](TransferError error) {
    result.error = std::move(error);
    return HopEnd::kFailed;
  };
  std::string where = absl::StrCat(url.host, ":", url.port);
  Clock::time_point connect_started = Clock::now();

  // Connect.
  asio::ip::tcp::resolver resolver(io_);
  boost::system::error_code ec;
  auto resolved = options.resolve.find(url.host);
  auto endpoints = resolver.resolve(
      resolved != options.resolve.end() ? resolved->second : url.host,
      std::to_string(url.port), ec);
  if (ec) {
    return fail(Error(
        ErrorContext::kTransport,
        absl::StrCat("cannot resolve ", url.host, ": ", ec.message()), url));
  }
  asio::ip::tcp::socket socket(io_);
  bool done = false;
  asio::async_connect(
      socket, endpoints,
      [&](boost::system::error_code error, const asio::ip::tcp::endpoint&) {
        ec = error;
        done = true;
      });
  if (!Drive(done, options.connect_timeout, false, socket)) {
    return fail(Error(ErrorContext::kTransport,
                      absl::StrCat("timed out connecting to ", where), url));
  }
  if (ec) {
    return fail(Error(
        ErrorContext::kTransport,
        absl::StrCat("cannot connect to ", where, ": ", ec.message()), url));
  }

  // Handshake: the local check and the broker's verdict run inside it,
  // before any byte of the request exists.
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx_.get()));
  if (ssl == nullptr) {
    return fail(Error(ErrorContext::kTransport, "SSL_new failed", url));
  }
  v1::Target target;
  target.set_url(url.ToString());
  target.set_host(url.host);
  target.set_port(url.port);
  absl::Status attached = binding_.AttachClient(ssl.get(), target);
  if (!attached.ok()) {
    return fail(
        Error(ErrorContext::kTransport, std::string(attached.message()), url));
  }
  AsioTlsStream stream(std::move(socket), std::move(ssl));
  done = false;
  stream.async_handshake([&](boost::system::error_code error) {
    ec = error;
    done = true;
  });
  absl::Duration left = options.connect_timeout -
                        absl::FromChrono(Clock::now() - connect_started);
  if (!Drive(done, std::max(left, absl::Milliseconds(1)), false,
             stream.next_layer())) {
    return fail(Error(
        ErrorContext::kTransport,
        absl::StrCat("timed out in the TLS handshake with ", where), url));
  }
  if (ec) return fail(HandshakeError(ec, stream, url));

  // Request.
  http::request<http::empty_body> request(http::verb::get, url.target, 11);
  request.set(http::field::host, url.HostHeader());
  request.set(http::field::user_agent, "certbroker-agent");
  request.set(http::field::connection, "close");
  bool ranged = part.size() > 0;
  if (ranged) {
    request.set(http::field::range, absl::StrCat("bytes=", part.size(), "-"));
    request.set(http::field::if_range, part.validator());
  }
  done = false;
  http::async_write(stream, request,
                    [&](boost::system::error_code error, size_t) {
                      ec = error;
                      done = true;
                    });
  if (!Drive(done, options.idle_timeout, true, stream.next_layer())) {
    return fail(Error(ErrorContext::kTransport,
                      absl::StrCat("timed out sending the request to ", where),
                      url));
  }
  if (ec) {
    return fail(Error(
        ErrorContext::kTransport,
        absl::StrCat("cannot send the request to ", where, ": ", ec.message()),
        url));
  }

  // Response head.
  boost::beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit((std::numeric_limits<std::uint64_t>::max)());
  done = false;
  http::async_read_header(stream, buffer, parser,
                          [&](boost::system::error_code error, size_t) {
                            ec = error;
                            done = true;
                          });
  if (!Drive(done, options.idle_timeout, true, stream.next_layer())) {
    return fail(Error(ErrorContext::kTransport,
                      absl::StrCat("no response from ", where, " within ",
                                   absl::FormatDuration(options.idle_timeout)),
                      url));
  }
  if (ec) {
    return fail(Error(ErrorContext::kTransport,
                      absl::StrCat("cannot read the response from ", where,
                                   ": ", ec.message()),
                      url));
  }
  const auto& head = parser.get();
  int status = static_cast<int>(head.result_int());
  result.http_status = status;

  if (IsRedirect(status)) {
    std::string location(head[http::field::location]);
    if (result.redirects >= options.max_redirects) {
      TransferError error = Error(ErrorContext::kRemoteFile,
                                  absl::StrCat("too many redirects (more than ",
                                               options.max_redirects, ")"),
                                  url);
      error.http_status = status;
      return fail(error);
    }
    auto next = ResolveRedirect(url, location);
    if (!next.ok()) {
      TransferError error =
          Error(ErrorContext::kRemoteFile,
                absl::StrCat("bad redirect from ", url.ToString(), ": ",
                             next.status().message()),
                url);
      error.http_status = status;
      return fail(error);
    }
    ++result.redirects;
    Notice(options,
           absl::StrCat("redirected (", status, ") to ", next->ToString()));
    url = *next;
    return HopEnd::kRedirect;
  }
  if (status == 416 && ranged) {
    result.restarted = absl::StrCat("the server refused the range from byte ",
                                    part.size(), " (416)");
    return HopEnd::kRetryWithoutRange;
  }
  if (status != 200 && status != 206) {
    TransferError error = Error(ErrorContext::kRemoteFile,
                                absl::StrCat(url.ToString(), ": ", status, " ",
                                             std::string(head.reason())),
                                url);
    error.http_status = status;
    return fail(error);
  }
  if (status == 206) {
    std::optional<uint64_t> start =
        ContentRangeStart(std::string(head[http::field::content_range]));
    if (!ranged || !start.has_value() || *start != part.size()) {
      TransferError error =
          Error(ErrorContext::kRemoteFile,
                absl::StrCat("unexpected partial content (Content-Range \"",
                             std::string(head[http::field::content_range]),
                             "\") for a request from byte ", part.size()),
                url);
      error.http_status = status;
      return fail(error);
    }
    absl::Status hashed = part.ContinueAfterExisting();
    if (!hashed.ok()) {
      return fail(
          Error(ErrorContext::kLocalFile, std::string(hashed.message()), url));
    }
    result.resumed_from = part.size();
    Notice(options, absl::StrCat("resuming at byte ", part.size()));
  } else if (part.size() > 0) {
    result.restarted = absl::StrCat(
        "the server sent the whole file instead of the range from byte ",
        part.size(),
        " (it ignores ranges, or the file changed since the partial "
        "download)");
    Notice(options, "restarting from zero: " + result.restarted);
    absl::Status emptied = part.Restart();
    if (!emptied.ok()) {
      return fail(
          Error(ErrorContext::kLocalFile, std::string(emptied.message()), url));
    }
  }
  absl::Status remembered = part.SetValidator(Validator(head.base()));
  if (!remembered.ok()) {
    return fail(Error(ErrorContext::kLocalFile,
                      std::string(remembered.message()), url));
  }

  // Body.
  int64_t total = -1;
  if (parser.content_length().has_value()) {
    total = static_cast<int64_t>(part.size() + *parser.content_length());
  } else if (options.expected_size.has_value()) {
    total = static_cast<int64_t>(*options.expected_size);
  }
  if (options.on_progress) options.on_progress(part.size(), total);
  std::vector<char> chunk(kChunkSize);
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    done = false;
    http::async_read(stream, buffer, parser,
                     [&](boost::system::error_code error, size_t) {
                       ec = error;
                       done = true;
                     });
    bool in_time = Drive(done, options.idle_timeout, true, stream.next_layer());
    if (ec == http::error::need_buffer) ec = {};
    size_t received = chunk.size() - parser.get().body().size;
    if (received > 0) {
      absl::Status appended = part.Append(chunk.data(), received);
      if (!appended.ok()) {
        return fail(Error(ErrorContext::kLocalFile,
                          std::string(appended.message()), url));
      }
      result.received += received;
      if (options.on_progress) options.on_progress(part.size(), total);
    }
    if (!in_time) {
      return fail(Error(ErrorContext::kTransport,
                        absl::StrCat("no progress from ", where, " for ",
                                     absl::FormatDuration(options.idle_timeout),
                                     " at byte ", part.size()),
                        url));
    }
    if (ec) {
      return fail(
          Error(ErrorContext::kTransport,
                absl::StrCat("the download from ", where, " broke at byte ",
                             part.size(), ": ", ec.message()),
                url));
    }
    if (options.expected_size.has_value() &&
        part.size() > *options.expected_size) {
      TransferError error =
          Error(ErrorContext::kRemoteFile,
                absl::StrCat("the file is larger than the expected ",
                             *options.expected_size, " bytes"),
                url);
      error.http_status = status;
      part.Discard();
      return fail(error);
    }
  }
  return HopEnd::kBody;
}

FetchResult Fetcher::Impl::Fetch(const FetchOptions& options) {
  FetchResult result;
  auto parsed = ParseHttpsUrl(options.url);
  if (!parsed.ok()) {
    TransferError error;
    error.context = ErrorContext::kRemoteFile;
    error.message = std::string(parsed.status().message());
    error.url = options.url;
    result.error = error;
    return result;
  }
  HttpsUrl url = *parsed;
  auto opened =
      PartFile::Open(options.output_path, url.ToString(),
                     options.sha256_hex.has_value() || options.compute_sha256);
  if (!opened.ok()) {
    result.error = Error(ErrorContext::kLocalFile,
                         std::string(opened.status().message()), url);
    return result;
  }
  PartFile& part = **opened;
  if (part.size() > 0 && part.validator().empty()) {
    result.restarted =
        absl::StrCat("the partial file (", part.size(),
                     " bytes) has no validator from its server to resume with");
    Notice(options, "restarting from zero: " + result.restarted);
    absl::Status emptied = part.Restart();
    if (!emptied.ok()) {
      result.error =
          Error(ErrorContext::kLocalFile, std::string(emptied.message()), url);
      return result;
    }
  }

  bool retried_without_range = false;
  while (true) {
    HopEnd end = RunHop(options, url, part, result);
    if (end == HopEnd::kRedirect) continue;
    if (end == HopEnd::kRetryWithoutRange && !retried_without_range) {
      retried_without_range = true;
      Notice(options, "restarting from zero: " + result.restarted);
      absl::Status emptied = part.Restart();
      if (emptied.ok()) continue;
      result.error =
          Error(ErrorContext::kLocalFile, std::string(emptied.message()), url);
    }
    break;
  }
  result.final_url = url.ToString();
  if (result.error.has_value()) {
    // Keep what can be resumed; drop what cannot.
    if (part.size() == 0 || part.validator().empty()) part.Discard();
    return result;
  }

  result.size = part.size();
  result.sha256_hex = part.Sha256Hex();
  if (options.expected_size.has_value() &&
      result.size != *options.expected_size) {
    part.Discard();
    result.error =
        Error(ErrorContext::kRemoteFile,
              absl::StrCat("size mismatch: expected ", *options.expected_size,
                           " bytes, got ", result.size),
              url);
    result.error->http_status = result.http_status;
    return result;
  }
  if (options.sha256_hex.has_value() &&
      absl::AsciiStrToLower(*options.sha256_hex) != result.sha256_hex) {
    part.Discard();
    result.error =
        Error(ErrorContext::kRemoteFile,
              absl::StrCat("SHA-256 mismatch: expected ",
                           absl::AsciiStrToLower(*options.sha256_hex), ", got ",
                           result.sha256_hex),
              url);
    result.error->http_status = result.http_status;
    return result;
  }
  absl::Status committed = part.Commit();
  if (!committed.ok()) {
    result.error =
        Error(ErrorContext::kLocalFile, std::string(committed.message()), url);
  }
  return result;
}

absl::StatusOr<std::unique_ptr<Fetcher>> Fetcher::Create(TlsBinding& binding) {
  auto impl = std::make_unique<Impl>(binding);
  absl::Status ready = impl->Init();
  if (!ready.ok()) return ready;
  return std::unique_ptr<Fetcher>(new Fetcher(std::move(impl)));
}

Fetcher::Fetcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Fetcher::~Fetcher() = default;

FetchResult Fetcher::Fetch(const FetchOptions& options) {
  return impl_->Fetch(options);
}

}  // namespace certbroker::transfer

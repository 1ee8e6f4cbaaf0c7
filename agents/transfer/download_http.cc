// Download's small helpers: errors (the handshake's classified by the
// broker binding's outcome), Content-Range, validators, redirects, and the
// connection pool's keys.
#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "agents/transfer/download_internal.h"

namespace certbroker::transfer::download_internal {

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

}  // namespace certbroker::transfer::download_internal

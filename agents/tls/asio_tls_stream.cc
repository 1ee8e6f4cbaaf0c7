// AsioTlsStream's non-template parts: setting up the BIO pair and the
// binding's resume hook, and naming failures.
#include "certbroker/agent/asio_tls_stream.h"

#include <boost/asio/post.hpp>

#include "absl/strings/str_cat.h"
#include "certbroker/agent/tls_binding.h"

namespace certbroker::agent {
namespace {

class TlsErrorCategory : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "certbroker.tls"; }
  std::string message(int value) const override {
    switch (static_cast<TlsErrc>(value)) {
      case TlsErrc::kBrokerRejected:
        return "the broker rejected the peer's certificate";
      case TlsErrc::kBrokerUnavailable:
        return "broker unavailable";
      case TlsErrc::kBrokerError:
        return "the broker answered an error";
      case TlsErrc::kTlsFailure:
        return "TLS failure";
    }
    return "unknown certbroker.tls error";
  }
};

}  // namespace

const boost::system::error_category& TlsCategory() {
  static const TlsErrorCategory* category = new TlsErrorCategory();
  return *category;
}

namespace asio_internal {

Core::Core(boost::asio::ip::tcp::socket socket_in, bssl::UniquePtr<SSL> ssl_in)
    : socket(std::move(socket_in)),
      ssl(std::move(ssl_in)),
      broker_wait(socket.get_executor()),
      read_done(socket.get_executor()),
      write_done(socket.get_executor()) {
  // The timers serve as conditions: never expiring, woken by cancel().
  for (auto* timer : {&broker_wait, &read_done, &write_done}) {
    timer->expires_at(boost::asio::steady_timer::time_point::max());
  }
}

Core::~Core() {
  // Freeing the SSL stops the binding's resume hook first.
  ssl.reset();
}

boost::system::error_code Core::FailureCode(int ssl_error) {
  last_error.clear();
  const char* file = nullptr;
  int line = 0;
  const char* data = nullptr;
  int flags = 0;
  while (uint32_t packed =
             ERR_get_error_line_data(&file, &line, &data, &flags)) {
    char text[256];
    ERR_error_string_n(packed, text, sizeof(text));
    if (!last_error.empty()) last_error += "; ";
    absl::StrAppend(&last_error, text);
    if ((flags & ERR_FLAG_STRING) && data != nullptr && data[0] != '\0') {
      absl::StrAppend(&last_error, ": ", data);
    }
  }
  TlsOutcome outcome = SSL_is_server(ssl.get())
                           ? TlsBinding::PeerVerdict(ssl.get())
                           : TlsBinding::ServerVerdict(ssl.get());
  if (outcome.decided && !outcome.accepted) {
    if (last_error.empty()) last_error = outcome.detail;
    if (outcome.broker_unavailable) return TlsErrc::kBrokerUnavailable;
    if (outcome.reason != v1::REASON_UNSPECIFIED) {
      return TlsErrc::kBrokerRejected;
    }
    return TlsErrc::kBrokerError;
  }
  if (ssl_error == SSL_ERROR_SYSCALL && last_error.empty()) {
    last_error = "the peer closed the connection";
    return boost::asio::error::eof;
  }
  return TlsErrc::kTlsFailure;
}

}  // namespace asio_internal

AsioTlsStream::AsioTlsStream(boost::asio::ip::tcp::socket socket,
                             bssl::UniquePtr<SSL> ssl)
    : core_(std::make_shared<asio_internal::Core>(std::move(socket),
                                                  std::move(ssl))) {
  SSL* raw = core_->ssl.get();
  BIO* internal = nullptr;
  BIO* network = nullptr;
  if (raw == nullptr || !BIO_new_bio_pair(&internal, 64 * 1024, &network, 64 * 1024)) {
    // An SSL without BIOs fails its first operation with kTlsFailure.
    return;
  }
  core_->network.reset(network);
  SSL_set_bio(raw, internal, internal);
  SSL_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE);
  std::weak_ptr<asio_internal::Core> weak = core_;
  auto executor = core_->socket.get_executor();
  TlsBinding::SetResume(raw, [weak, executor] {
    boost::asio::post(executor, [weak] {
      if (auto core = weak.lock()) {
        core->woken = true;
        core->broker_wait.cancel();
      }
    });
  });
}

AsioTlsStream::~AsioTlsStream() = default;

}  // namespace certbroker::agent

// certbroker/agent/asio_tls_stream.h: a BoringSSL TLS connection driven by a
// Boost.Asio event loop, through every wait of the broker binding.
//
// AsioTlsStream owns a connected TCP socket and an SSL (attached to a
// TlsBinding, or plain) and runs the SSL non-blocking: BoringSSL reads and
// writes a memory BIO pair and the stream moves the bytes with the socket's
// asynchronous operations. When BoringSSL waits for the broker
// (SSL_ERROR_WANT_CERTIFICATE_VERIFY, SSL_ERROR_WANT_X509_LOOKUP,
// SSL_ERROR_WANT_PRIVATE_KEY_OPERATION, SSL_ERROR_PENDING_CERTIFICATE) the
// operation parks on the event loop until the binding's resume hook says the
// answer arrived, then retries. No thread ever blocks.
//
// The stream models Asio's AsyncReadStream and AsyncWriteStream, so
// boost::asio::async_read/async_write and boost::beast::http::async_read/
// async_write work on it. Like an Asio socket it is not thread-safe: start
// its operations from its executor's thread (or strand) and destroy it
// there, with no operation pending. Like asio::ssl::stream it is full
// duplex: one read and one write may be in progress at once (a proxy
// pumping both ways); the handshake and the shutdown run alone.
#ifndef CERTBROKER_AGENT_ASIO_TLS_STREAM_H_
#define CERTBROKER_AGENT_ASIO_TLS_STREAM_H_

#include <openssl/ssl.h>

#ifndef OPENSSL_IS_BORINGSSL
#error "OpenSSL headers were found before BoringSSL's: fix the include order"
#endif

#include <array>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace certbroker::agent {

// TlsErrc are the errors an AsioTlsStream operation fails with, besides the
// socket's own (boost::asio::error::eof when the peer closed the
// connection). last_error() adds BoringSSL's text.
enum class TlsErrc {
  // kBrokerRejected: the broker judged the peer's certificate and rejected
  // it; TlsBinding::ServerVerdict / PeerVerdict give the reason.
  kBrokerRejected = 1,
  // kBrokerUnavailable: the broker could not be asked.
  kBrokerUnavailable,
  // kBrokerError: the broker answered an error status (for instance
  // PERMISSION_DENIED for a client certificate), or a bad answer.
  kBrokerError,
  // kTlsFailure: the TLS protocol failed for another reason (an alert from
  // the peer, a protocol error).
  kTlsFailure,
};

}  // namespace certbroker::agent

namespace boost::system {
template <>
struct is_error_code_enum<certbroker::agent::TlsErrc> : std::true_type {};
}  // namespace boost::system

namespace certbroker::agent {

// TlsCategory is the error category of TlsErrc ("certbroker.tls").
const boost::system::error_category& TlsCategory();

// make_error_code makes TlsErrc usable as a boost::system::error_code.
inline boost::system::error_code make_error_code(TlsErrc e) {
  return {static_cast<int>(e), TlsCategory()};
}

namespace asio_internal {

// Core is the stream's state, shared with the binding's resume hook (which
// holds it weakly and reaches it only through the executor). One read and
// one write may be in progress at once (full duplex): the socket's reads
// and writes are each done by one operation at a time, the others waiting
// on a timer used as a condition (its expiry is never reached; cancel()
// wakes every waiter, which then looks again).
struct Core {
  Core(boost::asio::ip::tcp::socket socket, bssl::UniquePtr<SSL> ssl);
  ~Core();

  // FailureCode turns a failed BoringSSL call (its SSL_get_error value) into
  // the operation's error, recording BoringSSL's text in last_error.
  boost::system::error_code FailureCode(int ssl_error);

  boost::asio::ip::tcp::socket socket;
  bssl::UniquePtr<SSL> ssl;
  bssl::UniquePtr<BIO> network;           // Our end of the BIO pair.
  boost::asio::steady_timer broker_wait;  // Cancelled by the resume hook.
  bool woken = false;    // A broker answer arrived that no operation saw yet.
  bool reading = false;  // An operation is reading the socket into `in`.
  boost::asio::steady_timer read_done;
  bool writing = false;  // An operation is writing `out` to the socket.
  boost::asio::steady_timer write_done;
  std::string last_error;
  std::array<uint8_t, 64 * 1024> in;   // Bytes read from the socket.
  std::array<uint8_t, 17 * 1024> out;  // Bytes written to the socket.
};

// Kind is what an operation asks of the SSL.
enum class Kind { kHandshake, kRead, kWrite, kShutdown };

// Operation drives one call of the SSL through its waits. Its states are
// resumed by the completion of the asynchronous step it started. It
// completes only once everything BoringSSL wrote has reached the socket.
template <Kind kind>
class Operation {
 public:
  Operation(Core& core, void* data, std::size_t size)
      : core_(core), data_(data), size_(size) {}

  template <typename Self>
  void operator()(Self& self, boost::system::error_code ec = {},
                  std::size_t transferred = 0) {
    switch (next_) {
      case Next::kStart:
        if (core_.network == nullptr) {
          core_.last_error = "the stream has no SSL (or no BIO pair)";
          return Complete(self, TlsErrc::kTlsFailure, 0);
        }
        if constexpr (kind == Kind::kRead || kind == Kind::kWrite) {
          if (size_ == 0) {
            return Complete(self, boost::system::error_code(), 0);
          }
        }
        break;
      case Next::kWritten:
        core_.writing = false;
        core_.write_done.cancel();
        // A failed operation reports its own failure, not a peer that
        // hung up before our alert reached it.
        if (ec) return Complete(self, failure_ ? failure_ : ec, 0);
        return Flush(self);
      case Next::kWriteWoken:
        return Flush(self);
      case Next::kSocketRead:
        core_.reading = false;
        core_.read_done.cancel();
        if (ec == boost::asio::error::eof) {
          BIO_shutdown_wr(core_.network.get());
        } else if (ec) {
          return Complete(self, ec, 0);
        } else if (BIO_write(core_.network.get(), core_.in.data(),
                             static_cast<int>(transferred)) !=
                   static_cast<int>(transferred)) {
          return Complete(self, TlsErrc::kTlsFailure, 0);
        }
        break;
      case Next::kReadWoken:
        break;  // Another operation's read may have brought our bytes.
      case Next::kBrokerWoken:
        core_.woken = false;
        if (!core_.socket.is_open()) {
          return Complete(self, boost::asio::error::operation_aborted, 0);
        }
        break;
    }
    Attempt(self);
  }

 private:
  enum class Next {
    kStart,
    kWritten,
    kWriteWoken,
    kSocketRead,
    kReadWoken,
    kBrokerWoken
  };

  template <typename Self>
  void Attempt(Self& self) {
    ERR_clear_error();
    SSL* ssl = core_.ssl.get();
    int size = static_cast<int>(std::min<std::size_t>(size_, 16 * 1024));
    if constexpr (kind == Kind::kHandshake) {
      result_ = SSL_do_handshake(ssl);
    } else if constexpr (kind == Kind::kRead) {
      result_ = SSL_read(ssl, data_, size);
      // Decrypt what else has arrived, up to the buffer's size, before
      // completing: one completion per record would cost more than the
      // records' decryption. A failure after the first record surfaces on
      // the next read.
      while (result_ > 0 && static_cast<std::size_t>(result_) < size_) {
        int more = SSL_read(ssl, static_cast<uint8_t*>(data_) + result_,
                            static_cast<int>(std::min<std::size_t>(
                                size_ - result_, 16 * 1024)));
        if (more <= 0) {
          ERR_clear_error();
          break;
        }
        result_ += more;
      }
    } else if constexpr (kind == Kind::kWrite) {
      result_ = SSL_write(ssl, data_, size);
    } else {
      result_ = SSL_shutdown(ssl);
      if (result_ == 0) result_ = 1;  // close_notify sent; enough for us.
    }
    ssl_error_ = result_ > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, result_);
    if (ssl_error_ == SSL_ERROR_SSL || ssl_error_ == SSL_ERROR_SYSCALL) {
      failure_ = core_.FailureCode(ssl_error_);
    }
    Flush(self);
  }

  // Flush sends what BoringSSL wrote (a flight, an alert, records) before
  // anything else, so a peer sees our alert even when the operation fails.
  // Bytes another operation is sending go first: wait for them.
  template <typename Self>
  void Flush(Self& self) {
    if (core_.writing) {
      next_ = Next::kWriteWoken;
      core_.write_done.async_wait(std::move(self));
      return;
    }
    size_t pending = BIO_ctrl_pending(core_.network.get());
    if (pending > 0) {
      int n = BIO_read(core_.network.get(), core_.out.data(),
                       static_cast<int>(std::min(pending, core_.out.size())));
      if (n > 0) {
        core_.writing = true;
        next_ = Next::kWritten;
        boost::asio::async_write(core_.socket,
                                 boost::asio::buffer(core_.out.data(), n),
                                 std::move(self));
        return;
      }
    }
    Dispatch(self);
  }

  template <typename Self>
  void Dispatch(Self& self) {
    if (result_ > 0) {
      return Complete(self, boost::system::error_code(),
                      static_cast<std::size_t>(result_));
    }
    switch (ssl_error_) {
      case SSL_ERROR_WANT_READ:
        if (core_.reading) {
          next_ = Next::kReadWoken;
          core_.read_done.async_wait(std::move(self));
          return;
        }
        core_.reading = true;
        next_ = Next::kSocketRead;
        core_.socket.async_read_some(
            boost::asio::buffer(core_.in.data(), core_.in.size()),
            std::move(self));
        return;
      case SSL_ERROR_WANT_WRITE:
        // The BIO pair was full and is flushed now: try again.
        next_ = Next::kStart;
        boost::asio::post(core_.socket.get_executor(), std::move(self));
        return;
      case SSL_ERROR_WANT_X509_LOOKUP:
      case SSL_ERROR_WANT_PRIVATE_KEY_OPERATION:
      case SSL_ERROR_WANT_CERTIFICATE_VERIFY:
      case SSL_ERROR_PENDING_CERTIFICATE:
        next_ = Next::kBrokerWoken;
        if (core_.woken) {
          boost::asio::post(core_.socket.get_executor(), std::move(self));
        } else {
          core_.broker_wait.async_wait(std::move(self));
        }
        return;
      case SSL_ERROR_ZERO_RETURN:
        return Complete(self, boost::asio::error::eof, 0);
      default:
        return Complete(self, failure_, 0);
    }
  }

  template <typename Self>
  void Complete(Self& self, boost::system::error_code ec,
                std::size_t transferred) {
    if constexpr (kind == Kind::kRead || kind == Kind::kWrite) {
      self.complete(ec, transferred);
    } else {
      self.complete(ec);
    }
  }

  Core& core_;
  void* data_;
  std::size_t size_;
  Next next_ = Next::kStart;
  int result_ = 0;
  int ssl_error_ = SSL_ERROR_NONE;
  boost::system::error_code failure_;
};

}  // namespace asio_internal

// AsioTlsStream is one TLS connection over a TCP socket, driven by the
// socket's executor.
class AsioTlsStream {
 public:
  // executor_type, next_layer_type and lowest_layer_type are what Asio's
  // and Beast's stream concepts look for.
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  using next_layer_type = boost::asio::ip::tcp::socket;
  using lowest_layer_type = boost::asio::ip::tcp::socket;

  // AsioTlsStream takes a connected socket and an SSL. The SSL is usually
  // made from a context a TlsBinding configured and attached with
  // TlsBinding::AttachClient or AttachServer (which set its role); the
  // stream registers the binding's resume hook for it. The stream gives the
  // SSL its BIOs: do not set any. A null SSL makes every operation fail
  // with kTlsFailure.
  AsioTlsStream(boost::asio::ip::tcp::socket socket, bssl::UniquePtr<SSL> ssl);
  // ~AsioTlsStream frees the SSL (which stops the binding's resume hook)
  // and closes the socket. No operation may be pending.
  ~AsioTlsStream();
  // A moved-from stream may only be destroyed or assigned to.
  AsioTlsStream(AsioTlsStream&&) = default;
  AsioTlsStream& operator=(AsioTlsStream&&) = default;

  // get_executor returns the socket's executor, where handlers complete.
  executor_type get_executor() { return core_->socket.get_executor(); }

  // next_layer and lowest_layer return the TCP socket.
  boost::asio::ip::tcp::socket& next_layer() { return core_->socket; }
  boost::asio::ip::tcp::socket& lowest_layer() { return core_->socket; }

  // native_handle returns the SSL, for TlsBinding::ServerVerdict and the
  // like. Owned by the stream.
  SSL* native_handle() { return core_->ssl.get(); }

  // close closes the socket and wakes an operation parked on the broker, so
  // that every pending operation completes soon with an error (for
  // timeouts and cancellation). The stream can then only be destroyed.
  void close() {
    boost::system::error_code ignored;
    core_->socket.close(ignored);
    core_->broker_wait.cancel();
  }

  // last_error is BoringSSL's text for the last failed operation (its
  // error queue, with the binding's messages), empty when none failed.
  const std::string& last_error() const { return core_->last_error; }

  // async_handshake runs the TLS handshake in the SSL's role. The handler
  // is void(boost::system::error_code): success, a TlsErrc (then
  // last_error and the binding's accessors say why), or a socket error.
  template <typename Handler>
  auto async_handshake(Handler&& handler) {
    return boost::asio::async_compose<Handler, void(boost::system::error_code)>(
        asio_internal::Operation<asio_internal::Kind::kHandshake>(*core_,
                                                                  nullptr, 0),
        handler, core_->socket);
  }

  // async_read_some reads decrypted bytes into the first non-empty buffer
  // of `buffers`. The handler is void(error_code, std::size_t); the peer's
  // close_notify (or its closing the connection) is boost::asio::error::eof.
  template <typename MutableBufferSequence, typename Handler>
  auto async_read_some(const MutableBufferSequence& buffers,
                       Handler&& handler) {
    boost::asio::mutable_buffer buffer =
        FirstBuffer<boost::asio::mutable_buffer>(buffers);
    return boost::asio::async_compose<Handler, void(boost::system::error_code,
                                                    std::size_t)>(
        asio_internal::Operation<asio_internal::Kind::kRead>(
            *core_, buffer.data(), buffer.size()),
        handler, core_->socket);
  }

  // async_write_some encrypts and sends bytes of the first non-empty buffer
  // of `buffers` (up to 16 KiB). The handler is void(error_code,
  // std::size_t).
  template <typename ConstBufferSequence, typename Handler>
  auto async_write_some(const ConstBufferSequence& buffers, Handler&& handler) {
    boost::asio::const_buffer buffer =
        FirstBuffer<boost::asio::const_buffer>(buffers);
    return boost::asio::async_compose<Handler, void(boost::system::error_code,
                                                    std::size_t)>(
        asio_internal::Operation<asio_internal::Kind::kWrite>(
            *core_, const_cast<void*>(buffer.data()), buffer.size()),
        handler, core_->socket);
  }

  // async_shutdown sends close_notify. The handler is
  // void(boost::system::error_code). It does not wait for the peer's.
  template <typename Handler>
  auto async_shutdown(Handler&& handler) {
    return boost::asio::async_compose<Handler, void(boost::system::error_code)>(
        asio_internal::Operation<asio_internal::Kind::kShutdown>(*core_,
                                                                 nullptr, 0),
        handler, core_->socket);
  }

 private:
  template <typename Buffer, typename Sequence>
  static Buffer FirstBuffer(const Sequence& buffers) {
    auto end = boost::asio::buffer_sequence_end(buffers);
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != end;
         ++it) {
      Buffer buffer(*it);
      if (buffer.size() > 0) return buffer;
    }
    return Buffer();
  }

  std::shared_ptr<asio_internal::Core> core_;
};

}  // namespace certbroker::agent

#endif  // CERTBROKER_AGENT_ASIO_TLS_STREAM_H_

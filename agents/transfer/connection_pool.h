// connection_pool.h: ConnectionPool's insides, shared with download.cc: the
// client SSL_CTX every download's connections are made from, and the idle
// kept-alive connections, by host, port, address and connection options.
#ifndef CERTBROKER_AGENTS_TRANSFER_CONNECTION_POOL_H_
#define CERTBROKER_AGENTS_TRANSFER_CONNECTION_POOL_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "agents/transfer/download.h"
#include "certbroker/agent/asio_tls_stream.h"
#include "certbroker/agent/tls_binding.h"

namespace certbroker::transfer {

class ConnectionPool::Impl {
 public:
  // kMaxIdlePerKey bounds the idle connections kept per key; kIdleTime is
  // how long one is kept (below nginx's default keepalive_timeout of 75 s,
  // so the server rarely closes one first).
  static constexpr size_t kMaxIdlePerKey = 4;
  static constexpr std::chrono::seconds kIdleTime{30};

  Impl(boost::asio::io_context& io, agent::TlsBinding& binding,
       bssl::UniquePtr<SSL_CTX> ctx);
  ~Impl();

  boost::asio::io_context& io() { return io_; }
  agent::TlsBinding& binding() { return binding_; }
  SSL_CTX* ctx() { return ctx_.get(); }

  // Take returns the most recently used idle connection for `key` whose
  // peer has not closed it and whose broker verdict is still reusable
  // (TlsOutcome::reusable_until), or null.
  std::unique_ptr<agent::AsioTlsStream> Take(const std::string& key);
  // Put keeps `stream`, idle after a complete response, for `key`; the
  // oldest connection of the key is closed when it has kMaxIdlePerKey.
  void Put(const std::string& key,
           std::unique_ptr<agent::AsioTlsStream> stream);
  // Clear closes every idle connection.
  void Clear();

  uint64_t opened = 0;
  uint64_t reused = 0;

 private:
  using Clock = std::chrono::steady_clock;
  struct Idle {
    std::unique_ptr<agent::AsioTlsStream> stream;
    Clock::time_point since;
  };

  // ArmSweep has Sweep run at `at`.
  void ArmSweep(Clock::time_point at);
  // Sweep closes the connections idle for kIdleTime and arms the timer for
  // the next one.
  void Sweep();

  boost::asio::io_context& io_;
  agent::TlsBinding& binding_;
  bssl::UniquePtr<SSL_CTX> ctx_;
  std::map<std::string, std::deque<Idle>> idle_;
  boost::asio::steady_timer sweep_;
  bool sweep_armed_ = false;
  // alive_ tells the sweep timer's handler whether the pool still exists.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace certbroker::transfer

#endif  // CERTBROKER_AGENTS_TRANSFER_CONNECTION_POOL_H_

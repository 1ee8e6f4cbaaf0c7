// ConnectionPool: the shared client SSL_CTX and the idle kept-alive
// connections, closed after kIdleTime by one sweep timer.
#include "agents/transfer/connection_pool.h"

#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace certbroker::transfer {
namespace {

// PeerStillOpen says whether the idle connection's peer has neither closed
// it nor sent anything (a close_notify, say): a non-blocking peek finds
// nothing to read.
bool PeerStillOpen(agent::AsioTlsStream& stream) {
  if (!stream.next_layer().is_open()) return false;
  char byte;
  ssize_t n = ::recv(stream.next_layer().native_handle(), &byte, 1,
                     MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

ConnectionPool::Impl::Impl(boost::asio::io_context& io,
                           agent::TlsBinding& binding,
                           bssl::UniquePtr<SSL_CTX> ctx)
    : io_(io), binding_(binding), ctx_(std::move(ctx)), sweep_(io) {}

ConnectionPool::Impl::~Impl() {
  *alive_ = false;
  sweep_.cancel();
}

std::unique_ptr<agent::AsioTlsStream> ConnectionPool::Impl::Take(
    const std::string& key) {
  auto found = idle_.find(key);
  if (found == idle_.end()) return nullptr;
  std::deque<Idle>& idle = found->second;
  std::unique_ptr<agent::AsioTlsStream> stream;
  while (!idle.empty() && stream == nullptr) {
    Idle last = std::move(idle.back());
    idle.pop_back();
    // A connection whose verdict the broker no longer lets us reuse is
    // closed: the next request gets a new handshake and a fresh verdict.
    if (PeerStillOpen(*last.stream) &&
        agent::TlsBinding::ServerVerdict(last.stream->native_handle())
                .reusable_until > absl::Now()) {
      stream = std::move(last.stream);
    }
  }
  if (idle.empty()) idle_.erase(found);
  if (stream != nullptr) ++reused;
  return stream;
}

void ConnectionPool::Impl::Put(const std::string& key,
                               std::unique_ptr<agent::AsioTlsStream> stream) {
  std::deque<Idle>& idle = idle_[key];
  idle.push_back(Idle{std::move(stream), Clock::now()});
  while (idle.size() > kMaxIdlePerKey) idle.pop_front();
  if (!sweep_armed_) ArmSweep(Clock::now() + kIdleTime);
}

void ConnectionPool::Impl::ArmSweep(Clock::time_point at) {
  sweep_armed_ = true;
  sweep_.expires_at(at);
  std::weak_ptr<bool> alive = alive_;
  sweep_.async_wait([this, alive](boost::system::error_code) {
    auto still = alive.lock();
    if (still == nullptr || !*still) return;
    sweep_armed_ = false;
    Sweep();
  });
}

void ConnectionPool::Impl::Sweep() {
  Clock::time_point now = Clock::now();
  Clock::time_point next = Clock::time_point::max();
  for (auto it = idle_.begin(); it != idle_.end();) {
    std::deque<Idle>& idle = it->second;
    while (!idle.empty() && now - idle.front().since >= kIdleTime) {
      idle.pop_front();
    }
    if (idle.empty()) {
      it = idle_.erase(it);
      continue;
    }
    next = std::min(next, idle.front().since + kIdleTime);
    ++it;
  }
  if (next != Clock::time_point::max()) ArmSweep(next);
}

void ConnectionPool::Impl::Clear() {
  idle_.clear();
  sweep_.cancel();
}

absl::StatusOr<std::unique_ptr<ConnectionPool>> ConnectionPool::Create(
    boost::asio::io_context& io, agent::TlsBinding& binding) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  if (ctx == nullptr) return absl::InternalError("SSL_CTX_new failed");
  absl::Status configured = binding.ConfigureClient(ctx.get());
  if (!configured.ok()) return configured;
  return std::unique_ptr<ConnectionPool>(
      new ConnectionPool(std::make_unique<Impl>(io, binding, std::move(ctx))));
}

ConnectionPool::ConnectionPool(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
ConnectionPool::~ConnectionPool() = default;

void ConnectionPool::Clear() { impl_->Clear(); }
uint64_t ConnectionPool::connections_opened() const { return impl_->opened; }
uint64_t ConnectionPool::connections_reused() const { return impl_->reused; }

}  // namespace certbroker::transfer

// Fetcher: one Download at a time on the Fetcher's own io_context, whose
// loop runs on the calling thread until the download is done.
#include "agents/transfer/fetcher.h"

#include <boost/asio/io_context.hpp>
#include <utility>

namespace certbroker::transfer {

namespace {

// ToDownloadOptions is `options` as one Download's.
DownloadOptions ToDownloadOptions(const FetchOptions& options) {
  DownloadOptions download;
  download.url = options.url;
  download.output_path = options.output_path;
  download.sha256_hex = options.sha256_hex;
  download.compute_sha256 = options.compute_sha256;
  download.expected_size = options.expected_size;
  download.max_redirects = options.max_redirects;
  download.connect_timeout = options.connect_timeout;
  download.idle_timeout = options.idle_timeout;
  download.resolve = options.resolve;
  download.ignore_local_errors = options.ignore_local_errors;
  return download;
}

}  // namespace

class Fetcher::Impl {
 public:
  absl::Status Init(agent::TlsBinding& binding) {
    auto pool = ConnectionPool::Create(io_, binding);
    if (!pool.ok()) return pool.status();
    pool_ = std::move(pool).value();
    return absl::OkStatus();
  }

  FetchResult Fetch(const FetchOptions& options) {
    std::optional<FetchResult> result;
    DownloadCallbacks callbacks;
    callbacks.on_progress = options.on_progress;
    callbacks.on_notice = options.on_notice;
    callbacks.on_done = [&result](FetchResult done) {
      result = std::move(done);
    };
    io_.restart();
    Download::Start(*pool_, ToDownloadOptions(options), std::move(callbacks));
    // The pool's idle timer keeps the loop busy: run until the result.
    while (!result.has_value() && io_.run_one() > 0) {
    }
    if (!result.has_value()) {  // Not expected: the loop ran out of work.
      result.emplace();
      result->error = TransferError();
      result->error->message = "the download ended without a result";
    }
    return *std::move(result);
  }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<ConnectionPool> pool_;  // Destroyed before io_.
};

absl::StatusOr<std::unique_ptr<Fetcher>> Fetcher::Create(
    agent::TlsBinding& binding) {
  auto impl = std::make_unique<Impl>();
  absl::Status ready = impl->Init(binding);
  if (!ready.ok()) return ready;
  return std::unique_ptr<Fetcher>(new Fetcher(std::move(impl)));
}

Fetcher::Fetcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Fetcher::~Fetcher() = default;

FetchResult Fetcher::Fetch(const FetchOptions& options) {
  return impl_->Fetch(options);
}

}  // namespace certbroker::transfer

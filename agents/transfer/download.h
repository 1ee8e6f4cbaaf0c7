// download.h: one file's HTTPS download as an asynchronous operation on a
// caller's Boost.Asio event loop, so that many downloads (the jobs of
// `certbroker-agent daemon`) share one thread. The synchronous Fetcher
// runs one Download on a loop of its own.
//
// Every new connection, redirects included, is a fresh TLS connection
// whose handshake runs the binding's local check (honouring
// DownloadOptions::ignore_local_errors only where the broker's rule allows
// them) and the broker's verdict before the first byte of the request is
// written. Connections are kept alive in a ConnectionPool and reused for
// the next request to the same host and port.
#ifndef CERTBROKER_AGENTS_TRANSFER_DOWNLOAD_H_
#define CERTBROKER_AGENTS_TRANSFER_DOWNLOAD_H_

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agents/transfer/transfer_error.h"
#include "certbroker/agent/tls_binding.h"
#include "certbroker/v1/broker.pb.h"

namespace certbroker::transfer {

// DownloadOptions describe one file's download.
struct DownloadOptions {
  // url is the https URL to fetch.
  std::string url;
  // output_path is the target; the bytes go to output_path +
  // ".certbroker-part".
  std::string output_path;
  // sha256_hex, when set, is the file's expected SHA-256 (hex, any case).
  std::optional<std::string> sha256_hex;
  // compute_sha256 hashes the file even without sha256_hex.
  bool compute_sha256 = false;
  // expected_size, when set, is the file's expected size in bytes.
  std::optional<uint64_t> expected_size;
  // commit renames the part file to output_path once verified; without it
  // the verified part file stays (the job system renames it at CompleteJob,
  // with CommitPartFile).
  bool commit = true;
  // truncate_to, when set, first cuts the part file to this many bytes (the
  // journalled, synced size: bytes past it may not have reached the disk
  // before a crash). A part file shorter than this restarts from zero.
  std::optional<uint64_t> truncate_to;
  // max_redirects bounds the redirects followed.
  int max_redirects = 5;
  // connect_timeout bounds the TCP connect and the TLS handshake (the
  // broker's answers included) of each connection.
  absl::Duration connect_timeout = absl::Seconds(30);
  // idle_timeout is the longest wait for any activity while the request is
  // sent and the response read.
  absl::Duration idle_timeout = absl::Seconds(60);
  // resolve maps host names to the address to connect to, skipping DNS.
  std::map<std::string, std::string> resolve;
  // ignore_local_errors are the local verification errors the caller asks
  // to ignore (see agent::TlsConnectionOptions).
  std::vector<v1::Reason> ignore_local_errors;
};

// DownloadPhase is what a download is doing, for the job states.
enum class DownloadPhase {
  kConnecting,    // Resolving, connecting, handshaking, awaiting headers.
  kTransferring,  // Receiving the body.
};

// DownloadCallbacks are called on the event loop's thread. Any may be empty.
struct DownloadCallbacks {
  // on_phase is called when the phase changes.
  std::function<void(DownloadPhase)> on_phase;
  // on_progress is called as bytes arrive with the part file's size and
  // the file's total size (-1 when unknown).
  std::function<void(uint64_t bytes, int64_t total)> on_progress;
  // on_notice receives one-line notices (a resume, a restart from zero and
  // why, a redirect).
  std::function<void(const std::string&)> on_notice;
  // on_done is called once, last, with the result (FetchResult::error set
  // on failure, "cancelled" with kTransport after Cancel).
  std::function<void(struct FetchResult)> on_done;
};

// FetchResult is what a download did.
struct FetchResult {
  // error is set when the download failed; the target is then untouched.
  std::optional<TransferError> error;
  // final_url is the URL the file came from, after redirects.
  std::string final_url;
  // http_status is the last response's status.
  int http_status = 0;
  // redirects counts the redirects followed.
  int redirects = 0;
  // resumed_from is the offset a 206 resumed at (0 when not resumed).
  uint64_t resumed_from = 0;
  // restarted says why a partial file was dropped and the download began
  // again from zero; empty when it was not.
  std::string restarted;
  // size is the file's size; received counts the body bytes of this run.
  uint64_t size = 0;
  uint64_t received = 0;
  // sha256_hex is the file's SHA-256 (lowercase hex) when it completed and
  // was hashed.
  std::string sha256_hex;
};

// ConnectionPool keeps idle keep-alive connections of one event loop (at
// most a few per host and port, closed after an idle time) for reuse by
// later downloads. Use it from the loop's thread only; destroy it there
// after every Download using it has finished.
class ConnectionPool {
 public:
  // ConnectionPool makes a pool whose TLS connections `binding` configures
  // (the binding must outlive it) on `io`.
  static absl::StatusOr<std::unique_ptr<ConnectionPool>> Create(
      boost::asio::io_context& io, agent::TlsBinding& binding);
  ~ConnectionPool();

  // Clear closes every idle connection.
  void Clear();

  class Impl;
  Impl& impl() { return *impl_; }

 private:
  explicit ConnectionPool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Download is one running download. Start it, keep the handle to Cancel
// it or to Checkpoint it; on_done tells when it ended.
class Download {
 public:
  // Start begins downloading on the pool's event loop; call it on the
  // loop's thread. on_done runs later, never inside Start.
  static std::shared_ptr<Download> Start(ConnectionPool& pool,
                                         DownloadOptions options,
                                         DownloadCallbacks callbacks);
  virtual ~Download() = default;

  // Cancel stops the download soon: on_done gets a kTransport error
  // "cancelled". The part file stays (it can be resumed). Loop thread only.
  virtual void Cancel() = 0;

  // Checkpoint makes the part file's bytes durable (fdatasync) and returns
  // their number, to be journalled. Loop thread only.
  virtual absl::StatusOr<uint64_t> Checkpoint() = 0;
};

// CommitPartFile renames output_path's verified part file to output_path
// atomically, syncs the directory and removes the part file's sidecar.
absl::Status CommitPartFile(const std::string& output_path);

// RemovePartFile deletes output_path's part file and sidecar if present.
absl::Status RemovePartFile(const std::string& output_path);

}  // namespace certbroker::transfer

#endif  // CERTBROKER_AGENTS_TRANSFER_DOWNLOAD_H_

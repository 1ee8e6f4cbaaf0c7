// fetcher.h: one HTTPS download into a file, whose TLS trust comes from
// certbrokerd through the agent SDK (TlsBinding over AsioTlsStream), with
// HTTP/1.1 through Boost.Beast: a synchronous wrapper running one Download
// (download.h) on an event loop of its own.
//
// Every new connection, redirects included, is a TLS connection whose
// handshake runs the binding's local check and the broker's verdict before
// the first byte of a request is written; connections are kept alive for
// the Fetcher's next downloads from the same host. The body goes to
// TARGET.certbroker-part; an interrupted download resumes with a Range
// request guarded by If-Range (the validator is kept in
// TARGET.certbroker-part.meta), and a server that answers 200 instead of
// 206 restarts the file from zero. The expected size and SHA-256 are
// checked before the part file is synced and renamed to TARGET.
#ifndef CERTBROKER_AGENTS_TRANSFER_FETCHER_H_
#define CERTBROKER_AGENTS_TRANSFER_FETCHER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agents/transfer/download.h"
#include "agents/transfer/transfer_error.h"
#include "certbroker/agent/tls_binding.h"

namespace certbroker::transfer {

// FetchOptions describe one download.
struct FetchOptions {
  // url is the https URL to fetch.
  std::string url;
  // output_path is the file to create (or replace) when the download
  // completes.
  std::string output_path;
  // sha256_hex, when set, is the file's expected SHA-256 (hex, any case).
  std::optional<std::string> sha256_hex;
  // compute_sha256 asks for the file's SHA-256 in FetchResult even without
  // sha256_hex (hashing costs CPU: about a quarter of a download's).
  bool compute_sha256 = false;
  // expected_size, when set, is the file's expected size in bytes.
  std::optional<uint64_t> expected_size;
  // max_redirects bounds the redirects followed.
  int max_redirects = 5;
  // connect_timeout bounds the name resolution, the TCP connect and the
  // TLS handshake (the broker's answers included) of each connection.
  absl::Duration connect_timeout = absl::Seconds(30);
  // idle_timeout is the no-progress timeout: the longest wait for any
  // activity while the request is sent and the response read.
  absl::Duration idle_timeout = absl::Seconds(60);
  // resolve maps host names to the address to connect to (like curl's
  // --resolve), skipping DNS; the broker still sees the host name.
  std::map<std::string, std::string> resolve;
  // ignore_local_errors are the local verification errors to tolerate where
  // the broker's rule allows them (see agent::TlsConnectionOptions).
  std::vector<v1::Reason> ignore_local_errors;
  // on_progress, when set, is called as bytes arrive with the part file's
  // size and the file's total size (-1 when unknown).
  std::function<void(uint64_t bytes, int64_t total)> on_progress;
  // on_notice, when set, receives one-line notices (a resume, a restart
  // from zero and why, a redirect).
  std::function<void(const std::string&)> on_notice;
};

// Fetcher downloads files through one TlsBinding, one at a time, on its
// own event loop (run on the calling thread inside Fetch), keeping idle
// connections between downloads. Not thread-safe.
class Fetcher {
 public:
  // Create makes a Fetcher whose connections `binding` configures; the
  // binding must outlive it.
  static absl::StatusOr<std::unique_ptr<Fetcher>> Create(
      agent::TlsBinding& binding);
  ~Fetcher();

  // Fetch runs one download to its end.
  FetchResult Fetch(const FetchOptions& options);

 private:
  class Impl;
  explicit Fetcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace certbroker::transfer

#endif  // CERTBROKER_AGENTS_TRANSFER_FETCHER_H_

// fetcher.h: one HTTPS download into a file, whose TLS trust comes from
// certbrokerd through the agent SDK (TlsBinding over AsioTlsStream), with
// HTTP/1.1 through Boost.Beast.
//
// Every connection, redirects included, is a fresh TLS connection whose
// handshake runs the binding's local check and the broker's verdict before
// the first byte of the request is written. The body goes to
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

#include "absl/status/statusor.h"
#include "absl/time/time.h"
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
  // connect_timeout bounds the TCP connect and the TLS handshake (the
  // broker's answers included) of each connection. Name resolution is a
  // blocking getaddrinfo, bounded by the system's resolver.
  absl::Duration connect_timeout = absl::Seconds(30);
  // idle_timeout is the no-progress timeout: the longest wait for any
  // activity while the request is sent and the response read.
  absl::Duration idle_timeout = absl::Seconds(60);
  // resolve maps host names to the address to connect to (like curl's
  // --resolve), skipping DNS; the broker still sees the host name.
  std::map<std::string, std::string> resolve;
  // on_progress, when set, is called as bytes arrive with the part file's
  // size and the file's total size (-1 when unknown).
  std::function<void(uint64_t bytes, int64_t total)> on_progress;
  // on_notice, when set, receives one-line notices (a resume, a restart
  // from zero and why, a redirect).
  std::function<void(const std::string&)> on_notice;
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
  // was hashed (sha256_hex or compute_sha256 given).
  std::string sha256_hex;
};

// Fetcher downloads files through one TlsBinding, one at a time, on its
// own event loop (the calling thread). Not thread-safe.
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

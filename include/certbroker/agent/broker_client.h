// certbroker/agent/broker_client.h: the agent's connection to certbrokerd.
//
// A BrokerClient calls the CertificateBroker API of one certbrokerd. Every
// method comes in two forms, after the seeds' synchronous calls and their
// Begin/End pairs: a blocking one that returns the answer, and an
// asynchronous one that returns at once and hands the answer to a callback.
// Each attempt of a call carries a deadline; attempts that fail with
// UNAVAILABLE (the broker was not reached) are retried with full-jitter
// exponential backoff, since every CertificateBroker method is idempotent.
// An attempt that runs into its deadline is not retried (a broker too slow
// to answer would only get more load): the call ends "broker unavailable".
// Any other status is the broker's answer and is returned as it came, with
// its gRPC code.
//
// The answers that say how long they may be reused (`cache_ttl`) are kept
// in a local cache until then: GetCertificatePolicy (by normalized target),
// OnServerCertificate (by target, server name, chain, staple and agent
// verification), GetNegotiationPolicy (by listener and SNI) and
// OnClientCertificate (by listener, SNI and chain). A CHAIN_REQUIRED answer
// is not cached.
//
// GetClientCertificate answers are cached too, by normalized target,
// acceptable_issuers and signature_algorithms: those with a private key
// (exportable certificates) for the shortest of certificate_cache_ttl (30 s
// by default; 0 turns this off) and the time left until refresh_after;
// those with a key handle only when key_handle_cache_ttl is set (default
// 0: not cached), for the shortest of it, the time to refresh_after and the
// time left until one minute before the handle expires. An answer with
// none of that time left is not cached.
//
// Why keyless answers are not cached by default: a cached handle outlives
// a rotation or a broker restart, and the Sign of the next handshake is
// then refused (FAILED_PRECONDITION) after its Certificate message went out,
// so that handshake fails. Every cached answer carrying a handle Sign
// refused (FAILED_PRECONDITION or PERMISSION_DENIED) is dropped, so the next
// GetClientCertificate asks the broker again; agents that set
// key_handle_cache_ttl accept one failed handshake per cached answer on a
// rotation or restart in exchange for one RPC less per handshake. An
// exportable certificate served from the cache after a rotation is the
// previous one, still valid, for at most certificate_cache_ttl. Agents
// holding a WatchClientCertificate see rotations at once (watch messages
// bypass the cache). The cache holds an exportable certificate's private
// key in memory for as long as the answer. Sign answers are never cached.
//
// Errors are never cached. The policy-version rule, for every cached
// method: whenever any answer carries a policy_version other than the one
// the cache last saw, every cached answer is dropped (versions are opaque;
// the client cannot know a policy changed before some answer shows it, so
// the TTLs bound that).
//
// Two kinds of failure are kept apart, and both fail closed:
//  * the broker said no: a verdict with `accepted` false, or an error status
//    the broker chose (PERMISSION_DENIED, NOT_FOUND, INVALID_ARGUMENT, ...);
//  * the broker could not be asked: IsBrokerUnavailable() is true, the
//    message begins "broker unavailable: ". Compare BITS's "validation
//    interface required" error: the caller must not treat it as either an
//    acceptance or a judgement of the peer.
#ifndef CERTBROKER_AGENT_BROKER_CLIENT_H_
#define CERTBROKER_AGENT_BROKER_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certbroker/v1/broker.pb.h"

namespace certbroker::agent {

// Callback receives the answer of an asynchronous call. It runs on a thread
// of the client (never the caller's, even for a cache hit), and must not
// block for long: hand long work to the application's own executor.
template <typename Response>
using Callback = std::function<void(absl::StatusOr<Response>)>;

// BrokerClientOptions configure a BrokerClient.
struct BrokerClientOptions {
  // address is the broker's gRPC address: "unix:/path/to.sock",
  // "host:port", or any other gRPC target URI. Required.
  std::string address;

  // TLS to the broker (the broker's access.tls): the CA that issued the
  // broker's serving certificate, and this agent's client certificate and
  // key, all PEM files. With tls_ca_file empty the channel is plaintext,
  // which certbrokerd serves only on Unix sockets and, in development,
  // under --insecure_dev_loopback.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  // tls_server_name overrides the name the broker's certificate is
  // checked against (default: the host of `address`).
  std::string tls_server_name;

  // deadline bounds each attempt of a call; one that runs into it ends the
  // call as broker unavailable, without a retry.
  absl::Duration deadline = absl::Seconds(5);

  // max_attempts bounds the attempts of a call failing with UNAVAILABLE
  // (1 disables retries). Before retry n the client waits
  // a random time below initial_backoff * 2^(n-1), at most max_backoff
  // ("full jitter"). A watch reconnects with the same backoff, without
  // bound on the attempts.
  int max_attempts = 3;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);

  // cache_max_entries bounds the local answer cache; 0 disables it.
  size_t cache_max_entries = 10000;

  // certificate_cache_ttl is the longest a GetClientCertificate answer is
  // served from the local cache (less when refresh_after or the key
  // handle's expiry comes sooner; see the top of this file). It bounds how
  // long a rotated certificate takes to reach an agent that does not watch
  // it. 0 disables caching of GetClientCertificate only; negative is an
  // error.
  absl::Duration certificate_cache_ttl = absl::Seconds(30);

  // key_handle_cache_ttl is the longest a GetClientCertificate answer with
  // a key handle (a non-exportable certificate) is served from the local
  // cache. Default 0: not cached, because a rotation or a broker restart
  // would make the next handshake fail (see the top of this file).
  // Negative is an error.
  absl::Duration key_handle_cache_ttl = absl::ZeroDuration();
};

// IsBrokerUnavailable is true when `status` says the broker could not be
// asked (unreachable, or no answer within the deadline on every attempt),
// as opposed to an answer of the broker: code UNAVAILABLE and a message
// "broker unavailable: <last attempt's code>: <its message> (N attempts)"
// (for a watch: "... (watch reconnecting)").
bool IsBrokerUnavailable(const absl::Status& status);

// CacheStats count the local cache's use since the client was created.
struct CacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t entries = 0;
};

// ClientCertificateWatch is one running WatchClientCertificate. Destroying
// it ends the watch; no callback runs after the destructor returns.
class ClientCertificateWatch {
 public:
  virtual ~ClientCertificateWatch() = default;
};

// BrokerClient is thread-safe; share one per process and broker.
class BrokerClient {
 public:
  // ~BrokerClient cancels the calls in flight (their callbacks receive
  // CANCELLED) and returns once every callback of an asynchronous call has
  // run. Watches may outlive the client. Destroy neither the client nor a
  // watch from one of the client's callbacks.
  virtual ~BrokerClient() = default;

  // Create checks `options` and opens a channel (lazily connected: a broker
  // that is down makes calls fail, not Create). Fails with INVALID_ARGUMENT
  // naming the option that is wrong, or an unreadable TLS file.
  static absl::StatusOr<std::unique_ptr<BrokerClient>> Create(
      const BrokerClientOptions& options);

  // The blocking calls. Each returns the broker's answer, or its error
  // status, or a status for which IsBrokerUnavailable is true. They may be
  // called from the client's callbacks (the answer does not need the
  // callback threads), though that holds the callback thread meanwhile.
  virtual absl::StatusOr<::certbroker::v1::GetCertificatePolicyResponse>
  GetCertificatePolicy(
      const ::certbroker::v1::GetCertificatePolicyRequest& request) = 0;
  virtual absl::StatusOr<::certbroker::v1::GetClientCertificateResponse>
  GetClientCertificate(
      const ::certbroker::v1::GetClientCertificateRequest& request) = 0;
  virtual absl::StatusOr<::certbroker::v1::OnServerCertificateResponse>
  OnServerCertificate(
      const ::certbroker::v1::OnServerCertificateRequest& request) = 0;
  virtual absl::StatusOr<::certbroker::v1::SignResponse> Sign(
      const ::certbroker::v1::SignRequest& request) = 0;
  virtual absl::StatusOr<::certbroker::v1::GetNegotiationPolicyResponse>
  GetNegotiationPolicy(
      const ::certbroker::v1::GetNegotiationPolicyRequest& request) = 0;
  virtual absl::StatusOr<::certbroker::v1::OnClientCertificateResponse>
  OnClientCertificate(
      const ::certbroker::v1::OnClientCertificateRequest& request) = 0;

  // The asynchronous calls: the same answers, given to `done` exactly once.
  // The request is copied; it need not outlive the call.
  virtual void GetCertificatePolicyAsync(
      const ::certbroker::v1::GetCertificatePolicyRequest& request,
      Callback<::certbroker::v1::GetCertificatePolicyResponse> done) = 0;
  virtual void GetClientCertificateAsync(
      const ::certbroker::v1::GetClientCertificateRequest& request,
      Callback<::certbroker::v1::GetClientCertificateResponse> done) = 0;
  virtual void OnServerCertificateAsync(
      const ::certbroker::v1::OnServerCertificateRequest& request,
      Callback<::certbroker::v1::OnServerCertificateResponse> done) = 0;
  virtual void SignAsync(const ::certbroker::v1::SignRequest& request,
                         Callback<::certbroker::v1::SignResponse> done) = 0;
  virtual void GetNegotiationPolicyAsync(
      const ::certbroker::v1::GetNegotiationPolicyRequest& request,
      Callback<::certbroker::v1::GetNegotiationPolicyResponse> done) = 0;
  virtual void OnClientCertificateAsync(
      const ::certbroker::v1::OnClientCertificateRequest& request,
      Callback<::certbroker::v1::OnClientCertificateResponse> done) = 0;

  // WatchClientCertificate keeps a WatchClientCertificate stream open and
  // passes every message to `on_update`, in order, on a client thread.
  // When the stream breaks it reconnects with backoff (the first message of
  // the new stream is the current answer again); `on_error` hears every
  // break (IsBrokerUnavailable for a lost broker, or for a broker ending the
  // stream with OK as it shuts down; RESOURCE_EXHAUSTED and ABORTED also
  // reconnect) and the final error of a stream the broker refused, with the
  // broker's code (then the watch stops). Callbacks of one watch never run
  // concurrently; on_update runs on a gRPC thread, so keep it short.
  virtual std::unique_ptr<ClientCertificateWatch> WatchClientCertificate(
      const ::certbroker::v1::WatchClientCertificateRequest& request,
      std::function<
          void(const ::certbroker::v1::WatchClientCertificateResponse&)>
          on_update,
      std::function<void(const absl::Status&)> on_error) = 0;

  // cache_stats counts the local cache's hits and misses.
  virtual CacheStats cache_stats() const = 0;

  // ForgetCachedAnswers empties the local cache, so that the next calls
  // ask the broker. The cache learns of a new policy only from an answer;
  // call this when a user retries after the broker said no (they may have
  // changed the policy since), rather than wait out the refusal's
  // cache_ttl.
  virtual void ForgetCachedAnswers() = 0;
};

}  // namespace certbroker::agent

#endif  // CERTBROKER_AGENT_BROKER_CLIENT_H_

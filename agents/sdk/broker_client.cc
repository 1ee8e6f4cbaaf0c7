// BrokerClient: Create (options, channel, TLS) and the six unary methods,
// blocking and asynchronous, over the retry machine and the answer cache.
#include "certbroker/agent/broker_client.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "agents/sdk/client_core.h"
#include "broker/common/file.h"
#include "broker/common/proto_duration.h"
#include "grpc/grpc.h"

namespace certbroker::agent {
namespace {

using Stub = v1::CertificateBroker::Stub;

// Rpc is a method of the generated callback stub.
template <typename Request, typename Response>
using Rpc = void (Stub::async::*)(grpc::ClientContext*, const Request*,
                                  Response*, std::function<void(grpc::Status)>);

// The policy version and cache_ttl of each answer ("" and 0 for answers
// that have none, which are never cached).
std::string VersionOf(const v1::GetCertificatePolicyResponse& r) {
  return r.policy_version();
}
std::string VersionOf(const v1::GetClientCertificateResponse& r) {
  return r.policy_version();
}
std::string VersionOf(const v1::OnServerCertificateResponse& r) {
  return r.policy_version();
}
std::string VersionOf(const v1::SignResponse&) { return ""; }
std::string VersionOf(const v1::GetNegotiationPolicyResponse& r) {
  return r.policy_version();
}
std::string VersionOf(const v1::OnClientCertificateResponse& r) {
  return r.policy_version();
}

absl::Duration TtlOf(const google::protobuf::Duration& ttl) {
  return ToDuration(ttl);
}
absl::Duration TtlOf(const v1::GetCertificatePolicyResponse& r) {
  return TtlOf(r.cache_ttl());
}
absl::Duration TtlOf(const v1::OnServerCertificateResponse& r) {
  // CHAIN_REQUIRED is not a verdict: the next request carries the chain.
  if (r.reason() == v1::CHAIN_REQUIRED) return absl::ZeroDuration();
  return TtlOf(r.cache_ttl());
}
absl::Duration TtlOf(const v1::SignResponse&) { return absl::ZeroDuration(); }
absl::Duration TtlOf(const v1::GetNegotiationPolicyResponse& r) {
  return TtlOf(r.cache_ttl());
}
absl::Duration TtlOf(const v1::OnClientCertificateResponse& r) {
  return TtlOf(r.cache_ttl());
}

// CacheTtl is how long `r`, received now, may be served from the cache;
// CachedHandle, the key handle a cached answer carries ("" for none).
template <typename Response>
absl::Duration CacheTtl(const ClientCore&, const Response& r) {
  return TtlOf(r);
}
absl::Duration CacheTtl(const ClientCore& core,
                        const v1::GetClientCertificateResponse& r) {
  return ClientCertificateTtl(r,
                              r.has_key_handle()
                                  ? core.options.key_handle_cache_ttl
                                  : core.options.certificate_cache_ttl,
                              core.key_handle_margin, absl::Now());
}
template <typename Response>
std::string CachedHandle(const Response&) {
  return "";
}
std::string CachedHandle(const v1::GetClientCertificateResponse& r) {
  return r.key_handle().handle();
}

// The cache keys: empty for the methods whose answers are not cached
// (GetClientCertificate's too when both its TTLs are zero).
template <typename Request>
std::string CacheKey(const ClientCore&, const Request& request) {
  return KeyOf(request);
}
std::string CacheKey(const ClientCore& core,
                     const v1::GetClientCertificateRequest& request) {
  if (core.options.certificate_cache_ttl <= absl::ZeroDuration() &&
      core.options.key_handle_cache_ttl <= absl::ZeroDuration()) {
    return "";
  }
  return KeyOf(request);
}
std::string CacheKey(const ClientCore&, const v1::SignRequest&) { return ""; }

// OnError sees every failed call: a Sign the broker refused because the
// handle is no longer good (FAILED_PRECONDITION: expired, the broker
// restarted, the certificate rotated or was removed, the policy changed;
// PERMISSION_DENIED: not this caller's) drops the cached
// GetClientCertificate answers that carry the handle, so that the next
// handshake asks the broker again.
template <typename Request>
void OnError(ClientCore&, const Request&, const absl::Status&) {}
void OnError(ClientCore& core, const v1::SignRequest& request,
             const absl::Status& status) {
  if (status.code() == absl::StatusCode::kFailedPrecondition ||
      status.code() == absl::StatusCode::kPermissionDenied) {
    core.cache.DropKeyHandle(request.key_handle());
  }
}

class BrokerClientImpl final : public BrokerClient {
 public:
  explicit BrokerClientImpl(std::shared_ptr<ClientCore> core)
      : core_(std::move(core)) {}

  ~BrokerClientImpl() override { core_->tracker.Shutdown(core_->timers); }

  absl::StatusOr<v1::GetCertificatePolicyResponse> GetCertificatePolicy(
      const v1::GetCertificatePolicyRequest& request) override {
    return Blocking(&Stub::async::GetCertificatePolicy, request);
  }
  absl::StatusOr<v1::GetClientCertificateResponse> GetClientCertificate(
      const v1::GetClientCertificateRequest& request) override {
    return Blocking(&Stub::async::GetClientCertificate, request);
  }
  absl::StatusOr<v1::OnServerCertificateResponse> OnServerCertificate(
      const v1::OnServerCertificateRequest& request) override {
    return Blocking(&Stub::async::OnServerCertificate, request);
  }
  absl::StatusOr<v1::SignResponse> Sign(
      const v1::SignRequest& request) override {
    return Blocking(&Stub::async::Sign, request);
  }
  absl::StatusOr<v1::GetNegotiationPolicyResponse> GetNegotiationPolicy(
      const v1::GetNegotiationPolicyRequest& request) override {
    return Blocking(&Stub::async::GetNegotiationPolicy, request);
  }
  absl::StatusOr<v1::OnClientCertificateResponse> OnClientCertificate(
      const v1::OnClientCertificateRequest& request) override {
    return Blocking(&Stub::async::OnClientCertificate, request);
  }

  void GetCertificatePolicyAsync(
      const v1::GetCertificatePolicyRequest& request,
      Callback<v1::GetCertificatePolicyResponse> done) override {
    Async(&Stub::async::GetCertificatePolicy, request, std::move(done));
  }
  void GetClientCertificateAsync(
      const v1::GetClientCertificateRequest& request,
      Callback<v1::GetClientCertificateResponse> done) override {
    Async(&Stub::async::GetClientCertificate, request, std::move(done));
  }
  void OnServerCertificateAsync(
      const v1::OnServerCertificateRequest& request,
      Callback<v1::OnServerCertificateResponse> done) override {
    Async(&Stub::async::OnServerCertificate, request, std::move(done));
  }
  void SignAsync(const v1::SignRequest& request,
                 Callback<v1::SignResponse> done) override {
    Async(&Stub::async::Sign, request, std::move(done));
  }
  void GetNegotiationPolicyAsync(
      const v1::GetNegotiationPolicyRequest& request,
      Callback<v1::GetNegotiationPolicyResponse> done) override {
    Async(&Stub::async::GetNegotiationPolicy, request, std::move(done));
  }
  void OnClientCertificateAsync(
      const v1::OnClientCertificateRequest& request,
      Callback<v1::OnClientCertificateResponse> done) override {
    Async(&Stub::async::OnClientCertificate, request, std::move(done));
  }

  std::unique_ptr<ClientCertificateWatch> WatchClientCertificate(
      const v1::WatchClientCertificateRequest& request,
      std::function<void(const v1::WatchClientCertificateResponse&)> on_update,
      std::function<void(const absl::Status&)> on_error) override {
    return StartWatch(core_, request, std::move(on_update),
                      std::move(on_error));
  }

  CacheStats cache_stats() const override { return core_->cache.stats(); }

  void ForgetCachedAnswers() override { core_->cache.Clear(); }

 private:
  // FromCache returns the cached answer under `key`, if any.
  template <typename Response>
  std::unique_ptr<Response> FromCache(const std::string& key) {
    if (key.empty()) return nullptr;
    std::shared_ptr<const google::protobuf::Message> cached =
        core_->cache.Lookup(key);
    if (cached == nullptr) return nullptr;
    // Keys begin with a byte naming the method, so the type is Response.
    return std::make_unique<Response>(static_cast<const Response&>(*cached));
  }

  // Call runs `rpc` with retries, caches the answer, and gives the result
  // to `complete` on a gRPC or timer thread (or inline).
  template <typename Request, typename Response>
  void Call(Rpc<Request, Response> rpc, const Request& request, std::string key,
            std::function<void(absl::StatusOr<Response>)> complete) {
    auto shared_request = std::make_shared<const Request>(request);
    auto response = std::make_shared<Response>();
    ClientCore* core = core_.get();
    StartAttempt start = [core, rpc, shared_request, response](
                             grpc::ClientContext* context, AttemptDone done) {
      response->Clear();
      (core->stub->async()->*rpc)(context, shared_request.get(), response.get(),
                                  std::move(done));
    };
    RunRetrying(
        core->retry, core->timers, core->tracker, std::move(start),
        [core, shared_request, response, key = std::move(key),
         complete = std::move(complete)](absl::Status status) {
          if (!status.ok()) {
            OnError(*core, *shared_request, status);
            complete(std::move(status));
            return;
          }
          if (key.empty()) {
            core->cache.ObserveVersion(VersionOf(*response));
          } else {
            core->cache.Insert(key, std::make_shared<const Response>(*response),
                               VersionOf(*response), CacheTtl(*core, *response),
                               CachedHandle(*response));
          }
          complete(std::move(*response));
        },
        core->attempt_observer);
  }

  template <typename Request, typename Response>
  absl::StatusOr<Response> Blocking(Rpc<Request, Response> rpc,
                                    const Request& request) {
    std::string key = CacheKey(*core_, request);
    if (auto cached = FromCache<Response>(key)) return std::move(*cached);
    absl::Notification answered;
    absl::StatusOr<Response> result;
    ClientCore* core = core_.get();
    core->tracker.Begin();
    Call<Request, Response>(rpc, request, std::move(key),
                            [&](absl::StatusOr<Response> answer) {
                              result = std::move(answer);
                              core->tracker.End();
                              answered.Notify();
                            });
    answered.WaitForNotification();
    return result;
  }

  template <typename Request, typename Response>
  void Async(Rpc<Request, Response> rpc, const Request& request,
             Callback<Response> done) {
    std::string key = CacheKey(*core_, request);
    ClientCore* core = core_.get();
    core->tracker.Begin();
    // Every answer, a cache hit too, reaches `done` on a callback thread:
    // never inline on the caller's thread (a TLS stack calling from its
    // handshake expects to be called back later), nor on a gRPC thread.
    auto deliver = [core, done = std::move(done)](
                       absl::StatusOr<Response> answer) mutable {
      core->callbacks.Post(
          [core, done = std::move(done), answer = std::move(answer)]() mutable {
            done(std::move(answer));
            done = nullptr;
            core->tracker.End();
          });
    };
    if (auto cached = FromCache<Response>(key)) {
      deliver(std::move(*cached));
      return;
    }
    Call<Request, Response>(rpc, request, std::move(key), std::move(deliver));
  }

  std::shared_ptr<ClientCore> core_;
};

absl::Status CheckOptions(const BrokerClientOptions& options) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError("BrokerClientOptions.address is empty");
  }
  if (options.deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("BrokerClientOptions.deadline must be positive, not ",
                     absl::FormatDuration(options.deadline)));
  }
  if (options.max_attempts < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("BrokerClientOptions.max_attempts must be at least 1, "
                     "not ",
                     options.max_attempts));
  }
  if (options.initial_backoff < absl::ZeroDuration() ||
      options.max_backoff < options.initial_backoff) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BrokerClientOptions: need 0 <= initial_backoff <= max_backoff, not ",
        absl::FormatDuration(options.initial_backoff), " and ",
        absl::FormatDuration(options.max_backoff)));
  }
  for (const auto& [name, ttl] :
       {std::pair<const char*, absl::Duration>{"certificate_cache_ttl",
                                               options.certificate_cache_ttl},
        {"key_handle_cache_ttl", options.key_handle_cache_ttl}}) {
    if (ttl < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "BrokerClientOptions.", name, " must not be negative, not ",
          absl::FormatDuration(ttl)));
    }
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "BrokerClientOptions: tls_cert_file and tls_key_file go together");
  }
  if (options.tls_ca_file.empty() &&
      !(options.tls_cert_file.empty() && options.tls_server_name.empty())) {
    return absl::InvalidArgumentError(
        "BrokerClientOptions: tls_cert_file, tls_key_file and "
        "tls_server_name need tls_ca_file (TLS to the broker)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadTlsFile(const char* option,
                                        const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFile(path);
  if (!contents.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BrokerClientOptions.", option, ": ", contents.status().message()));
  }
  return contents;
}

int Milliseconds(absl::Duration duration) {
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(duration),
                                            std::numeric_limits<int>::max()));
}

}  // namespace

bool IsBrokerUnavailable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable &&
         absl::StartsWith(status.message(), kBrokerUnavailablePrefix);
}

absl::StatusOr<std::unique_ptr<BrokerClient>> BrokerClient::Create(
    const BrokerClientOptions& options) {
  return CreateBrokerClient(options, nullptr);
}

absl::StatusOr<std::unique_ptr<BrokerClient>> CreateBrokerClient(
    const BrokerClientOptions& options, AttemptObserver attempt_observer) {
  absl::Status valid = CheckOptions(options);
  if (!valid.ok()) return valid;
  // gRPC stays initialized for the rest of the process once a client was
  // made: gRPC threads still finish a call's bookkeeping after its
  // callback ran, so destroying the last channel (and with it shutting
  // gRPC down) right after the last answer would race with them.
  static const bool kGrpcKeptAlive = [] {
    grpc_init();
    return true;
  }();
  (void)kGrpcKeptAlive;
  grpc::ChannelArguments arguments;
  // The channel reconnects about as fast as the calls retry, so that a
  // retry after a broker restart finds a fresh connection attempt rather
  // than the channel's own (slower) reconnection backoff. (The channel's
  // "min reconnect backoff" is its connection timeout: left as it is.)
  int initial_ms = std::max(Milliseconds(options.initial_backoff), 1);
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, initial_ms);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                   std::max(Milliseconds(options.max_backoff), initial_ms));
  arguments.SetMaxReceiveMessageSize(16 << 20);
  arguments.SetUserAgentPrefix("certbroker-agent");
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls_ca_file.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions tls;
    absl::StatusOr<std::string> ca =
        ReadTlsFile("tls_ca_file", options.tls_ca_file);
    if (!ca.ok()) return ca.status();
    tls.pem_root_certs = *std::move(ca);
    if (!options.tls_cert_file.empty()) {
      absl::StatusOr<std::string> chain =
          ReadTlsFile("tls_cert_file", options.tls_cert_file);
      if (!chain.ok()) return chain.status();
      absl::StatusOr<std::string> key =
          ReadTlsFile("tls_key_file", options.tls_key_file);
      if (!key.ok()) return key.status();
      tls.pem_cert_chain = *std::move(chain);
      tls.pem_private_key = *std::move(key);
    }
    if (!options.tls_server_name.empty()) {
      arguments.SetSslTargetNameOverride(options.tls_server_name);
    }
    credentials = grpc::SslCredentials(tls);
  }
  auto core = std::make_shared<ClientCore>(
      options,
      grpc::CreateCustomChannel(options.address, credentials, arguments));
  core->attempt_observer = std::move(attempt_observer);
  return std::unique_ptr<BrokerClient>(
      std::make_unique<BrokerClientImpl>(std::move(core)));
}

}  // namespace certbroker::agent

// ClientCore: what a BrokerClient and its watches share: the options, the
// channel and stub, the answer cache, the calls in flight, and the threads
// that run timers and callbacks. Internal to agents/sdk.
#ifndef CERTBROKER_AGENTS_SDK_CLIENT_CORE_H_
#define CERTBROKER_AGENTS_SDK_CLIENT_CORE_H_

#include <functional>
#include <memory>
#include <utility>

#include "agents/sdk/answer_cache.h"
#include "agents/sdk/retrying_call.h"
#include "agents/sdk/task_runner.h"
#include "certbroker/agent/broker_client.h"
#include "certbroker/v1/broker.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::agent {

// ClientCore is owned (shared) by the BrokerClient and its watches: a
// watch may outlive the client. The last owner must not be destroyed on one
// of the core's own threads.
struct ClientCore {
  ClientCore(const BrokerClientOptions& client_options,
             std::shared_ptr<grpc::Channel> broker_channel)
      : options(client_options),
        channel(std::move(broker_channel)),
        stub(v1::CertificateBroker::NewStub(channel)),
        cache(client_options.cache_max_entries) {
    retry.deadline = options.deadline;
    retry.max_attempts = options.max_attempts;
    retry.initial_backoff = options.initial_backoff;
    retry.max_backoff = options.max_backoff;
  }

  BrokerClientOptions options;
  RetryOptions retry;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::CertificateBroker::Stub> stub;
  AnswerCache cache;
  // key_handle_margin is how long a key handle must still be good for its
  // GetClientCertificate answer to be served from the cache (see
  // BrokerClientOptions::certificate_cache_ttl): ample for the Sign calls
  // of a handshake that begins as the entry is last served.
  absl::Duration key_handle_margin = absl::Minutes(1);
  CallTracker tracker;
  // attempt_observer, when set before any call, hears every attempt of
  // every unary call (tests count retries with it).
  AttemptObserver attempt_observer;
  // timers run retries and watch reconnections; callbacks deliver answers
  // of asynchronous calls. Declared last: their threads stop first.
  TaskRunner timers{1};
  TaskRunner callbacks{2};
};

// CreateBrokerClient is BrokerClient::Create with an observer of every
// attempt of every unary call (null: none), for tests of the retries.
absl::StatusOr<std::unique_ptr<BrokerClient>> CreateBrokerClient(
    const BrokerClientOptions& options, AttemptObserver attempt_observer);

// StartWatch starts a WatchClientCertificate on `core` (see BrokerClient).
std::unique_ptr<ClientCertificateWatch> StartWatch(
    std::shared_ptr<ClientCore> core,
    const v1::WatchClientCertificateRequest& request,
    std::function<void(const v1::WatchClientCertificateResponse&)> on_update,
    std::function<void(const absl::Status&)> on_error);

}  // namespace certbroker::agent

#endif  // CERTBROKER_AGENTS_SDK_CLIENT_CORE_H_

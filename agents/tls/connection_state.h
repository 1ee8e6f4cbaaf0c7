// The binding's per-connection state: the broker questions one SSL asked,
// their answers, and the outcomes the application reads afterwards. Kept
// behind a shared_ptr in the SSL's ex_data, so that an answer arriving after
// the SSL was freed lands in state nobody reads any more.
#ifndef CERTBROKER_AGENTS_TLS_CONNECTION_STATE_H_
#define CERTBROKER_AGENTS_TLS_CONNECTION_STATE_H_

#include <openssl/ssl.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "broker/common/proto_duration.h"
#include "broker/x509/boringssl.h"
#include "certbroker/agent/broker_client.h"
#include "certbroker/agent/tls_binding.h"
#include "certbroker/v1/broker.pb.h"

namespace certbroker::agent::tls_internal {

// Phase is where one broker question stands.
enum class Phase { kNotAsked, kAsked, kAnswered };

// Question holds one asynchronous broker call's progress and answer.
template <typename Response>
struct Question {
  Phase phase = Phase::kNotAsked;
  absl::StatusOr<Response> answer = absl::UnknownError("not answered");
};

// ConnectionState is one SSL's state. Fields below `mu` are written by
// client threads (answers) and the connection's thread; the rest only by the
// connection's thread.
struct ConnectionState {
  TlsBinding::Impl* binding = nullptr;
  bool is_client = true;
  v1::Target target;        // Client side.
  std::string server_name;  // Client side: the name the chain must cover.
  // Client side: the local errors the connection asks to tolerate.
  std::vector<v1::Reason> ignore_local_errors;
  std::string sni;  // Server side: the ClientHello's SNI.

  absl::Mutex mu;
  Question<v1::GetCertificatePolicyResponse> policy ABSL_GUARDED_BY(mu);
  Question<v1::OnServerCertificateResponse> verdict ABSL_GUARDED_BY(mu);
  Question<v1::GetClientCertificateResponse> certificate ABSL_GUARDED_BY(mu);
  Question<v1::SignResponse> signature ABSL_GUARDED_BY(mu);
  Question<v1::GetNegotiationPolicyResponse> negotiation ABSL_GUARDED_BY(mu);
  Question<v1::OnClientCertificateResponse> peer_verdict ABSL_GUARDED_BY(mu);
  TlsOutcome outcome ABSL_GUARDED_BY(mu);  // The decisive step's outcome.
  std::string local_check ABSL_GUARDED_BY(mu);
  ClientCertificateInfo certificate_info ABSL_GUARDED_BY(mu);
  PeerInfo peer ABSL_GUARDED_BY(mu);

  // resume is the driver's wake-up; called under resume_mu so that it never
  // runs once the SSL's free has cleared it.
  absl::Mutex resume_mu;
  std::function<void()> resume ABSL_GUARDED_BY(resume_mu);
};

// StateOf returns the state attached to `ssl`, or null.
std::shared_ptr<ConnectionState> StateOf(const SSL* ssl);

// Attach gives `ssl` a new state for `binding`.
std::shared_ptr<ConnectionState> Attach(SSL* ssl, TlsBinding::Impl* binding,
                                        bool is_client);

// BindingOf returns the binding ConfigureClient/ConfigureServer put on
// `ctx`, or null.
TlsBinding::Impl* BindingOf(const SSL_CTX* ctx);

// Answer returns the callback that stores an answer in `question` of
// `state` and wakes the connection.
template <typename Response>
Callback<Response> Answer(std::shared_ptr<ConnectionState> state,
                          Question<Response> ConnectionState::*question) {
  return [state = std::move(state), question](absl::StatusOr<Response> answer) {
    {
      absl::MutexLock lock(&state->mu);
      Question<Response>& q = state.get()->*question;
      q.answer = std::move(answer);
      q.phase = Phase::kAnswered;
    }
    absl::MutexLock lock(&state->resume_mu);
    if (state->resume) state->resume();
  };
}

// SetBinding records `binding` on `ctx` for BindingOf.
bool SetBinding(SSL_CTX* ctx, TlsBinding::Impl* binding);

// PushError adds `text` to the calling thread's BoringSSL error queue, so a
// caller reading the queue after the failed handshake sees why.
void PushError(const std::string& text);

// RecordStatusFailure records a failure of `step` from an error status (the
// broker's error, or its absence) unless an earlier step already failed,
// and pushes its text onto the error queue.
void RecordStatusFailure(ConnectionState& state, TlsStep step,
                         const absl::Status& status)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(state.mu);

// OutcomeOfVerdict is the outcome of `step` a broker verdict
// (OnServerCertificateResponse or OnClientCertificateResponse) decides.
template <typename Verdict>
TlsOutcome OutcomeOfVerdict(TlsStep step, const Verdict& verdict) {
  TlsOutcome outcome;
  outcome.decided = true;
  outcome.step = step;
  outcome.accepted = verdict.accepted() && verdict.reason() == v1::ACCEPTED;
  outcome.reason = verdict.reason();
  outcome.detail = verdict.detail();
  outcome.decision_id = verdict.decision_id();
  outcome.rule_name = verdict.rule_name();
  outcome.reusable_until = absl::Now() + ToDuration(verdict.cache_ttl());
  return outcome;
}

// Client side: the callbacks ConfigureClient installs.
enum ssl_verify_result_t VerifyServer(SSL* ssl, uint8_t* out_alert);
int SelectClientCertificate(SSL* ssl, void* arg);
extern const SSL_PRIVATE_KEY_METHOD kBrokerKeyMethod;

// Server side: the callbacks ConfigureServer installs.
enum ssl_select_cert_result_t NegotiateClientCertificate(
    const SSL_CLIENT_HELLO* client_hello);
enum ssl_verify_result_t VerifyClient(SSL* ssl, uint8_t* out_alert);

}  // namespace certbroker::agent::tls_internal

namespace certbroker::agent {

// TlsBinding::Impl is the binding's shared configuration and counters.
class TlsBinding::Impl {
 public:
  Impl(BrokerClient& client, TlsBindingOptions options,
       bssl::UniquePtr<X509_STORE> trust_store)
      : client_(client),
        options_(std::move(options)),
        trust_store_(std::move(trust_store)) {}

  BrokerClient& client() { return client_; }
  const TlsBindingOptions& options() const { return options_; }
  // trust_store is the local check's roots; null when none was configured.
  X509_STORE* trust_store() const { return trust_store_.get(); }

  std::atomic<uint64_t> server_verdicts{0};
  std::atomic<uint64_t> client_certificates{0};
  std::atomic<uint64_t> keyless_signatures{0};
  std::atomic<uint64_t> negotiations{0};
  std::atomic<uint64_t> peer_verdicts{0};

 private:
  BrokerClient& client_;
  const TlsBindingOptions options_;
  const bssl::UniquePtr<X509_STORE> trust_store_;
};

}  // namespace certbroker::agent

#endif  // CERTBROKER_AGENTS_TLS_CONNECTION_STATE_H_

// The server side of the binding: at the ClientHello, GetNegotiationPolicy
// for the listener and SNI sets whether to ask for a client certificate and
// which CA names to send; the client's chain then goes to
// OnClientCertificate, whose accepted identity the application reads.
#include <openssl/ssl.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "agents/tls/connection_state.h"

namespace certbroker::agent::tls_internal {
namespace {

v1::Listener ListenerOf(const ConnectionState& state) {
  v1::Listener listener;
  listener.set_name(state.binding->options().listener_name);
  listener.set_sni(state.sni);
  return listener;
}

}  // namespace

enum ssl_select_cert_result_t NegotiateClientCertificate(
    const SSL_CLIENT_HELLO* client_hello) {
  SSL* ssl = client_hello->ssl;
  auto state = StateOf(ssl);
  if (state == nullptr || state->is_client) {
    PushError("the SSL is not attached to a TlsBinding (AttachServer)");
    return ssl_select_cert_error;
  }
  TlsBinding::Impl& binding = *state->binding;
  absl::ReleasableMutexLock lock(&state->mu);
  if (state->negotiation.phase == Phase::kNotAsked) {
    const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    state->sni = sni == nullptr ? "" : sni;
    v1::GetNegotiationPolicyRequest request;
    *request.mutable_listener() = ListenerOf(*state);
    state->negotiation.phase = Phase::kAsked;
    lock.Release();
    binding.client().GetNegotiationPolicyAsync(
        request, Answer(state, &ConnectionState::negotiation));
    return ssl_select_cert_retry;
  }
  if (state->negotiation.phase == Phase::kAsked) return ssl_select_cert_retry;
  if (!state->negotiation.answer.ok()) {
    RecordStatusFailure(*state, TlsStep::kNegotiation,
                        state->negotiation.answer.status());
    return ssl_select_cert_error;
  }
  const v1::GetNegotiationPolicyResponse& policy = *state->negotiation.answer;
  binding.negotiations.fetch_add(1, std::memory_order_relaxed);
  state->peer.mode = policy.mode();
  switch (policy.mode()) {
    case v1::IGNORE:
      SSL_set_custom_verify(ssl, SSL_VERIFY_NONE, nullptr);
      state->peer.anonymous = true;
      return ssl_select_cert_success;
    case v1::REQUEST:
      // Anonymous until a certificate arrives and is accepted.
      state->peer.anonymous = true;
      SSL_set_custom_verify(ssl, SSL_VERIFY_PEER, VerifyClient);
      break;
    case v1::REQUIRE:
      SSL_set_custom_verify(
          ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, VerifyClient);
      break;
    default:
      RecordStatusFailure(
          *state, TlsStep::kNegotiation,
          absl::InvalidArgumentError(
              absl::StrCat("the broker answered an unknown negotiation mode ",
                           policy.mode())));
      return ssl_select_cert_error;
  }
  bssl::UniquePtr<STACK_OF(CRYPTO_BUFFER)> names(sk_CRYPTO_BUFFER_new_null());
  if (names == nullptr) return ssl_select_cert_error;
  for (const std::string& name : policy.acceptable_ca_names()) {
    bssl::UniquePtr<CRYPTO_BUFFER> buffer(CRYPTO_BUFFER_new(
        reinterpret_cast<const uint8_t*>(name.data()), name.size(), nullptr));
    if (buffer == nullptr ||
        !bssl::PushToStack(names.get(), std::move(buffer))) {
      return ssl_select_cert_error;
    }
  }
  SSL_set0_client_CAs(ssl, names.release());
  return ssl_select_cert_success;
}

enum ssl_verify_result_t VerifyClient(SSL* ssl, uint8_t* out_alert) {
  auto state = StateOf(ssl);
  if (state == nullptr || state->is_client) {
    *out_alert = SSL_AD_INTERNAL_ERROR;
    return ssl_verify_invalid;
  }
  TlsBinding::Impl& binding = *state->binding;
  absl::ReleasableMutexLock lock(&state->mu);
  if (state->peer_verdict.phase == Phase::kNotAsked) {
    v1::OnClientCertificateRequest request;
    *request.mutable_listener() = ListenerOf(*state);
    const STACK_OF(CRYPTO_BUFFER)* chain = SSL_get0_peer_certificates(ssl);
    for (size_t i = 0; chain != nullptr && i < sk_CRYPTO_BUFFER_num(chain);
         ++i) {
      const CRYPTO_BUFFER* buffer = sk_CRYPTO_BUFFER_value(chain, i);
      request.add_certificate_chain(
          reinterpret_cast<const char*>(CRYPTO_BUFFER_data(buffer)),
          CRYPTO_BUFFER_len(buffer));
    }
    state->peer_verdict.phase = Phase::kAsked;
    lock.Release();
    binding.client().OnClientCertificateAsync(
        request, Answer(state, &ConnectionState::peer_verdict));
    return ssl_verify_retry;
  }
  if (state->peer_verdict.phase == Phase::kAsked) return ssl_verify_retry;
  if (!state->peer_verdict.answer.ok()) {
    RecordStatusFailure(*state, TlsStep::kClientCertificateCheck,
                        state->peer_verdict.answer.status());
    *out_alert = SSL_AD_INTERNAL_ERROR;
    return ssl_verify_invalid;
  }
  const v1::OnClientCertificateResponse& verdict = *state->peer_verdict.answer;
  binding.peer_verdicts.fetch_add(1, std::memory_order_relaxed);
  TlsOutcome outcome =
      OutcomeOfVerdict(TlsStep::kClientCertificateCheck, verdict);
  state->outcome = outcome;
  state->peer.anonymous = false;  // It presented a certificate.
  if (outcome.accepted) {
    state->peer.identity = verdict.peer();
    return ssl_verify_ok;
  }
  PushError(absl::StrCat("the broker rejected the client certificate: ",
                         v1::Reason_Name(outcome.reason), ": ", outcome.detail,
                         " (decision ", outcome.decision_id, ")"));
  *out_alert = outcome.reason == v1::PEER_NOT_ALLOWED ? SSL_AD_ACCESS_DENIED
                                                      : SSL_AD_BAD_CERTIFICATE;
  return ssl_verify_invalid;
}

}  // namespace certbroker::agent::tls_internal

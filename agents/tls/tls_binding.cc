// TlsBinding: creation, configuration of contexts, attaching connection
// state to SSLs (ex_data), and the accessors the application reads.
#include "certbroker/agent/tls_binding.h"

#include <openssl/ssl.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "agents/tls/connection_state.h"

namespace certbroker::agent {
namespace tls_internal {
namespace {

using StateHolder = std::shared_ptr<ConnectionState>;

// FreeState runs when an SSL is freed: it stops the resume function, then
// drops the SSL's reference to the state (answers in flight keep theirs).
void FreeState(void* parent, void* ptr, CRYPTO_EX_DATA* ad, int index,
               long argl, void* argp) {
  auto* holder = static_cast<StateHolder*>(ptr);
  if (holder == nullptr) return;
  {
    absl::MutexLock lock(&(*holder)->resume_mu);
    (*holder)->resume = nullptr;
  }
  delete holder;
}

int StateIndex() {
  static const int index =
      SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeState);
  return index;
}

int BindingIndex() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

std::shared_ptr<ConnectionState> StateOf(const SSL* ssl) {
  if (ssl == nullptr) return nullptr;
  auto* holder = static_cast<StateHolder*>(SSL_get_ex_data(ssl, StateIndex()));
  return holder == nullptr ? nullptr : *holder;
}

std::shared_ptr<ConnectionState> Attach(SSL* ssl, TlsBinding::Impl* binding,
                                        bool is_client) {
  auto state = std::make_shared<ConnectionState>();
  state->binding = binding;
  state->is_client = is_client;
  auto* old = static_cast<StateHolder*>(SSL_get_ex_data(ssl, StateIndex()));
  if (old != nullptr) {
    FreeState(nullptr, old, nullptr, 0, 0, nullptr);
  }
  SSL_set_ex_data(ssl, StateIndex(), new StateHolder(state));
  return state;
}

TlsBinding::Impl* BindingOf(const SSL_CTX* ctx) {
  return static_cast<TlsBinding::Impl*>(
      SSL_CTX_get_ex_data(ctx, BindingIndex()));
}

void PushError(const std::string& text) {
  ERR_put_error(ERR_LIB_USER, 0, ERR_R_INTERNAL_ERROR, __FILE__, __LINE__);
  ERR_add_error_data(2, "certbroker: ", text.c_str());
}

void RecordStatusFailure(ConnectionState& state, TlsStep step,
                         const absl::Status& status) {
  if (state.outcome.decided && !state.outcome.accepted) return;
  TlsOutcome outcome;
  outcome.decided = true;
  outcome.step = step;
  outcome.broker_unavailable = IsBrokerUnavailable(status);
  outcome.detail = outcome.broker_unavailable
                       ? std::string(status.message())
                       : absl::StrCat("broker error: ", status.ToString());
  outcome.local_check = state.local_check;
  state.outcome = std::move(outcome);
  PushError(state.outcome.detail);
}

bool SetBinding(SSL_CTX* ctx, TlsBinding::Impl* binding) {
  return SSL_CTX_set_ex_data(ctx, BindingIndex(), binding) == 1;
}

}  // namespace tls_internal

using tls_internal::Attach;
using tls_internal::StateOf;

absl::StatusOr<std::unique_ptr<TlsBinding>> TlsBinding::Create(
    BrokerClient& client, TlsBindingOptions options) {
  bssl::UniquePtr<X509_STORE> store;
  if (!options.trust_store_pem_file.empty()) {
    store.reset(X509_STORE_new());
    if (store == nullptr) return absl::InternalError("X509_STORE_new failed");
    if (X509_STORE_load_locations(
            store.get(), options.trust_store_pem_file.c_str(), nullptr) != 1) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          absl::StrCat("trust_store_pem_file ", options.trust_store_pem_file,
                       ": not a readable PEM file of certificates"));
    }
  }
  return std::unique_ptr<TlsBinding>(new TlsBinding(
      std::make_unique<Impl>(client, std::move(options), std::move(store))));
}

TlsBinding::TlsBinding(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsBinding::~TlsBinding() = default;

BrokerClient& TlsBinding::client() { return impl_->client(); }

absl::Status TlsBinding::ConfigureClient(SSL_CTX* ctx) {
  if (ctx == nullptr) return absl::InvalidArgumentError("null SSL_CTX");
  if (!tls_internal::SetBinding(ctx, impl_.get())) {
    return absl::InternalError("SSL_CTX_set_ex_data failed");
  }
  SSL_CTX_set_custom_verify(ctx, SSL_VERIFY_PEER, tls_internal::VerifyServer);
  SSL_CTX_set_cert_cb(ctx, tls_internal::SelectClientCertificate, nullptr);
  return absl::OkStatus();
}

absl::Status TlsBinding::ConfigureServer(SSL_CTX* ctx) {
  if (ctx == nullptr) return absl::InvalidArgumentError("null SSL_CTX");
  if (impl_->options().listener_name.empty()) {
    return absl::FailedPreconditionError(
        "TlsBindingOptions.listener_name is required to serve TLS");
  }
  if (!tls_internal::SetBinding(ctx, impl_.get())) {
    return absl::InternalError("SSL_CTX_set_ex_data failed");
  }
  SSL_CTX_set_select_certificate_cb(ctx,
                                    tls_internal::NegotiateClientCertificate);
  // A resumed session would skip OnClientCertificate and leave the
  // connection without a broker verdict or a peer identity.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  return absl::OkStatus();
}

absl::Status TlsBinding::AttachClient(SSL* ssl, const v1::Target& target,
                                      const TlsConnectionOptions& options) {
  if (ssl == nullptr) return absl::InvalidArgumentError("null SSL");
  if (tls_internal::BindingOf(SSL_get_SSL_CTX(ssl)) != impl_.get()) {
    return absl::FailedPreconditionError(
        "the SSL's context was not configured by this binding "
        "(ConfigureClient)");
  }
  std::string name = !target.sni().empty() ? target.sni() : target.host();
  if (name.empty() && target.url().empty()) {
    return absl::InvalidArgumentError("target: give a host or a url");
  }
  if (name.empty()) {
    // Take the host out of the URL: scheme://host[:port]/...
    absl::string_view url = target.url();
    size_t start = url.find("://");
    url.remove_prefix(start == absl::string_view::npos ? 0 : start + 3);
    url = url.substr(0, url.find_first_of("/?#"));
    if (!url.empty() && url.front() == '[') {
      name = std::string(url.substr(1, url.find(']') - 1));
    } else {
      name = std::string(url.substr(0, url.rfind(':')));
    }
  }
  auto state = Attach(ssl, impl_.get(), /*is_client=*/true);
  state->target = target;
  state->server_name = name;
  state->ignore_local_errors = options.ignore_local_errors;
  SSL_set_connect_state(ssl);
  // SNI carries DNS names only (RFC 6066), not IP literals.
  bool is_ip = name.find(':') != std::string::npos ||
               name.find_first_not_of("0123456789.") == std::string::npos;
  if (!is_ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("target: '", name, "' cannot be sent as SNI"));
  }
  return absl::OkStatus();
}

absl::Status TlsBinding::AttachServer(SSL* ssl) {
  if (ssl == nullptr) return absl::InvalidArgumentError("null SSL");
  if (tls_internal::BindingOf(SSL_get_SSL_CTX(ssl)) != impl_.get()) {
    return absl::FailedPreconditionError(
        "the SSL's context was not configured by this binding "
        "(ConfigureServer)");
  }
  Attach(ssl, impl_.get(), /*is_client=*/false);
  SSL_set_accept_state(ssl);
  return absl::OkStatus();
}

void TlsBinding::SetResume(SSL* ssl, std::function<void()> resume) {
  auto state = StateOf(ssl);
  if (state == nullptr) return;
  absl::MutexLock lock(&state->resume_mu);
  state->resume = std::move(resume);
}

TlsOutcome TlsBinding::ServerVerdict(const SSL* ssl) {
  auto state = StateOf(ssl);
  if (state == nullptr || !state->is_client) return TlsOutcome();
  absl::MutexLock lock(&state->mu);
  return state->outcome;
}

ClientCertificateInfo TlsBinding::ClientCertificate(const SSL* ssl) {
  auto state = StateOf(ssl);
  if (state == nullptr || !state->is_client) return ClientCertificateInfo();
  absl::MutexLock lock(&state->mu);
  return state->certificate_info;
}

TlsOutcome TlsBinding::PeerVerdict(const SSL* ssl) {
  auto state = StateOf(ssl);
  if (state == nullptr || state->is_client) return TlsOutcome();
  absl::MutexLock lock(&state->mu);
  return state->outcome;
}

PeerInfo TlsBinding::Peer(const SSL* ssl) {
  auto state = StateOf(ssl);
  if (state == nullptr || state->is_client) return PeerInfo();
  absl::MutexLock lock(&state->mu);
  return state->peer;
}

TlsBindingStats TlsBinding::stats() const {
  TlsBindingStats stats;
  stats.server_verdicts = impl_->server_verdicts.load();
  stats.client_certificates = impl_->client_certificates.load();
  stats.keyless_signatures = impl_->keyless_signatures.load();
  stats.negotiations = impl_->negotiations.load();
  stats.peer_verdicts = impl_->peer_verdicts.load();
  return stats;
}

}  // namespace certbroker::agent

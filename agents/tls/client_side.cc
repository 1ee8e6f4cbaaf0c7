// The client side of the binding: verifying the server's certificate
// (custom verify: policy, local check, OnServerCertificate) and presenting
// the broker's client certificate (certificate callback), signing through
// Sign when the certificate is not exportable (SSL_PRIVATE_KEY_METHOD).
#include <openssl/ssl.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agents/tls/connection_state.h"

namespace certbroker::agent::tls_internal {
namespace {

std::string BufferBytes(const CRYPTO_BUFFER* buffer) {
  return std::string(reinterpret_cast<const char*>(CRYPTO_BUFFER_data(buffer)),
                     CRYPTO_BUFFER_len(buffer));
}

bool IsIpAddress(const std::string& name) {
  return name.find(':') != std::string::npos ||
         name.find_first_not_of("0123456789.") == std::string::npos;
}

// LocalReason maps an X509_V_ERR code to the broker's Reason, to honour a
// rule's allowed_errors; REASON_UNSPECIFIED when it has no counterpart.
v1::Reason LocalReason(int error) {
  switch (error) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return v1::HOSTNAME_MISMATCH;
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return v1::EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return v1::NOT_YET_VALID;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return v1::UNTRUSTED_ROOT;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
      return v1::INCOMPLETE_CHAIN;
    default:
      return v1::REASON_UNSPECIFIED;
  }
}

// LocalCheck verifies the peer's chain against the binding's trust store
// and the server name. Returns "ok" or the error text, and whether it
// passed: an error passes only when the connection asked to ignore it
// (`ignore`) and the rule allows it (the policy's allowed_errors).
bool LocalCheck(SSL* ssl, X509_STORE* store, const std::string& name,
                const v1::GetCertificatePolicyResponse& policy,
                const std::vector<v1::Reason>& ignore, std::string& text) {
  if (store == nullptr) {
    text = "no local trust store configured (trust_store_pem_file)";
    return false;
  }
  const STACK_OF(CRYPTO_BUFFER)* buffers = SSL_get0_peer_certificates(ssl);
  if (buffers == nullptr || sk_CRYPTO_BUFFER_num(buffers) == 0) {
    text = "the server sent no certificate";
    return false;
  }
  bssl::UniquePtr<X509> leaf(
      X509_parse_from_buffer(sk_CRYPTO_BUFFER_value(buffers, 0)));
  bssl::UniquePtr<STACK_OF(X509)> rest(sk_X509_new_null());
  if (leaf == nullptr || rest == nullptr) {
    text = "the server's leaf certificate does not parse";
    return false;
  }
  for (size_t i = 1; i < sk_CRYPTO_BUFFER_num(buffers); ++i) {
    bssl::UniquePtr<X509> cert(
        X509_parse_from_buffer(sk_CRYPTO_BUFFER_value(buffers, i)));
    if (cert == nullptr || !bssl::PushToStack(rest.get(), std::move(cert))) {
      text = absl::StrCat("the server's certificate ", i, " does not parse");
      return false;
    }
  }
  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (ctx == nullptr ||
      !X509_STORE_CTX_init(ctx.get(), store, leaf.get(), rest.get()) ||
      !X509_STORE_CTX_set_default(ctx.get(), "ssl_server")) {
    text = "cannot set up the local verification";
    return false;
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  int named =
      IsIpAddress(name)
          ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
          : X509_VERIFY_PARAM_set1_host(param, name.data(), name.size());
  if (!named) {
    text = absl::StrCat("cannot check the name '", name, "'");
    return false;
  }
  if (X509_verify_cert(ctx.get()) == 1) {
    text = "ok";
    return true;
  }
  int error = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  text = X509_verify_cert_error_string(error);
  v1::Reason reason = LocalReason(error);
  if (reason == v1::REASON_UNSPECIFIED ||
      std::find(ignore.begin(), ignore.end(), reason) == ignore.end()) {
    return false;
  }
  for (int allowed : policy.allowed_errors()) {
    if (allowed == reason) {
      text = absl::StrCat(text, " (tolerated: the rule allows ",
                          v1::Reason_Name(reason), ")");
      return true;
    }
  }
  text = absl::StrCat(text, " (not ignored: the rule does not allow ",
                      v1::Reason_Name(reason), ")");
  return false;
}

uint8_t AlertFor(v1::Reason reason) {
  switch (reason) {
    case v1::EXPIRED:
    case v1::NOT_YET_VALID:
      return SSL_AD_CERTIFICATE_EXPIRED;
    case v1::REVOKED:
      return SSL_AD_CERTIFICATE_REVOKED;
    case v1::UNTRUSTED_ROOT:
    case v1::INCOMPLETE_CHAIN:
      return SSL_AD_UNKNOWN_CA;
    case v1::PEER_NOT_ALLOWED:
    case v1::DENIED:
      return SSL_AD_ACCESS_DENIED;
    default:
      return SSL_AD_BAD_CERTIFICATE;
  }
}

}  // namespace

enum ssl_verify_result_t VerifyServer(SSL* ssl, uint8_t* out_alert) {
  auto state = StateOf(ssl);
  if (state == nullptr || !state->is_client) {
    PushError("the SSL is not attached to a TlsBinding (AttachClient)");
    *out_alert = SSL_AD_INTERNAL_ERROR;
    return ssl_verify_invalid;
  }
  TlsBinding::Impl& binding = *state->binding;
  absl::ReleasableMutexLock lock(&state->mu);

  // 1. The target's policy (the client caches it).
  if (state->policy.phase == Phase::kNotAsked) {
    state->policy.phase = Phase::kAsked;
    lock.Release();
    v1::GetCertificatePolicyRequest request;
    *request.mutable_target() = state->target;
    binding.client().GetCertificatePolicyAsync(
        request, Answer(state, &ConnectionState::policy));
    return ssl_verify_retry;
  }
  if (state->policy.phase == Phase::kAsked) return ssl_verify_retry;
  if (!state->policy.answer.ok()) {
    RecordStatusFailure(*state, TlsStep::kServerCertificate,
                        state->policy.answer.status());
    *out_alert = SSL_AD_INTERNAL_ERROR;
    return ssl_verify_invalid;
  }

  // 2. The local check and the broker's verdict.
  if (state->verdict.phase == Phase::kNotAsked) {
    const v1::GetCertificatePolicyResponse& policy = *state->policy.answer;
    v1::OnServerCertificateRequest request;
    *request.mutable_target() = state->target;
    request.set_server_name(state->server_name);
    const STACK_OF(CRYPTO_BUFFER)* chain = SSL_get0_peer_certificates(ssl);
    for (size_t i = 0; chain != nullptr && i < sk_CRYPTO_BUFFER_num(chain);
         ++i) {
      request.add_certificate_chain(
          BufferBytes(sk_CRYPTO_BUFFER_value(chain, i)));
    }
    if (policy.validation_mode() == v1::AGENT ||
        policy.validation_mode() == v1::BOTH) {
      std::string text;
      bool passed = LocalCheck(ssl, binding.trust_store(), state->server_name,
                               policy, state->ignore_local_errors, text);
      state->local_check = text;
      request.mutable_agent_verification()->set_accepted(passed);
      if (!passed) request.mutable_agent_verification()->set_detail(text);
    }
    const uint8_t* ocsp = nullptr;
    size_t ocsp_len = 0;
    SSL_get0_ocsp_response(ssl, &ocsp, &ocsp_len);
    if (ocsp_len > 0) {
      request.set_ocsp_response(reinterpret_cast<const char*>(ocsp), ocsp_len);
    }
    state->verdict.phase = Phase::kAsked;
    lock.Release();
    binding.client().OnServerCertificateAsync(
        request, Answer(state, &ConnectionState::verdict));
    return ssl_verify_retry;
  }
  if (state->verdict.phase == Phase::kAsked) return ssl_verify_retry;
  if (!state->verdict.answer.ok()) {
    RecordStatusFailure(*state, TlsStep::kServerCertificate,
                        state->verdict.answer.status());
    *out_alert = SSL_AD_INTERNAL_ERROR;
    return ssl_verify_invalid;
  }
  const v1::OnServerCertificateResponse& verdict = *state->verdict.answer;
  binding.server_verdicts.fetch_add(1, std::memory_order_relaxed);
  TlsOutcome outcome = OutcomeOfVerdict(TlsStep::kServerCertificate, verdict);
  outcome.local_check = state->local_check;
  state->outcome = outcome;
  if (outcome.accepted) return ssl_verify_ok;
  PushError(absl::StrCat("the broker rejected the server certificate: ",
                         v1::Reason_Name(outcome.reason), ": ", outcome.detail,
                         " (decision ", outcome.decision_id, ")"));
  *out_alert = AlertFor(outcome.reason);
  return ssl_verify_invalid;
}

int SelectClientCertificate(SSL* ssl, void* arg) {
  auto state = StateOf(ssl);
  if (state == nullptr || !state->is_client) return 1;  // Not ours: no cert.
  TlsBinding::Impl& binding = *state->binding;
  absl::ReleasableMutexLock lock(&state->mu);
  state->certificate_info.requested = true;
  if (state->certificate.phase == Phase::kNotAsked) {
    v1::GetClientCertificateRequest request;
    *request.mutable_target() = state->target;
    const STACK_OF(CRYPTO_BUFFER)* names = SSL_get0_server_requested_CAs(ssl);
    for (size_t i = 0; names != nullptr && i < sk_CRYPTO_BUFFER_num(names);
         ++i) {
      request.add_acceptable_issuers(
          BufferBytes(sk_CRYPTO_BUFFER_value(names, i)));
    }
    const uint16_t* algorithms = nullptr;
    size_t count = SSL_get0_peer_verify_algorithms(ssl, &algorithms);
    for (size_t i = 0; i < count; ++i) {
      request.add_signature_algorithms(algorithms[i]);
    }
    state->certificate.phase = Phase::kAsked;
    lock.Release();
    binding.client().GetClientCertificateAsync(
        request, Answer(state, &ConnectionState::certificate));
    return -1;
  }
  if (state->certificate.phase == Phase::kAsked) return -1;
  const absl::StatusOr<v1::GetClientCertificateResponse>& answer =
      state->certificate.answer;
  if (!answer.ok()) {
    // NOT_FOUND: no certificate for this server; the server decides.
    if (answer.status().code() == absl::StatusCode::kNotFound &&
        !IsBrokerUnavailable(answer.status())) {
      return 1;
    }
    RecordStatusFailure(*state, TlsStep::kClientCertificate, answer.status());
    return 0;
  }
  const v1::GetClientCertificateResponse& certificate = *answer;
  std::vector<bssl::UniquePtr<CRYPTO_BUFFER>> owned;
  std::vector<CRYPTO_BUFFER*> chain;
  for (const std::string& der : certificate.certificate_chain()) {
    owned.emplace_back(CRYPTO_BUFFER_new(
        reinterpret_cast<const uint8_t*>(der.data()), der.size(), nullptr));
    if (owned.back() == nullptr) return 0;
    chain.push_back(owned.back().get());
  }
  auto fail = [&](const std::string& text)
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(state->mu) {
                    RecordStatusFailure(*state, TlsStep::kClientCertificate,
                                        absl::InvalidArgumentError(text));
                    return 0;
                  };
  if (chain.empty()) return fail("the broker's certificate chain is empty");
  bool keyless = certificate.private_key().empty();
  if (keyless) {
    if (certificate.key_handle().handle().empty()) {
      return fail("the broker gave neither a private key nor a key handle");
    }
    std::vector<uint16_t> preferences;
    for (uint32_t algorithm : certificate.key_handle().signature_algorithms()) {
      if (algorithm <= 0xffff) preferences.push_back(algorithm);
    }
    if (!preferences.empty() &&
        !SSL_set_signing_algorithm_prefs(ssl, preferences.data(),
                                         preferences.size())) {
      return fail("cannot set the key handle's signature algorithms");
    }
    if (!SSL_set_chain_and_key(ssl, chain.data(), chain.size(), nullptr,
                               &kBrokerKeyMethod)) {
      return fail("the broker's certificate chain does not load");
    }
  } else {
    CBS cbs;
    CBS_init(&cbs,
             reinterpret_cast<const uint8_t*>(certificate.private_key().data()),
             certificate.private_key().size());
    bssl::UniquePtr<EVP_PKEY> key(EVP_parse_private_key(&cbs));
    if (key == nullptr || CBS_len(&cbs) != 0) {
      ERR_clear_error();
      return fail("the broker's private key is not PKCS#8 DER");
    }
    if (!SSL_set_chain_and_key(ssl, chain.data(), chain.size(), key.get(),
                               nullptr)) {
      return fail(
          "the broker's certificate chain and key do not load (mismatch?)");
    }
  }
  state->certificate_info.presented = true;
  state->certificate_info.keyless = keyless;
  state->certificate_info.certificate_id = certificate.certificate_id();
  binding.client_certificates.fetch_add(1, std::memory_order_relaxed);
  return 1;
}

namespace {

enum ssl_private_key_result_t SignWithBroker(SSL* ssl, uint8_t* out,
                                             size_t* out_len, size_t max_out,
                                             uint16_t algorithm,
                                             const uint8_t* in, size_t in_len) {
  auto state = StateOf(ssl);
  if (state == nullptr) return ssl_private_key_failure;
  absl::ReleasableMutexLock lock(&state->mu);
  if (state->certificate.phase != Phase::kAnswered ||
      !state->certificate.answer.ok()) {
    return ssl_private_key_failure;
  }
  v1::SignRequest request;
  request.set_key_handle(state->certificate.answer->key_handle().handle());
  request.set_algorithm(algorithm);
  if (algorithm == SSL_SIGN_ED25519) {
    request.set_input(reinterpret_cast<const char*>(in), in_len);
  } else {
    const EVP_MD* digest = SSL_get_signature_algorithm_digest(algorithm);
    uint8_t hash[EVP_MAX_MD_SIZE];
    unsigned int hash_len = 0;
    if (digest == nullptr ||
        !EVP_Digest(in, in_len, hash, &hash_len, digest, nullptr)) {
      RecordStatusFailure(*state, TlsStep::kSigning,
                          absl::InvalidArgumentError(absl::StrCat(
                              "signature algorithm 0x", absl::Hex(algorithm),
                              " has no digest the broker can sign")));
      return ssl_private_key_failure;
    }
    request.set_input(reinterpret_cast<const char*>(hash), hash_len);
  }
  state->signature = {};
  state->signature.phase = Phase::kAsked;
  TlsBinding::Impl& binding = *state->binding;
  lock.Release();
  binding.client().SignAsync(request,
                             Answer(state, &ConnectionState::signature));
  return ssl_private_key_retry;
}

enum ssl_private_key_result_t DecryptWithBroker(SSL* ssl, uint8_t* out,
                                                size_t* out_len, size_t max_out,
                                                const uint8_t* in,
                                                size_t in_len) {
  auto state = StateOf(ssl);
  if (state != nullptr) {
    absl::MutexLock lock(&state->mu);
    RecordStatusFailure(
        *state, TlsStep::kSigning,
        absl::FailedPreconditionError(
            "RSA key exchange needs decryption, which Sign does not do"));
  }
  return ssl_private_key_failure;
}

enum ssl_private_key_result_t CompleteWithBroker(SSL* ssl, uint8_t* out,
                                                 size_t* out_len,
                                                 size_t max_out) {
  auto state = StateOf(ssl);
  if (state == nullptr) return ssl_private_key_failure;
  absl::MutexLock lock(&state->mu);
  if (state->signature.phase == Phase::kAsked) return ssl_private_key_retry;
  if (state->signature.phase != Phase::kAnswered) {
    return ssl_private_key_failure;
  }
  if (!state->signature.answer.ok()) {
    RecordStatusFailure(*state, TlsStep::kSigning,
                        state->signature.answer.status());
    return ssl_private_key_failure;
  }
  const std::string& signature = state->signature.answer->signature();
  if (signature.empty() || signature.size() > max_out) {
    RecordStatusFailure(*state, TlsStep::kSigning,
                        absl::InvalidArgumentError(absl::StrCat(
                            "the broker's signature has ", signature.size(),
                            " bytes; the handshake takes 1 to ", max_out)));
    return ssl_private_key_failure;
  }
  memcpy(out, signature.data(), signature.size());
  *out_len = signature.size();
  state->signature.phase = Phase::kNotAsked;
  state->certificate_info.signatures++;
  state->binding->keyless_signatures.fetch_add(1, std::memory_order_relaxed);
  return ssl_private_key_success;
}

}  // namespace

const SSL_PRIVATE_KEY_METHOD kBrokerKeyMethod = {
    SignWithBroker, DecryptWithBroker, CompleteWithBroker};

}  // namespace certbroker::agent::tls_internal

namespace certbroker::agent {

bool IsLocalCheckReason(v1::Reason reason) {
  switch (reason) {
    case v1::HOSTNAME_MISMATCH:
    case v1::EXPIRED:
    case v1::NOT_YET_VALID:
    case v1::UNTRUSTED_ROOT:
    case v1::INCOMPLETE_CHAIN:
      return true;
    default:
      return false;
  }
}

}  // namespace certbroker::agent

// certbroker/agent/tls_binding.h: plugs certbrokerd into BoringSSL TLS
// connections, client or server, without blocking a thread.
//
// A TlsBinding installs BoringSSL callbacks on an SSL_CTX and keeps, for each
// SSL it is attached to, the state of the broker questions that connection
// asked. Every question is asked with the BrokerClient's asynchronous calls:
// the callback returns BoringSSL's "retry" answer and the handshake pauses
// (SSL_get_error says SSL_ERROR_WANT_CERTIFICATE_VERIFY,
// SSL_ERROR_WANT_X509_LOOKUP, SSL_ERROR_WANT_PRIVATE_KEY_OPERATION or
// SSL_ERROR_PENDING_CERTIFICATE). When the answer arrives, on a thread of the
// client, the binding records it and calls the connection's resume function
// (SetResume), which the driver of the connection (an event loop, for
// instance AsioTlsStream) uses to call SSL_do_handshake again on its own
// thread. The binding never touches an SSL from a client thread.
//
// As a client, the binding
//  * verifies the server's certificate: it gets the target's policy
//    (GetCertificatePolicy), runs the local check the policy's mode needs
//    (AGENT and BOTH: the application's trust store and the server name;
//    BROKER: none), then asks OnServerCertificate with the chain, the server
//    name, the local result and the stapled OCSP response;
//  * answers a CertificateRequest with the broker's client certificate
//    (GetClientCertificate with the server's CA names and signature
//    algorithms): with its private key when it is exportable, or signing
//    through Sign (keyless) when the broker gave a key handle.
// As a server, it asks GetNegotiationPolicy when the ClientHello arrives (per
// listener and SNI), asks for a client certificate accordingly, and has the
// client's chain judged by OnClientCertificate.
//
// Everything fails closed. After a failed handshake ServerVerdict /
// ClientCertificateOutcome / PeerVerdict say why: the broker's rejection
// (its reason, detail and decision id) or "broker unavailable", which are
// kept apart. BoringSSL's error queue carries the same text.
#ifndef CERTBROKER_AGENT_TLS_BINDING_H_
#define CERTBROKER_AGENT_TLS_BINDING_H_

#include <openssl/base.h>

#ifndef OPENSSL_IS_BORINGSSL
#error "OpenSSL headers were found before BoringSSL's: fix the include order"
#endif

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "certbroker/agent/broker_client.h"
#include "certbroker/v1/broker.pb.h"

namespace certbroker::agent {

// TlsBindingOptions configure a TlsBinding.
struct TlsBindingOptions {
  // trust_store_pem_file names the PEM file of the root certificates the
  // local check of server certificates trusts (policy modes AGENT and BOTH).
  // Empty: the local check fails, so AGENT rules reject and BOTH rules
  // reject (fail closed); BROKER rules do not need it.
  std::string trust_store_pem_file;

  // listener_name is the name inbound rules know this binding's server
  // connections by (GetNegotiationPolicyRequest.listener.name). Required
  // for ConfigureServer.
  std::string listener_name;
};

// TlsConnectionOptions configure one client connection (AttachClient).
struct TlsConnectionOptions {
  // ignore_local_errors are the local check's errors (policy modes AGENT and
  // BOTH) this connection asks to tolerate, like BITS's per-job security
  // flags. An error is tolerated only when it is listed here AND the
  // broker's rule for the target allows it
  // (GetCertificatePolicyResponse.allowed_errors); nothing is tolerated
  // unless asked. The broker's own verdict is unaffected.
  std::vector<::certbroker::v1::Reason> ignore_local_errors;
};

// IsLocalCheckReason is true for the reasons the local check reports
// (HOSTNAME_MISMATCH, EXPIRED, NOT_YET_VALID, UNTRUSTED_ROOT,
// INCOMPLETE_CHAIN): the only ones ignore_local_errors can usefully name.
bool IsLocalCheckReason(::certbroker::v1::Reason reason);

// TlsStep names what a connection was doing when its outcome was decided.
enum class TlsStep {
  kNone,                   // Nothing was decided (yet).
  kServerCertificate,      // Verifying the server's certificate (client).
  kClientCertificate,      // Choosing the client certificate (client).
  kSigning,                // Keyless signing through Sign (client).
  kNegotiation,            // Asking GetNegotiationPolicy (server).
  kClientCertificateCheck  // Judging the client's certificate (server).
};

// TlsOutcome is what the binding concluded for one step of a connection.
struct TlsOutcome {
  // decided is true once the step has finished, successfully or not.
  bool decided = false;
  // accepted is true when the step let the handshake continue.
  bool accepted = false;
  // broker_unavailable is true when the broker could not be asked (as
  // opposed to a broker's answer); accepted is then false.
  bool broker_unavailable = false;
  // step is the step this outcome is about.
  TlsStep step = TlsStep::kNone;
  // reason, detail, decision_id and rule_name are the broker's verdict for
  // kServerCertificate and kClientCertificateCheck. REASON_UNSPECIFIED when
  // the failure was not a verdict (an error status, the broker unavailable,
  // a bad answer); detail then says what happened.
  ::certbroker::v1::Reason reason = ::certbroker::v1::REASON_UNSPECIFIED;
  std::string detail;
  std::string decision_id;
  std::string rule_name;
  // local_check is the local verification's result ("ok" or its error
  // text), empty when the policy's mode did not need one.
  std::string local_check;
  // reusable_until is when the broker's verdict stops being reusable: its
  // answer's cache_ttl after it arrived. A connection kept alive past it
  // should carry no new request (it would rest on a stale verdict).
  absl::Time reusable_until = absl::InfinitePast();
};

// ClientCertificateInfo is what the client side presented.
struct ClientCertificateInfo {
  // requested is true when the server sent a CertificateRequest.
  bool requested = false;
  // presented is true when a certificate from the broker was installed.
  bool presented = false;
  // keyless is true when it signs through Sign (the broker gave a key
  // handle and no private key).
  bool keyless = false;
  // certificate_id is the broker's id of the certificate presented.
  std::string certificate_id;
  // signatures counts the Sign calls this connection made.
  int signatures = 0;
};

// PeerInfo is what the server side learned about the connecting client.
struct PeerInfo {
  // mode is the negotiation mode the broker chose for the connection.
  ::certbroker::v1::ClientCertificateMode mode =
      ::certbroker::v1::CLIENT_CERTIFICATE_MODE_UNSPECIFIED;
  // anonymous is true when the client sent no certificate and the mode
  // allowed it (IGNORE, or REQUEST without one).
  bool anonymous = false;
  // identity is the accepted peer's identity (set when the broker accepted
  // its certificate).
  ::certbroker::v1::PeerIdentity identity;
};

// TlsBindingStats count the binding's broker work since it was created.
struct TlsBindingStats {
  uint64_t server_verdicts = 0;      // OnServerCertificate answers.
  uint64_t client_certificates = 0;  // Client certificates installed.
  uint64_t keyless_signatures = 0;   // Sign answers used in handshakes.
  uint64_t negotiations = 0;         // GetNegotiationPolicy answers.
  uint64_t peer_verdicts = 0;        // OnClientCertificate answers.
};

// TlsBinding connects BoringSSL's callbacks to one BrokerClient. It is
// thread-safe. It must outlive every SSL_CTX it configured and every SSL
// attached to it.
class TlsBinding {
 public:
  // Create makes a binding over `client`, which must outlive it. Fails with
  // INVALID_ARGUMENT when trust_store_pem_file cannot be read or holds no
  // certificate.
  static absl::StatusOr<std::unique_ptr<TlsBinding>> Create(
      BrokerClient& client, TlsBindingOptions options);

  ~TlsBinding();
  TlsBinding(const TlsBinding&) = delete;

  // client is the BrokerClient the binding asks.
  BrokerClient& client();
  TlsBinding& operator=(const TlsBinding&) = delete;

  // ConfigureClient installs, on a client SSL_CTX, the server-certificate
  // verification (SSL_CTX_set_custom_verify, SSL_VERIFY_PEER) and the
  // client-certificate callback (SSL_CTX_set_cert_cb). It replaces any
  // verification or certificate callback the context had. A session the
  // application resumes (SSL_set_session) is not verified again: resume
  // only sessions younger than the verdict's cache_ttl, or none.
  absl::Status ConfigureClient(SSL_CTX* ctx);

  // ConfigureServer installs, on a server SSL_CTX, the ClientHello callback
  // (SSL_CTX_set_select_certificate_cb) that negotiates the client
  // certificate, and turns session resumption off (a resumed session would
  // carry no broker verdict). The application configures the server's own
  // certificate and key on the context. Fails with FAILED_PRECONDITION
  // without a listener_name.
  absl::Status ConfigureServer(SSL_CTX* ctx);

  // AttachClient prepares a client SSL made from a context ConfigureClient
  // configured: `target` is the connection the broker is asked about; its
  // sni (else host) is sent as SNI and is the name the certificate is
  // checked against; `options` are the connection's own settings. Call
  // before the handshake starts. Fails with INVALID_ARGUMENT when the
  // target has no host or url.
  absl::Status AttachClient(SSL* ssl, const ::certbroker::v1::Target& target,
                            const TlsConnectionOptions& options = {});

  // AttachServer prepares a server SSL made from a context ConfigureServer
  // configured. Call before the handshake starts.
  absl::Status AttachServer(SSL* ssl);

  // SetResume registers the function called when a broker answer this
  // connection waits for has arrived. It runs on a client thread, with no
  // lock of the binding held; it must not touch the SSL, only arrange for
  // SSL_do_handshake (or the operation that paused) to be called again on
  // the connection's own thread. It may run after the handshake no longer
  // waits; it never runs after the SSL is freed. No effect on an SSL the
  // binding is not attached to.
  static void SetResume(SSL* ssl, std::function<void()> resume);

  // ServerVerdict returns the outcome of the server-certificate step (or,
  // when the client-certificate or signing step failed, that one's), of a
  // client SSL attached to a binding; an undecided outcome otherwise.
  static TlsOutcome ServerVerdict(const SSL* ssl);

  // ClientCertificate returns what the client side presented.
  static ClientCertificateInfo ClientCertificate(const SSL* ssl);

  // PeerVerdict returns the outcome of the server side's steps
  // (negotiation, client-certificate check) of a server SSL.
  static TlsOutcome PeerVerdict(const SSL* ssl);

  // Peer returns who the connecting client is, on a server SSL.
  static PeerInfo Peer(const SSL* ssl);

  // stats counts the binding's broker work.
  TlsBindingStats stats() const;

  // Internal; used by the callbacks.
  class Impl;

 private:
  explicit TlsBinding(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace certbroker::agent

#endif  // CERTBROKER_AGENT_TLS_BINDING_H_

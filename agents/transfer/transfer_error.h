// transfer_error.h: the errors of a transfer, each in the context issue 7
// names (LOCAL_FILE, REMOTE_FILE, TRANSPORT, SERVER_CERTIFICATE,
// BROKER_UNAVAILABLE, CLIENT_CERTIFICATE), shared by the one-shot fetch and
// the job system.
#ifndef CERTBROKER_AGENTS_TRANSFER_TRANSFER_ERROR_H_
#define CERTBROKER_AGENTS_TRANSFER_TRANSFER_ERROR_H_

#include <string>

#include "certbroker/v1/broker.pb.h"

namespace certbroker::transfer {

// ErrorContext says where a transfer failed.
enum class ErrorContext {
  // kLocalFile: the destination (its directory, the part file, its
  // sidecar, the rename).
  kLocalFile,
  // kRemoteFile: the server answered, but not with the expected file (an
  // HTTP error status, too many redirects, a redirect away from https, a
  // size or SHA-256 other than the expected one).
  kRemoteFile,
  // kTransport: name resolution, TCP, TLS (other than the broker's
  // decisions), timeouts, a malformed HTTP response.
  kTransport,
  // kServerCertificate: the broker (or the local check the policy's mode
  // needs) rejected the server's certificate chain.
  kServerCertificate,
  // kBrokerUnavailable: the broker could not be asked.
  kBrokerUnavailable,
  // kClientCertificate: the broker gave no usable client certificate, or
  // keyless signing failed.
  kClientCertificate,
};

// ErrorContextName returns the context's name as issue 7 spells it
// ("LOCAL_FILE", ...).
const char* ErrorContextName(ErrorContext context);

// TransferError is one failed transfer: its context, a message naming what
// went wrong, and what the context has to add.
struct TransferError {
  ErrorContext context = ErrorContext::kTransport;
  std::string message;
  // http_status is the server's status for kRemoteFile (0 otherwise).
  int http_status = 0;
  // reason, decision_id and rule_name are the broker's verdict for
  // kServerCertificate (and kClientCertificate when the broker refused).
  v1::Reason reason = v1::REASON_UNSPECIFIED;
  std::string decision_id;
  std::string rule_name;
  // url is the URL of the connection that failed (after redirects).
  std::string url;

  // ToString renders the error on one line: "CONTEXT: message (details)".
  std::string ToString() const;
};

}  // namespace certbroker::transfer

#endif  // CERTBROKER_AGENTS_TRANSFER_TRANSFER_ERROR_H_

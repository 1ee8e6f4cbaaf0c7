// What every certbrokerctl command shares: the global options (broker
// address, deadline, output format), the exit codes scripts rely on, and
// the way RPC errors are reported.
#ifndef CERTBROKER_BROKER_CTL_CTL_CONTEXT_H_
#define CERTBROKER_BROKER_CTL_CTL_CONTEXT_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::ctl {

// Exit codes. Stable: scripts branch on them.
inline constexpr int kExitOk = 0;  // Done; for checks, accepted.
inline constexpr int kExitRpcError =
    1;  // The broker answered an error or was unreachable.
// Bad command line, or an input file that cannot be read or parsed.
inline constexpr int kExitUsage = 2;
// A check's answer was "reject": simulate's verdict, or the policy
// document `policy put` sent.
inline constexpr int kExitRejected = 3;
// `policy diff`: the live policy and the file differ.
inline constexpr int kExitDifferent = 4;
// `policy put --expected-version`: the policy changed since that version.
inline constexpr int kExitConflict = 5;

enum class OutputFormat { kTable, kJson };

struct CtlContext {
  std::string broker = "unix:var/certbrokerd.sock";
  absl::Duration timeout = absl::Seconds(10);
  OutputFormat output = OutputFormat::kTable;
  // TLS: with tls_ca_pem, TCP connections use TLS, trusting that CA and
  // presenting tls_cert_pem/tls_key_pem (a certificate whose identity holds
  // the ADMIN role). tls_server_name overrides the name checked in the
  // broker's certificate.
  std::string tls_ca_pem;
  std::string tls_cert_pem;
  std::string tls_key_pem;
  std::string tls_server_name;

  // Channel connects to `broker` (HOST:PORT or unix:PATH).
  std::shared_ptr<grpc::Channel> Channel() const;
  // Deadline sets `timeout` on `context`.
  void Deadline(grpc::ClientContext& context) const;
};

// ReportRpcError prints "certbrokerctl: CODE: message" to stderr and
// returns kExitRpcError.
int ReportRpcError(const grpc::Status& status);

// ReportUsageError prints "certbrokerctl: message" and a pointer to
// `help_command`'s --help to stderr and returns kExitUsage.
int ReportUsageError(const std::string& message,
                     const std::string& help_command);

}  // namespace certbroker::ctl

#endif  // CERTBROKER_BROKER_CTL_CTL_CONTEXT_H_

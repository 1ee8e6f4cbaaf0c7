// Shared plumbing of certbrokerctl commands.
#include "broker/ctl/ctl_context.h"

#include <cstdio>

#include "absl/status/status.h"
#include "absl/time/clock.h"

namespace certbroker::ctl {

std::shared_ptr<grpc::Channel> CtlContext::Channel() const {
  if (tls_ca_pem.empty() || broker.rfind("unix:", 0) == 0) {
    return grpc::CreateChannel(broker, grpc::InsecureChannelCredentials());
  }
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls_ca_pem;
  options.pem_cert_chain = tls_cert_pem;
  options.pem_private_key = tls_key_pem;
  grpc::ChannelArguments arguments;
  if (!tls_server_name.empty()) {
    arguments.SetSslTargetNameOverride(tls_server_name);
  }
  return grpc::CreateCustomChannel(broker, grpc::SslCredentials(options),
                                   arguments);
}

void CtlContext::Deadline(grpc::ClientContext& context) const {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

int ReportRpcError(const grpc::Status& status) {
  std::fprintf(stderr, "certbrokerctl: %s: %s\n",
               absl::StatusCodeToString(
                   static_cast<absl::StatusCode>(status.error_code()))
                   .c_str(),
               status.error_message().c_str());
  return kExitRpcError;
}

int ReportUsageError(const std::string& message,
                     const std::string& help_command) {
  std::fprintf(stderr, "certbrokerctl: %s\n(see: certbrokerctl %s--help)\n",
               message.c_str(),
               help_command.empty() ? "" : (help_command + " ").c_str());
  return kExitUsage;
}

}  // namespace certbroker::ctl

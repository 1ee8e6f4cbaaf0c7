// Shared plumbing of certbrokerctl commands.
#include "broker/ctl/ctl_context.h"

#include <cstdio>

#include "absl/status/status.h"
#include "absl/time/clock.h"

namespace certbroker::ctl {

std::shared_ptr<grpc::Channel> CtlContext::Channel() const {
  return grpc::CreateChannel(broker, grpc::InsecureChannelCredentials());
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

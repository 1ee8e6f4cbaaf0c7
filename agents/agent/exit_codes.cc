// Exit codes by error context, and the error's detail lines.
#include "agents/agent/exit_codes.h"

namespace certbroker::agent_cli {

using transfer::ErrorContext;

int ExitCodeFor(ErrorContext context) {
  switch (context) {
    case ErrorContext::kLocalFile:
      return kExitLocalFile;
    case ErrorContext::kRemoteFile:
      return kExitRemoteFile;
    case ErrorContext::kTransport:
      return kExitTransport;
    case ErrorContext::kServerCertificate:
      return kExitServerCertificate;
    case ErrorContext::kBrokerUnavailable:
      return kExitBrokerUnavailable;
    case ErrorContext::kClientCertificate:
      return kExitClientCertificate;
  }
  return kExitTransport;
}

void WriteErrorDetails(const transfer::TransferError& error, std::ostream& out,
                       const char* indent) {
  out << indent << "context: " << transfer::ErrorContextName(error.context)
      << "\n";
  if (error.http_status != 0) {
    out << indent << "http_status: " << error.http_status << "\n";
  }
  if (error.reason != v1::REASON_UNSPECIFIED) {
    out << indent << "broker_reason: " << v1::Reason_Name(error.reason) << "\n";
  }
  if (!error.decision_id.empty()) {
    out << indent << "broker_decision_id: " << error.decision_id << "\n";
  }
  if (!error.rule_name.empty()) {
    out << indent << "broker_rule: " << error.rule_name << "\n";
  }
  if (!error.url.empty()) out << indent << "url: " << error.url << "\n";
}

}  // namespace certbroker::agent_cli

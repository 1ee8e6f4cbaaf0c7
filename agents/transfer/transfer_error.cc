// TransferError's names and rendering.
#include "agents/transfer/transfer_error.h"

#include "absl/strings/str_cat.h"

namespace certbroker::transfer {

const char* ErrorContextName(ErrorContext context) {
  switch (context) {
    case ErrorContext::kLocalFile:
      return "LOCAL_FILE";
    case ErrorContext::kRemoteFile:
      return "REMOTE_FILE";
    case ErrorContext::kTransport:
      return "TRANSPORT";
    case ErrorContext::kServerCertificate:
      return "SERVER_CERTIFICATE";
    case ErrorContext::kBrokerUnavailable:
      return "BROKER_UNAVAILABLE";
    case ErrorContext::kClientCertificate:
      return "CLIENT_CERTIFICATE";
  }
  return "UNKNOWN";
}

std::string TransferError::ToString() const {
  std::string text = absl::StrCat(ErrorContextName(context), ": ", message);
  if (http_status != 0) absl::StrAppend(&text, " (HTTP ", http_status, ")");
  if (reason != v1::REASON_UNSPECIFIED || !decision_id.empty()) {
    absl::StrAppend(&text, " (broker: reason=", v1::Reason_Name(reason),
                    " decision=", decision_id);
    if (!rule_name.empty()) absl::StrAppend(&text, " rule=", rule_name);
    absl::StrAppend(&text, ")");
  }
  return text;
}

}  // namespace certbroker::transfer

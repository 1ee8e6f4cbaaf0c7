// Decision records: a unique id per decision and the one log line each
// decision writes (target, verdict, reason, decision id), in key=value form.
#ifndef CERTBROKER_BROKER_SERVICE_DECISION_LOG_H_
#define CERTBROKER_BROKER_SERVICE_DECISION_LOG_H_

#include <string>

#include "absl/strings/string_view.h"

namespace certbroker::service {

// NewDecisionId returns 128 random bits as 32 lowercase hex digits.
std::string NewDecisionId();

// DecisionRecord is what one decision line says.
struct DecisionRecord {
  absl::string_view rpc;
  absl::string_view decision_id;
  absl::string_view peer;
  absl::string_view target;
  absl::string_view rule;
  absl::string_view verdict;  // "accept", "reject", or a gRPC code name.
  absl::string_view reason;
  absl::string_view detail;
  bool cached = false;
};

// LogDecision writes `record` as one INFO line starting with "decision".
void LogDecision(const DecisionRecord& record);

}  // namespace certbroker::service

#endif  // CERTBROKER_BROKER_SERVICE_DECISION_LOG_H_

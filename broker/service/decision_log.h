// Decision records: a unique id per decision and the one log line each
// decision writes (target, verdict, reason, decision id), in key=value form.
#ifndef CERTBROKER_BROKER_SERVICE_DECISION_LOG_H_
#define CERTBROKER_BROKER_SERVICE_DECISION_LOG_H_

#include <string>

#include "absl/strings/string_view.h"

namespace certbroker::service {

// NewDecisionId returns 128 random bits as 32 lowercase hex digits.
std::string NewDecisionId();

// Decision is what a handler decided, for its log line.
struct Decision {
  std::string id;      // The decision id; made up when a handler sets none.
  std::string agent;   // The caller\'s identity; empty until authenticated.
  std::string target;  // ResolvedTarget::ToString(), once resolved.
  std::string rule;    // The matched rule's name, once matched.
  std::string
      verdict;  // "accept", "reject", "answer", "give", or an error code.
  std::string reason;
  std::string detail;
  bool cached = false;           // Answered from the verdict cache.
  std::string policy_version;    // Of the policy that decided, for the audit.
  std::string leaf_fingerprint;  // Hex SHA-256 of the leaf involved, if any.
};

// LogDecision writes `decision` of call `rpc` from `peer` as one INFO line
// starting with "decision".
void LogDecision(absl::string_view rpc, absl::string_view peer,
                 const Decision& decision);

}  // namespace certbroker::service

#endif  // CERTBROKER_BROKER_SERVICE_DECISION_LOG_H_

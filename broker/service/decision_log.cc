// Decision ids and decision log lines.
#include "broker/service/decision_log.h"

#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "broker/common/log.h"
#include "broker/x509/boringssl.h"

namespace certbroker::service {

std::string NewDecisionId() {
  uint8_t bytes[16];
  RAND_bytes(bytes, sizeof(bytes));
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

void LogDecision(const DecisionRecord& record) {
  std::string line = absl::StrCat(
      "decision rpc=", record.rpc, " id=", LogValue(record.decision_id),
      " peer=", LogValue(record.peer), " target=", LogValue(record.target),
      " rule=", LogValue(record.rule), " verdict=", record.verdict,
      " reason=", LogValue(record.reason));
  if (record.cached) absl::StrAppend(&line, " cached=true");
  if (!record.detail.empty()) {
    absl::StrAppend(&line, " detail=", LogValue(record.detail));
  }
  LogInfo(line);
}

}  // namespace certbroker::service

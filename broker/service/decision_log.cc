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

void LogDecision(absl::string_view rpc, absl::string_view peer,
                 const Decision& decision) {
  std::string line = absl::StrCat(
      "decision rpc=", rpc, " id=", LogValue(decision.id),
      " peer=", LogValue(peer), " agent=", LogValue(decision.agent),
      " target=", LogValue(decision.target), " rule=", LogValue(decision.rule),
      " verdict=", decision.verdict, " reason=", LogValue(decision.reason));
  if (decision.cached) absl::StrAppend(&line, " cached=true");
  if (!decision.detail.empty())
    absl::StrAppend(&line, " detail=", LogValue(decision.detail));
  LogInfo(line);
}

}  // namespace certbroker::service

// Decision ids and decision log lines. A decision line is assembled into one
// buffer, field by field, without a temporary string per field.
#include "broker/service/decision_log.h"

#include <openssl/rand.h>

#include "broker/common/log.h"
#include "broker/x509/boringssl.h"

namespace certbroker::service {
namespace {

// Room for a typical line (id, target, rule, a sentence of detail), so that
// the buffer is allocated once.
constexpr size_t kTypicalLineBytes = 512;

void AppendField(absl::string_view key, absl::string_view value,
                 std::string& line) {
  line.append(key.data(), key.size());
  AppendLogValue(value, line);
}

}  // namespace

std::string NewDecisionId() {
  constexpr char kDigits[] = "0123456789abcdef";
  // A RAND_bytes call costs about a microsecond whatever its length (fresh
  // entropy is mixed into every call), so each thread draws the bytes of
  // kIdsPerDraw ids at once. Ids are unique, not secret; certbrokerd never
  // forks, so no two processes hand out the same buffered bytes.
  constexpr size_t kIdBytes = 16;
  constexpr size_t kIdsPerDraw = 32;
  thread_local uint8_t drawn[kIdBytes * kIdsPerDraw];
  thread_local size_t used = sizeof(drawn);
  if (used == sizeof(drawn)) {
    RAND_bytes(drawn, sizeof(drawn));
    used = 0;
  }
  const uint8_t* bytes = drawn + used;
  used += kIdBytes;
  std::string id(2 * kIdBytes, '0');
  for (size_t i = 0; i < kIdBytes; ++i) {
    id[2 * i] = kDigits[bytes[i] >> 4];
    id[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return id;
}

void LogDecision(absl::string_view rpc, absl::string_view peer,
                 const Decision& decision) {
  std::string line;
  line.reserve(kTypicalLineBytes);
  line.append("decision rpc=").append(rpc.data(), rpc.size());
  AppendField(" id=", decision.id, line);
  AppendField(" peer=", peer, line);
  AppendField(" agent=", decision.agent, line);
  AppendField(" target=", decision.target, line);
  AppendField(" rule=", decision.rule, line);
  line.append(" verdict=").append(decision.verdict);
  AppendField(" reason=", decision.reason, line);
  if (decision.cached) line.append(" cached=true");
  if (!decision.detail.empty()) AppendField(" detail=", decision.detail, line);
  LogInfo(line);
}

}  // namespace certbroker::service

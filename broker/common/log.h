// A minimal structured logger: one line per event on stderr, as
// "2026-01-02T03:04:05.678Z LEVEL message key=value ...". Our abseil has no
// absl/log; this is all the broker needs until it grows a real sink.
#ifndef CERTBROKER_BROKER_COMMON_LOG_H_
#define CERTBROKER_BROKER_COMMON_LOG_H_

#include <string>

#include "absl/strings/string_view.h"

namespace certbroker {

enum class LogLevel { kInfo, kWarning, kError };

// LogLine writes one line at `level`. Thread-safe; lines never interleave
// and keep their order. INFO lines (one per decision, the hot path) are
// queued and written in batches by a background thread, within
// milliseconds, so that request threads neither wait for stderr nor contend
// for it; WARN and ERROR lines are written (after everything queued) before
// LogLine returns. When the queue exceeds 4 MiB, INFO lines are written
// synchronously too: lines are never dropped. Queued lines are written at
// normal exit (atexit) and by FlushLog.
void LogLine(LogLevel level, absl::string_view message);

// FlushLog writes every queued line now.
void FlushLog();

// LogInfo, LogWarning and LogError are LogLine at their level.
inline void LogInfo(absl::string_view message) {
  LogLine(LogLevel::kInfo, message);
}
inline void LogWarning(absl::string_view message) {
  LogLine(LogLevel::kWarning, message);
}
inline void LogError(absl::string_view message) {
  LogLine(LogLevel::kError, message);
}

// LogValue quotes `value` for a key=value log field when it is empty or holds
// spaces, quotes, '=' or control characters, so every line stays parseable.
std::string LogValue(absl::string_view value);

// AppendLogValue appends LogValue(value) to `out`, for building a line
// without a temporary string per field.
void AppendLogValue(absl::string_view value, std::string& out);

}  // namespace certbroker

#endif  // CERTBROKER_BROKER_COMMON_LOG_H_

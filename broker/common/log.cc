// Implementation of the one-line-per-event stderr logger.
#include "broker/common/log.h"

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace certbroker {
namespace {

// Lines are appended to `pending` under queue_mutex; whoever writes takes
// write_mutex first and then swaps `pending` out, so that lines reach stderr
// in the order they were queued. The queue is allocated once and never
// destroyed: the flusher thread and atexit may use it while static objects
// are being torn down.
constexpr size_t kMaxPendingBytes = 4 << 20;

struct LogQueue {
  absl::Mutex write_mutex;
  absl::Mutex queue_mutex;
  std::string pending ABSL_GUARDED_BY(queue_mutex);
  bool flusher_started ABSL_GUARDED_BY(queue_mutex) = false;
};

LogQueue& Queue() {
  static LogQueue* const queue = new LogQueue();
  return *queue;
}

// WritePending writes what is queued, then `extra`.
void WritePending(absl::string_view extra) {
  LogQueue& queue = Queue();
  absl::MutexLock write_lock(&queue.write_mutex);
  std::string batch;
  {
    absl::MutexLock lock(&queue.queue_mutex);
    batch.swap(queue.pending);
  }
  batch.append(extra.data(), extra.size());
  if (batch.empty()) return;
  std::fwrite(batch.data(), 1, batch.size(), stderr);
  std::fflush(stderr);
}

// FlusherLoop writes what was queued every kFlushInterval, for the life of
// the process. Polling, rather than waking per line, is what makes a
// queued line cheap: the request thread only appends under a mutex.
constexpr absl::Duration kFlushInterval = absl::Milliseconds(10);

void FlusherLoop() {
  while (true) {
    absl::SleepFor(kFlushInterval);
    WritePending("");
  }
}

// Enqueue queues `line`, or returns false when the queue is full.
bool Enqueue(const std::string& line) {
  LogQueue& queue = Queue();
  absl::MutexLock lock(&queue.queue_mutex);
  if (queue.pending.size() + line.size() > kMaxPendingBytes) return false;
  queue.pending.append(line);
  if (!queue.flusher_started) {
    queue.flusher_started = true;
    std::atexit(FlushLog);
    std::thread(FlusherLoop).detach();
  }
  return true;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "INFO";
}

}  // namespace

void LogLine(LogLevel level, absl::string_view message) {
  // One event, one line: embedded line breaks (from library error texts)
  // would split an entry and confuse log collectors.
  std::string flat;
  if (message.find_first_of("\r\n") != absl::string_view::npos) {
    flat = absl::StrReplaceAll(message,
                               {{"\r\n", " | "}, {"\n", " | "}, {"\r", " | "}});
    message = flat;
  }
  std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                    absl::UTCTimeZone()),
                   " ", LevelName(level), " ", message, "\n");
  if (level == LogLevel::kInfo && Enqueue(line)) return;
  WritePending(line);
}

void FlushLog() { WritePending(""); }

std::string LogValue(absl::string_view value) {
  bool needs_quotes = value.empty();
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' ||
        static_cast<unsigned char>(c) < 0x20) {
      needs_quotes = true;
      break;
    }
  }
  if (!needs_quotes) return std::string(value);
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      quoted += absl::StrFormat("\\x%02x", static_cast<unsigned char>(c));
    } else {
      quoted += c;
    }
  }
  quoted += '"';
  return quoted;
}

}  // namespace certbroker

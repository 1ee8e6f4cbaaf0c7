// Implementation of the one-line-per-event stderr logger. A line costs the
// request thread one clock read, a cached timestamp and one append under a
// mutex; formatting the date, writing and flushing happen elsewhere.
#include "broker/common/log.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace certbroker {
namespace {

// Lines are appended to `pending` under queue_mutex; whoever writes takes
// write_mutex first and then swaps `pending` with `spare`, so that lines
// reach stderr in the order they were queued, and the two buffers keep
// their capacity instead of regrowing for every batch. The queue is
// allocated once and never destroyed: the flusher thread and atexit may
// use it while static objects are being torn down.
constexpr size_t kMaxPendingBytes = 4 << 20;
// A buffer grown beyond this by a burst is released after its write.
constexpr size_t kMaxKeptBufferBytes = 256 << 10;

struct LogQueue {
  absl::Mutex write_mutex;
  std::string spare ABSL_GUARDED_BY(write_mutex);
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
  std::string& batch = queue.spare;
  {
    absl::MutexLock lock(&queue.queue_mutex);
    batch.swap(queue.pending);
  }
  batch.append(extra.data(), extra.size());
  if (batch.empty()) return;
  std::fwrite(batch.data(), 1, batch.size(), stderr);
  std::fflush(stderr);
  batch.clear();
  if (batch.capacity() > kMaxKeptBufferBytes) std::string().swap(batch);
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

// Timestamp is "2026-01-02T03:04:05.678Z" (UTC, milliseconds truncated).
struct Timestamp {
  char text[32];
  size_t size = 0;
  absl::string_view view() const { return absl::string_view(text, size); }
};

// MakeTimestamp formats `now`. absl::FormatTime is by far the costliest
// step of a line, so each thread formats the date and time of day once per
// second and only fills in the milliseconds on the following lines.
Timestamp MakeTimestamp(absl::Time now) {
  thread_local int64_t cached_second = INT64_MIN;
  thread_local char cached_text[24];  // "2026-01-02T03:04:05", no NUL.
  thread_local size_t cached_size = 0;
  const int64_t millis = absl::ToUnixMillis(now);
  int64_t second = millis / 1000;
  int64_t millisecond = millis % 1000;
  if (millisecond < 0) {  // Before 1970: round down, as FormatTime does.
    second -= 1;
    millisecond += 1000;
  }
  if (second != cached_second) {
    std::string text =
        absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second),
                         absl::UTCTimeZone());
    cached_size = std::min(text.size(), sizeof(cached_text));
    text.copy(cached_text, cached_size);
    cached_second = second;
  }
  Timestamp timestamp;
  std::copy(cached_text, cached_text + cached_size, timestamp.text);
  char* cursor = timestamp.text + cached_size;
  *cursor++ = '.';
  *cursor++ = static_cast<char>('0' + millisecond / 100);
  *cursor++ = static_cast<char>('0' + millisecond / 10 % 10);
  *cursor++ = static_cast<char>('0' + millisecond % 10);
  *cursor++ = 'Z';
  timestamp.size = static_cast<size_t>(cursor - timestamp.text);
  return timestamp;
}

// Line is one log line in pieces: "<timestamp> <LEVEL> <message>\n".
struct Line {
  absl::string_view timestamp;
  absl::string_view level;
  absl::string_view message;

  size_t size() const {
    return timestamp.size() + level.size() + message.size() + 3;
  }
  void AppendTo(std::string& out) const {
    out.append(timestamp.data(), timestamp.size());
    out.push_back(' ');
    out.append(level.data(), level.size());
    out.push_back(' ');
    out.append(message.data(), message.size());
    out.push_back('\n');
  }
  std::string ToString() const {
    std::string text;
    text.reserve(size());
    AppendTo(text);
    return text;
  }
};

// Enqueue queues `line`, or returns false when the queue is full. The line
// is assembled straight into the queue: no copy of it is allocated.
bool Enqueue(const Line& line) {
  LogQueue& queue = Queue();
  absl::MutexLock lock(&queue.queue_mutex);
  if (queue.pending.size() + line.size() > kMaxPendingBytes) return false;
  line.AppendTo(queue.pending);
  if (!queue.flusher_started) {
    queue.flusher_started = true;
    std::atexit(FlushLog);
    std::thread(FlusherLoop).detach();
  }
  return true;
}

void AppendHexByte(unsigned char byte, std::string& out) {
  constexpr char kDigits[] = "0123456789abcdef";
  out.push_back(kDigits[byte >> 4]);
  out.push_back(kDigits[byte & 0xf]);
}

// NeedsEscape is true for the characters a quoted value escapes.
bool NeedsEscape(char c) {
  return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
}

bool NeedsQuotes(absl::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    if (c == ' ' || c == '=' || NeedsEscape(c)) return true;
  }
  return false;
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
  const Timestamp timestamp = MakeTimestamp(absl::Now());
  const Line line{timestamp.view(), LevelName(level), message};
  if (level == LogLevel::kInfo && Enqueue(line)) return;
  WritePending(line.ToString());
}

void FlushLog() { WritePending(""); }

void AppendLogValue(absl::string_view value, std::string& out) {
  if (!NeedsQuotes(value)) {
    out.append(value.data(), value.size());
    return;
  }
  out.push_back('"');
  size_t plain_from = 0;  // Start of the characters copied as they are.
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (!NeedsEscape(c)) continue;
    out.append(value.data() + plain_from, i - plain_from);
    plain_from = i + 1;
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else {
      out.append("\\x");
      AppendHexByte(static_cast<unsigned char>(c), out);
    }
  }
  out.append(value.data() + plain_from, value.size() - plain_from);
  out.push_back('"');
}

std::string LogValue(absl::string_view value) {
  std::string quoted;
  AppendLogValue(value, quoted);
  return quoted;
}

}  // namespace certbroker

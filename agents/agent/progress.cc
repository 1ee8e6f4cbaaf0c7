// Progress: the bar and the plain progress lines.
#include "agents/agent/progress.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace certbroker::agent_cli {

std::string Progress::FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, units[unit]);
}

void Progress::Update(uint64_t bytes, int64_t total) {
  Clock::time_point now = Clock::now();
  if (!started_) {
    started_ = true;
    start_ = now;
    last_ = now - std::chrono::seconds(1);
  }
  last_bytes_ = bytes;
  last_total_ = total;
  bool complete = total >= 0 && bytes >= static_cast<uint64_t>(total);
  if (terminal_) {
    if (complete || now - last_ >= std::chrono::milliseconds(100)) {
      last_ = now;
      DrawBar(bytes, total);
    }
    return;
  }
  int tenth = total > 0 ? static_cast<int>(bytes * 10 / total) : -1;
  if (tenth != last_tenth_ || now - last_ >= std::chrono::seconds(1)) {
    last_tenth_ = tenth;
    last_ = now;
    PrintLine(bytes, total);
  }
}

void Progress::PrintLine(uint64_t bytes, int64_t total) {
  std::string line = absl::StrCat("progress: ", bytes);
  if (total >= 0) {
    absl::StrAppend(&line, " of ", total, " bytes (",
                    total > 0 ? bytes * 100 / total : 100, "%)");
  } else {
    absl::StrAppend(&line, " bytes");
  }
  out_ << line << "\n" << std::flush;
  printed_ = true;
  printed_bytes_ = bytes;
}

void Progress::DrawBar(uint64_t bytes, int64_t total) {
  double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  std::string rate =
      seconds > 0.05
          ? FormatBytes(static_cast<uint64_t>(bytes / seconds)) + "/s"
          : "";
  std::string line;
  if (total > 0) {
    constexpr int kWidth = 30;
    int filled = static_cast<int>(bytes * kWidth / total);
    if (filled > kWidth) filled = kWidth;
    line =
        absl::StrFormat("\r[%s%s] %3d%%  %s / %s  %s", std::string(filled, '#'),
                        std::string(kWidth - filled, ' '),
                        static_cast<int>(bytes * 100 / total),
                        FormatBytes(bytes), FormatBytes(total), rate);
  } else {
    line = absl::StrFormat("\r%s  %s", FormatBytes(bytes), rate);
  }
  out_ << line << "\x1b[K" << std::flush;
  bar_drawn_ = true;
}

void Progress::Notice(const std::string& text) {
  if (bar_drawn_) out_ << "\r\x1b[K";
  out_ << text << "\n";
  if (bar_drawn_) DrawBar(last_bytes_, last_total_);
  out_ << std::flush;
}

void Progress::Finish() {
  if (!terminal_ && started_ && (!printed_ || printed_bytes_ != last_bytes_)) {
    PrintLine(last_bytes_, last_total_);
  }
  if (bar_drawn_) {
    DrawBar(last_bytes_, last_total_);
    out_ << "\n" << std::flush;
    bar_drawn_ = false;
  }
}

}  // namespace certbroker::agent_cli

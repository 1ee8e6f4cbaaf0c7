// progress.h: the fetch command's progress display: a bar redrawn with
// carriage returns on a terminal, plain lines (every 10% or every second)
// otherwise.
#ifndef CERTBROKER_AGENTS_AGENT_PROGRESS_H_
#define CERTBROKER_AGENTS_AGENT_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace certbroker::agent_cli {

// Progress renders a download's progress on `out`. Not thread-safe.
class Progress {
 public:
  // Progress draws a bar when `terminal`, lines otherwise.
  Progress(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}

  // Update reports `bytes` of `total` (-1: unknown).
  void Update(uint64_t bytes, int64_t total);
  // Notice prints a line of its own (the bar is redrawn after it).
  void Notice(const std::string& text);
  // Finish ends the bar's line, if one is drawn, or prints the last count
  // as a line when it was not printed yet.
  void Finish();

  // FormatBytes renders a byte count ("512 B", "1.5 MiB").
  static std::string FormatBytes(uint64_t bytes);

 private:
  using Clock = std::chrono::steady_clock;
  void DrawBar(uint64_t bytes, int64_t total);
  void PrintLine(uint64_t bytes, int64_t total);

  std::ostream& out_;
  bool terminal_;
  bool bar_drawn_ = false;
  bool started_ = false;
  Clock::time_point start_;
  Clock::time_point last_;
  int last_tenth_ = -1;
  uint64_t last_bytes_ = 0;
  int64_t last_total_ = -1;
  bool printed_ = false;        // A line was printed.
  uint64_t printed_bytes_ = 0;  // The count the last line showed.
};

}  // namespace certbroker::agent_cli

#endif  // CERTBROKER_AGENTS_AGENT_PROGRESS_H_

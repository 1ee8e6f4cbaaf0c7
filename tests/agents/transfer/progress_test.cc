// Progress: the bar on a terminal, the plain lines otherwise.
#include "agents/agent/progress.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace certbroker::agent_cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ProgressTest, LinesEveryTenthWhenNotATerminal) {
  std::ostringstream out;
  Progress progress(out, false);
  for (uint64_t bytes = 0; bytes <= 1000; bytes += 50) {
    progress.Update(bytes, 1000);
  }
  progress.Finish();
  std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("progress: 0 of 1000 bytes (0%)\n"));
  EXPECT_THAT(text, HasSubstr("progress: 500 of 1000 bytes (50%)\n"));
  EXPECT_THAT(text, HasSubstr("progress: 1000 of 1000 bytes (100%)\n"));
  EXPECT_THAT(text, Not(HasSubstr("550 of")));  // Same tenth, same second.
  EXPECT_THAT(text, Not(HasSubstr("\r")));
}

TEST(ProgressTest, FinishPrintsTheLastCountOfAnUnknownTotal) {
  std::ostringstream out;
  Progress progress(out, false);
  progress.Update(0, -1);
  progress.Update(100, -1);
  progress.Update(250, -1);
  progress.Finish();
  EXPECT_EQ(out.str(), "progress: 0 bytes\nprogress: 250 bytes\n");
}

TEST(ProgressTest, BarWithCarriageReturnsOnATerminal) {
  std::ostringstream out;
  Progress progress(out, true);
  progress.Update(0, 2048);
  progress.Notice("resuming at byte 0");
  progress.Update(2048, 2048);
  progress.Finish();
  std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("\r[" + std::string(30, ' ') + "]   0%"));
  EXPECT_THAT(text, HasSubstr("resuming at byte 0\n"));
  EXPECT_THAT(text, HasSubstr("\r[" + std::string(30, '#') +
                              "] 100%  2.0 KiB / 2.0 KiB"));
  EXPECT_EQ(text.back(), '\n');
}

TEST(ProgressTest, FormatsBytes) {
  EXPECT_EQ(Progress::FormatBytes(512), "512 B");
  EXPECT_EQ(Progress::FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(Progress::FormatBytes(3u << 30), "3.0 GiB");
}

}  // namespace
}  // namespace certbroker::agent_cli

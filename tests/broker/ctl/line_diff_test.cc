// UnifiedDiff: hunks, context, line numbers and the missing final newline.
#include "broker/ctl/line_diff.h"

#include "gtest/gtest.h"

namespace certbroker::ctl {
namespace {

std::string Diff(absl::string_view before, absl::string_view after,
                 size_t context = 3) {
  auto diff = UnifiedDiff(before, after, "a", "b", context);
  EXPECT_TRUE(diff.ok()) << diff.status();
  return diff.ok() ? *diff : "";
}

TEST(LineDiffTest, EqualTextsGiveNoDiff) {
  EXPECT_EQ(Diff("", ""), "");
  EXPECT_EQ(Diff("a\nb\n", "a\nb\n"), "");
}

TEST(LineDiffTest, ChangedLineShowsContextAroundIt) {
  EXPECT_EQ(
      Diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n"),
      "--- a\n+++ b\n"
      "@@ -2,7 +2,7 @@\n"
      " 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
}

TEST(LineDiffTest, DistantChangesMakeSeparateHunks) {
  EXPECT_EQ(Diff("a\nb\nc\nd\ne\nf\ng\nh\n", "A\nb\nc\nd\ne\nf\ng\nH\n", 1),
            "--- a\n+++ b\n"
            "@@ -1,2 +1,2 @@\n-a\n+A\n b\n"
            "@@ -7,2 +7,2 @@\n g\n-h\n+H\n");
}

TEST(LineDiffTest, ChangesCloserThanTwiceTheContextShareAHunk) {
  EXPECT_EQ(Diff("a\nb\nc\nd\n", "A\nb\nc\nD\n", 1),
            "--- a\n+++ b\n"
            "@@ -1,4 +1,4 @@\n-a\n+A\n b\n c\n-d\n+D\n");
  // Three unchanged lines apart, they do not.
  EXPECT_EQ(Diff("a\nb\nc\nd\ne\n", "A\nb\nc\nd\nE\n", 1),
            "--- a\n+++ b\n"
            "@@ -1,2 +1,2 @@\n-a\n+A\n b\n"
            "@@ -4,2 +4,2 @@\n d\n-e\n+E\n");
}

TEST(LineDiffTest, InsertionAndDeletionUseTheLongestCommonSubsequence) {
  EXPECT_EQ(Diff("x\na\nb\nc\n", "a\nb\ny\nc\n", 0),
            "--- a\n+++ b\n"
            "@@ -1 +0,0 @@\n-x\n"
            "@@ -3,0 +3 @@\n+y\n");
}

TEST(LineDiffTest, EmptyBeforeOrAfter) {
  EXPECT_EQ(Diff("", "a\nb\n"), "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+a\n+b\n");
  EXPECT_EQ(Diff("a\n", ""), "--- a\n+++ b\n@@ -1 +0,0 @@\n-a\n");
}

TEST(LineDiffTest, MissingFinalNewlineIsMarked) {
  EXPECT_EQ(Diff("a\nb", "a\nb\n"),
            "--- a\n+++ b\n"
            "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
}

TEST(LineDiffTest, TooManyDifferentLinesFailWithResourceExhausted) {
  std::string before, after;
  for (int i = 0; i < 5000; ++i) {
    before += "a" + std::to_string(i) + "\n";
    after += "b" + std::to_string(i) + "\n";
  }
  auto diff = UnifiedDiff(before, after, "a", "b");
  EXPECT_EQ(diff.status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace certbroker::ctl

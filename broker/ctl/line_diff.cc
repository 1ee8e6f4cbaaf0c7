// Longest-common-subsequence line diff, printed in unified format.
#include "broker/ctl/line_diff.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace certbroker::ctl {
namespace {

// SplitLines splits `text` into lines that keep their "\n", so a last line
// without one differs from the same line with one.
std::vector<absl::string_view> SplitLines(absl::string_view text) {
  std::vector<absl::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    size_t length = end == absl::string_view::npos ? text.size() : end + 1;
    lines.push_back(text.substr(0, length));
    text.remove_prefix(length);
  }
  return lines;
}

enum class Kind { kSame, kRemoved, kAdded };

struct Edit {
  Kind kind;
  absl::string_view line;
};

// Edits is the shortest edit script from `a` to `b`: the common prefix
// and suffix, and between them an LCS walk that removes before it adds.
absl::StatusOr<std::vector<Edit>> Edits(
    const std::vector<absl::string_view>& a,
    const std::vector<absl::string_view>& b) {
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) {
    ++prefix;
  }
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
    ++suffix;
  }
  const size_t n = a.size() - prefix - suffix;
  const size_t m = b.size() - prefix - suffix;
  if (n > 0 && m > 0 && n > kMaxDiffCells / m) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the texts differ in ", n, " and ", m, " lines, too many to diff"));
  }
  // lcs[i * (m + 1) + j] is the LCS length of a[prefix+i..] and b[prefix+j..]
  // within the middle part.
  std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
  auto at = [&](size_t i, size_t j) -> uint32_t& {
    return lcs[i * (m + 1) + j];
  };
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      at(i, j) = a[prefix + i] == b[prefix + j]
                     ? at(i + 1, j + 1) + 1
                     : std::max(at(i + 1, j), at(i, j + 1));
    }
  }
  std::vector<Edit> edits;
  for (size_t k = 0; k < prefix; ++k) edits.push_back({Kind::kSame, a[k]});
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[prefix + i] == b[prefix + j]) {
      edits.push_back({Kind::kSame, a[prefix + i]});
      ++i;
      ++j;
    } else if (j == m || (i < n && at(i + 1, j) >= at(i, j + 1))) {
      edits.push_back({Kind::kRemoved, a[prefix + i]});
      ++i;
    } else {
      edits.push_back({Kind::kAdded, b[prefix + j]});
      ++j;
    }
  }
  for (size_t k = a.size() - suffix; k < a.size(); ++k) {
    edits.push_back({Kind::kSame, a[k]});
  }
  return edits;
}

// Range is a hunk header's "START,LENGTH", where START counts from 1 and
// is the line before the hunk when LENGTH is 0.
std::string Range(size_t lines_before, size_t length) {
  if (length == 1) return absl::StrCat(lines_before + 1);
  return absl::StrCat(length == 0 ? lines_before : lines_before + 1, ",",
                      length);
}

void AppendLine(std::string& text, char mark, absl::string_view line) {
  absl::StrAppend(&text, std::string(1, mark), line);
  if (line.empty() || line.back() != '\n') {
    text += "\n\\ No newline at end of file\n";
  }
}

}  // namespace

absl::StatusOr<std::string> UnifiedDiff(absl::string_view before,
                                        absl::string_view after,
                                        absl::string_view before_label,
                                        absl::string_view after_label,
                                        size_t context) {
  if (before == after) return std::string();
  auto edits = Edits(SplitLines(before), SplitLines(after));
  if (!edits.ok()) return edits.status();
  const size_t count = edits->size();
  // a_seen[k] and b_seen[k] count the lines of each side before edit k.
  std::vector<size_t> a_seen(count + 1, 0), b_seen(count + 1, 0);
  for (size_t k = 0; k < count; ++k) {
    Kind kind = (*edits)[k].kind;
    a_seen[k + 1] = a_seen[k] + (kind != Kind::kAdded ? 1 : 0);
    b_seen[k + 1] = b_seen[k] + (kind != Kind::kRemoved ? 1 : 0);
  }
  auto changed = [&](size_t k) { return (*edits)[k].kind != Kind::kSame; };

  std::string text =
      absl::StrCat("--- ", before_label, "\n+++ ", after_label, "\n");
  size_t k = 0;
  while (k < count) {
    if (!changed(k)) {
      ++k;
      continue;
    }
    // A hunk runs from `context` lines before its first change to
    // `context` lines after its last, absorbing changes closer than
    // 2 * context unchanged lines apart.
    size_t start = k >= context ? k - context : 0;
    size_t last = k;
    for (size_t next = k + 1; next < count && next <= last + 2 * context + 1;
         ++next) {
      if (changed(next)) last = next;
    }
    size_t end = std::min(count, last + 1 + context);
    absl::StrAppend(&text, "@@ -",
                    Range(a_seen[start], a_seen[end] - a_seen[start]), " +",
                    Range(b_seen[start], b_seen[end] - b_seen[start]), " @@\n");
    for (size_t e = start; e < end; ++e) {
      const Edit& edit = (*edits)[e];
      char mark = edit.kind == Kind::kSame      ? ' '
                  : edit.kind == Kind::kRemoved ? '-'
                                                : '+';
      AppendLine(text, mark, edit.line);
    }
    k = end;
  }
  return text;
}

}  // namespace certbroker::ctl

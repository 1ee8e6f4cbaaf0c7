// A line diff for `certbrokerctl policy diff`: the longest common
// subsequence of two texts' lines, shown as a unified diff with context.
#ifndef CERTBROKER_BROKER_CTL_LINE_DIFF_H_
#define CERTBROKER_BROKER_CTL_LINE_DIFF_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace certbroker::ctl {

// kMaxDiffCells bounds the LCS table: the product of the line counts that
// differ after the common prefix and suffix are set aside.
inline constexpr size_t kMaxDiffCells = size_t{16} << 20;

// UnifiedDiff returns the unified diff turning `before` into `after`, with
// `context` unchanged lines around each change, headed by "--- before_label"
// and "+++ after_label"; empty when the texts are equal. A last line
// without a line break is marked "\ No newline at end of file". Fails with
// RESOURCE_EXHAUSTED when the texts are too different to diff within
// kMaxDiffCells.
absl::StatusOr<std::string> UnifiedDiff(absl::string_view before,
                                        absl::string_view after,
                                        absl::string_view before_label,
                                        absl::string_view after_label,
                                        size_t context = 3);

}  // namespace certbroker::ctl

#endif  // CERTBROKER_BROKER_CTL_LINE_DIFF_H_

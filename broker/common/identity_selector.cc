// Matching callers' identities against selectors.
#include "broker/common/identity_selector.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace certbroker {
namespace {

bool IsPrefixSelector(absl::string_view selector) {
  return absl::EndsWith(selector, "*") &&
         selector.find('*') == selector.size() - 1;
}

// SegmentsMatch compares '/'-separated segments, "*" standing for one.
bool SegmentsMatch(absl::string_view selector, absl::string_view identity) {
  std::vector<absl::string_view> wanted = absl::StrSplit(selector, '/');
  std::vector<absl::string_view> got = absl::StrSplit(identity, '/');
  if (wanted.size() != got.size()) return false;
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (wanted[i] == "*" ? got[i].empty() : wanted[i] != got[i]) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> SelectorProblem(absl::string_view selector) {
  if (selector.empty()) return "an empty selector selects nobody";
  if (selector.find_first_of(" \t\r\n") != absl::string_view::npos) {
    return "a selector has no whitespace";
  }
  if (selector == "*" || IsPrefixSelector(selector)) return std::nullopt;
  for (absl::string_view segment : absl::StrSplit(selector, '/')) {
    if (segment != "*" && absl::StrContains(segment, '*')) {
      return "'*' stands for a whole path segment, or ends a prefix";
    }
  }
  return std::nullopt;
}

bool SelectorMatches(absl::string_view selector, absl::string_view identity) {
  if (identity.empty()) return false;
  if (IsPrefixSelector(selector)) {
    return absl::StartsWith(identity, selector.substr(0, selector.size() - 1));
  }
  if (!absl::StrContains(selector, '*')) return selector == identity;
  return SegmentsMatch(selector, identity);
}

bool SelectorsMayOverlap(absl::string_view a, absl::string_view b) {
  absl::string_view literal_a = a.substr(0, a.find('*'));
  absl::string_view literal_b = b.substr(0, b.find('*'));
  bool a_exact = literal_a.size() == a.size();
  bool b_exact = literal_b.size() == b.size();
  if (a_exact && b_exact) return a == b;
  if (a_exact) return SelectorMatches(b, a);
  if (b_exact) return SelectorMatches(a, b);
  return absl::StartsWith(literal_a, literal_b) ||
         absl::StartsWith(literal_b, literal_a);
}

}  // namespace certbroker

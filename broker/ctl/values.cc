// Parsing certbrokerctl's argument values, with usage errors that name the
// option.
#include "broker/ctl/values.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "broker/common/file.h"

namespace certbroker::ctl {
namespace {

bool IsIdCharacter(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

absl::StatusOr<std::string> ResourceName(absl::string_view collection,
                                         absl::string_view argument) {
  absl::string_view id = argument;
  absl::ConsumePrefix(&id, absl::StrCat(collection, "/"));
  bool valid = !id.empty() && id.size() <= 128;
  for (char c : id) valid = valid && IsIdCharacter(c);
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ID '", argument, "' is not 1-128 letters, digits, '.', '_' or '-'"));
  }
  return absl::StrCat(collection, "/", id);
}

std::string ResourceId(absl::string_view name) {
  size_t slash = name.rfind('/');
  return std::string(slash == absl::string_view::npos ? name
                                                      : name.substr(slash + 1));
}

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view option,
                                             absl::string_view text) {
  absl::Duration duration;
  bool parsed = false;
  int64_t days = 0;
  if (absl::EndsWith(text, "d")) {
    parsed = absl::SimpleAtoi(text.substr(0, text.size() - 1), &days) &&
             days > 0 && days <= 100 * 365;
    duration = absl::Hours(24) * days;
  } else {
    parsed = absl::ParseDuration(text, &duration);
  }
  if (!parsed || duration <= absl::ZeroDuration() ||
      duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, ": '", text,
                     "' is not a positive duration like 30d, 12h or 90m"));
  }
  return duration;
}

absl::StatusOr<absl::Time> ParseTimeOrAgo(absl::string_view option,
                                          absl::string_view text,
                                          absl::Time now) {
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &time, &error)) return time;
  if (auto ago = ParseDuration(option, text); ago.ok()) return now - *ago;
  return absl::InvalidArgumentError(
      absl::StrCat(option, ": '", text,
                   "' is neither an RFC 3339 time (2025-06-01T12:00:00Z) "
                   "nor a duration like 1h or 7d"));
}

absl::StatusOr<int64_t> ParseCount(absl::string_view option,
                                   absl::string_view text, int64_t minimum,
                                   int64_t maximum) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < minimum || value > maximum) {
    return absl::InvalidArgumentError(absl::StrCat(option, ": '", text,
                                                   "' is not a number from ",
                                                   minimum, " to ", maximum));
  }
  return value;
}

absl::StatusOr<std::map<std::string, std::string>> ParseLabels(
    const std::vector<std::string>& arguments) {
  std::map<std::string, std::string> labels;
  for (const std::string& argument : arguments) {
    size_t equals = argument.find('=');
    if (equals == std::string::npos || equals == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--label: '", argument, "' is not KEY=VALUE"));
    }
    std::string key = argument.substr(0, equals);
    if (!labels.emplace(key, argument.substr(equals + 1)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("--label: key '", key, "' given twice"));
    }
  }
  return labels;
}

absl::Status CheckLabelSelector(absl::string_view option,
                                absl::string_view selector) {
  for (absl::string_view term : absl::StrSplit(selector, ',')) {
    size_t equals = term.find('=');
    if (equals == absl::string_view::npos || equals == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(option, ": '", term, "' is not KEY=VALUE"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadInputFile(absl::string_view option,
                                          const std::string& path) {
  auto contents = ReadFile(path);
  if (!contents.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, ": ", contents.status().message()));
  }
  return contents;
}

}  // namespace certbroker::ctl

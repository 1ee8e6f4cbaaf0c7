// Parsing certbrokerctl's options.
#include "broker/ctl/command_line.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace certbroker::ctl {

std::string Options::Get(absl::string_view name,
                         absl::string_view fallback) const {
  auto found = values_.find(std::string(name));
  return found == values_.end() ? std::string(fallback) : found->second.back();
}

std::vector<std::string> Options::GetAll(absl::string_view name) const {
  auto found = values_.find(std::string(name));
  return found == values_.end() ? std::vector<std::string>() : found->second;
}

absl::Status Options::ParseOne(const std::vector<OptionSpec>& specs,
                               std::vector<std::string>& args,
                               Options& options) {
  std::string name = args.front().substr(2);
  args.erase(args.begin());
  std::string value;
  bool has_inline_value = false;
  if (size_t equals = name.find('='); equals != std::string::npos) {
    value = name.substr(equals + 1);
    name = name.substr(0, equals);
    has_inline_value = true;
  }
  auto spec = std::find_if(
      specs.begin(), specs.end(),
      [&](const OptionSpec& candidate) { return candidate.name == name; });
  if (spec == specs.end()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown option --", name));
  }
  if (spec->value_name.empty()) {
    if (has_inline_value) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " takes no value"));
    }
    options.values_[name].push_back("true");
    return absl::OkStatus();
  }
  if (!has_inline_value) {
    if (args.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " needs a value (", spec->value_name, ")"));
    }
    value = args.front();
    args.erase(args.begin());
  }
  options.values_[name].push_back(value);
  return absl::OkStatus();
}

absl::StatusOr<Options> ParseOptions(const std::vector<OptionSpec>& specs,
                                     std::vector<std::string>& args,
                                     bool stop_at_positional) {
  Options options;
  while (!args.empty()) {
    if (!absl::StartsWith(args.front(), "--")) {
      if (stop_at_positional) break;
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", args.front(), "'"));
    }
    absl::Status parsed = Options::ParseOne(specs, args, options);
    if (!parsed.ok()) return parsed;
  }
  return options;
}

absl::StatusOr<Options> ParseArguments(const std::vector<OptionSpec>& specs,
                                       std::vector<std::string> args,
                                       std::vector<std::string>& positionals) {
  Options options;
  while (!args.empty()) {
    if (args.front() == "--") {
      positionals.insert(positionals.end(), args.begin() + 1, args.end());
      break;
    }
    if (!absl::StartsWith(args.front(), "--")) {
      positionals.push_back(args.front());
      args.erase(args.begin());
      continue;
    }
    absl::Status parsed = Options::ParseOne(specs, args, options);
    if (!parsed.ok()) return parsed;
  }
  return options;
}

std::string Usage(const std::vector<OptionSpec>& specs) {
  std::string text;
  for (const OptionSpec& spec : specs) {
    std::string left = absl::StrCat(
        "  --", spec.name,
        spec.value_name.empty() ? "" : absl::StrCat(" ", spec.value_name));
    left.resize(std::max<size_t>(left.size() + 2, 30), ' ');
    absl::StrAppend(&text, left, spec.help, "\n");
  }
  return text;
}

}  // namespace certbroker::ctl

// The shared flag loop and value checks of certbroker-agent's commands.
#include "agents/agent/flag_parser.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agents/transfer/part_file.h"
#include "certbroker/agent/tls_binding.h"

namespace certbroker::agent_cli {
namespace {

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<std::string>& valued,
                                     const std::vector<std::string>& boolean) {
  ParsedArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      parsed.positional.insert(parsed.positional.end(), args.begin() + i + 1,
                               args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      parsed.positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
    std::optional<std::string> value;
    size_t equals = name.find('=');
    if (equals != std::string::npos) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
    }
    if (name == "help" || name == "h") {
      parsed.help = true;
      continue;
    }
    if (Contains(boolean, name)) {
      if (value.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag \"--", name, "\" takes no value"));
      }
      parsed.flags.emplace_back(name, "");
      continue;
    }
    if (!Contains(valued, name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag \"", arg, "\""));
    }
    if (!value.has_value()) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag \"", arg, "\" needs a value"));
      }
      value = args[++i];
    }
    parsed.flags.emplace_back(name, *value);
  }
  return parsed;
}

absl::StatusOr<absl::Duration> ParseSeconds(const std::string& name,
                                            const std::string& value) {
  double number = 0;
  if (!absl::SimpleAtod(value, &number) || !(number > 0) || number > 1e9) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", name, " must be a positive number of seconds, not \"", value,
        "\""));
  }
  return absl::Seconds(number);
}

absl::StatusOr<int> ParseInt(const std::string& name, const std::string& value,
                             int min, int max) {
  int number = 0;
  if (!absl::SimpleAtoi(value, &number) || number < min || number > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", name, " must be ", min, "..", max, ", not \"", value, "\""));
  }
  return number;
}

absl::StatusOr<uint64_t> ParseByteCount(const std::string& name,
                                        const std::string& value) {
  uint64_t size = 0;
  if (value.empty() ||
      !absl::ascii_isdigit(static_cast<unsigned char>(value[0])) ||
      !absl::SimpleAtoi(value, &size)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", name, " must be a number of bytes, not \"", value, "\""));
  }
  return size;
}

absl::StatusOr<std::string> ParseSha256(const std::string& value) {
  if (!transfer::IsSha256Hex(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--sha256 must be 64 hex digits, not \"", value, "\""));
  }
  return absl::AsciiStrToLower(value);
}

absl::Status ParseResolve(const std::string& value,
                          std::map<std::string, std::string>& resolve) {
  size_t colon = value.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == value.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--resolve must be HOST:ADDRESS, not \"", value, "\""));
  }
  resolve[absl::AsciiStrToLower(value.substr(0, colon))] =
      value.substr(colon + 1);
  return absl::OkStatus();
}

absl::StatusOr<::certbroker::v1::Reason> ParseLocalError(
    const std::string& value) {
  ::certbroker::v1::Reason reason = ::certbroker::v1::REASON_UNSPECIFIED;
  if (!::certbroker::v1::Reason_Parse(absl::AsciiStrToUpper(value), &reason) ||
      !agent::IsLocalCheckReason(reason)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--ignore_local_error must be a local check error (HOSTNAME_MISMATCH, "
        "EXPIRED, NOT_YET_VALID, UNTRUSTED_ROOT, INCOMPLETE_CHAIN), not \"",
        value, "\""));
  }
  return reason;
}

}  // namespace certbroker::agent_cli

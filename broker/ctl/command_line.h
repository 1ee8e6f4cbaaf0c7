// A small command-line parser for certbrokerctl: global options, a command
// name, then that command's options and positional arguments, each option
// declared with a help line so that every command has a real --help and an
// unknown or malformed option is a usage error that names it.
#ifndef CERTBROKER_BROKER_CTL_COMMAND_LINE_H_
#define CERTBROKER_BROKER_CTL_COMMAND_LINE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace certbroker::ctl {

// OptionSpec declares one --name option.
struct OptionSpec {
  std::string name;        // Without the dashes.
  std::string value_name;  // Empty for a switch (no value).
  std::string help;
};

// Options are the parsed values of one option list.
class Options {
 public:
  bool Has(absl::string_view name) const {
    return values_.count(std::string(name)) > 0;
  }
  // Get returns the value (the last one when the option was repeated), or
  // `fallback` when the option was not given.
  std::string Get(absl::string_view name,
                  absl::string_view fallback = "") const;
  // GetAll returns every value given for the option, in order.
  std::vector<std::string> GetAll(absl::string_view name) const;

 private:
  friend absl::StatusOr<Options> ParseOptions(const std::vector<OptionSpec>&,
                                              std::vector<std::string>&, bool);
  friend absl::StatusOr<Options> ParseArguments(const std::vector<OptionSpec>&,
                                                std::vector<std::string>,
                                                std::vector<std::string>&);
  // ParseOne consumes the option at the front of `args` into `options`.
  static absl::Status ParseOne(const std::vector<OptionSpec>& specs,
                               std::vector<std::string>& args,
                               Options& options);
  std::map<std::string, std::vector<std::string>> values_;
};

// ParseOptions consumes `--name value`, `--name=value` and `--switch`
// arguments declared in `specs` from the front of `args`. With
// `stop_at_positional`, it stops at the first argument not starting with
// "--" (the command name); otherwise any such argument is an error. Fails
// with INVALID_ARGUMENT naming an unknown option or a missing value.
absl::StatusOr<Options> ParseOptions(const std::vector<OptionSpec>& specs,
                                     std::vector<std::string>& args,
                                     bool stop_at_positional);

// ParseArguments parses a command's arguments, where options and positional
// arguments may be mixed; everything after "--" is positional. The
// positional arguments are stored in `positionals`, in order. Fails like
// ParseOptions.
absl::StatusOr<Options> ParseArguments(const std::vector<OptionSpec>& specs,
                                       std::vector<std::string> args,
                                       std::vector<std::string>& positionals);

// Usage renders `specs` as an indented option list for --help.
std::string Usage(const std::vector<OptionSpec>& specs);

}  // namespace certbroker::ctl

#endif  // CERTBROKER_BROKER_CTL_COMMAND_LINE_H_

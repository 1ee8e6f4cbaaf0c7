// flag_parser.h: the command line parsing every certbroker-agent command
// shares: the flag loop (--name VALUE, --name=VALUE, -o VALUE, boolean
// flags, "--" ending the flags), the value checks several commands need
// (seconds, byte counts, SHA-256, HOST:ADDRESS). The broker flags are in
// broker_flags.h.
#ifndef CERTBROKER_AGENTS_AGENT_FLAG_PARSER_H_
#define CERTBROKER_AGENTS_AGENT_FLAG_PARSER_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certbroker/v1/broker.pb.h"

namespace certbroker::agent_cli {

// ParsedArgs are a command's arguments split into flags and positionals.
struct ParsedArgs {
  // help is true when --help or -h was given.
  bool help = false;
  // flags are the flags given, in order, by name without dashes; a
  // boolean flag has an empty value. A repeated flag appears repeatedly.
  std::vector<std::pair<std::string, std::string>> flags;
  // positional are the other arguments, in order.
  std::vector<std::string> positional;
};

// ParseArgs splits `args`: names in `valued` take a value (the next
// argument, or after '='), names in `boolean` take none. Fails with
// INVALID_ARGUMENT naming the argument for an unknown flag, a valued flag
// without its value, or a boolean flag given a value.
absl::StatusOr<ParsedArgs> ParseArgs(
    const std::vector<std::string>& args,
    const std::vector<std::string>& valued,
    const std::vector<std::string>& boolean = {});

// ParseSeconds reads a positive number of seconds (fractions allowed) for
// flag `name`.
absl::StatusOr<absl::Duration> ParseSeconds(const std::string& name,
                                            const std::string& value);

// ParseInt reads a whole number in [min, max] for flag `name`.
absl::StatusOr<int> ParseInt(const std::string& name, const std::string& value,
                             int min, int max);

// ParseByteCount reads a number of bytes (digits only) for flag `name`.
absl::StatusOr<uint64_t> ParseByteCount(const std::string& name,
                                        const std::string& value);

// ParseSha256 checks 64 hex digits and returns them in lowercase.
absl::StatusOr<std::string> ParseSha256(const std::string& value);

// ParseLocalError reads a --ignore_local_error value: the name of a reason
// the local check reports (agent::IsLocalCheckReason), any case.
absl::StatusOr<::certbroker::v1::Reason> ParseLocalError(
    const std::string& value);

// ParseResolve reads HOST:ADDRESS into `resolve` (the host lowercased).
absl::Status ParseResolve(const std::string& value,
                          std::map<std::string, std::string>& resolve);

}  // namespace certbroker::agent_cli

#endif  // CERTBROKER_AGENTS_AGENT_FLAG_PARSER_H_

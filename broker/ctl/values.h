// Parsing the values of certbrokerctl's arguments: resource ids, durations
// ("30d", "12h"), times (RFC 3339 or "that long ago"), counts, labels, and
// input files. Every error is a usage error message that names the option
// or argument at fault.
#ifndef CERTBROKER_BROKER_CTL_VALUES_H_
#define CERTBROKER_BROKER_CTL_VALUES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace certbroker::ctl {

// ResourceName turns a command's ID argument into the resource name
// "COLLECTION/ID"; "COLLECTION/ID" itself is accepted too. Fails when the
// id is not 1-128 letters, digits, '.', '_' or '-'.
absl::StatusOr<std::string> ResourceName(absl::string_view collection,
                                         absl::string_view argument);

// ResourceId is the part of a resource name after its last '/'.
std::string ResourceId(absl::string_view name);

// ParseDuration parses a positive duration: a Go-style duration ("90m",
// "1h30m", "720h") or a number of days ("30d"). `option` names the option
// in errors ("--expiring-within").
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view option,
                                             absl::string_view text);

// ParseTimeOrAgo parses an RFC 3339 time ("2025-06-01T12:00:00Z"), or a
// duration meaning that long before `now` ("1h", "7d").
absl::StatusOr<absl::Time> ParseTimeOrAgo(absl::string_view option,
                                          absl::string_view text,
                                          absl::Time now);

// ParseCount parses an integer in [minimum, maximum].
absl::StatusOr<int64_t> ParseCount(absl::string_view option,
                                   absl::string_view text, int64_t minimum,
                                   int64_t maximum);

// ParseLabels parses "key=value" arguments of --label. Fails on a missing
// '=', an empty key, or a key given twice.
absl::StatusOr<std::map<std::string, std::string>> ParseLabels(
    const std::vector<std::string>& arguments);

// CheckLabelSelector checks "key=value,key=value" syntax.
absl::Status CheckLabelSelector(absl::string_view option,
                                absl::string_view selector);

// ReadInputFile reads the file an option or argument names; the error
// names both ("--chain: cannot open x.pem: No such file or directory").
absl::StatusOr<std::string> ReadInputFile(absl::string_view option,
                                          const std::string& path);

}  // namespace certbroker::ctl

#endif  // CERTBROKER_BROKER_CTL_VALUES_H_

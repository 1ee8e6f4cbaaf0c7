// RunCommand: runs a program to completion for a test, capturing its
// standard output, standard error and exit code, with a time limit.
#ifndef CERTBROKER_TESTS_SUPPORT_COMMAND_RUNNER_H_
#define CERTBROKER_TESTS_SUPPORT_COMMAND_RUNNER_H_

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace certbroker::testing {

struct CommandResult {
  int exit_code = -1;  // 128+N when killed by signal N; -1 if it could not run.
  std::string out;
  std::string err;
};

// RunCommand runs `argv` (argv[0] is the program's path), killing it after
// `timeout`.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         absl::Duration timeout = absl::Seconds(30));

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_SUPPORT_COMMAND_RUNNER_H_

// job_command.h: `certbroker-agent job SUBCOMMAND`: a client of the agent
// daemon's TransferAgent service on its Unix socket (create, add, resume,
// suspend, cancel, complete, list, show, watch), and its exit codes.
#ifndef CERTBROKER_AGENTS_AGENT_JOB_COMMAND_H_
#define CERTBROKER_AGENTS_AGENT_JOB_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "certbroker/agent/v1/agent.pb.h"

namespace certbroker::agent_cli {

// JobCommandLine is a parsed `job` command line.
struct JobCommandLine {
  bool help = false;
  // socket_path is the daemon's socket (--socket).
  std::string socket_path = "var/certbroker-agent.sock";
  // subcommand is create, add, resume, suspend, cancel, complete, list,
  // show or watch.
  std::string subcommand;
  // job_id is the job of every subcommand but create and list.
  std::string job_id;
  // create is create's request; resume_after_create its --resume.
  agent::v1::CreateJobRequest create;
  bool resume_after_create = false;
  // add is add's request (one file).
  agent::v1::AddFilesRequest add;
  // include_ended is list's --all; json is show's --json.
  bool include_ended = false;
  bool json = false;
  // until are watch's --until states.
  std::vector<agent::v1::JobState> until;
};

// ParseJobCommandLine reads the arguments after the word "job"; relative
// destination paths are made absolute against `cwd`. The error
// (INVALID_ARGUMENT) names the wrong argument.
absl::StatusOr<JobCommandLine> ParseJobCommandLine(
    const std::vector<std::string>& args, const std::string& cwd);

// JobUsage is the job command's --help text, exit codes included.
std::string JobUsage();

// WatchExitCode is `job watch`'s exit code for the last state it saw:
// 0 for TRANSFERRED, ACKNOWLEDGED or a state in `until`, the context's
// code for ERROR (as fetch's), kExitCancelled for CANCELLED, and
// kExitNoDaemon for any other state (the stream ended early: the daemon
// stopped).
int WatchExitCode(const agent::v1::Job& job,
                  const std::vector<agent::v1::JobState>& until);

// RunJob runs `job` with the arguments after the word "job": results go to
// `out`, errors and watch's progress to `err` (a bar when `terminal`).
// Returns the exit code.
int RunJob(const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err, bool terminal);

}  // namespace certbroker::agent_cli

#endif  // CERTBROKER_AGENTS_AGENT_JOB_COMMAND_H_

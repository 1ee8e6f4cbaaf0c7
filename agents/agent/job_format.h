// job_format.h: how `certbroker-agent job` shows jobs: the list's table,
// show's every field, watch's one-line states, and a job's error as the
// transfer error fetch reports (same detail lines, same exit codes).
#ifndef CERTBROKER_AGENTS_AGENT_JOB_FORMAT_H_
#define CERTBROKER_AGENTS_AGENT_JOB_FORMAT_H_

#include <string>
#include <vector>

#include "agents/transfer/transfer_error.h"
#include "certbroker/agent/v1/agent.pb.h"

namespace certbroker::agent_cli {

// AsTransferError is a job's error in fetch's terms.
transfer::TransferError AsTransferError(const agent::v1::JobError& error);

// FormatJobTable renders one line per job under a header: id, state, files
// transferred/total, bytes (transferred, and of the total when every size
// is known), display name.
std::string FormatJobTable(const std::vector<agent::v1::Job>& jobs);

// FormatJob renders every field of `job`, one "key: value" per line, its
// error's details and each file's progress indented below.
std::string FormatJob(const agent::v1::Job& job);

// FormatStateLine is watch's line for a state change: "STATE  files N/M
// BYTES" and, for an error, its context and message.
std::string FormatStateLine(const agent::v1::Job& job);

// JobBytes sums the job's transferred bytes; `total` receives the sum of
// the files' sizes, or -1 while one is unknown.
uint64_t JobBytes(const agent::v1::Job& job, int64_t& total);

}  // namespace certbroker::agent_cli

#endif  // CERTBROKER_AGENTS_AGENT_JOB_FORMAT_H_

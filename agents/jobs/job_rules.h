// job_rules.h: the rules of the job system that need no event loop: which
// requests are valid, which states allow which operations, which failures
// are transient, and the conversion of a transfer's error into the job's.
#ifndef CERTBROKER_AGENTS_JOBS_JOB_RULES_H_
#define CERTBROKER_AGENTS_JOBS_JOB_RULES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agents/transfer/transfer_error.h"
#include "certbroker/agent/v1/agent.pb.h"

namespace certbroker::jobs {

// kMaxFilesPerJob bounds a job's files; kMaxDisplayName its name's length.
inline constexpr int kMaxFilesPerJob = 1000;
inline constexpr size_t kMaxDisplayName = 256;

// ValidateFileSpec checks one file of a request: an https URL, an absolute
// local_path (no "." or ".." component, not a directory) whose directory
// exists, a 64-hex-digit sha256 if any. INVALID_ARGUMENT names `field`.
absl::Status ValidateFileSpec(const agent::v1::FileSpec& spec,
                              const std::string& field);

// ValidateOptions checks a job's options: min_retry_delay at least 1 s,
// no_progress_timeout positive, ignore_local_errors among the local
// errors an agent can see, resolve entries non-empty.
absl::Status ValidateOptions(const agent::v1::JobOptions& options);

// StateName is the state's name without its enum prefix ("QUEUED").
std::string StateName(agent::v1::JobState state);

// IsActive is true for the states in which a job holds or waits for a
// transfer slot (QUEUED, CONNECTING, TRANSFERRING).
bool IsActive(agent::v1::JobState state);

// IsTransient says whether a job retries after `error` by itself:
// transport failures, an unreachable broker, the broker's refusals (the
// policy may change), and HTTP 408, 429 and 5xx. Local file errors, other
// HTTP errors, bad redirects and size or SHA-256 mismatches need the user.
bool IsTransient(const transfer::TransferError& error);

// ToJobError converts a transfer's error for file `file_index`.
agent::v1::JobError ToJobError(const transfer::TransferError& error,
                               int file_index, absl::Time now);

// ToProtoContext converts an error context.
agent::v1::ErrorContext ToProtoContext(transfer::ErrorContext context);

// NewJobId returns a random UUID (version 4), lowercase.
std::string NewJobId();

}  // namespace certbroker::jobs

#endif  // CERTBROKER_AGENTS_JOBS_JOB_RULES_H_

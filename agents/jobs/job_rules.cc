// The job system's validation, state predicates and error classification.
#include "agents/jobs/job_rules.h"

#include <openssl/rand.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "agents/transfer/https_url.h"
#include "agents/transfer/part_file.h"
#include "broker/common/proto_duration.h"
#include "certbroker/agent/tls_binding.h"

namespace certbroker::jobs {

using agent::v1::JobState;

absl::Status ValidateFileSpec(const agent::v1::FileSpec& spec,
                              const std::string& field) {
  auto url = transfer::ParseHttpsUrl(spec.url());
  if (!url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".url: ", url.status().message()));
  }
  const std::string& path = spec.local_path();
  if (path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".local_path is required"));
  }
  if (path[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".local_path must be an absolute path, not \"", path, "\""));
  }
  if (path.back() == '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".local_path \"", path, "\" names a directory, not a file"));
  }
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part == "." || part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".local_path \"", path,
                       "\" must not contain \".\" or \"..\" components"));
    }
  }
  std::string directory = path.substr(0, path.rfind('/'));
  if (directory.empty()) directory = "/";
  struct stat info;
  if (::stat(directory.c_str(), &info) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".local_path: directory ", directory, ": ",
                     std::strerror(errno)));
  }
  if (!S_ISDIR(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".local_path: ", directory, " is not a directory"));
  }
  if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".local_path \"", path, "\" is a directory"));
  }
  if (!spec.sha256().empty() && !transfer::IsSha256Hex(spec.sha256())) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".sha256 must be 64 hex digits, not \"", spec.sha256(), "\""));
  }
  return absl::OkStatus();
}

absl::Status ValidateOptions(const agent::v1::JobOptions& options) {
  if (options.has_min_retry_delay() &&
      ToDuration(options.min_retry_delay()) < absl::Seconds(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.min_retry_delay must be at least 1s, not ",
        absl::FormatDuration(ToDuration(options.min_retry_delay()))));
  }
  if (options.has_no_progress_timeout() &&
      ToDuration(options.no_progress_timeout()) <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "options.no_progress_timeout must be positive");
  }
  for (int reason : options.ignore_local_errors()) {
    if (!v1::Reason_IsValid(reason) ||
        !agent::IsLocalCheckReason(static_cast<v1::Reason>(reason))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "options.ignore_local_errors: ",
          v1::Reason_IsValid(reason) ? v1::Reason_Name(reason)
                                     : absl::StrCat(reason),
          " is not a local verification error (HOSTNAME_MISMATCH, EXPIRED, "
          "NOT_YET_VALID, UNTRUSTED_ROOT, INCOMPLETE_CHAIN)"));
    }
  }
  for (const auto& [host, address] : options.resolve()) {
    if (host.empty() || address.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("options.resolve: \"", host, "\" -> \"", address,
                       "\": host and address must be non-empty"));
    }
  }
  return absl::OkStatus();
}

std::string StateName(JobState state) {
  return agent::v1::JobState_IsValid(state)
             ? agent::v1::JobState_Name(state)
             : absl::StrCat("JobState(", static_cast<int>(state), ")");
}

bool IsActive(JobState state) {
  return state == agent::v1::QUEUED || state == agent::v1::CONNECTING ||
         state == agent::v1::TRANSFERRING;
}

bool IsTransient(const transfer::TransferError& error) {
  switch (error.context) {
    case transfer::ErrorContext::kTransport:
    case transfer::ErrorContext::kBrokerUnavailable:
    case transfer::ErrorContext::kServerCertificate:
    case transfer::ErrorContext::kClientCertificate:
      return true;
    case transfer::ErrorContext::kRemoteFile:
      return error.http_status == 408 || error.http_status == 429 ||
             (error.http_status >= 500 && error.http_status <= 599);
    case transfer::ErrorContext::kLocalFile:
      return false;
  }
  return false;
}

agent::v1::ErrorContext ToProtoContext(transfer::ErrorContext context) {
  switch (context) {
    case transfer::ErrorContext::kLocalFile:
      return agent::v1::LOCAL_FILE;
    case transfer::ErrorContext::kRemoteFile:
      return agent::v1::REMOTE_FILE;
    case transfer::ErrorContext::kTransport:
      return agent::v1::TRANSPORT;
    case transfer::ErrorContext::kServerCertificate:
      return agent::v1::SERVER_CERTIFICATE;
    case transfer::ErrorContext::kBrokerUnavailable:
      return agent::v1::BROKER_UNAVAILABLE;
    case transfer::ErrorContext::kClientCertificate:
      return agent::v1::CLIENT_CERTIFICATE;
  }
  return agent::v1::ERROR_CONTEXT_UNSPECIFIED;
}

agent::v1::JobError ToJobError(const transfer::TransferError& error,
                               int file_index, absl::Time now) {
  agent::v1::JobError out;
  out.set_context(ToProtoContext(error.context));
  out.set_message(error.message);
  out.set_transient(IsTransient(error));
  out.set_file_index(file_index);
  out.set_url(error.url);
  out.set_http_status(error.http_status);
  out.set_broker_reason(error.reason);
  out.set_decision_id(error.decision_id);
  out.set_rule_name(error.rule_name);
  SetTimestamp(now, *out.mutable_time());
  return out;
}

std::string NewJobId() {
  uint8_t bytes[16];
  RAND_bytes(bytes, sizeof(bytes));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;  // Version 4.
  bytes[8] = (bytes[8] & 0x3f) | 0x80;  // RFC 4122 variant.
  return absl::StrFormat(
      "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
      bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6],
      bytes[7], bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13],
      bytes[14], bytes[15]);
}

}  // namespace certbroker::jobs

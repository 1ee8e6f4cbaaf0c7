// The job command's renderings of jobs.
#include "agents/agent/job_format.h"

#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "agents/agent/exit_codes.h"
#include "agents/agent/progress.h"

namespace certbroker::agent_cli {
namespace {

namespace v1 = ::certbroker::agent::v1;

std::string Time(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                          absl::FromUnixSeconds(time.seconds()),
                          absl::UTCTimeZone());
}

std::string Seconds(const google::protobuf::Duration& duration) {
  return absl::FormatDuration(absl::Seconds(duration.seconds()) +
                              absl::Nanoseconds(duration.nanos()));
}

int FilesDone(const v1::Job& job) {
  int done = 0;
  for (const v1::JobFile& file : job.files()) done += file.transferred();
  return done;
}

std::string BytesText(const v1::Job& job) {
  int64_t total = -1;
  uint64_t bytes = JobBytes(job, total);
  if (total < 0) return Progress::FormatBytes(bytes);
  return absl::StrCat(Progress::FormatBytes(bytes), " / ",
                      Progress::FormatBytes(static_cast<uint64_t>(total)));
}

}  // namespace

transfer::TransferError AsTransferError(const v1::JobError& error) {
  transfer::TransferError converted;
  switch (error.context()) {
    case v1::LOCAL_FILE:
      converted.context = transfer::ErrorContext::kLocalFile;
      break;
    case v1::REMOTE_FILE:
      converted.context = transfer::ErrorContext::kRemoteFile;
      break;
    case v1::SERVER_CERTIFICATE:
      converted.context = transfer::ErrorContext::kServerCertificate;
      break;
    case v1::BROKER_UNAVAILABLE:
      converted.context = transfer::ErrorContext::kBrokerUnavailable;
      break;
    case v1::CLIENT_CERTIFICATE:
      converted.context = transfer::ErrorContext::kClientCertificate;
      break;
    default:
      converted.context = transfer::ErrorContext::kTransport;
      break;
  }
  converted.message = error.message();
  converted.http_status = error.http_status();
  converted.reason = error.broker_reason();
  converted.decision_id = error.decision_id();
  converted.rule_name = error.rule_name();
  converted.url = error.url();
  return converted;
}

uint64_t JobBytes(const v1::Job& job, int64_t& total) {
  uint64_t bytes = 0;
  total = 0;
  for (const v1::JobFile& file : job.files()) {
    bytes += file.bytes_transferred();
    if (file.bytes_total() < 0 || total < 0) {
      total = -1;
    } else {
      total += file.bytes_total();
    }
  }
  return bytes;
}

std::string FormatJobTable(const std::vector<v1::Job>& jobs) {
  std::string out = absl::StrFormat("%-36s  %-15s  %-7s  %-21s  %s\n", "ID",
                                    "STATE", "FILES", "BYTES", "NAME");
  for (const v1::Job& job : jobs) {
    absl::StrAppendFormat(&out, "%-36s  %-15s  %-7s  %-21s  %s\n", job.id(),
                          v1::JobState_Name(job.state()),
                          absl::StrCat(FilesDone(job), "/", job.files_size()),
                          BytesText(job), job.display_name());
  }
  return out;
}

std::string FormatJob(const v1::Job& job) {
  std::ostringstream out;
  out << "id: " << job.id() << "\n";
  out << "name: " << job.display_name() << "\n";
  out << "state: " << v1::JobState_Name(job.state()) << "\n";
  out << "priority: " << v1::Priority_Name(job.priority()) << "\n";
  out << "files: " << FilesDone(job) << "/" << job.files_size()
      << " transferred, " << BytesText(job) << "\n";
  out << "created: " << Time(job.create_time()) << "\n";
  out << "modified: " << Time(job.modify_time()) << "\n";
  out << "transfer_completed: " << Time(job.transfer_completion_time()) << "\n";
  out << "last_progress: " << Time(job.last_progress_time()) << "\n";
  if (job.state() == v1::TRANSIENT_ERROR) {
    out << "next_retry: " << Time(job.next_retry_time()) << "\n";
  }
  out << "error_count: " << job.error_count() << "\n";
  const v1::JobOptions& options = job.options();
  out << "min_retry_delay: " << Seconds(options.min_retry_delay()) << "\n";
  out << "no_progress_timeout: " << Seconds(options.no_progress_timeout())
      << "\n";
  if (options.ignore_local_errors_size() > 0) {
    std::vector<std::string> names;
    for (int reason : options.ignore_local_errors()) {
      names.push_back(certbroker::v1::Reason_Name(
          static_cast<certbroker::v1::Reason>(reason)));
    }
    out << "ignore_local_errors: " << absl::StrJoin(names, ", ") << "\n";
  }
  for (const auto& [host, address] : options.resolve()) {
    out << "resolve: " << host << " -> " << address << "\n";
  }
  if (job.has_error()) {
    const v1::JobError& error = job.error();
    out << "error:\n";
    out << "  message: " << error.message() << "\n";
    WriteErrorDetails(AsTransferError(error), out, "  ");
    out << "  transient: " << (error.transient() ? "yes" : "no") << "\n";
    out << "  file: " << error.file_index() << "\n";
    out << "  time: " << Time(error.time()) << "\n";
  }
  for (int i = 0; i < job.files_size(); ++i) {
    const v1::JobFile& file = job.files(i);
    out << "file " << i << ": " << file.spec().url() << " -> "
        << file.spec().local_path() << "\n";
    out << "  transferred: " << (file.transferred() ? "yes" : "no") << "\n";
    out << "  bytes: " << file.bytes_transferred();
    if (file.bytes_total() >= 0) {
      out << " of " << file.bytes_total();
      if (file.bytes_total() > 0) {
        out << " (" << file.bytes_transferred() * 100 / file.bytes_total()
            << "%)";
      }
    }
    out << "\n";
    if (file.spec().has_expected_size()) {
      out << "  expected_size: " << file.spec().expected_size() << "\n";
    }
    if (!file.spec().sha256().empty()) {
      out << "  expected_sha256: " << file.spec().sha256() << "\n";
    }
    if (!file.sha256().empty()) out << "  sha256: " << file.sha256() << "\n";
    if (!file.final_url().empty() && file.final_url() != file.spec().url()) {
      out << "  final_url: " << file.final_url() << "\n";
    }
    if (file.restarts() > 0) {
      out << "  restarts: " << file.restarts() << "\n";
    }
    if (!file.last_notice().empty()) {
      out << "  notice: " << file.last_notice() << "\n";
    }
  }
  return out.str();
}

std::string FormatStateLine(const v1::Job& job) {
  std::string line =
      absl::StrCat(v1::JobState_Name(job.state()), "  files ", FilesDone(job),
                   "/", job.files_size(), "  ", BytesText(job));
  if ((job.state() == v1::ERROR || job.state() == v1::TRANSIENT_ERROR) &&
      job.has_error()) {
    absl::StrAppend(&line, "  ", AsTransferError(job.error()).ToString());
  }
  return line;
}

}  // namespace certbroker::agent_cli

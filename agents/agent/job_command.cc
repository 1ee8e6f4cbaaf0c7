// The job command: parsing each subcommand's arguments into its request,
// one call to the daemon (or a watch stream), and the report.
#include "agents/agent/job_command.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "agents/agent/exit_codes.h"
#include "agents/agent/flag_parser.h"
#include "agents/agent/job_format.h"
#include "agents/agent/progress.h"
#include "broker/common/status_macros.h"
#include "certbroker/agent/v1/agent.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::agent_cli {
namespace {

namespace v1 = ::certbroker::agent::v1;

// How long a call (other than watch) may take; the daemon answers from
// memory, so this is generous.
constexpr auto kCallDeadline = std::chrono::seconds(30);
constexpr auto kConnectDeadline = std::chrono::seconds(5);

void SetDuration(absl::Duration duration, google::protobuf::Duration& out) {
  int64_t seconds = absl::ToInt64Seconds(duration);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(duration - absl::Seconds(seconds))));
}

std::string AbsolutePath(const std::string& path, const std::string& cwd) {
  if (!path.empty() && path[0] == '/') return path;
  std::string relative = path;
  while (relative.rfind("./", 0) == 0) relative = relative.substr(2);
  return absl::StrCat(cwd, cwd.empty() || cwd.back() != '/' ? "/" : "",
                      relative);
}

absl::StatusOr<v1::Priority> ParsePriority(const std::string& value) {
  std::string lower = absl::AsciiStrToLower(value);
  if (lower == "foreground") return v1::FOREGROUND;
  if (lower == "high") return v1::HIGH;
  if (lower == "normal") return v1::NORMAL;
  if (lower == "low") return v1::LOW;
  return absl::InvalidArgumentError(
      absl::StrCat("--priority must be foreground, high, normal or low, not \"",
                   value, "\""));
}

absl::StatusOr<v1::JobState> ParseState(const std::string& value) {
  v1::JobState state = v1::JOB_STATE_UNSPECIFIED;
  if (!v1::JobState_Parse(absl::AsciiStrToUpper(value), &state) ||
      state == v1::JOB_STATE_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrCat("--until must be a job state (QUEUED, CONNECTING, "
                     "TRANSFERRING, SUSPENDED, TRANSIENT_ERROR, ERROR, "
                     "TRANSFERRED, ACKNOWLEDGED, CANCELLED), not \"",
                     value, "\""));
  }
  return state;
}

// Flags are a subcommand's flags besides --socket.
struct Flags {
  std::vector<std::string> valued;
  std::vector<std::string> boolean;
};

absl::StatusOr<Flags> FlagsOf(const std::string& subcommand) {
  if (subcommand == "create") {
    return Flags{{"name", "priority", "min_retry_delay", "no_progress_timeout",
                  "ignore_local_error", "resolve"},
                 {"resume"}};
  }
  if (subcommand == "add") return Flags{{"sha256", "expected_size"}, {}};
  if (subcommand == "list") return Flags{{}, {"all"}};
  if (subcommand == "show") return Flags{{}, {"json"}};
  if (subcommand == "watch") return Flags{{"until"}, {}};
  if (subcommand == "resume" || subcommand == "suspend" ||
      subcommand == "cancel" || subcommand == "complete") {
    return Flags{};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown subcommand \"", subcommand, "\""));
}

absl::Status ApplyFlag(const std::string& name, const std::string& value,
                       JobCommandLine& line) {
  v1::JobOptions& options = *line.create.mutable_options();
  if (name == "socket") {
    line.socket_path = value;
  } else if (name == "name") {
    line.create.set_display_name(value);
  } else if (name == "priority") {
    CB_ASSIGN_OR_RETURN(v1::Priority priority, ParsePriority(value));
    line.create.set_priority(priority);
  } else if (name == "min_retry_delay") {
    CB_ASSIGN_OR_RETURN(absl::Duration delay, ParseSeconds(name, value));
    SetDuration(delay, *options.mutable_min_retry_delay());
  } else if (name == "no_progress_timeout") {
    CB_ASSIGN_OR_RETURN(absl::Duration timeout, ParseSeconds(name, value));
    SetDuration(timeout, *options.mutable_no_progress_timeout());
  } else if (name == "ignore_local_error") {
    CB_ASSIGN_OR_RETURN(certbroker::v1::Reason reason, ParseLocalError(value));
    options.add_ignore_local_errors(reason);
  } else if (name == "resolve") {
    std::map<std::string, std::string> resolve;
    CB_RETURN_IF_ERROR(ParseResolve(value, resolve));
    for (const auto& [host, address] : resolve) {
      (*options.mutable_resolve())[host] = address;
    }
  } else if (name == "resume") {
    line.resume_after_create = true;
  } else if (name == "sha256") {
    CB_ASSIGN_OR_RETURN(std::string sha256, ParseSha256(value));
    line.add.mutable_files(0)->set_sha256(sha256);
  } else if (name == "expected_size") {
    CB_ASSIGN_OR_RETURN(uint64_t size, ParseByteCount(name, value));
    line.add.mutable_files(0)->set_expected_size(size);
  } else if (name == "all") {
    line.include_ended = true;
  } else if (name == "json") {
    line.json = true;
  } else if (name == "until") {
    CB_ASSIGN_OR_RETURN(v1::JobState state, ParseState(value));
    line.until.push_back(state);
  }
  return absl::OkStatus();
}

// Channel connects to the daemon, or is null when it cannot be reached.
std::shared_ptr<grpc::Channel> Connect(const std::string& socket_path) {
  auto channel = grpc::CreateChannel(absl::StrCat("unix:", socket_path),
                                     grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 kConnectDeadline)) {
    return nullptr;
  }
  return channel;
}

std::string Unreachable(const std::string& socket_path) {
  return absl::StrCat(
      "certbroker-agent job: cannot reach the agent daemon at "
      "unix:",
      socket_path, ": is `certbroker-agent daemon` running?\n");
}

// Failed reports a failed call and returns its exit code.
int Failed(const grpc::Status& status, const std::string& socket_path,
           std::ostream& err) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    err << "certbroker-agent job: " << status.error_message() << "\n"
        << Unreachable(socket_path);
    return kExitNoDaemon;
  }
  err << "certbroker-agent job: " << status.error_message() << "\n";
  return kExitUsage;
}

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
}

int Watch(v1::TransferAgent::Stub& stub, const JobCommandLine& line,
          std::ostream& out, std::ostream& err, bool terminal) {
  v1::WatchJobRequest request;
  request.set_job_id(line.job_id);
  for (v1::JobState state : line.until) request.add_until(state);
  request.add_until(v1::TRANSFERRED);
  request.add_until(v1::ERROR);
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::Job>> reader =
      stub.WatchJob(&context, request);
  Progress progress(err, terminal);
  v1::Job job;
  bool seen = false;
  v1::JobState last_state = v1::JOB_STATE_UNSPECIFIED;
  while (reader->Read(&job)) {
    seen = true;
    if (job.state() != last_state) {
      last_state = job.state();
      progress.Notice(FormatStateLine(job));
    }
    if (job.state() == v1::TRANSFERRING) {
      int64_t total = -1;
      uint64_t bytes = JobBytes(job, total);
      progress.Update(bytes, total);
    }
  }
  grpc::Status status = reader->Finish();
  progress.Finish();
  if (!status.ok()) return Failed(status, line.socket_path, err);
  if (!seen) {
    err << Unreachable(line.socket_path);
    return kExitNoDaemon;
  }
  int code = WatchExitCode(job, line.until);
  if (job.state() == v1::ERROR && job.has_error()) {
    transfer::TransferError error = AsTransferError(job.error());
    err << "certbroker-agent job: job " << job.id()
        << " failed: " << error.ToString() << "\n";
    WriteErrorDetails(error, err);
  } else if (job.state() == v1::CANCELLED) {
    err << "certbroker-agent job: job " << job.id() << " was cancelled\n";
  } else if (code == kExitNoDaemon) {
    err << "certbroker-agent job: the agent daemon ended the watch (it is "
           "stopping) while the job was "
        << v1::JobState_Name(job.state()) << "\n";
  }
  out << v1::JobState_Name(job.state()) << "\n";
  return code;
}

int Run(const JobCommandLine& line, std::ostream& out, std::ostream& err,
        bool terminal) {
  std::shared_ptr<grpc::Channel> channel = Connect(line.socket_path);
  if (channel == nullptr) {
    err << Unreachable(line.socket_path);
    return kExitNoDaemon;
  }
  std::unique_ptr<v1::TransferAgent::Stub> stub =
      v1::TransferAgent::NewStub(channel);
  if (line.subcommand == "watch") {
    return Watch(*stub, line, out, err, terminal);
  }
  grpc::ClientContext context;
  SetDeadline(context);
  grpc::Status status;
  if (line.subcommand == "list") {
    v1::ListJobsRequest request;
    request.set_include_ended(line.include_ended);
    v1::ListJobsResponse response;
    status = stub->ListJobs(&context, request, &response);
    if (!status.ok()) return Failed(status, line.socket_path, err);
    out << FormatJobTable(
        std::vector<v1::Job>(response.jobs().begin(), response.jobs().end()));
    return kExitOk;
  }
  v1::Job job;
  v1::JobRef ref;
  ref.set_job_id(line.job_id);
  const std::string& command = line.subcommand;
  if (command == "create") {
    status = stub->CreateJob(&context, line.create, &job);
    if (status.ok() && line.resume_after_create) {
      grpc::ClientContext resume_context;
      SetDeadline(resume_context);
      ref.set_job_id(job.id());
      status = stub->ResumeJob(&resume_context, ref, &job);
      if (!status.ok()) {
        err << "certbroker-agent job: created job " << job.id()
            << " but could not resume it\n";
      }
    }
    if (!status.ok()) return Failed(status, line.socket_path, err);
    out << job.id() << "\n";
    return kExitOk;
  }
  if (command == "add") {
    status = stub->AddFiles(&context, line.add, &job);
  } else if (command == "resume") {
    status = stub->ResumeJob(&context, ref, &job);
  } else if (command == "suspend") {
    status = stub->SuspendJob(&context, ref, &job);
  } else if (command == "cancel") {
    status = stub->CancelJob(&context, ref, &job);
  } else if (command == "complete") {
    status = stub->CompleteJob(&context, ref, &job);
  } else {  // show
    status = stub->GetJob(&context, ref, &job);
  }
  if (!status.ok()) return Failed(status, line.socket_path, err);
  if (command != "show") {
    out << FormatStateLine(job) << "\n";
  } else if (line.json) {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(job, &json, options);
    out << json;
  } else {
    out << FormatJob(job);
  }
  return kExitOk;
}

}  // namespace

absl::StatusOr<JobCommandLine> ParseJobCommandLine(
    const std::vector<std::string>& args, const std::string& cwd) {
  JobCommandLine line;
  if (args.empty()) {
    return absl::InvalidArgumentError("job needs a subcommand");
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    line.help = true;
    return line;
  }
  line.subcommand = args[0];
  CB_ASSIGN_OR_RETURN(Flags flags, FlagsOf(line.subcommand));
  flags.valued.push_back("socket");
  CB_ASSIGN_OR_RETURN(
      ParsedArgs split,
      ParseArgs(std::vector<std::string>(args.begin() + 1, args.end()),
                flags.valued, flags.boolean));
  line.help = split.help;
  if (line.help) return line;
  const std::vector<std::string>& positional = split.positional;
  const std::string& command = line.subcommand;
  if (command == "create") {
    if (positional.size() % 2 != 0) {
      return absl::InvalidArgumentError(
          "create takes files as URL PATH pairs: the last URL has no PATH");
    }
    for (size_t i = 0; i < positional.size(); i += 2) {
      v1::FileSpec& file = *line.create.add_files();
      file.set_url(positional[i]);
      file.set_local_path(AbsolutePath(positional[i + 1], cwd));
    }
  } else if (command == "add") {
    if (positional.size() != 3) {
      return absl::InvalidArgumentError(
          absl::StrCat("add takes ID URL PATH (one file per add), got ",
                       positional.size(), " arguments"));
    }
    line.job_id = positional[0];
    line.add.set_job_id(positional[0]);
    v1::FileSpec& file = *line.add.add_files();
    file.set_url(positional[1]);
    file.set_local_path(AbsolutePath(positional[2], cwd));
  } else if (command == "list") {
    if (!positional.empty()) {
      return absl::InvalidArgumentError("list takes no arguments");
    }
  } else if (positional.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        command, " takes one job ID, got ", positional.size(), " arguments"));
  } else {
    line.job_id = positional[0];
  }
  for (const auto& [name, value] : split.flags) {
    CB_RETURN_IF_ERROR(ApplyFlag(name, value, line));
  }
  if (line.socket_path.empty()) {
    return absl::InvalidArgumentError("--socket must not be empty");
  }
  return line;
}

int WatchExitCode(const v1::Job& job, const std::vector<v1::JobState>& until) {
  switch (job.state()) {
    case v1::TRANSFERRED:
    case v1::ACKNOWLEDGED:
      return kExitOk;
    case v1::ERROR:
      return ExitCodeFor(AsTransferError(job.error()).context);
    case v1::CANCELLED:
      return kExitCancelled;
    default:
      break;
  }
  if (std::find(until.begin(), until.end(), job.state()) != until.end()) {
    return kExitOk;
  }
  return kExitNoDaemon;
}

std::string JobUsage() {
  return R"(usage: certbroker-agent job SUBCOMMAND [ARGS] [--socket PATH]

Controls the jobs of `certbroker-agent daemon` through its socket (--socket,
default var/certbroker-agent.sock). A job downloads one or more files; it
is created SUSPENDED, transfers once resumed, and its files appear at their
destinations when it is completed. Relative PATHs are made absolute against
the current directory.

subcommands:
  create [URL PATH]... [flags]   create a job; prints its id (only) on stdout
      --name NAME                display name
      --priority P               foreground, high, normal (default) or low
      --min_retry_delay SECONDS  wait after a transient error (default: the
                                 daemon's)
      --no_progress_timeout SECONDS
                                 transient errors become ERROR after this
                                 long without progress (default: the daemon's)
      --ignore_local_error REASON
                                 a local verification error to ignore where
                                 the broker's rule allows it (repeatable):
                                 HOSTNAME_MISMATCH, EXPIRED, NOT_YET_VALID,
                                 UNTRUSTED_ROOT, INCOMPLETE_CHAIN
      --resolve HOST:ADDRESS     connect to ADDRESS for HOST (repeatable)
      --resume                   resume the job once created
  add ID URL PATH [flags]        add one file (one file per add, so that its
                                 checks are its own)
      --sha256 HEX               expected SHA-256 of the file
      --expected_size N          expected size in bytes
  resume ID                      start or retry the job
  suspend ID                     stop its transfer, keeping what it has
  cancel ID                      end it, deleting its partial files
  complete ID                    move a TRANSFERRED job's files into place
  list [--all]                   the jobs (--all: ended ones too)
  show ID [--json]               every field of a job (--json: as proto JSON)
  watch ID [--until STATE]...    follow a job (a progress bar on a terminal,
                                 lines otherwise) until it is TRANSFERRED,
                                 ACKNOWLEDGED, ERROR, CANCELLED or in an
                                 --until state

exit codes:
  0  done (watch: TRANSFERRED, ACKNOWLEDGED or an --until state)
  1  usage error, or a request the daemon refused (unknown job, invalid
     argument, a state that does not allow it): the message says
  2-7  watch: the job is in ERROR; the code is its context's, as fetch's:
     2 LOCAL_FILE, 3 REMOTE_FILE, 4 TRANSPORT, 5 SERVER_CERTIFICATE,
     6 BROKER_UNAVAILABLE, 7 CLIENT_CERTIFICATE
  8  watch: the job was cancelled
  9  the agent daemon could not be reached, or stopped during a watch
)";
}

int RunJob(const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err, bool terminal) {
  char buffer[4096];
  std::string cwd = ::getcwd(buffer, sizeof(buffer)) != nullptr ? buffer : "";
  auto line = ParseJobCommandLine(args, cwd);
  if (!line.ok()) {
    err << "certbroker-agent job: " << line.status().message()
        << "\n(see certbroker-agent job --help)\n";
    return kExitUsage;
  }
  if (line->help) {
    out << JobUsage();
    return kExitOk;
  }
  return Run(*line, out, err, terminal);
}

}  // namespace certbroker::agent_cli

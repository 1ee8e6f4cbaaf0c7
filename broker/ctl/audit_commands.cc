// certbrokerctl audit: list audit records with filters, or watch new ones
// until interrupted.
#include "broker/ctl/audit_commands.h"

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "broker/ctl/output.h"
#include "broker/ctl/table.h"
#include "broker/ctl/values.h"

namespace certbroker::ctl {
namespace {

namespace v1 = ::certbroker::v1;

constexpr int64_t kDefaultListLimit = 100;

std::vector<std::string> AuditCells(const v1::AuditRecord& record) {
  return {FormatTimestamp(record.time()),
          record.rpc(),
          record.target(),
          record.verdict(),
          record.reason(),
          record.rule(),
          record.policy_version(),
          record.agent(),
          record.detail()};
}

// WatchLine is one record as a line of `audit watch`: the columns of
// `audit list`, unaligned, "-" for empty ones.
std::string WatchLine(const v1::AuditRecord& record) {
  std::vector<std::string> cells = AuditCells(record);
  for (std::string& cell : cells) {
    if (cell.empty()) cell = "-";
    std::replace(cell.begin(), cell.end(), '\n', ' ');
  }
  return absl::StrJoin(cells, "  ");
}

// SetFilters copies --agent, --target and --verdict into `request`.
template <typename Request>
void SetFilters(const Options& options, Request& request) {
  if (options.Has("agent")) request.set_agent(options.Get("agent"));
  if (options.Has("target")) request.set_target(options.Get("target"));
  if (options.Has("verdict")) request.set_verdict(options.Get("verdict"));
}

absl::StatusOr<v1::ListAuditRecordsRequest> BuildList(const Options& options,
                                                      int64_t& limit) {
  v1::ListAuditRecordsRequest request;
  SetFilters(options, request);
  const absl::Time now = absl::Now();
  if (options.Has("since")) {
    auto since = ParseTimeOrAgo("--since", options.Get("since"), now);
    if (!since.ok()) return since.status();
    request.mutable_start_time()->set_seconds(absl::ToUnixSeconds(*since));
  }
  if (options.Has("until")) {
    auto until = ParseTimeOrAgo("--until", options.Get("until"), now);
    if (!until.ok()) return until.status();
    request.mutable_end_time()->set_seconds(absl::ToUnixSeconds(*until));
  }
  limit = kDefaultListLimit;
  if (options.Has("limit")) {
    auto parsed = ParseCount("--limit", options.Get("limit"), 1, 1000000);
    if (!parsed.ok()) return parsed.status();
    limit = *parsed;
  }
  return request;
}

int RunList(const CtlContext& context, const Invocation& invocation) {
  int64_t limit = 0;
  auto request = BuildList(invocation.options, limit);
  if (!request.ok()) {
    return invocation.UsageError(std::string(request.status().message()));
  }
  AdminClient client(context);
  v1::ListAuditRecordsResponse all;
  do {
    request->set_page_size(static_cast<int32_t>(
        std::min<int64_t>(limit - all.records_size(), 1000)));
    v1::ListAuditRecordsResponse page;
    grpc::Status status = client.Call([&](auto& stub, auto* call) {
      return stub.ListAuditRecords(call, *request, &page);
    });
    if (!status.ok()) return ReportRpcError(status);
    for (auto& record : *page.mutable_records()) {
      if (all.records_size() < limit) *all.add_records() = std::move(record);
    }
    if (page.next_page_token() == request->page_token()) break;
    request->set_page_token(page.next_page_token());
  } while (!request->page_token().empty() && all.records_size() < limit);
  if (context.output == OutputFormat::kJson) {
    PrintJson(all);
    return kExitOk;
  }
  Table table({"TIME", "RPC", "TARGET", "VERDICT", "REASON", "RULE", "POLICY",
               "AGENT", "DETAIL"});
  for (const v1::AuditRecord& record : all.records()) {
    table.AddRow(AuditCells(record));
  }
  PrintText(table.Render());
  return kExitOk;
}

// Interrupts cancels a call when SIGINT or SIGTERM arrives, so that a
// watch ends cleanly. The signals must be blocked in every thread (they
// are, from the constructor on, in threads started after it), and are
// taken with sigtimedwait by a thread of its own.
class Interrupts {
 public:
  Interrupts() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  }
  ~Interrupts() { Stop(); }

  // Watch starts cancelling `call` on a signal.
  void Watch(grpc::ClientContext& call) {
    thread_ = std::thread([this, &call] {
      const timespec tick = {0, 100 * 1000 * 1000};
      while (!done_.load()) {
        if (sigtimedwait(&signals_, nullptr, &tick) > 0) {
          interrupted_.store(true);
          call.TryCancel();
          return;
        }
      }
    });
  }

  // Stop ends the watching thread; call it before `call` goes away.
  void Stop() {
    done_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  bool interrupted() const { return interrupted_.load(); }

 private:
  sigset_t signals_;
  std::thread thread_;
  std::atomic<bool> done_{false};
  std::atomic<bool> interrupted_{false};
};

int RunWatch(const CtlContext& context, const Invocation& invocation) {
  const Options& options = invocation.options;
  int64_t limit = 0;  // 0: no limit.
  if (options.Has("limit")) {
    auto parsed = ParseCount("--limit", options.Get("limit"), 1, 1000000000);
    if (!parsed.ok()) {
      return invocation.UsageError(std::string(parsed.status().message()));
    }
    limit = *parsed;
  }
  v1::WatchAuditRecordsRequest request;
  SetFilters(options, request);

  Interrupts interrupts;  // Before any gRPC thread starts.
  AdminClient client(context);
  grpc::ClientContext call;  // No deadline: a watch runs until it is ended.
  interrupts.Watch(call);
  auto reader = client.stub().WatchAuditRecords(&call, request);
  v1::AuditRecord record;
  int64_t seen = 0;
  bool reached_limit = false;
  while (reader->Read(&record)) {
    std::string line = context.output == OutputFormat::kJson
                           ? JsonLine(record)
                           : WatchLine(record);
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    if (limit > 0 && ++seen >= limit) {
      reached_limit = true;
      call.TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  interrupts.Stop();
  if (reached_limit || interrupts.interrupted()) return kExitOk;
  if (!status.ok()) return ReportRpcError(status);
  return kExitOk;
}

std::vector<OptionSpec> FilterOptions() {
  return {
      {"agent", "AGENT", "only records of this caller"},
      {"target", "TARGET",
       "only records of this target or resource (certificates/ID)"},
      {"verdict", "VERDICT",
       "only records with this verdict (accept, reject, changed, ...)"},
  };
}

std::vector<OptionSpec> ListOptions() {
  std::vector<OptionSpec> options = {
      {"since", "TIME|DURATION",
       "only records at or after TIME (RFC 3339) or DURATION ago (1h, 7d)"},
      {"until", "TIME|DURATION", "only records before TIME or DURATION ago"},
  };
  for (OptionSpec& spec : FilterOptions()) options.push_back(std::move(spec));
  options.push_back({"limit", "N", "show at most N records (default 100)"});
  return options;
}

std::vector<OptionSpec> WatchOptions() {
  std::vector<OptionSpec> options = FilterOptions();
  options.push_back({"limit", "N", "stop after N records"});
  return options;
}

}  // namespace

const CommandGroup& AuditCommands() {
  static const auto* group = new CommandGroup{
      "audit",
      "The audit log: every decision the broker made and every admin change.",
      {
          {"list",
           "[options]",
           "list audit records, newest first",
           "Lists audit records newest first, at most --limit of them. "
           "Filters combine.\n",
           {},
           ListOptions(),
           RunList},
          {"watch",
           "[options]",
           "print new audit records as they are written",
           "Prints the records written from now on that match the filters, "
           "one line each\n(-o json: one JSON object per line), until "
           "interrupted (SIGINT, SIGTERM), --limit\nrecords were printed, or "
           "the broker ends the stream; exits 0 in each case and 1\nwhen the "
           "broker ends it with an error. --timeout does not apply.\n",
           {},
           WatchOptions(),
           RunWatch},
      }};
  return *group;
}

}  // namespace certbroker::ctl

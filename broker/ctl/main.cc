// certbrokerctl: the operator's command-line client of certbrokerd's
// CertificateAdmin API. Run `certbrokerctl --help`.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "broker/ctl/command_line.h"
#include "broker/ctl/ctl_context.h"
#include "broker/ctl/simulate_command.h"

namespace certbroker::ctl {
namespace {

const std::vector<OptionSpec>& GlobalOptions() {
  static const auto* options = new std::vector<OptionSpec>{
      {"broker", "ADDR",
       "certbrokerd's address: HOST:PORT or unix:PATH "
       "(default unix:var/certbrokerd.sock)"},
      {"timeout", "DURATION", "deadline of each call (default 10s)"},
      {"o", "FORMAT", "output: table (default) or json"},
      {"help", "", "show this help"},
  };
  return *options;
}

std::string GlobalHelp() {
  return absl::StrCat(
      "Usage: certbrokerctl [global options] COMMAND [options]\n\n"
      "Commands:\n"
      "  simulate   evaluate a server chain against the live or a candidate "
      "policy\n\n"
      "Global options:\n",
      Usage(GlobalOptions()),
      "\nRun `certbrokerctl COMMAND --help` for a command's options.\n"
      "Exit codes: 0 ok/accepted, 1 RPC error, 2 usage error, 3 rejected.\n");
}

int Run(std::vector<std::string> args) {
  auto global =
      ParseOptions(GlobalOptions(), args, /*stop_at_positional=*/true);
  if (!global.ok())
    return ReportUsageError(std::string(global.status().message()), "");
  if (global->Has("help") || args.empty()) {
    std::printf("%s", GlobalHelp().c_str());
    return global->Has("help") ? kExitOk : kExitUsage;
  }
  CtlContext context;
  context.broker = global->Get("broker", context.broker);
  if (global->Has("timeout") &&
      (!absl::ParseDuration(global->Get("timeout"), &context.timeout) ||
       context.timeout <= absl::ZeroDuration())) {
    return ReportUsageError(absl::StrCat("--timeout: '", global->Get("timeout"),
                                         "' is not a duration like 10s"),
                            "");
  }
  std::string output = global->Get("o", "table");
  if (output != "table" && output != "json") {
    return ReportUsageError(
        absl::StrCat("-o: '", output, "' is not table or json"), "");
  }
  context.output =
      output == "json" ? OutputFormat::kJson : OutputFormat::kTable;

  std::string command = args.front();
  args.erase(args.begin());
  if (command == "simulate") return RunSimulate(context, std::move(args));
  if (command == "help") {
    std::printf("%s", (!args.empty() && args[0] == "simulate" ? SimulateHelp()
                                                              : GlobalHelp())
                          .c_str());
    return kExitOk;
  }
  return ReportUsageError(absl::StrCat("unknown command '", command, "'"), "");
}

}  // namespace
}  // namespace certbroker::ctl

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // "-o json" is the conventional spelling; accept it beside "--o=json".
  for (std::string& argument : args) {
    if (argument == "-o") argument = "--o";
  }
  return certbroker::ctl::Run(std::move(args));
}

// certbrokerctl: the operator's command-line client of certbrokerd's
// CertificateAdmin API. Run `certbrokerctl --help`. This file only parses
// the global options and hands the rest to the command named.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "broker/common/file.h"
#include "broker/ctl/audit_commands.h"
#include "broker/ctl/bundle_commands.h"
#include "broker/ctl/cert_commands.h"
#include "broker/ctl/command.h"
#include "broker/ctl/command_line.h"
#include "broker/ctl/crl_commands.h"
#include "broker/ctl/ctl_context.h"
#include "broker/ctl/policy_commands.h"
#include "broker/ctl/simulate_command.h"
#include "broker/ctl/status_commands.h"

namespace certbroker::ctl {
namespace {

// TopLevel is one command of the global help: a group, `status` or
// `simulate`.
struct TopLevel {
  std::string name;
  std::string summary;
  std::function<int(const CtlContext&, std::vector<std::string>)> run;
  // help returns the help of the command, or of its subcommand args[0];
  // empty when there is no such subcommand.
  std::function<std::string(const std::vector<std::string>&)> help;
};

TopLevel Group(const CommandGroup& group, std::string summary) {
  return {group.name, std::move(summary),
          [&group](const CtlContext& context, std::vector<std::string> args) {
            return RunGroup(group, context, std::move(args));
          },
          [&group](const std::vector<std::string>& args) {
            return HelpFor(group, args);
          }};
}

const std::vector<TopLevel>& Commands() {
  static const auto* commands = new std::vector<TopLevel>{
      Group(CertCommands(),
            "import|get|list|delete client certificates and their keys"),
      Group(BundleCommands(), "put|get|list|delete trust bundles"),
      Group(CrlCommands(), "put|get|list|delete CRLs"),
      Group(PolicyCommands(),
            "get|put|diff the policy document (rules and settings)"),
      Group(AuditCommands(), "list|watch the audit log"),
      {"status", StatusCommand().summary,
       [](const CtlContext& context, std::vector<std::string> args) {
         return RunCommand("status", StatusCommand(), context, std::move(args));
       },
       [](const std::vector<std::string>& args) {
         return args.empty() ? CommandHelp("status", StatusCommand())
                             : std::string();
       }},
      Group(KekCommands(), "rotate: re-seal stored keys under the current KEK"),
      {"simulate",
       "evaluate a server chain against the live or a candidate "
       "policy",
       RunSimulate,
       [](const std::vector<std::string>& args) {
         return args.empty() ? SimulateHelp() : std::string();
       }},
  };
  return *commands;
}

const TopLevel* Find(const std::string& name) {
  for (const TopLevel& command : Commands()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

const std::vector<OptionSpec>& GlobalOptions() {
  static const auto* options = new std::vector<OptionSpec>{
      {"broker", "ADDR",
       "certbrokerd's address: HOST:PORT or unix:PATH "
       "(default unix:var/certbrokerd.sock)"},
      {"timeout", "DURATION", "deadline of each call (default 10s)"},
      {"tls_ca", "FILE",
       "connect with TLS, trusting the CA certificates in FILE (PEM)"},
      {"tls_cert", "FILE", "client certificate chain to present (PEM)"},
      {"tls_key", "FILE", "its private key (PEM)"},
      {"tls_server_name", "NAME",
       "name to expect in the broker's certificate (default: the host)"},
      {"o", "FORMAT",
       "output: table (default) or json (protobuf JSON); also -o FORMAT"},
      {"help", "", "show this help"},
  };
  return *options;
}

std::string GlobalHelp() {
  std::string text =
      "Usage: certbrokerctl [global options] COMMAND [SUBCOMMAND] "
      "[options]\n\nCommands:\n";
  for (const TopLevel& command : Commands()) {
    std::string left = absl::StrCat("  ", command.name);
    left.resize(std::max<size_t>(left.size() + 3, 13), ' ');
    absl::StrAppend(&text, left, command.summary, "\n");
  }
  absl::StrAppend(
      &text, "  help       help [COMMAND [SUBCOMMAND]] shows a help\n",
      "\nGlobal options (before or after the command):\n",
      Usage(GlobalOptions()),
      "\nRun `certbrokerctl COMMAND --help` for a command's subcommands and "
      "options.\n\n"
      "Exit codes:\n"
      "  0  ok; simulate: accepted; policy diff: identical\n"
      "  1  the broker answered an error or was unreachable\n"
      "  2  usage error: bad command line, unreadable or invalid input file\n"
      "  3  rejected: simulate's verdict, or the document of policy put\n"
      "  4  policy diff: the live policy and the file differ\n"
      "  5  policy put --expected-version: the policy changed since that "
      "version\n");
  return text;
}

int Help(std::vector<std::string> args) {
  if (args.empty()) {
    std::printf("%s", GlobalHelp().c_str());
    return kExitOk;
  }
  const TopLevel* command = Find(args.front());
  std::string text;
  if (command != nullptr) {
    text =
        command->help(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (text.empty()) {
    return ReportUsageError(
        absl::StrCat("help: no command '", absl::StrJoin(args, " "), "'"), "");
  }
  std::printf("%s", text.c_str());
  return kExitOk;
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
  for (auto [option, pem] : {std::pair{"tls_ca", &context.tls_ca_pem},
                             std::pair{"tls_cert", &context.tls_cert_pem},
                             std::pair{"tls_key", &context.tls_key_pem}}) {
    if (!global->Has(option)) continue;
    auto text = ReadFile(global->Get(option));
    if (!text.ok()) {
      return ReportUsageError(
          absl::StrCat("--", option, ": ", text.status().message()), "");
    }
    *pem = *text;
  }
  if (context.tls_cert_pem.empty() != context.tls_key_pem.empty()) {
    return ReportUsageError("--tls_cert and --tls_key go together", "");
  }
  context.tls_server_name = global->Get("tls_server_name", "");
  std::string output = global->Get("o", "table");
  if (output != "table" && output != "json") {
    return ReportUsageError(
        absl::StrCat("-o: '", output, "' is not table or json"), "");
  }
  context.output =
      output == "json" ? OutputFormat::kJson : OutputFormat::kTable;

  std::string name = args.front();
  args.erase(args.begin());
  if (name == "help") return Help(std::move(args));
  const TopLevel* command = Find(name);
  if (command == nullptr) {
    return ReportUsageError(absl::StrCat("unknown command '", name, "'"), "");
  }
  return command->run(context, std::move(args));
}

// Main takes the global options wherever they are before "--" (operators
// type "cert list -o json") to the front, as --NAME=VALUE, and runs.
// "-o" is the conventional spelling of --o.
int Main(int argc, char** argv) {
  std::vector<std::string> global;
  std::vector<std::string> rest;
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    if (argument == "--") {
      rest.insert(rest.end(), argv + i, argv + argc);
      break;
    }
    if (argument == "-o" || argument.rfind("-o=", 0) == 0) {
      argument = "-" + argument;
    }
    std::string name = argument.substr(0, argument.find('='));
    bool is_global = name == "--o" || name == "--broker" ||
                     name == "--timeout" || name.rfind("--tls_", 0) == 0;
    if (!is_global) {
      rest.push_back(argument);
    } else if (name != argument) {
      global.push_back(argument);
    } else if (i + 1 < argc) {
      global.push_back(argument + "=" + argv[++i]);
    } else {
      const bool output = name == "--o";
      return ReportUsageError(
          absl::StrCat(output ? "-o" : name, " needs a value"), "");
    }
  }
  global.insert(global.end(), rest.begin(), rest.end());
  return Run(std::move(global));
}

}  // namespace
}  // namespace certbroker::ctl

int main(int argc, char** argv) { return certbroker::ctl::Main(argc, argv); }

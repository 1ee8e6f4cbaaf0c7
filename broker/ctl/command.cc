// Parsing, help and dispatch for certbrokerctl's commands and groups.
#include "broker/ctl/command.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace certbroker::ctl {
namespace {

std::vector<OptionSpec> WithHelp(std::vector<OptionSpec> options) {
  options.push_back({"help", "", "show this help"});
  return options;
}

std::string SubcommandNames(const CommandGroup& group) {
  std::vector<std::string> names;
  for (const Command& command : group.commands) names.push_back(command.name);
  return absl::StrJoin(names, ", ");
}

const Command* FindCommand(const CommandGroup& group, const std::string& name) {
  for (const Command& command : group.commands) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

}  // namespace

int Invocation::UsageError(const std::string& message) const {
  return ReportUsageError(message, path);
}

std::string CommandHelp(const std::string& path, const Command& command) {
  return absl::StrCat("Usage: certbrokerctl [global options] ", path,
                      command.synopsis.empty() ? "" : " ", command.synopsis,
                      "\n\n", command.description, "\nOptions:\n",
                      Usage(WithHelp(command.options)));
}

std::string GroupHelp(const CommandGroup& group) {
  std::string text = absl::StrCat("Usage: certbrokerctl [global options] ",
                                  group.name, " SUBCOMMAND [options]\n\n",
                                  group.summary, "\n\n", "Subcommands:\n");
  for (const Command& command : group.commands) {
    std::string left = absl::StrCat("  ", command.name);
    left.resize(std::max<size_t>(left.size() + 2, 12), ' ');
    absl::StrAppend(&text, left, command.summary, "\n");
  }
  absl::StrAppend(&text, "\nRun `certbrokerctl ", group.name,
                  " SUBCOMMAND --help` for a subcommand's options.\n");
  return text;
}

int RunCommand(const std::string& path, const Command& command,
               const CtlContext& context, std::vector<std::string> args) {
  Invocation invocation;
  invocation.path = path;
  auto options = ParseArguments(WithHelp(command.options), std::move(args),
                                invocation.positionals);
  if (!options.ok()) {
    return invocation.UsageError(std::string(options.status().message()));
  }
  invocation.options = *std::move(options);
  if (invocation.options.Has("help")) {
    std::printf("%s", CommandHelp(path, command).c_str());
    return kExitOk;
  }
  const size_t wanted = command.positionals.size();
  if (invocation.positionals.size() < wanted) {
    return invocation.UsageError(absl::StrCat(
        "missing ", command.positionals[invocation.positionals.size()]));
  }
  if (invocation.positionals.size() > wanted) {
    return invocation.UsageError(absl::StrCat(
        "unexpected argument '", invocation.positionals[wanted], "'"));
  }
  return command.run(context, invocation);
}

int RunGroup(const CommandGroup& group, const CtlContext& context,
             std::vector<std::string> args) {
  if (args.empty()) {
    return ReportUsageError(absl::StrCat(group.name, ": missing subcommand (",
                                         SubcommandNames(group), ")"),
                            group.name);
  }
  std::string name = args.front();
  args.erase(args.begin());
  if (name == "--help" || name == "help") {
    std::printf("%s", GroupHelp(group).c_str());
    return kExitOk;
  }
  const Command* command = FindCommand(group, name);
  if (command == nullptr) {
    return ReportUsageError(
        absl::StrCat("unknown ", group.name, " subcommand '", name, "' (",
                     SubcommandNames(group), ")"),
        group.name);
  }
  return RunCommand(absl::StrCat(group.name, " ", name), *command, context,
                    std::move(args));
}

std::string HelpFor(const CommandGroup& group,
                    const std::vector<std::string>& args) {
  if (args.empty()) return GroupHelp(group);
  const Command* command = FindCommand(group, args.front());
  if (command == nullptr) return "";
  return CommandHelp(absl::StrCat(group.name, " ", command->name), *command);
}

AdminClient::AdminClient(const CtlContext& context)
    : context_(context),
      stub_(::certbroker::v1::CertificateAdmin::NewStub(context.Channel())) {}

grpc::Status AdminClient::Call(
    const std::function<grpc::Status(Stub&, grpc::ClientContext*)>& method) {
  grpc::ClientContext call;
  context_.Deadline(call);
  return method(*stub_, &call);
}

}  // namespace certbroker::ctl

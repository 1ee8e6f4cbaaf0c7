// The shape shared by certbrokerctl's command groups (`cert import`,
// `policy diff`, ...): each command declares its positional arguments and
// options with help text, and RunCommand/RunGroup parse the arguments,
// answer --help, and turn every malformed command line into a usage error
// naming what is wrong before the command runs.
#ifndef CERTBROKER_BROKER_CTL_COMMAND_H_
#define CERTBROKER_BROKER_CTL_COMMAND_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/ctl/command_line.h"
#include "broker/ctl/ctl_context.h"
#include "certbroker/v1/admin.grpc.pb.h"

namespace certbroker::ctl {

// Invocation is one parsed command line of a command.
struct Invocation {
  std::string path;  // "cert import": names the command in messages.
  Options options;
  std::vector<std::string> positionals;  // As many as the command declares.

  // UsageError reports `message` as a usage error of this command and
  // returns kExitUsage.
  int UsageError(const std::string& message) const;
};

// Command is one command: `name` within its group ("import"), or the
// whole command when it has no group ("status").
struct Command {
  std::string name;
  // synopsis follows the command's path in its usage line.
  std::string synopsis;
  // summary is the one line the group's help shows.
  std::string summary;
  // description is the --help text between the usage line and the options.
  std::string description;
  // positionals names the required positional arguments ("ID", "FILE").
  std::vector<std::string> positionals;
  // options are the command's options; --help is added to them.
  std::vector<OptionSpec> options;
  // run executes a valid invocation and returns the exit code.
  std::function<int(const CtlContext&, const Invocation&)> run;
};

// CommandGroup is a noun with subcommands: `cert import|get|list|delete`.
struct CommandGroup {
  std::string name;
  std::string summary;
  std::vector<Command> commands;
};

// CommandHelp is the --help text of the command at `path`.
std::string CommandHelp(const std::string& path, const Command& command);

// GroupHelp is the --help text of `group`, listing its subcommands.
std::string GroupHelp(const CommandGroup& group);

// RunCommand parses `args` (the words after the command's path) and runs
// `command`, or prints its help.
int RunCommand(const std::string& path, const Command& command,
               const CtlContext& context, std::vector<std::string> args);

// RunGroup picks the subcommand named by args[0] and runs it.
int RunGroup(const CommandGroup& group, const CtlContext& context,
             std::vector<std::string> args);

// HelpFor returns the help of `group`, or of its subcommand `args[0]` when
// there is one; empty when args[0] names no subcommand.
std::string HelpFor(const CommandGroup& group,
                    const std::vector<std::string>& args);

// AdminClient makes calls to the broker's CertificateAdmin service over
// one channel, each with the context's deadline.
class AdminClient {
 public:
  using Stub = ::certbroker::v1::CertificateAdmin::Stub;

  // `context` must outlive the client.
  explicit AdminClient(const CtlContext& context);

  // Call runs `method` (a lambda calling one Stub method) with a fresh
  // ClientContext carrying the deadline.
  grpc::Status Call(
      const std::function<grpc::Status(Stub&, grpc::ClientContext*)>& method);

  // stub is for calls that set up their own ClientContext (streams).
  Stub& stub() { return *stub_; }

 private:
  const CtlContext& context_;
  std::unique_ptr<Stub> stub_;
};

}  // namespace certbroker::ctl

#endif  // CERTBROKER_BROKER_CTL_COMMAND_H_

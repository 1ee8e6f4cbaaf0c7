// `certbrokerctl simulate`: evaluate a server chain against the broker's
// live policy (or a policy file) at a chosen time, through
// CertificateAdmin.SimulateServerCertificate, and show every check.
#ifndef CERTBROKER_BROKER_CTL_SIMULATE_COMMAND_H_
#define CERTBROKER_BROKER_CTL_SIMULATE_COMMAND_H_

#include <string>
#include <vector>

#include "broker/ctl/ctl_context.h"

namespace certbroker::ctl {

// SimulateHelp is the command's --help text.
std::string SimulateHelp();

// RunSimulate runs the command with its arguments (after "simulate") and
// returns the exit code: kExitOk when accepted, kExitRejected when
// rejected, kExitRpcError or kExitUsage.
int RunSimulate(const CtlContext& context, std::vector<std::string> args);

}  // namespace certbroker::ctl

#endif  // CERTBROKER_BROKER_CTL_SIMULATE_COMMAND_H_

// `certbrokerctl cert import|get|list|delete`: the client certificates the
// broker stores, with their keys sealed under its KEK.
#ifndef CERTBROKER_BROKER_CTL_CERT_COMMANDS_H_
#define CERTBROKER_BROKER_CTL_CERT_COMMANDS_H_

#include "broker/ctl/command.h"

namespace certbroker::ctl {

// CertCommands is the `cert` command group.
const CommandGroup& CertCommands();

}  // namespace certbroker::ctl

#endif  // CERTBROKER_BROKER_CTL_CERT_COMMANDS_H_

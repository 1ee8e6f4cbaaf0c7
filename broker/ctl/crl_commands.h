// `certbrokerctl crl put|get|list|delete`: the certificate revocation lists
// the broker stores and checks paths against.
#ifndef CERTBROKER_BROKER_CTL_CRL_COMMANDS_H_
#define CERTBROKER_BROKER_CTL_CRL_COMMANDS_H_

#include "broker/ctl/command.h"

namespace certbroker::ctl {

// CrlCommands is the `crl` command group.
const CommandGroup& CrlCommands();

}  // namespace certbroker::ctl

#endif  // CERTBROKER_BROKER_CTL_CRL_COMMANDS_H_

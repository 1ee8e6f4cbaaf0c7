// `certbrokerctl status` (the broker's version, policy, store, KEK and
// expiring certificates) and `certbrokerctl kek rotate`.
#ifndef CERTBROKER_BROKER_CTL_STATUS_COMMANDS_H_
#define CERTBROKER_BROKER_CTL_STATUS_COMMANDS_H_

#include "broker/ctl/command.h"

namespace certbroker::ctl {

// StatusCommand is the `status` command.
const Command& StatusCommand();

// KekCommands is the `kek` command group.
const CommandGroup& KekCommands();

}  // namespace certbroker::ctl

#endif  // CERTBROKER_BROKER_CTL_STATUS_COMMANDS_H_

// `certbrokerctl policy get|put|diff`: the policy document (the broker's
// configuration schema, YAML or JSON) that the store holds.
#ifndef CERTBROKER_BROKER_CTL_POLICY_COMMANDS_H_
#define CERTBROKER_BROKER_CTL_POLICY_COMMANDS_H_

#include "broker/ctl/command.h"

namespace certbroker::ctl {

// PolicyCommands is the `policy` command group.
const CommandGroup& PolicyCommands();

}  // namespace certbroker::ctl

#endif  // CERTBROKER_BROKER_CTL_POLICY_COMMANDS_H_

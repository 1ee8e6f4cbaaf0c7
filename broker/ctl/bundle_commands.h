// `certbrokerctl bundle put|get|list|delete`: the trust bundles (sets of
// root certificates) the broker stores for rules to trust by ID.
#ifndef CERTBROKER_BROKER_CTL_BUNDLE_COMMANDS_H_
#define CERTBROKER_BROKER_CTL_BUNDLE_COMMANDS_H_

#include "broker/ctl/command.h"

namespace certbroker::ctl {

// BundleCommands is the `bundle` command group.
const CommandGroup& BundleCommands();

}  // namespace certbroker::ctl

#endif  // CERTBROKER_BROKER_CTL_BUNDLE_COMMANDS_H_

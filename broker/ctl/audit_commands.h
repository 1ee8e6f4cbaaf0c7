// `certbrokerctl audit list|watch`: the broker's audit log of decisions and
// admin changes, listed newest first or followed as it is written.
#ifndef CERTBROKER_BROKER_CTL_AUDIT_COMMANDS_H_
#define CERTBROKER_BROKER_CTL_AUDIT_COMMANDS_H_

#include "broker/ctl/command.h"

namespace certbroker::ctl {

// AuditCommands is the `audit` command group.
const CommandGroup& AuditCommands();

}  // namespace certbroker::ctl

#endif  // CERTBROKER_BROKER_CTL_AUDIT_COMMANDS_H_

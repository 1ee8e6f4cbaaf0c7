// broker_flags.h: the flags of the commands that talk to certbrokerd
// (fetch, daemon): its address, the TLS to it, and the local check's trust
// store. Apart from flag_parser.h so that the job command, which only talks
// to the daemon, does not see the SDK.
#ifndef CERTBROKER_AGENTS_AGENT_BROKER_FLAGS_H_
#define CERTBROKER_AGENTS_AGENT_BROKER_FLAGS_H_

#include <string>
#include <vector>

#include "certbroker/agent/broker_client.h"

namespace certbroker::agent_cli {

// BrokerFlags are the flags that say how to reach certbrokerd.
struct BrokerFlags {
  agent::BrokerClientOptions client;
  // trust_store is the PEM file of the local check's roots.
  std::string trust_store;
};

// kBrokerFlagNames are the valued flags ApplyBrokerFlag understands.
extern const std::vector<std::string> kBrokerFlagNames;

// kBrokerFlagsUsage documents them for --help texts.
extern const char kBrokerFlagsUsage[];

// DefaultBrokerFlags are the defaults (unix:var/certbrokerd.sock).
BrokerFlags DefaultBrokerFlags();

// ApplyBrokerFlag stores flag `name` into `broker` when it is a broker
// flag; returns false otherwise.
bool ApplyBrokerFlag(const std::string& name, const std::string& value,
                     BrokerFlags& broker);

}  // namespace certbroker::agent_cli

#endif  // CERTBROKER_AGENTS_AGENT_BROKER_FLAGS_H_

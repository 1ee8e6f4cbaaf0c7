// The broker flags of fetch and daemon.
#include "agents/agent/broker_flags.h"

namespace certbroker::agent_cli {

const std::vector<std::string> kBrokerFlagNames = {
    "broker",         "broker_tls_ca",          "broker_tls_cert",
    "broker_tls_key", "broker_tls_server_name", "trust_store"};

const char kBrokerFlagsUsage[] =
    R"(  --broker ADDR                certbrokerd's address (default
                               unix:var/certbrokerd.sock)
  --broker_tls_ca PEM          CA of the broker's certificate (TLS to the
                               broker; plaintext without it)
  --broker_tls_cert PEM        this agent's certificate for the broker
  --broker_tls_key PEM         its key
  --broker_tls_server_name N   name to check the broker's certificate for
  --trust_store PEM            roots for the local check (rules in mode
                               AGENT or BOTH)
)";

BrokerFlags DefaultBrokerFlags() {
  BrokerFlags flags;
  flags.client.address = "unix:var/certbrokerd.sock";
  return flags;
}

bool ApplyBrokerFlag(const std::string& name, const std::string& value,
                     BrokerFlags& broker) {
  if (name == "broker") {
    broker.client.address = value;
  } else if (name == "broker_tls_ca") {
    broker.client.tls_ca_file = value;
  } else if (name == "broker_tls_cert") {
    broker.client.tls_cert_file = value;
  } else if (name == "broker_tls_key") {
    broker.client.tls_key_file = value;
  } else if (name == "broker_tls_server_name") {
    broker.client.tls_server_name = value;
  } else if (name == "trust_store") {
    broker.trust_store = value;
  } else {
    return false;
  }
  return true;
}

}  // namespace certbroker::agent_cli

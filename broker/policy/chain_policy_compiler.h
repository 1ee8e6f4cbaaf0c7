// Turns a rule's server_validation settings (plus the config-wide deny
// lists) into the validation::ChainPolicy the validator applies.
#ifndef CERTBROKER_BROKER_POLICY_CHAIN_POLICY_COMPILER_H_
#define CERTBROKER_BROKER_POLICY_CHAIN_POLICY_COMPILER_H_

#include <string>

#include "absl/status/statusor.h"
#include "broker/validation/chain_policy.h"
#include "certbroker/config/v1/config.pb.h"

namespace certbroker::policy {

// CompileChainPolicy applies `validation` over the secure defaults. `where`
// ("config.yaml: rules[3].server_validation") prefixes errors, e.g. an
// allowed error that can never be tolerated.
absl::StatusOr<validation::ChainPolicy> CompileChainPolicy(
    const ::certbroker::config::v1::ServerValidation& settings,
    const ::certbroker::config::v1::Deny& deny, const std::string& where);

}  // namespace certbroker::policy

#endif  // CERTBROKER_BROKER_POLICY_CHAIN_POLICY_COMPILER_H_

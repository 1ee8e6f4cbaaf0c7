// Compiling per-rule validation settings.
#include "broker/policy/chain_policy_compiler.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/common/proto_duration.h"
#include "broker/common/status_macros.h"
#include "broker/config/digests.h"

namespace certbroker::policy {
namespace {

using ::certbroker::config::v1::Revocation;

int CurveNid(const std::string& name) {
  if (name == "P-224") return NID_secp224r1;
  if (name == "P-256") return NID_X9_62_prime256v1;
  if (name == "P-384") return NID_secp384r1;
  return NID_secp521r1;  // "P-521"; the config loader allows nothing else.
}

}  // namespace

absl::StatusOr<validation::ChainPolicy> CompileChainPolicy(
    const ::certbroker::config::v1::ServerValidation& settings,
    const ::certbroker::config::v1::Deny& deny, const std::string& where) {
  validation::ChainPolicy policy;
  if (settings.max_depth() != 0)
    policy.max_depth = static_cast<int>(settings.max_depth());
  if (settings.has_clock_skew())
    policy.clock_skew = ToDuration(settings.clock_skew());
  policy.allow_common_name_fallback = settings.allow_common_name_fallback();
  policy.enforce_anchor_constraints =
      !settings.ignore_trust_anchor_constraints();
  const auto& strength = settings.key_strength();
  if (strength.min_rsa_bits() != 0)
    policy.min_rsa_bits = static_cast<int>(strength.min_rsa_bits());
  if (strength.allowed_curves_size() > 0) {
    policy.allowed_curves.clear();
    for (const std::string& curve : strength.allowed_curves()) {
      policy.allowed_curves.push_back(CurveNid(curve));
    }
  }
  policy.allow_sha1_signatures = strength.allow_sha1_signatures();
  for (const std::string& pin : settings.spki_pins()) {
    CB_ASSIGN_OR_RETURN(std::string digest, config::DecodeSpkiPin(pin));
    policy.spki_pins.push_back(std::move(digest));
  }
  for (const std::string& pin : deny.spki_pins()) {
    CB_ASSIGN_OR_RETURN(std::string digest, config::DecodeSpkiPin(pin));
    policy.denied_spki.push_back(std::move(digest));
  }
  for (const std::string& fingerprint : deny.certificate_fingerprints()) {
    CB_ASSIGN_OR_RETURN(std::string digest,
                        config::DecodeFingerprint(fingerprint));
    policy.denied_fingerprints.push_back(std::move(digest));
  }
  switch (settings.revocation().mode()) {
    case Revocation::OFF:
      policy.revocation = validation::RevocationMode::kOff;
      break;
    case Revocation::HARD_FAIL:
      policy.revocation = validation::RevocationMode::kHardFail;
      break;
    default:
      policy.revocation = validation::RevocationMode::kSoftFail;
  }
  for (int i = 0; i < settings.allowed_errors_size(); ++i) {
    auto reason =
        static_cast<::certbroker::v1::Reason>(settings.allowed_errors(i));
    if (!validation::IsTolerable(reason)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".allowed_errors[", i, "]: ",
          ::certbroker::v1::Reason_Name(reason), " can never be tolerated"));
    }
    policy.allowed_errors.insert(reason);
  }
  return policy;
}

}  // namespace certbroker::policy

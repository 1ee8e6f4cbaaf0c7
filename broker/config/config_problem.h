// The one shape of a configuration error: "SOURCE: PATH: what is wrong".
// Shared by the validation files of this component.
#ifndef CERTBROKER_BROKER_CONFIG_CONFIG_PROBLEM_H_
#define CERTBROKER_BROKER_CONFIG_CONFIG_PROBLEM_H_

#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "certbroker/config/v1/config.pb.h"

namespace certbroker::config::internal {

// Problem builds the INVALID_ARGUMENT error every check returns.
inline absl::Status Problem(absl::string_view source, absl::string_view path,
                            absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(source, ": ", path, ": ", what));
}

// CheckKeyPairSource checks that a certificate with its key (at `path`)
// comes either from chain_pem_file and key_pem_file, or from secret_dir.
absl::Status CheckKeyPairSource(absl::string_view source,
                                const std::string& path,
                                const std::string& chain_pem_file,
                                const std::string& key_pem_file,
                                const std::string& secret_dir);

// CheckName checks a required name (IsValidName) at `path`, unique among
// `seen`, which it joins.
absl::Status CheckName(absl::string_view source, const std::string& path,
                       absl::string_view name, std::set<std::string>& seen);

// CheckHostPattern checks a host pattern of a rule ("*", "*.suffix", a DNS
// name or an IP address).
absl::Status CheckHostPattern(absl::string_view source, const std::string& path,
                              const std::string& pattern);

// CheckTtl checks a cache TTL or clock skew (0 to 86400 s).
absl::Status CheckTtl(absl::string_view source, const std::string& path,
                      const google::protobuf::Duration& ttl);

// CheckSelectors checks identity selectors (Match.agents and the like).
absl::Status CheckSelectors(
    absl::string_view source, const std::string& path,
    const google::protobuf::RepeatedPtrField<std::string>& selectors);

// CheckTrustBundleNames checks that every name refers to one of `bundles`.
absl::Status CheckTrustBundleNames(
    absl::string_view source, const std::string& path,
    const google::protobuf::RepeatedPtrField<std::string>& names,
    const std::set<std::string>& bundles);

// ValidateServerValidation checks a chain validation's depth, skew, key
// strength and pins.
absl::Status ValidateServerValidation(const v1::ServerValidation& validation,
                                      absl::string_view source,
                                      const std::string& path);

// ValidateIdentitySource checks an identity order and trust domains at
// `path`.
absl::Status ValidateIdentitySource(const v1::IdentitySource& identity,
                                    absl::string_view source,
                                    const std::string& path);

// ValidateInboundRules checks the inbound_rules section.
absl::Status ValidateInboundRules(const v1::BrokerConfig& config,
                                  absl::string_view source,
                                  const std::set<std::string>& bundles);

// ValidateAccess checks the `access` section; `bundles` are the trust
// bundle names defined (in the document and the store).
absl::Status ValidateAccess(const v1::Access& access, absl::string_view source,
                            const std::set<std::string>& bundles);

}  // namespace certbroker::config::internal

#endif  // CERTBROKER_BROKER_CONFIG_CONFIG_PROBLEM_H_

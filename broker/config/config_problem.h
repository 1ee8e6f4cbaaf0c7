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

// ValidateAccess checks the `access` section; `bundles` are the trust
// bundle names defined (in the document and the store).
absl::Status ValidateAccess(const v1::Access& access, absl::string_view source,
                            const std::set<std::string>& bundles);

}  // namespace certbroker::config::internal

#endif  // CERTBROKER_BROKER_CONFIG_CONFIG_PROBLEM_H_

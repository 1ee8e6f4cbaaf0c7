// The development PKI that deploy/dev.sh's embedded default uses: a root CA,
// an intermediate, a server chain and a client chain under it, and a server
// chain from an unrelated root (to see a rejection). Written as PEM files
// into one directory.
#ifndef CERTBROKER_BROKER_DEVPKI_DEV_PKI_LAYOUT_H_
#define CERTBROKER_BROKER_DEVPKI_DEV_PKI_LAYOUT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace certbroker::devpki {

// kDevServerNames are the DNS names of the development server certificate.
inline constexpr const char* kDevServerDnsNames[] = {"localhost",
                                                     "api.example.test"};

// WriteDevPki writes the development PKI into `directory` (which must
// exist) and returns the names of the files it wrote. Private keys are
// written with mode 0600. Existing files are replaced.
absl::StatusOr<std::vector<std::string>> WriteDevPki(
    const std::string& directory);

}  // namespace certbroker::devpki

#endif  // CERTBROKER_BROKER_DEVPKI_DEV_PKI_LAYOUT_H_

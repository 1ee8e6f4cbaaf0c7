// Building the shared, read-only X509_STORE for a rule's trust bundles.
#include "broker/validation/trust_store.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace certbroker::validation {

absl::StatusOr<std::shared_ptr<const TrustStore>> TrustStore::Create(
    const x509::CertificateList& roots, std::vector<std::string> bundle_names) {
  if (roots.empty()) {
    return absl::InvalidArgumentError("a trust store needs at least one root");
  }
  std::shared_ptr<TrustStore> trust(new TrustStore());
  trust->store_.reset(X509_STORE_new());
  if (trust->store_ == nullptr) {
    return absl::ResourceExhaustedError("out of memory building a trust store");
  }
  for (const auto& root : roots) {
    std::string fingerprint = x509::Sha256Fingerprint(root.get());
    if (std::find(trust->fingerprints_.begin(), trust->fingerprints_.end(),
                  fingerprint) != trust->fingerprints_.end()) {
      continue;  // The same root in two bundles.
    }
    if (!X509_STORE_add_cert(trust->store_.get(), root.get())) {
      return absl::InternalError(absl::StrCat("cannot add root ",
                                              x509::SubjectName(root.get()),
                                              ": ", x509::DrainErrorQueue()));
    }
    trust->fingerprints_.push_back(std::move(fingerprint));
    trust->roots_.push_back(bssl::UpRef(root));
    trust->root_addresses_.push_back(root.get());
    trust->has_intermediate_anchors_ |=
        X509_check_issued(root.get(), root.get()) != X509_V_OK;
  }
  std::sort(trust->fingerprints_.begin(), trust->fingerprints_.end());
  std::sort(trust->root_addresses_.begin(), trust->root_addresses_.end());
  trust->description_ = absl::StrJoin(bundle_names, ", ");
  trust->bundle_names_ = std::move(bundle_names);
  return std::shared_ptr<const TrustStore>(std::move(trust));
}

bool TrustStore::Contains(const X509* certificate) const {
  if (std::binary_search(root_addresses_.begin(), root_addresses_.end(),
                         certificate)) {
    return true;
  }
  // Another copy of a root (sent in a chain): the same DER.
  return std::binary_search(fingerprints_.begin(), fingerprints_.end(),
                            x509::Sha256Fingerprint(certificate));
}

}  // namespace certbroker::validation

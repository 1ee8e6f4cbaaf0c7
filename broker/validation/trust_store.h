// TrustStore: an immutable set of trusted root certificates (the union of a
// rule's trust bundles), built once per policy version and shared by every
// verification that uses it.
#ifndef CERTBROKER_BROKER_VALIDATION_TRUST_STORE_H_
#define CERTBROKER_BROKER_VALIDATION_TRUST_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/x509/boringssl.h"
#include "broker/x509/certificate.h"

namespace certbroker::validation {

class TrustStore {
 public:
  // Create builds a store trusting `roots`. `bundle_names` label it in
  // details ("not in trust bundles corp-roots, partner-roots"). Fails with
  // INVALID_ARGUMENT when `roots` is empty.
  static absl::StatusOr<std::shared_ptr<const TrustStore>> Create(
      const x509::CertificateList& roots,
      std::vector<std::string> bundle_names);

  // store is the BoringSSL store to verify against. Verification only reads
  // it, so one store serves concurrent verifications.
  X509_STORE* store() const { return store_.get(); }

  // Contains is true when `certificate` is one of the trusted roots.
  bool Contains(const X509* certificate) const;

  // has_intermediate_anchors is true when some trusted certificate is not
  // self-signed: paths may then end at a CA below a root.
  bool has_intermediate_anchors() const { return has_intermediate_anchors_; }

  // Description names the bundles, for details.
  const std::string& description() const { return description_; }

  // bundle_names are the names the store was created with.
  const std::vector<std::string>& bundle_names() const { return bundle_names_; }

 private:
  TrustStore() = default;

  bssl::UniquePtr<X509_STORE> store_;
  // The roots as added to the store (held here too), sorted by address: a
  // path BoringSSL built ends in one of these very objects, so Contains
  // finds it without hashing.
  x509::CertificateList roots_;
  std::vector<const X509*> root_addresses_;
  std::vector<std::string> fingerprints_;
  std::string description_;
  bool has_intermediate_anchors_ = false;
  std::vector<std::string> bundle_names_;
};

}  // namespace certbroker::validation

#endif  // CERTBROKER_BROKER_VALIDATION_TRUST_STORE_H_

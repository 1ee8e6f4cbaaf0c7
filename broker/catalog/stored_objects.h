// Turning stored values into what the policy compiler uses (opening sealed
// keys), and imported material into stored values (sealing keys).
#ifndef CERTBROKER_BROKER_CATALOG_STORED_OBJECTS_H_
#define CERTBROKER_BROKER_CATALOG_STORED_OBJECTS_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/catalog/catalog.h"
#include "broker/keys/key_ring.h"
#include "broker/policy/client_certificate.h"
#include "broker/policy/policy_snapshot.h"
#include "broker/x509/certificate.h"

namespace certbroker::catalog {

// OpenCertificate parses the chain and opens the sealed key of `stored`.
// FAILED_PRECONDITION when `keys` is null ("no --kek_file") or lacks the
// KEK it is sealed under; DATA_LOSS for a damaged value. Messages start with
// "certificates/ID".
absl::StatusOr<std::shared_ptr<const policy::ClientCertificate>>
OpenCertificate(const storage::StoredCertificate& stored,
                const keys::KeyRing* keys);

// OpenTrustBundle parses the roots of `stored`.
absl::StatusOr<x509::CertificateList> OpenTrustBundle(
    const storage::StoredTrustBundle& stored);

// OpenCrl parses `stored`'s CRL.
absl::StatusOr<bssl::UniquePtr<X509_CRL>> OpenCrl(
    const storage::StoredCrl& stored);

// CertificateOpener opens a catalog's certificates, keeping what it opened
// so that an unchanged certificate is not decrypted again at every
// compilation. Not thread-safe.
class CertificateOpener {
 public:
  explicit CertificateOpener(const keys::KeyRing* keys) : keys_(keys) {}

  // Open opens every object of `catalog`; the first failure is returned.
  absl::StatusOr<policy::StoredObjects> Open(const Catalog& catalog);

 private:
  const keys::KeyRing* keys_;
  // By id: the stored value it was opened from, and the result.
  std::map<
      std::string,
      std::pair<std::string, std::shared_ptr<const policy::ClientCertificate>>>
      opened_;
};

// SealCertificate builds the stored value of an imported certificate:
// `chain` (leaf first) and `key`, the key sealed under `keys`' current KEK
// for `id`. The key's PKCS#8 bytes are wiped after sealing.
absl::StatusOr<storage::StoredCertificate> SealCertificate(
    const std::string& id, const x509::CertificateList& chain,
    const EVP_PKEY* key, const keys::KeyRing& keys);

// MakeTrustBundle validates and builds a stored trust bundle from PEM: at
// least one certificate, each a self-signed root or a CA certificate
// (policy::CheckTrustBundleRoots).
absl::StatusOr<storage::StoredTrustBundle> MakeTrustBundle(
    const std::string& id, absl::string_view pem);

// MakeCrl validates and builds a stored CRL from PEM or DER: exactly one
// CRL.
absl::StatusOr<storage::StoredCrl> MakeCrl(const std::string& id,
                                           absl::string_view pem_or_der);

}  // namespace certbroker::catalog

#endif  // CERTBROKER_BROKER_CATALOG_STORED_OBJECTS_H_

// Catalog: the typed view of what the store holds for the policy — client
// certificates with sealed keys, trust bundles, CRLs, the policy document
// and the policy version counter — read at one consistent point, and the
// version bump that every change commits with.
#ifndef CERTBROKER_BROKER_CATALOG_CATALOG_H_
#define CERTBROKER_BROKER_CATALOG_CATALOG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/store/store.h"
#include "certbroker/storage/v1/objects.pb.h"

namespace certbroker::catalog {

namespace storage = ::certbroker::storage::v1;

// Store keys. Resource names in the admin API are the same strings.
inline constexpr absl::string_view kCertificatePrefix = "certificates/";
inline constexpr absl::string_view kTrustBundlePrefix = "trustBundles/";
inline constexpr absl::string_view kCrlPrefix = "crls/";
inline constexpr absl::string_view kPolicyDocumentKey = "policy/document";
inline constexpr absl::string_view kPolicyVersionKey = "policy/version";

// Catalog is everything the store holds for the policy, as of one policy
// version.
struct Catalog {
  std::map<std::string, storage::StoredCertificate> certificates;  // By id.
  std::map<std::string, storage::StoredTrustBundle> trust_bundles;
  std::map<std::string, storage::StoredCrl> crls;
  std::optional<storage::StoredPolicy> policy;
  storage::PolicyVersion version;  // version 0: nothing was ever stored.
  // version_revision is the store revision of kPolicyVersionKey (0 when
  // absent): the precondition of the next change.
  int64_t version_revision = 0;
};

// LoadCatalog reads the whole catalog. Every change writes
// kPolicyVersionKey, so the listing is retried until that key's revision is
// the same before and after it: the result is one consistent version.
// DATA_LOSS names a value that does not decode.
absl::StatusOr<Catalog> LoadCatalog(store::Store& store);

// BumpVersion appends to `ops` the write of the version after `current`
// (with `files_digest`), conditional on kPolicyVersionKey still being at
// `current_revision` (Catalog::version_revision), and returns the new
// version. Committing `ops` then fails with ABORTED when another writer
// changed the catalog in between.
int64_t BumpVersion(const storage::PolicyVersion& current,
                    int64_t current_revision, std::string files_digest,
                    std::vector<store::Op>& ops);

// ValidateId returns INVALID_ARGUMENT unless `id` is 1-128 letters, digits,
// '.', '_' or '-'. `what` names the id in the message ("certificate id").
absl::Status ValidateId(absl::string_view id, absl::string_view what);

// IdFromName returns the id of the resource name `name` ("certificates/x"
// or just "x") under `prefix`, or INVALID_ARGUMENT naming `field`.
absl::StatusOr<std::string> IdFromName(absl::string_view name,
                                       absl::string_view prefix,
                                       absl::string_view field);

// ToMicros and FromMicros convert the stored times.
int64_t ToMicros(absl::Time time);
absl::Time FromMicros(int64_t micros);

}  // namespace certbroker::catalog

#endif  // CERTBROKER_BROKER_CATALOG_CATALOG_H_

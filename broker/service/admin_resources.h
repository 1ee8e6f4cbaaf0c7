// The admin API's resource messages made from stored values, and AIP-158
// paging over the catalog's sorted maps.
#ifndef CERTBROKER_BROKER_SERVICE_ADMIN_RESOURCES_H_
#define CERTBROKER_BROKER_SERVICE_ADMIN_RESOURCES_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "broker/catalog/catalog.h"
#include "broker/common/proto_duration.h"
#include "broker/service/decision_log.h"
#include "certbroker/v1/admin.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace certbroker::service {

// Page is a parsed page_size and page_token.
struct Page {
  size_t size = 100;
  std::string after;  // The id the previous page ended with.
};

// ParsePage checks `page_size` (0: 100, at most 1000; negative is
// INVALID_ARGUMENT) and `page_token` (one this service returned).
absl::StatusOr<Page> ParsePage(int32_t page_size,
                               const std::string& page_token);

// NextPageToken is the token of the page after the one that ended with
// `last_id`.
std::string NextPageToken(absl::string_view last_id);

// ForPage calls `emit(id, value)` for up to page.size entries of `map`
// after page.after that `keep(value)` selects, and returns the next page
// token ("" after the last entry).
template <typename Map, typename Keep, typename Emit>
std::string ForPage(const Map& map, const Page& page, Keep keep, Emit emit) {
  size_t emitted = 0;
  for (auto it = map.upper_bound(page.after); it != map.end(); ++it) {
    if (!keep(it->second)) continue;
    if (emitted == page.size) return NextPageToken(std::prev(it)->first);
    emit(it->first, it->second);
    ++emitted;
  }
  return "";
}

// Lookup finds the stored value named `name` (under `prefix`, which the
// name may omit) in `map`, setting decision.target; NOT_FOUND when absent.
template <typename Stored>
absl::StatusOr<const Stored*> Lookup(const std::map<std::string, Stored>& map,
                                     absl::string_view name,
                                     absl::string_view prefix,
                                     Decision& decision) {
  auto id = catalog::IdFromName(name, prefix, "name");
  if (!id.ok()) return id.status();
  decision.target = absl::StrCat(prefix, *id);
  auto found = map.find(*id);
  if (found == map.end()) {
    return absl::NotFoundError(
        absl::StrCat(decision.target, " does not exist"));
  }
  return &found->second;
}

// SimulationOnlyError is the answer to every admin method but the
// simulation when certbrokerd runs with --enable_simulation alone.
absl::Status SimulationOnlyError();

// CertificateResource, TrustBundleResource and CrlResource describe stored
// values for the API. A value that no longer parses is described as far as
// possible.
::certbroker::v1::Certificate CertificateResource(
    const catalog::storage::StoredCertificate& stored);
::certbroker::v1::TrustBundle TrustBundleResource(
    const catalog::storage::StoredTrustBundle& stored);
::certbroker::v1::Crl CrlResource(const catalog::storage::StoredCrl& stored);

}  // namespace certbroker::service

#endif  // CERTBROKER_BROKER_SERVICE_ADMIN_RESOURCES_H_

// Reading the catalog from the store consistently, and the version bump.
#include "broker/catalog/catalog.h"

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "broker/common/status_macros.h"
#include "broker/config/config_loader.h"

namespace certbroker::catalog {
namespace {

constexpr int kConsistentReadAttempts = 20;

template <typename Message>
absl::Status Decode(const store::Entry& entry, Message& message) {
  if (!message.ParseFromString(entry.value)) {
    return absl::DataLossError(absl::StrCat(
        "store key ", store::QuoteKey(entry.key), " (revision ", entry.revision,
        ") does not decode as ", message.GetTypeName()));
  }
  return absl::OkStatus();
}

// ForEach lists every entry under `prefix`, page by page.
template <typename Visit>
absl::Status ForEach(store::Store& store, absl::string_view prefix,
                     Visit visit) {
  store::ListOptions options;
  options.prefix = std::string(prefix);
  options.limit = store::kMaxPageSize;
  while (true) {
    CB_ASSIGN_OR_RETURN(store::ListResult page, store.List(options));
    for (const store::Entry& entry : page.entries) {
      CB_RETURN_IF_ERROR(visit(entry));
    }
    if (page.next_page_token.empty()) return absl::OkStatus();
    options.page_token = page.next_page_token;
  }
}

template <typename Message>
absl::Status LoadMap(store::Store& store, absl::string_view prefix,
                     std::map<std::string, Message>& out) {
  return ForEach(store, prefix, [&](const store::Entry& entry) {
    Message message;
    CB_RETURN_IF_ERROR(Decode(entry, message));
    out[entry.key.substr(prefix.size())] = std::move(message);
    return absl::OkStatus();
  });
}

// VersionRevision returns the revision of kPolicyVersionKey, 0 if absent.
absl::StatusOr<int64_t> VersionRevision(store::Store& store,
                                        storage::PolicyVersion* version) {
  auto entry = store.Get(kPolicyVersionKey);
  if (absl::IsNotFound(entry.status())) return 0;
  if (!entry.ok()) return entry.status();
  if (version != nullptr) CB_RETURN_IF_ERROR(Decode(*entry, *version));
  return entry->revision;
}

absl::StatusOr<Catalog> LoadOnce(store::Store& store) {
  Catalog catalog;
  CB_ASSIGN_OR_RETURN(catalog.version_revision,
                      VersionRevision(store, &catalog.version));
  CB_RETURN_IF_ERROR(LoadMap(store, kCertificatePrefix, catalog.certificates));
  CB_RETURN_IF_ERROR(LoadMap(store, kTrustBundlePrefix, catalog.trust_bundles));
  CB_RETURN_IF_ERROR(LoadMap(store, kCrlPrefix, catalog.crls));
  auto policy = store.Get(kPolicyDocumentKey);
  if (policy.ok()) {
    storage::StoredPolicy document;
    CB_RETURN_IF_ERROR(Decode(*policy, document));
    catalog.policy = std::move(document);
  } else if (!absl::IsNotFound(policy.status())) {
    return policy.status();
  }
  return catalog;
}

}  // namespace

absl::StatusOr<Catalog> LoadCatalog(store::Store& store) {
  for (int attempt = 0; attempt < kConsistentReadAttempts; ++attempt) {
    CB_ASSIGN_OR_RETURN(Catalog catalog, LoadOnce(store));
    CB_ASSIGN_OR_RETURN(int64_t after, VersionRevision(store, nullptr));
    if (after == catalog.version_revision) return catalog;
  }
  return absl::UnavailableError(
      absl::StrCat("the store's catalog changed during each of ",
                   kConsistentReadAttempts, " attempts to read it; retry"));
}

int64_t BumpVersion(const storage::PolicyVersion& current,
                    int64_t current_revision, std::string files_digest,
                    std::vector<store::Op>& ops) {
  storage::PolicyVersion next;
  next.set_version(current.version() + 1);
  next.set_files_digest(std::move(files_digest));
  ops.push_back(store::Op::Put(std::string(kPolicyVersionKey),
                               next.SerializeAsString(), current_revision));
  return next.version();
}

absl::Status ValidateId(absl::string_view id, absl::string_view what) {
  // Ids are the configuration's names, except the two that read as paths.
  if (config::IsValidName(id) && id != "." && id != "..") {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat(what, " '", absl::CEscape(id.substr(0, 130)),
                   "' is not valid: use 1-128 letters, digits, '.', '_', '-'"));
}

absl::StatusOr<std::string> IdFromName(absl::string_view name,
                                       absl::string_view prefix,
                                       absl::string_view field) {
  absl::string_view id = name;
  absl::ConsumePrefix(&id, prefix);
  if (id.find('/') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": '", name, "' is not a name like '", prefix, "ID'"));
  }
  absl::Status valid = ValidateId(id, field);
  if (!valid.ok()) return valid;
  return std::string(id);
}

int64_t ToMicros(absl::Time time) { return absl::ToUnixMicros(time); }
absl::Time FromMicros(int64_t micros) { return absl::FromUnixMicros(micros); }

}  // namespace certbroker::catalog

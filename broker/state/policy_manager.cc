// PolicyManager: sources, seeding, reloads, admin changes and polling.
#include "broker/state/policy_manager.h"

#include <malloc.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/file.h"
#include "broker/common/log.h"
#include "broker/common/status_macros.h"

namespace certbroker::state {
namespace {

constexpr char kStoredDocumentSource[] = "policy";

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status Startup(absl::string_view what) {
  return absl::FailedPreconditionError(what);
}

}  // namespace

PolicyManager::PolicyManager(PolicyManagerOptions options)
    : options_(std::move(options)),
      current_(nullptr),
      opener_(options_.keys),
      catalog_(std::make_shared<catalog::Catalog>()) {}

PolicyManager::~PolicyManager() {
  // Stop the watcher outside mu_: its callback may be waiting for mu_.
  watch::DirectoryWatcher* watcher = nullptr;
  {
    absl::MutexLock lock(&mu_);
    watcher = watcher_.get();
  }
  if (watcher != nullptr) watcher->Stop();
  {
    absl::MutexLock lock(&poll_mu_);
    stopping_ = true;
  }
  if (poll_thread_.joinable()) poll_thread_.join();
}

absl::StatusOr<std::unique_ptr<PolicyManager>> PolicyManager::Create(
    PolicyManagerOptions options) {
  if (!options.config_path.empty() && !options.seed_config_path.empty()) {
    return Startup(
        "--config and --seed_config cannot be combined: --config makes the "
        "file define the policy, --seed_config makes the store define it");
  }
  if (!options.seed_config_path.empty() && options.store == nullptr) {
    return Startup(
        "--seed_config needs --data_dir: it seeds the store's policy; to "
        "run from a file alone, use --config");
  }
  if (options.config_path.empty() && options.store == nullptr) {
    return Startup(
        "give --config FILE, or --data_dir DIR to keep the "
        "policy in a store");
  }
  std::unique_ptr<PolicyManager> manager(new PolicyManager(std::move(options)));
  absl::MutexLock lock(&manager->mu_);
  if (manager->options_.store != nullptr) {
    CB_ASSIGN_OR_RETURN(catalog::Catalog catalog,
                        catalog::LoadCatalog(*manager->options_.store));
    if (!manager->options_.config_path.empty() && catalog.policy.has_value()) {
      return Startup(absl::StrCat(
          "ambiguous policy: --config ", manager->options_.config_path,
          " defines the policy, but the store holds a policy document too "
          "(policy version ",
          catalog.version.version(),
          ", seeded or written through the admin API). Start without --config "
          "to use "
          "the stored policy (and `certbrokerctl policy put` to replace it)"));
    }
    if (!manager->options_.seed_config_path.empty()) {
      CB_RETURN_IF_ERROR(manager->Seed(catalog));
    }
  }
  CB_RETURN_IF_ERROR(manager->ReloadLocked());
  return manager;
}

absl::Status PolicyManager::Seed(const catalog::Catalog& catalog) {
  const std::string& path = options_.seed_config_path;
  auto text = ReadFile(path);
  if (!text.ok()) {
    return absl::Status(
        text.status().code(),
        absl::StrCat("--seed_config: ", text.status().message()));
  }
  if (catalog.policy.has_value()) {
    if (catalog.policy->document() != *text) {
      LogWarning(absl::StrCat(
          "--seed_config ", path,
          " ignored: the store already holds a different policy document "
          "(policy version ",
          catalog.version.version(), "); once seeded, the store wins"));
    }
    return absl::OkStatus();
  }
  // The document key must still be absent when this commits (expected
  // revision 0), so a concurrent seeder cannot be overwritten.
  CB_ASSIGN_OR_RETURN(
      ChangeResult seeded,
      ChangeLocked(
          [&](catalog::Catalog& candidate, std::vector<store::Op>& ops) {
            catalog::storage::StoredPolicy document;
            document.set_document(*text);
            document.set_base_dir(DirectoryOf(path));
            document.set_update_time_micros(catalog::ToMicros(absl::Now()));
            ops.push_back(
                store::Op::Put(std::string(catalog::kPolicyDocumentKey),
                               document.SerializeAsString(), 0));
            candidate.policy = std::move(document);
            return absl::OkStatus();
          },
          /*validate_only=*/false));
  LogInfo(absl::StrCat("seeded the store's policy from ", path,
                       ": policy_version=", seeded.snapshot->version()));
  return absl::OkStatus();
}

absl::Status PolicyManager::Document(const catalog::Catalog& catalog,
                                     std::string& text, std::string& source,
                                     std::string& base_dir) const {
  if (!options_.config_path.empty()) {
    CB_ASSIGN_OR_RETURN(text, ReadFile(options_.config_path));
    source = options_.config_path;
    base_dir = DirectoryOf(options_.config_path);
  } else if (catalog.policy.has_value()) {
    text = catalog.policy->document();
    source = kStoredDocumentSource;
    base_dir = catalog.policy->base_dir();
  } else {
    text = "{}";
    source = "empty policy";
    base_dir.clear();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<policy::PolicySnapshot>>
PolicyManager::CompileText(absl::string_view text, absl::string_view source,
                           const std::string& base_dir,
                           const catalog::Catalog& catalog) {
  policy::StoredObjects objects;
  if (options_.store != nullptr) {
    CB_ASSIGN_OR_RETURN(objects, opener_.Open(catalog));
  }
  CB_ASSIGN_OR_RETURN(config::BrokerConfig config,
                      config::ParseConfigDocument(text, source));
  policy::CompileOptions compile_options;
  compile_options.stored = options_.store != nullptr ? &objects : nullptr;
  return policy::CompilePolicy(config, base_dir, source, compile_options);
}

absl::StatusOr<std::shared_ptr<policy::PolicySnapshot>>
PolicyManager::CompileCatalog(const catalog::Catalog& catalog) {
  std::string text, source, base_dir;
  CB_RETURN_IF_ERROR(Document(catalog, text, source, base_dir));
  auto snapshot = CompileText(text, source, base_dir, catalog);
  // Parsing a large policy frees a lot (the parsed document is gone by
  // now) that glibc would otherwise keep.
  text.clear();
  text.shrink_to_fit();
  ::malloc_trim(0);
  return snapshot;
}

absl::StatusOr<std::shared_ptr<policy::PolicySnapshot>>
PolicyManager::CompileDocument(absl::string_view text, absl::string_view source,
                               const std::string& base_dir) {
  absl::MutexLock lock(&mu_);
  return CompileText(text, source, base_dir, *catalog_);
}

void PolicyManager::Publish(std::shared_ptr<policy::PolicySnapshot> snapshot,
                            catalog::Catalog catalog) {
  if (options_.store != nullptr) {
    snapshot->set_version(absl::StrCat(catalog.version.version()));
  }
  catalog_ = std::make_shared<const catalog::Catalog>(std::move(catalog));
  Watch(snapshot->watched_dirs());
  current_.Set(std::move(snapshot));
}

void PolicyManager::Watch(const std::vector<std::string>& dirs) {
  if (watcher_ == nullptr) {
    if (dirs.empty()) return;
    watch::DirectoryWatcherOptions watch_options;
    watch_options.debounce = options_.watch_debounce;
    auto created = watch::DirectoryWatcher::Create(
        [this](const std::vector<std::string>& changed) {
          (void)Reload(absl::StrCat("changed: ", absl::StrJoin(changed, ", ")));
        },
        watch_options);
    if (!created.ok()) {
      LogError(absl::StrCat("cannot watch ", absl::StrJoin(dirs, ", "),
                            " for changes (send SIGHUP to reload): ",
                            created.status().message()));
      return;
    }
    watcher_ = std::move(created).value();
  }
  absl::Status watched = watcher_->SetDirectories(dirs);
  if (!watched.ok()) LogWarning(std::string(watched.message()));
}

absl::Status PolicyManager::ReloadLocked() {
  // A file-backed change bumps the version with a conditional write; when
  // another writer wins the race, read everything again.
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    catalog::Catalog catalog;
    if (options_.store != nullptr) {
      CB_ASSIGN_OR_RETURN(catalog, catalog::LoadCatalog(*options_.store));
    }
    CB_ASSIGN_OR_RETURN(std::shared_ptr<policy::PolicySnapshot> snapshot,
                        CompileCatalog(catalog));
    if (options_.store != nullptr &&
        (catalog.version.version() == 0 ||
         catalog.version.files_digest() != snapshot->files_digest())) {
      std::vector<store::Op> ops;
      int64_t version =
          catalog::BumpVersion(catalog.version, catalog.version_revision,
                               snapshot->files_digest(), ops);
      auto revision = options_.store->Commit(ops);
      if (absl::IsAborted(revision.status()) && attempt < kAttempts) continue;
      if (!revision.ok()) return revision.status();
      catalog.version.set_version(version);
      catalog.version.set_files_digest(snapshot->files_digest());
      catalog.version_revision = *revision;
    }
    Publish(std::move(snapshot), std::move(catalog));
    return absl::OkStatus();
  }
}

absl::Status PolicyManager::Reload(absl::string_view reason) {
  absl::MutexLock lock(&mu_);
  std::string before = current_.Get()->version();
  absl::Status status = ReloadLocked();
  if (!status.ok()) {
    ++reload_errors_;
    last_reload_error_ = absl::StrCat(reason, ": ", status.message());
    LogError(absl::StrCat("reload failed, keeping policy_version=", before,
                          " (", reason, "): ", status.message()));
    if (options_.on_reload) options_.on_reload(reason, status, before);
    return status;
  }
  auto snapshot = current_.Get();
  LogInfo(absl::StrCat("reloaded policy_version=", snapshot->version(),
                       before == snapshot->version() ? " (unchanged)" : "",
                       " rules=", snapshot->rule_count(), " (", reason, ")"));
  if (options_.on_reload) {
    options_.on_reload(reason, absl::OkStatus(), snapshot->version());
  }
  return absl::OkStatus();
}

absl::StatusOr<ChangeResult> PolicyManager::Change(const Mutation& mutation,
                                                   bool validate_only) {
  absl::MutexLock lock(&mu_);
  return ChangeLocked(mutation, validate_only);
}

absl::StatusOr<ChangeResult> PolicyManager::ChangeLocked(
    const Mutation& mutation, bool validate_only) {
  if (options_.store == nullptr) {
    return absl::FailedPreconditionError(
        "certbrokerd runs without --data_dir: there is no store to change");
  }
  CB_ASSIGN_OR_RETURN(catalog::Catalog candidate,
                      catalog::LoadCatalog(*options_.store));
  std::vector<store::Op> ops;
  CB_RETURN_IF_ERROR(mutation(candidate, ops));
  CB_ASSIGN_OR_RETURN(std::shared_ptr<policy::PolicySnapshot> snapshot,
                      CompileCatalog(candidate));
  if (validate_only) return ChangeResult{std::move(snapshot), false};
  // Mutations leave the version fields alone: they are the loaded ones.
  int64_t version =
      catalog::BumpVersion(candidate.version, candidate.version_revision,
                           snapshot->files_digest(), ops);
  auto revision = options_.store->Commit(ops);
  if (absl::IsAborted(revision.status())) {
    return absl::AbortedError(absl::StrCat(
        "the store changed while this change was being validated (another "
        "writer?); nothing was written: retry. (",
        revision.status().message(), ")"));
  }
  if (!revision.ok()) return revision.status();
  candidate.version.set_version(version);
  candidate.version.set_files_digest(snapshot->files_digest());
  candidate.version_revision = *revision;
  Publish(snapshot, std::move(candidate));
  return ChangeResult{std::move(snapshot), true};
}

std::shared_ptr<const catalog::Catalog> PolicyManager::catalog() const {
  absl::MutexLock lock(&mu_);
  return catalog_;
}

std::string PolicyManager::policy_source() const {
  if (!options_.config_path.empty()) {
    return absl::StrCat("config:", options_.config_path);
  }
  return catalog()->policy.has_value() ? "store" : "none";
}

int64_t PolicyManager::reload_errors() const {
  absl::MutexLock lock(&mu_);
  return reload_errors_;
}

std::string PolicyManager::last_reload_error() const {
  absl::MutexLock lock(&mu_);
  return last_reload_error_;
}

void PolicyManager::StartPolling() {
  if (options_.store == nullptr || poll_thread_.joinable()) return;
  poll_thread_ = std::thread([this] { PollLoop(); });
}

void PolicyManager::PollLoop() {
  while (true) {
    {
      absl::MutexLock lock(&poll_mu_);
      auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(poll_mu_) {
        return stopping_;
      };
      if (poll_mu_.AwaitWithTimeout(absl::Condition(&stopping),
                                    options_.poll_interval)) {
        return;
      }
    }
    auto entry = options_.store->Get(catalog::kPolicyVersionKey);
    int64_t revision = entry.ok() ? entry->revision : 0;
    if (!entry.ok() && !absl::IsNotFound(entry.status())) continue;
    if (revision != catalog()->version_revision) {
      (void)Reload("the store was changed by another process");
    }
  }
}

}  // namespace certbroker::state

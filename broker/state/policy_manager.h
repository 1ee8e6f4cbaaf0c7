// PolicyManager: where the policy in force comes from and how it changes.
// It combines the configuration file (--config or --seed_config), the
// store's catalog (--data_dir) and the KEKs into compiled snapshots; applies
// admin changes (validated completely, then committed with the version
// bump, then published); and reloads on SIGHUP, when another process
// changes the store, and when watched directories change — keeping the old
// snapshot, and counting the error, when the new state is bad.
//
// Which source defines the policy document (the rules and settings):
//  * --config FILE: the file. The store, if any, holds certificates, trust
//    bundles and CRLs that rules may name, and the audit log. Refused when
//    the store also holds a policy document: that would be ambiguous.
//  * --data_dir DIR alone: the store's document, changed through the admin
//    API. An empty store has no rules and rejects everything.
//  * --data_dir DIR --seed_config FILE: as above; when the store holds no
//    document yet, FILE's text is stored as the first one. Once stored, the
//    store wins and FILE is ignored (with a warning when it differs).
//
// Versions: without a store the version is a digest of the configuration
// and the files it names. With a store it is a counter kept in the store
// that only grows: every admin change bumps it in the same transaction, and
// a change of file-backed content (the --config file, the files it names,
// watched directories) bumps it when the broker loads it.
#ifndef CERTBROKER_BROKER_STATE_POLICY_MANAGER_H_
#define CERTBROKER_BROKER_STATE_POLICY_MANAGER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/catalog/catalog.h"
#include "broker/catalog/stored_objects.h"
#include "broker/keys/key_ring.h"
#include "broker/policy/policy_snapshot.h"
#include "broker/store/store.h"
#include "broker/watch/directory_watcher.h"

namespace certbroker::state {

struct PolicyManagerOptions {
  std::string config_path;              // --config.
  std::string seed_config_path;         // --seed_config.
  store::Store* store = nullptr;        // --data_dir; null without one.
  const keys::KeyRing* keys = nullptr;  // Null without --kek_file.
  // How often the store is checked for changes made by another process.
  absl::Duration poll_interval = absl::Seconds(1);
  // How long watched directories must be quiet before a reload.
  absl::Duration watch_debounce = absl::Milliseconds(100);
  // on_reload, when set, is told of every reload after start-up (SIGHUP,
  // watched directories, another writer): why, how it ended, and the
  // policy version in force afterwards. certbrokerd audits them.
  std::function<void(absl::string_view reason, const absl::Status& status,
                     const std::string& version)>
      on_reload;
};

// Mutation edits a copy of the catalog for an admin change and appends the
// store operations that make the same edit (without the version bump; it
// leaves Catalog::version and version_revision alone).
using Mutation =
    std::function<absl::Status(catalog::Catalog&, std::vector<store::Op>&)>;

// ChangeResult is what an applied (or validated) change produced.
struct ChangeResult {
  // The compiled result; once committed, its version() is the new policy
  // version.
  std::shared_ptr<const policy::PolicySnapshot> snapshot;
  bool committed = false;  // False for validate_only.
};

class PolicyManager {
 public:
  // Create checks the combination of sources, seeds the store when asked,
  // and compiles the first snapshot. Start-up errors are complete messages;
  // nothing is written unless everything loads.
  static absl::StatusOr<std::unique_ptr<PolicyManager>> Create(
      PolicyManagerOptions options);
  ~PolicyManager();

  policy::CurrentPolicy& current() { return current_; }

  // StartPolling checks the store for changes by other processes every
  // poll_interval on a background thread, reloading when there are some.
  // Stopped by the destructor.
  void StartPolling();

  // Reload reads every source again and publishes the result; on failure
  // it keeps the current snapshot, logs `reason` and the error, counts it,
  // and returns the error.
  absl::Status Reload(absl::string_view reason);

  // Change applies an admin change: `mutation` edits a fresh copy of the
  // catalog; the result is compiled (validated completely) and, unless
  // `validate_only`, committed with the version bump and published. Errors:
  // the mutation's, the compiler's (INVALID_ARGUMENT naming the field),
  // ABORTED when another writer changed the store in between,
  // FAILED_PRECONDITION without a store.
  absl::StatusOr<ChangeResult> Change(const Mutation& mutation,
                                      bool validate_only);

  // Compile compiles a candidate policy document against the current
  // stored objects, for simulation; relative paths resolve in `base_dir`.
  absl::StatusOr<std::shared_ptr<policy::PolicySnapshot>> CompileDocument(
      absl::string_view text, absl::string_view source,
      const std::string& base_dir);

  // catalog is the catalog of the snapshot in force (empty without store).
  std::shared_ptr<const catalog::Catalog> catalog() const;

  store::Store* store() const { return options_.store; }
  const keys::KeyRing* keys() const { return options_.keys; }

  // policy_source is "config:PATH", "store", or "none" (a store without a
  // document).
  std::string policy_source() const;
  const std::string& config_path() const { return options_.config_path; }

  int64_t reload_errors() const;
  std::string last_reload_error() const;

 private:
  explicit PolicyManager(PolicyManagerOptions options);

  absl::Status Seed(const catalog::Catalog& catalog)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<ChangeResult> ChangeLocked(const Mutation& mutation,
                                            bool validate_only)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Document returns the policy document text, its source and base
  // directory for `catalog`.
  absl::Status Document(const catalog::Catalog& catalog, std::string& text,
                        std::string& source, std::string& base_dir) const;
  absl::Status ReloadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::shared_ptr<policy::PolicySnapshot>> CompileCatalog(
      const catalog::Catalog& catalog) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::shared_ptr<policy::PolicySnapshot>> CompileText(
      absl::string_view text, absl::string_view source,
      const std::string& base_dir, const catalog::Catalog& catalog)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Publish(std::shared_ptr<policy::PolicySnapshot> snapshot,
               catalog::Catalog catalog) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PollLoop();
  // Watch makes the watcher follow `dirs`, creating it on first use.
  void Watch(const std::vector<std::string>& dirs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PolicyManagerOptions options_;
  policy::CurrentPolicy current_;

  mutable absl::Mutex mu_;  // Serializes loads and changes.
  catalog::CertificateOpener opener_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const catalog::Catalog> catalog_ ABSL_GUARDED_BY(mu_);
  int64_t reload_errors_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_reload_error_ ABSL_GUARDED_BY(mu_);

  std::unique_ptr<watch::DirectoryWatcher> watcher_ ABSL_GUARDED_BY(mu_);

  absl::Mutex poll_mu_;
  bool stopping_ ABSL_GUARDED_BY(poll_mu_) = false;
  std::thread poll_thread_;
};

}  // namespace certbroker::state

#endif  // CERTBROKER_BROKER_STATE_POLICY_MANAGER_H_

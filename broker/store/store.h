// Store: the broker's persistent key-value interface. Narrow on purpose, so
// that an etcd implementation can follow the SQLite one: versioned keys with
// optimistic concurrency, ordered prefix listing with paging, multi-key
// atomic transactions, and change detection by polling a store-wide revision
// (what etcd's watch maps to). sqlite_store.h holds the embedded default.
#ifndef CERTBROKER_BROKER_STORE_STORE_H_
#define CERTBROKER_BROKER_STORE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace certbroker::store {

// Limits

// A key is 1 to kMaxKeyBytes bytes of ASCII letters, digits and
// `- . _ ~ / : @ % + = ,` (RFC 3986's unreserved characters plus a few
// delimiters; '%' lets callers percent-encode anything else). Keys compare
// bytewise, so "a/b" < "a/c" < "a0". Anything else is INVALID_ARGUMENT.
inline constexpr size_t kMaxKeyBytes = 512;

// kMaxValueBytes caps one value: 16 MiB.
inline constexpr size_t kMaxValueBytes = 16 << 20;

// kMaxTransactionOps caps the operations of one Commit, and
// kMaxTransactionBytes the keys and values it carries. KEK rotation
// rewrites every stored key in one transaction, so the cap is well above
// etcd's default --max-txn-ops (128): an etcd store must raise that.
inline constexpr size_t kMaxTransactionOps = 10000;
inline constexpr size_t kMaxTransactionBytes = 64 << 20;

// List and ChangesSince return kDefaultPageSize items when asked for 0 and
// coerce larger requests down to kMaxPageSize (Google's AIP-158).
inline constexpr size_t kDefaultPageSize = 100;
inline constexpr size_t kMaxPageSize = 1000;

// ValidateKey returns OK when `key` is a valid key, else INVALID_ARGUMENT
// naming the key (truncated when long) and the first offending byte.
absl::Status ValidateKey(absl::string_view key);

// ValidatePrefix is ValidateKey for List prefixes, which may be empty.
absl::Status ValidatePrefix(absl::string_view prefix);

// QuoteKey returns `key` for an error message: in double quotes, C-escaped,
// cut to 100 bytes with "..." when longer.
std::string QuoteKey(absl::string_view key);

// Revisions
//
// The store has one revision, an int64 that starts at 0 (empty store) and
// grows by exactly 1 per committed write, never reused, also across
// restarts. Every key written by that write carries it as its revision.
// An expected revision in a write is a precondition on a key:
//  * std::nullopt: none, the write is unconditional;
//  * 0: the key must not exist (deleted keys do not exist);
//  * N > 0: the key must exist with revision N.
// A failed precondition is ABORTED ("key "k": expected revision 3, but it is
// at revision 5"): re-read and retry.

// Entry is one key with its value and the revision of its last write.
struct Entry {
  std::string key;
  std::string value;
  int64_t revision = 0;
};

// Op is one operation of a transaction.
struct Op {
  enum class Type {
    kPut,     // Set key to value.
    kDelete,  // Delete key; NOT_FOUND when it does not exist.
    kCheck,   // Only check expected_revision (required); write nothing.
  };

  static Op Put(std::string key, std::string value,
                std::optional<int64_t> expected_revision = std::nullopt);
  static Op Delete(std::string key,
                   std::optional<int64_t> expected_revision = std::nullopt);
  static Op Check(std::string key, int64_t expected_revision);

  Type type = Type::kPut;
  std::string key;
  std::string value;  // kPut only.
  std::optional<int64_t> expected_revision;
};

// ValidateOps checks a transaction's shape without touching any store: 1 to
// kMaxTransactionOps operations, valid and pairwise distinct keys, values
// within kMaxValueBytes, kMaxTransactionBytes in total, expected revisions
// >= 0, a revision on every kCheck, and no delete expecting revision 0
// (which could never succeed). INVALID_ARGUMENT naming the operation's
// index and key otherwise.
absl::Status ValidateOps(absl::Span<const Op> ops);

// ListOptions selects a page of live keys in key order.
struct ListOptions {
  std::string prefix;      // Empty: every key.
  size_t limit = 0;        // 0: kDefaultPageSize; at most kMaxPageSize.
  std::string page_token;  // Empty, or a previous next_page_token.
};

// ListResult is one page. next_page_token is the last key returned when more
// keys may follow, else empty; it is a plain key, so it stays valid across
// restarts and implementations. Pages are separate reads: keys written
// between two pages appear if they sort after the token.
struct ListResult {
  std::vector<Entry> entries;
  std::string next_page_token;
  int64_t revision = 0;  // The store's revision when this page was read.
};

// Change is the latest state of a key written after the revision asked
// about: its value and revision, or a deletion.
struct Change {
  std::string key;
  std::string value;  // Empty for deletions.
  int64_t revision = 0;
  bool deleted = false;
};

// Changes is one page of ChangesSince, ordered by (revision, key). A page
// never splits the keys of one revision, so it may exceed the limit by up to
// kMaxTransactionOps - 1. Poll again with next_revision: when `more` is
// false, next_revision is the store's revision at the time of the read, and
// the caller has seen the latest state of every key changed after the
// revision it asked about. A key changed twice is reported once, at its
// latest revision.
struct Changes {
  std::vector<Change> changes;
  int64_t next_revision = 0;
  bool more = false;
};

// Store is implemented by SqliteStore (sqlite_store.h). Implementations are
// thread-safe. Every method may also fail with UNAVAILABLE (the store is
// busy or unreachable: retry), DATA_LOSS (corruption), RESOURCE_EXHAUSTED
// (disk full) or INTERNAL; messages name the key and the store.
class Store {
 public:
  virtual ~Store() = default;

  // Get returns the live entry of `key`, NOT_FOUND when it does not exist.
  virtual absl::StatusOr<Entry> Get(absl::string_view key) = 0;

  // Put sets `key` to `value` if `expected_revision` holds and returns the
  // new revision: Commit of one Op::Put.
  absl::StatusOr<int64_t> Put(
      absl::string_view key, absl::string_view value,
      std::optional<int64_t> expected_revision = std::nullopt);

  // Delete deletes `key` if `expected_revision` holds and returns the
  // revision of the deletion; NOT_FOUND when the key does not exist. Commit
  // of one Op::Delete.
  absl::StatusOr<int64_t> Delete(
      absl::string_view key,
      std::optional<int64_t> expected_revision = std::nullopt);

  // Commit applies `ops` atomically: every precondition is checked first,
  // and if one fails (ABORTED, or NOT_FOUND for a delete) nothing changes.
  // Returns the revision of the write, or the current revision when the ops
  // are all checks.
  virtual absl::StatusOr<int64_t> Commit(absl::Span<const Op> ops) = 0;

  // List returns a page of live keys starting with options.prefix.
  virtual absl::StatusOr<ListResult> List(const ListOptions& options) = 0;

  // CurrentRevision returns the store's revision.
  virtual absl::StatusOr<int64_t> CurrentRevision() = 0;

  // ChangesSince returns the keys written or deleted after `after_revision`
  // (at most `limit` of them: 0 means kDefaultPageSize, and more than
  // kMaxPageSize means kMaxPageSize). OUT_OF_RANGE
  // when `after_revision` is older than the compacted revision (deletions
  // may be forgotten: List everything again) or newer than the store's
  // revision (the store was replaced, e.g. restored from a backup: List
  // everything again). INVALID_ARGUMENT when it is negative.
  virtual absl::StatusOr<Changes> ChangesSince(int64_t after_revision,
                                               size_t limit) = 0;

  // Compact forgets deletions made at or before `revision` (at most the
  // current revision), bounding what deletions cost. ChangesSince for an
  // older revision fails with OUT_OF_RANGE afterwards. Compacting to a
  // revision below an earlier compaction changes nothing.
  virtual absl::Status Compact(int64_t revision) = 0;
};

}  // namespace certbroker::store

#endif  // CERTBROKER_BROKER_STORE_STORE_H_

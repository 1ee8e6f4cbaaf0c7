// Tests of SqliteStore's key-value semantics: revisions and expected
// revisions, prefix listing with paging, atomic transactions, changes since
// a revision, compaction, reopening, and the key and value limits.
#include "broker/store/sqlite_store.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/broker/store/store_test_util.h"
#include "tests/support/temp_dir.h"

namespace certbroker::store {
namespace {

using ::absl::StatusCode;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    store_.reset();
    store_ = OpenOrNull(dir_.Path("store"));
    ASSERT_NE(store_, nullptr);
  }

  int64_t Revision() {
    absl::StatusOr<int64_t> revision = store_->CurrentRevision();
    EXPECT_TRUE(revision.ok()) << revision.status();
    return revision.value_or(-1);
  }

  // Value returns the value of `key`, or "<code>" when Get fails.
  std::string Value(absl::string_view key) {
    absl::StatusOr<Entry> entry = store_->Get(key);
    if (!entry.ok()) {
      return absl::StrCat("<", absl::StatusCodeToString(entry.status().code()),
                          ">");
    }
    return entry->value;
  }

  testing::TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, PutGetDeleteCarryRevisions) {
  EXPECT_EQ(Revision(), 0);
  EXPECT_EQ(store_->Put("a", "one").value_or(-1), 1);
  EXPECT_EQ(store_->Put("b", "two").value_or(-1), 2);
  absl::StatusOr<Entry> a = store_->Get("a");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->key, "a");
  EXPECT_EQ(a->value, "one");
  EXPECT_EQ(a->revision, 1);

  EXPECT_EQ(store_->Put("a", "uno").value_or(-1), 3);
  a = store_->Get("a");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->value, "uno");
  EXPECT_EQ(a->revision, 3);
  EXPECT_EQ(store_->Get("b")->revision, 2);  // Untouched keys keep theirs.

  EXPECT_EQ(store_->Delete("a").value_or(-1), 4);
  EXPECT_TRUE(HasStatus(store_->Get("a"), StatusCode::kNotFound,
                        "key \"a\" does not exist"));
  EXPECT_TRUE(HasStatus(store_->Delete("a"), StatusCode::kNotFound,
                        "key \"a\" does not exist; nothing to delete"));
  EXPECT_EQ(Revision(), 4);  // The failed delete wrote nothing.

  // Values are bytes.
  const std::string binary("\0\xff\n\x01", 4);
  EXPECT_EQ(store_->Put("bin", binary).value_or(-1), 5);
  EXPECT_EQ(Value("bin"), binary);
  EXPECT_EQ(store_->Put("empty", "").value_or(-1), 6);
  EXPECT_EQ(Value("empty"), "");
}

TEST_F(SqliteStoreTest, StaleExpectedRevisionIsAbortedAndChangesNothing) {
  ASSERT_EQ(store_->Put("policy/main", "v1").value_or(-1), 1);
  ASSERT_EQ(store_->Put("policy/main", "v2").value_or(-1), 2);

  EXPECT_TRUE(HasStatus(
      store_->Put("policy/main", "v3", 1), StatusCode::kAborted,
      "key \"policy/main\": expected revision 1, but it is at revision 2"));
  EXPECT_TRUE(HasStatus(store_->Delete("policy/main", 1), StatusCode::kAborted,
                        "expected revision 1, but it is at revision 2"));
  EXPECT_EQ(Value("policy/main"), "v2");
  EXPECT_EQ(Revision(), 2);

  EXPECT_EQ(store_->Put("policy/main", "v3", 2).value_or(-1), 3);
  EXPECT_EQ(Value("policy/main"), "v3");
  EXPECT_EQ(store_->Delete("policy/main", 3).value_or(-1), 4);
}

TEST_F(SqliteStoreTest, ExpectedRevisionZeroMeansMustNotExist) {
  EXPECT_EQ(store_->Put("k", "first", 0).value_or(-1), 1);
  EXPECT_TRUE(HasStatus(
      store_->Put("k", "second", 0), StatusCode::kAborted,
      "key \"k\": expected revision 0 (must not exist), but it exists at "
      "revision 1"));
  EXPECT_EQ(Value("k"), "first");

  ASSERT_EQ(store_->Delete("k").value_or(-1), 2);
  EXPECT_EQ(store_->Put("k", "again", 0).value_or(-1), 3);  // Deleted: absent.

  EXPECT_TRUE(HasStatus(store_->Put("absent", "x", 5), StatusCode::kAborted,
                        "key \"absent\": expected revision 5, but it does not "
                        "exist (revision 0)"));
  EXPECT_TRUE(HasStatus(store_->Delete("k", 0), StatusCode::kInvalidArgument,
                        "expected revision 0 (must not exist) can never "
                        "delete"));
  EXPECT_TRUE(HasStatus(store_->Put("k", "x", -1), StatusCode::kInvalidArgument,
                        "expected revision -1 is negative"));
  EXPECT_EQ(Revision(), 3);
}

TEST_F(SqliteStoreTest, ListsByPrefixInKeyOrderAcrossPages) {
  std::vector<std::string> want;
  for (int i = 24; i >= 0; --i) {  // Written out of order on purpose.
    std::string key = absl::StrFormat("certs/%02d", i);
    ASSERT_TRUE(store_->Put(key, absl::StrCat("value ", i)).ok());
  }
  for (int i = 0; i < 25; ++i) {
    if (i != 7) want.push_back(absl::StrFormat("certs/%02d", i));
  }
  ASSERT_TRUE(store_->Delete("certs/07").ok());
  // Neighbours that share bytes with the prefix but are outside it.
  ASSERT_TRUE(store_->Put("certs", "x").ok());
  ASSERT_TRUE(store_->Put("certs0", "x").ok());
  ASSERT_TRUE(store_->Put("cert", "x").ok());

  std::vector<std::string> got;
  std::vector<size_t> page_sizes;
  ListOptions options;
  options.prefix = "certs/";
  options.limit = 10;
  for (int pages = 0; pages < 10; ++pages) {
    absl::StatusOr<ListResult> page = store_->List(options);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->revision, 29);
    page_sizes.push_back(page->entries.size());
    for (const Entry& entry : page->entries) got.push_back(entry.key);
    if (pages == 0) {
      EXPECT_EQ(page->next_page_token, "certs/10");  // 07 is deleted.
      EXPECT_EQ(page->entries.front().value, "value 0");
      EXPECT_EQ(page->entries.front().revision, 25);
    }
    if (page->next_page_token.empty()) break;
    options.page_token = page->next_page_token;
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(page_sizes, (std::vector<size_t>{10, 10, 4}));

  absl::StatusOr<ListResult> all = store_->List(ListOptions{});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->entries.size(), 27u);
  EXPECT_EQ(all->entries[0].key, "cert");
  EXPECT_EQ(all->entries[1].key, "certs");
  EXPECT_EQ(all->entries[26].key, "certs0");
  EXPECT_TRUE(all->next_page_token.empty());

  ListOptions foreign;
  foreign.prefix = "certs/";
  foreign.page_token = "other";
  EXPECT_TRUE(HasStatus(store_->List(foreign), StatusCode::kInvalidArgument,
                        "page token \"other\" does not belong to prefix "
                        "\"certs/\""));
  ListOptions bad_prefix;
  bad_prefix.prefix = "certs /";
  EXPECT_TRUE(
      HasStatus(store_->List(bad_prefix), StatusCode::kInvalidArgument,
                "prefix \"certs /\" has the character ' ' at offset 5"));
}

TEST_F(SqliteStoreTest, ListPageSizeDefaultsAndIsCoerced) {
  for (int batch = 0; batch < 9; ++batch) {
    std::vector<Op> ops;
    for (int i = 0; i < 128; ++i) {
      ops.push_back(Op::Put(absl::StrFormat("k/%04d", batch * 128 + i), "v"));
    }
    ASSERT_TRUE(store_->Commit(ops).ok());
  }
  ListOptions options;
  options.prefix = "k/";
  absl::StatusOr<ListResult> page = store_->List(options);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->entries.size(), kDefaultPageSize);
  options.limit = 5000;
  page = store_->List(options);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->entries.size(), kMaxPageSize);
  EXPECT_EQ(page->next_page_token, "k/0999");
}

TEST_F(SqliteStoreTest, TransactionWithOneFailedPreconditionChangesNothing) {
  ASSERT_EQ(store_->Put("a", "a1").value_or(-1), 1);
  ASSERT_EQ(store_->Put("b", "b1").value_or(-1), 2);

  const std::vector<Op> stale = {
      Op::Put("a", "a2", 1), Op::Put("c", "c1", 0),
      Op::Delete("b", 1),  // b is at revision 2.
  };
  EXPECT_TRUE(HasStatus(store_->Commit(stale), StatusCode::kAborted,
                        "key \"b\": expected revision 1, but it is at "
                        "revision 2"));
  EXPECT_EQ(Value("a"), "a1");
  EXPECT_EQ(store_->Get("a")->revision, 1);
  EXPECT_EQ(Value("b"), "b1");
  EXPECT_EQ(Value("c"), "<NOT_FOUND>");
  EXPECT_EQ(Revision(), 2);

  const std::vector<Op> missing = {Op::Put("c", "c1"), Op::Delete("zzz")};
  EXPECT_TRUE(HasStatus(store_->Commit(missing), StatusCode::kNotFound,
                        "key \"zzz\" does not exist"));
  EXPECT_EQ(Value("c"), "<NOT_FOUND>");

  const std::vector<Op> good = {
      Op::Put("a", "a2", 1),
      Op::Put("c", "c1", 0),
      Op::Delete("b", 2),
  };
  EXPECT_EQ(store_->Commit(good).value_or(-1), 3);
  EXPECT_EQ(Value("a"), "a2");
  EXPECT_EQ(store_->Get("a")->revision, 3);
  EXPECT_EQ(store_->Get("c")->revision, 3);  // One revision per transaction.
  EXPECT_EQ(Value("b"), "<NOT_FOUND>");

  // A check guards a write to another key.
  const std::vector<Op> checked = {Op::Check("a", 3), Op::Put("d", "d1")};
  EXPECT_EQ(store_->Commit(checked).value_or(-1), 4);
  const std::vector<Op> check_fails = {Op::Check("a", 1), Op::Put("e", "e1")};
  EXPECT_TRUE(HasStatus(store_->Commit(check_fails), StatusCode::kAborted,
                        "key \"a\": expected revision 1, but it is at "
                        "revision 3"));
  EXPECT_EQ(Value("e"), "<NOT_FOUND>");
  const std::vector<Op> only_checks = {Op::Check("a", 3), Op::Check("zz", 0)};
  EXPECT_EQ(store_->Commit(only_checks).value_or(-1), 4);  // No new revision.
  EXPECT_EQ(Revision(), 4);
}

TEST_F(SqliteStoreTest, TransactionShapeIsValidated) {
  EXPECT_TRUE(HasStatus(store_->Commit({}), StatusCode::kInvalidArgument,
                        "transaction has no operations"));
  const std::vector<Op> twice = {Op::Put("a", "1"), Op::Delete("a")};
  EXPECT_TRUE(HasStatus(store_->Commit(twice), StatusCode::kInvalidArgument,
                        "operation 1 (delete \"a\"): the key appears twice"));
  std::vector<Op> many;
  for (size_t i = 0; i <= kMaxTransactionOps; ++i) {
    many.push_back(Op::Put(absl::StrCat(i), ""));
  }
  EXPECT_TRUE(
      HasStatus(store_->Commit(many), StatusCode::kInvalidArgument,
                "transaction has 10001 operations; the limit is 10000"));
  Op unchecked;
  unchecked.type = Op::Type::kCheck;
  unchecked.key = "a";
  EXPECT_TRUE(HasStatus(store_->Commit({unchecked}),
                        StatusCode::kInvalidArgument,
                        "operation 0 (check \"a\"): a check needs an expected "
                        "revision"));
  const std::vector<Op> bad_key = {Op::Put("ok", ""), Op::Put("no\tway", "")};
  EXPECT_TRUE(HasStatus(store_->Commit(bad_key), StatusCode::kInvalidArgument,
                        "operation 1: key \"no\\tway\" has the character "
                        "'\\t' at offset 2"));
  EXPECT_EQ(Revision(), 0);
}

TEST_F(SqliteStoreTest, ChangesSinceReportsPutsAndDeletes) {
  ASSERT_TRUE(store_->Put("a", "a1").ok());  // 1
  ASSERT_TRUE(store_->Put("b", "b1").ok());  // 2
  ASSERT_TRUE(store_->Put("c", "c1").ok());  // 3
  ASSERT_TRUE(store_->Delete("b").ok());     // 4
  ASSERT_TRUE(store_->Put("a", "a2").ok());  // 5

  absl::StatusOr<Changes> changes = store_->ChangesSince(0, 0);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->changes.size(), 3u);  // a once, at its latest revision.
  EXPECT_EQ(changes->changes[0].key, "c");
  EXPECT_EQ(changes->changes[0].revision, 3);
  EXPECT_EQ(changes->changes[0].value, "c1");
  EXPECT_FALSE(changes->changes[0].deleted);
  EXPECT_EQ(changes->changes[1].key, "b");
  EXPECT_EQ(changes->changes[1].revision, 4);
  EXPECT_TRUE(changes->changes[1].deleted);
  EXPECT_EQ(changes->changes[1].value, "");
  EXPECT_EQ(changes->changes[2].key, "a");
  EXPECT_EQ(changes->changes[2].revision, 5);
  EXPECT_EQ(changes->changes[2].value, "a2");
  EXPECT_EQ(changes->next_revision, 5);
  EXPECT_FALSE(changes->more);

  changes = store_->ChangesSince(3, 0);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->changes.size(), 2u);
  EXPECT_EQ(changes->changes[0].key, "b");
  EXPECT_TRUE(changes->changes[0].deleted);
  EXPECT_EQ(changes->changes[1].key, "a");

  changes = store_->ChangesSince(5, 0);
  ASSERT_TRUE(changes.ok()) << changes.status();
  EXPECT_TRUE(changes->changes.empty());
  EXPECT_EQ(changes->next_revision, 5);

  EXPECT_TRUE(HasStatus(store_->ChangesSince(6, 0), StatusCode::kOutOfRange,
                        "changes since revision 6: the store is only at "
                        "revision 5"));
  EXPECT_TRUE(HasStatus(store_->ChangesSince(-1, 0),
                        StatusCode::kInvalidArgument,
                        "a revision cannot be negative"));
}

TEST_F(SqliteStoreTest, ChangesSincePagesNeverSplitARevision) {
  const std::vector<Op> three = {Op::Put("x1", ""), Op::Put("x2", ""),
                                 Op::Put("x3", "")};
  ASSERT_EQ(store_->Commit(three).value_or(-1), 1);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->Put(absl::StrCat("y", i), "").ok());  // 2..6
  }

  absl::StatusOr<Changes> page = store_->ChangesSince(0, 2);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->changes.size(), 3u);  // The whole of revision 1.
  EXPECT_EQ(page->changes[2].key, "x3");
  EXPECT_EQ(page->next_revision, 1);
  EXPECT_TRUE(page->more);

  std::vector<std::string> keys;
  int64_t after = page->next_revision;
  int pages = 1;
  while (page->more && pages < 10) {
    page = store_->ChangesSince(after, 2);
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    for (const Change& change : page->changes) keys.push_back(change.key);
    after = page->next_revision;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"y0", "y1", "y2", "y3", "y4"}));
  EXPECT_EQ(pages, 4);  // {x1,x2,x3}, {y0,y1}, {y2,y3}, {y4}.
  EXPECT_EQ(after, 6);
}

TEST_F(SqliteStoreTest, CompactForgetsTombstonesAndRefusesOlderRevisions) {
  ASSERT_TRUE(store_->Put("a", "1").ok());  // 1
  ASSERT_TRUE(store_->Put("b", "1").ok());  // 2
  ASSERT_TRUE(store_->Delete("a").ok());    // 3
  ASSERT_TRUE(store_->Put("c", "1").ok());  // 4

  ASSERT_TRUE(store_->Compact(3).ok());
  EXPECT_TRUE(HasStatus(store_->ChangesSince(2, 0), StatusCode::kOutOfRange,
                        "changes since revision 2: the store is compacted up "
                        "to revision 3"));
  absl::StatusOr<Changes> changes = store_->ChangesSince(3, 0);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->changes.size(), 1u);
  EXPECT_EQ(changes->changes[0].key, "c");

  EXPECT_TRUE(store_->Compact(1).ok());  // Below the last one: no change.
  EXPECT_TRUE(HasStatus(store_->ChangesSince(2, 0), StatusCode::kOutOfRange,
                        "compacted up to revision 3"));
  EXPECT_TRUE(HasStatus(store_->Compact(5), StatusCode::kInvalidArgument,
                        "cannot compact to revision 5: it must be between 0 "
                        "and the store's revision 4"));
  EXPECT_EQ(store_->Put("a", "2", 0).value_or(-1), 5);  // Still absent.
}

TEST_F(SqliteStoreTest, ReopenKeepsDataAndRevisionsStayMonotonic) {
  ASSERT_TRUE(store_->Put("a", "alpha").ok());  // 1
  ASSERT_TRUE(store_->Put("b", "beta").ok());   // 2
  ASSERT_TRUE(store_->Delete("a").ok());        // 3
  Reopen();
  EXPECT_EQ(Revision(), 3);
  EXPECT_EQ(Value("a"), "<NOT_FOUND>");
  EXPECT_EQ(Value("b"), "beta");
  EXPECT_EQ(store_->Get("b")->revision, 2);
  absl::StatusOr<Changes> changes = store_->ChangesSince(2, 0);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->changes.size(), 1u);
  EXPECT_TRUE(changes->changes[0].deleted);  // The tombstone survived.

  // Compaction drops the newest rows here; the revision must not go back.
  ASSERT_EQ(store_->Put("c", "gamma").value_or(-1), 4);
  ASSERT_EQ(store_->Delete("c").value_or(-1), 5);
  ASSERT_TRUE(store_->Compact(5).ok());
  Reopen();
  EXPECT_EQ(Revision(), 5);
  EXPECT_EQ(store_->Put("d", "delta").value_or(-1), 6);
}

TEST_F(SqliteStoreTest, KeyAndValueLimits) {
  EXPECT_TRUE(HasStatus(store_->Put("", "v"), StatusCode::kInvalidArgument,
                        "key is empty"));
  EXPECT_TRUE(HasStatus(store_->Get("a b"), StatusCode::kInvalidArgument,
                        "key \"a b\" has the character ' ' at offset 1"));
  EXPECT_TRUE(HasStatus(store_->Put("caf\xc3\xa9", "v"),
                        StatusCode::kInvalidArgument,
                        "has the character '\\xc3' at offset 3"));
  const std::string longest(kMaxKeyBytes, 'k');
  EXPECT_TRUE(store_->Put(longest, "v").ok());
  EXPECT_EQ(Value(longest), "v");
  EXPECT_TRUE(HasStatus(store_->Put(longest + "k", "v"),
                        StatusCode::kInvalidArgument,
                        "is 513 bytes long; the limit is 512"));
  const std::string allowed = "spiffe://corp.example/ns-1/sa_2~x@y%20+=,.";
  EXPECT_TRUE(store_->Put(allowed, "v").ok());

  const std::string largest(kMaxValueBytes, 'v');
  EXPECT_TRUE(store_->Put("large", largest).ok());
  EXPECT_EQ(Value("large"), largest);
  EXPECT_TRUE(HasStatus(store_->Put("larger", largest + "v"),
                        StatusCode::kInvalidArgument,
                        "operation 0 (put \"larger\"): value is 16777217 "
                        "bytes; the limit is 16777216 (16 MiB)"));
  EXPECT_EQ(Value("larger"), "<NOT_FOUND>");

  // Five 16 MiB values exceed the transaction's 64 MiB.
  std::vector<Op> heavy;
  for (int i = 0; i < 5; ++i) {
    heavy.push_back(Op::Put(absl::StrCat("heavy", i), largest));
  }
  EXPECT_TRUE(HasStatus(store_->Commit(heavy), StatusCode::kInvalidArgument,
                        "bytes of keys and values; the limit is 67108864"));
}

}  // namespace
}  // namespace certbroker::store

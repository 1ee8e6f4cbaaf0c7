// Helpers shared by the store's tests: checking a status's exact code and a
// message substring, and opening a store that must open.
#ifndef CERTBROKER_TESTS_BROKER_STORE_STORE_TEST_UTIL_H_
#define CERTBROKER_TESTS_BROKER_STORE_STORE_TEST_UTIL_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "broker/store/sqlite_store.h"
#include "gtest/gtest.h"

namespace certbroker::store {

// HasStatus succeeds when `status` has `code` and its message contains
// `substring`.
inline ::testing::AssertionResult HasStatus(const absl::Status& status,
                                            absl::StatusCode code,
                                            absl::string_view substring) {
  if (status.code() == code && absl::StrContains(status.message(), substring)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got " << status << "; want code " << absl::StatusCodeToString(code)
         << " with \"" << substring << "\"";
}

template <typename T>
::testing::AssertionResult HasStatus(const absl::StatusOr<T>& result,
                                     absl::StatusCode code,
                                     absl::string_view substring) {
  return HasStatus(result.status(), code, substring);
}

// OpenOrNull opens the store in `dir`, recording a test failure and
// returning null when it does not open.
inline std::unique_ptr<SqliteStore> OpenOrNull(
    const std::string& dir, const SqliteStoreOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      OpenSqliteStore(dir, options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

}  // namespace certbroker::store

#endif  // CERTBROKER_TESTS_BROKER_STORE_STORE_TEST_UTIL_H_

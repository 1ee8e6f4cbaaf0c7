// TempDir: a fresh directory under $TMPDIR (or /tmp) for one test, removed
// with everything in it when the TempDir is destroyed.
#ifndef CERTBROKER_TESTS_SUPPORT_TEMP_DIR_H_
#define CERTBROKER_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>

#include "absl/strings/string_view.h"

namespace certbroker::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

  // Path returns path()/name.
  std::string Path(absl::string_view name) const;

  // Write writes `contents` to path()/name (creating parent directories)
  // and returns the file's path. Aborts the test binary on failure.
  std::string Write(absl::string_view name, absl::string_view contents) const;

 private:
  std::string path_;
};

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_SUPPORT_TEMP_DIR_H_

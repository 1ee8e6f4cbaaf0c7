// KubernetesVolume publishes files into a directory exactly as the kubelet
// updates a Secret or ConfigMap volume, for tests: a new
// timestamped generation directory, a `..data_tmp` symlink to it renamed
// over `..data`, top-level links `name -> ..data/name`, and removal of the
// previous generation.
#ifndef CERTBROKER_TESTS_SUPPORT_KUBERNETES_VOLUME_H_
#define CERTBROKER_TESTS_SUPPORT_KUBERNETES_VOLUME_H_

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace certbroker::testing {

class KubernetesVolume {
 public:
  explicit KubernetesVolume(std::string dir) : dir_(std::move(dir)) {}

  // Publish makes `files` the volume's contents and returns the new
  // generation's name. Aborts the test binary on failure.
  std::string Publish(const std::map<std::string, std::string>& files) {
    namespace fs = std::filesystem;
    std::string generation = absl::StrCat(
        "..",
        absl::FormatTime("%Y_%m_%d_%H_%M_%S", absl::Now(), absl::UTCTimeZone()),
        ".", absl::Dec(++sequence_, absl::kZeroPad9));
    fs::path root(dir_);
    fs::create_directories(root / generation, error_);
    Check(!error_);
    for (const auto& [name, contents] : files) {
      std::ofstream out(root / generation / name,
                        std::ios::binary | std::ios::trunc);
      out << contents;
      out.close();
      Check(static_cast<bool>(out));
    }
    for (const auto& [name, contents] : files) {
      if (!fs::is_symlink(fs::symlink_status(root / name))) {
        fs::create_symlink(fs::path("..data") / name, root / name, error_);
        Check(!error_);
      }
    }
    fs::remove(root / "..data_tmp", error_);
    fs::create_symlink(generation, root / "..data_tmp", error_);
    Check(!error_);
    fs::rename(root / "..data_tmp", root / "..data", error_);
    Check(!error_);
    if (!previous_.empty()) {
      fs::remove_all(root / previous_, error_);
      Check(!error_);
    }
    previous_ = generation;
    return generation;
  }

 private:
  void Check(bool ok) {
    if (ok) return;
    std::fprintf(stderr, "KubernetesVolume %s: %s\n", dir_.c_str(),
                 error_.message().c_str());
    std::abort();
  }

  std::string dir_;
  std::string previous_;
  int sequence_ = 0;
  std::error_code error_;
};

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_SUPPORT_KUBERNETES_VOLUME_H_

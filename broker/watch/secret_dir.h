// Reading the files of a Kubernetes Secret or ConfigMap volume as one
// consistent generation. Kubernetes mounts such a volume as
//
//   tls.crt -> ..data/tls.crt
//   ..data  -> ..2026_11_22_01_02_03.123456789   (the current generation)
//   ..2026_11_22_01_02_03.123456789/tls.crt      (regular files)
//
// and updates it by writing a new timestamped directory, pointing a
// `..data_tmp` symlink at it, renaming `..data_tmp` over `..data` (atomic)
// and removing the old directory. Reading tls.crt and then tls.key through
// the top-level links can straddle a swap and pair a new certificate with an
// old key; ReadSecretDir reads both from one generation instead. A plain
// directory of regular files (no `..data`) is read as it is.
#ifndef CERTBROKER_BROKER_WATCH_SECRET_DIR_H_
#define CERTBROKER_BROKER_WATCH_SECRET_DIR_H_

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/common/file.h"

namespace certbroker::watch {

// SecretFiles is one consistent read of a secret directory.
struct SecretFiles {
  // files maps each file name that was read to its contents. Required files
  // are always present; optional ones only when they exist.
  std::map<std::string, std::string> files;
  // generation is the target of `..data` the files were read from (for
  // example "..2026_11_22_01_02_03.123456789"), or "" for a plain directory.
  // Kubernetes never reuses a generation name, so a different generation
  // means different contents may have been published.
  std::string generation;
};

// kSecretDirReadAttempts is how many times ReadSecretDir tries to read one
// generation while `..data` keeps changing under it.
inline constexpr int kSecretDirReadAttempts = 5;

// ReadSecretDir reads `required` and `optional` (plain file names such as
// "tls.crt", no '/' and not starting with "..") from the secret directory
// `dir`, all from the same generation.
//
// When `dir/..data` is a symlink, it is resolved once, the files are read
// from the generation directory it names (not through the top-level links),
// and `..data` is resolved again afterwards; if it changed, the read is
// repeated, up to kSecretDirReadAttempts times, and then fails with
// UNAVAILABLE (retry later). Without `..data` the files are read from `dir`
// itself and no consistency across files is promised: a writer of a plain
// directory should replace each file atomically.
//
// Fails with INVALID_ARGUMENT for a bad file name, a `dir` that is not a
// directory, a file larger than `max_file_bytes` or one that is not a
// regular file; NOT_FOUND when `dir` or a required file is missing;
// FAILED_PRECONDITION when a file that exists (required or optional) is
// empty or `..data` is not a symlink; PERMISSION_DENIED when a file cannot
// be opened; UNAVAILABLE for other I/O errors. Every message names `dir`
// and the file.
absl::StatusOr<SecretFiles> ReadSecretDir(
    const std::string& dir, const std::vector<std::string>& required,
    const std::vector<std::string>& optional,
    size_t max_file_bytes = kMaxReadFileBytes);

}  // namespace certbroker::watch

#endif  // CERTBROKER_BROKER_WATCH_SECRET_DIR_H_

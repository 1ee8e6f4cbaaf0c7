// Reading whole files with a size cap and an error that names the path.
#ifndef CERTBROKER_BROKER_COMMON_FILE_H_
#define CERTBROKER_BROKER_COMMON_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace certbroker {

// kMaxReadFileBytes is the default cap of ReadFile: 16 MiB, far above any
// configuration or PEM file, small enough that a wrong path (a device, a
// log) fails fast instead of exhausting memory.
inline constexpr size_t kMaxReadFileBytes = 16 << 20;

// ErrnoStatus maps `error` (an errno value) to a status whose message is
// "<what>: <strerror>": NOT_FOUND (ENOENT, ENOTDIR), PERMISSION_DENIED
// (EACCES, EPERM), RESOURCE_EXHAUSTED (ENOSPC, EMFILE, ENFILE, ENOMEM),
// UNAVAILABLE otherwise.
absl::Status ErrnoStatus(int error, const std::string& what);

// ResolvePath makes a relative `path` relative to `base_dir`; an absolute
// or empty path, or an empty `base_dir`, leaves it as it is.
std::string ResolvePath(const std::string& base_dir, const std::string& path);

// ReadFile returns the contents of `path`. Fails with NOT_FOUND when it does
// not exist, PERMISSION_DENIED when it cannot be opened, INVALID_ARGUMENT
// when it is not a regular file or is larger than `max_bytes`; each message
// names the path.
absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     size_t max_bytes = kMaxReadFileBytes);

// WriteFileAtomically writes `contents` to `path` through a temporary file
// in the same directory and a rename, so readers never see a partial file.
// `mode` is the new file's permission bits.
absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& contents, int mode = 0644);

}  // namespace certbroker

#endif  // CERTBROKER_BROKER_COMMON_FILE_H_

// Consistent reads of Kubernetes secret volumes and plain directories.
#include "broker/watch/secret_dir.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "broker/common/file.h"
#include "broker/common/status_macros.h"

namespace certbroker::watch {
namespace {

constexpr char kDataLink[] = "..data";

std::string Prefix(const std::string& dir) {
  return absl::StrCat("secret directory ", dir, ": ");
}

absl::Status CheckDirectory(const std::string& dir) {
  struct stat info;
  if (::stat(dir.c_str(), &info) != 0) {
    return ErrnoStatus(errno, absl::StrCat(Prefix(dir), "cannot stat"));
  }
  if (!S_ISDIR(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Prefix(dir), "not a directory"));
  }
  return absl::OkStatus();
}

absl::Status CheckFileName(const std::string& dir, const std::string& name) {
  if (name.empty() || name == "." || absl::StartsWith(name, "..") ||
      name.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(Prefix(dir), "\"", name, "\" is not a plain file name"));
  }
  return absl::OkStatus();
}

// ResolveData returns the target of dir/..data, or "" when there is none.
absl::StatusOr<std::string> ResolveData(const std::string& dir) {
  std::string link = absl::StrCat(dir, "/", kDataLink);
  char buffer[PATH_MAX];
  ssize_t n = ::readlink(link.c_str(), buffer, sizeof(buffer));
  if (n < 0) {
    if (errno == ENOENT) return std::string();
    if (errno == EINVAL) {
      return absl::FailedPreconditionError(
          absl::StrCat(Prefix(dir), kDataLink, " is not a symlink"));
    }
    return ErrnoStatus(errno,
                       absl::StrCat(Prefix(dir), "cannot read ", kDataLink));
  }
  if (n == 0 || static_cast<size_t>(n) >= sizeof(buffer)) {
    return absl::FailedPreconditionError(absl::StrCat(
        Prefix(dir), kDataLink, " has an empty or overlong target"));
  }
  return std::string(buffer, static_cast<size_t>(n));
}

// ReadOne adds `name` from `source` to `files`. A missing optional file is
// skipped; every failure names `dir` and `name`.
absl::Status ReadOne(const std::string& dir, const std::string& source,
                     const std::string& name, bool required,
                     size_t max_file_bytes,
                     std::map<std::string, std::string>& files) {
  auto contents = ReadFile(absl::StrCat(source, "/", name), max_file_bytes);
  if (!contents.ok()) {
    if (absl::IsNotFound(contents.status())) {
      if (!required) return absl::OkStatus();
      return absl::NotFoundError(
          absl::StrCat(Prefix(dir), "required file ", name, " is missing"));
    }
    return absl::Status(contents.status().code(),
                        absl::StrCat(Prefix(dir), "file ", name, ": ",
                                     contents.status().message()));
  }
  if (contents->empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(Prefix(dir), "file ", name, " is empty"));
  }
  files[name] = *std::move(contents);
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>> ReadFrom(
    const std::string& dir, const std::string& source,
    const std::vector<std::string>& required,
    const std::vector<std::string>& optional, size_t max_file_bytes) {
  std::map<std::string, std::string> files;
  for (const std::string& name : required) {
    CB_RETURN_IF_ERROR(
        ReadOne(dir, source, name, /*required=*/true, max_file_bytes, files));
  }
  for (const std::string& name : optional) {
    CB_RETURN_IF_ERROR(
        ReadOne(dir, source, name, /*required=*/false, max_file_bytes, files));
  }
  return files;
}

}  // namespace

absl::StatusOr<SecretFiles> ReadSecretDir(
    const std::string& dir, const std::vector<std::string>& required,
    const std::vector<std::string>& optional, size_t max_file_bytes) {
  for (const std::string& name : required) {
    CB_RETURN_IF_ERROR(CheckFileName(dir, name));
  }
  for (const std::string& name : optional) {
    CB_RETURN_IF_ERROR(CheckFileName(dir, name));
  }
  CB_RETURN_IF_ERROR(CheckDirectory(dir));
  for (int attempt = 0; attempt < kSecretDirReadAttempts; ++attempt) {
    // A short pause lets a publisher that is mid-swap finish.
    if (attempt > 0) absl::SleepFor(absl::Milliseconds(attempt));
    CB_ASSIGN_OR_RETURN(std::string before, ResolveData(dir));
    std::string source = dir;
    if (!before.empty()) {
      source = before[0] == '/' ? before : absl::StrCat(dir, "/", before);
    }
    auto files = ReadFrom(dir, source, required, optional, max_file_bytes);
    // Errors are reported only when ..data did not move: a generation that
    // vanished mid-read (its directory removed) is a retry, not a failure.
    CB_ASSIGN_OR_RETURN(std::string after, ResolveData(dir));
    if (after != before) continue;
    if (!files.ok()) return files.status();
    SecretFiles result;
    result.files = *std::move(files);
    result.generation = std::move(before);
    return result;
  }
  return absl::UnavailableError(absl::StrCat(
      Prefix(dir), kDataLink, " changed during each of ",
      kSecretDirReadAttempts, " attempts to read one generation; retry later"));
}

}  // namespace certbroker::watch

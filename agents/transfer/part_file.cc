// PartFile: the part file, its sidecar and the completing rename, with
// POSIX calls (fsync before rename, then the directory's fsync).
#include "agents/transfer/part_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace certbroker::transfer {
namespace {

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", strerror(errno)));
}

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status WriteAll(int fd, const void* data, size_t size,
                      const std::string& path) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, bytes, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot write", path);
    bytes += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// RenameIntoPlace syncs `fd` (the part file), renames it to the target,
// syncs the directory and removes the sidecar.
absl::Status RenameIntoPlace(int fd, const std::string& part_path,
                             const std::string& target_path,
                             const std::string& meta_path) {
  if (::fsync(fd) != 0) return Errno("cannot sync", part_path);
  if (::rename(part_path.c_str(), target_path.c_str()) != 0) {
    return Errno(absl::StrCat("cannot rename ", part_path, " to"), target_path);
  }
  std::string directory = DirectoryOf(target_path);
  int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  ::unlink(meta_path.c_str());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PartFile>> PartFile::Open(
    const std::string& target_path, const std::string& url, bool hash) {
  auto part = std::unique_ptr<PartFile>(new PartFile());
  part->hash_ = hash;
  part->target_path_ = target_path;
  part->part_path_ = target_path + kPartSuffix;
  part->meta_path_ = target_path + kMetaSuffix;
  part->url_ = url;
  struct stat target_stat;
  if (::stat(target_path.c_str(), &target_stat) == 0 &&
      S_ISDIR(target_stat.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the destination ", target_path, " is a directory"));
  }
  part->fd_ =
      ::open(part->part_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (part->fd_ < 0) return Errno("cannot create", part->part_path_);
  struct stat part_stat;
  if (::fstat(part->fd_, &part_stat) != 0) {
    return Errno("cannot stat", part->part_path_);
  }
  part->size_ = static_cast<uint64_t>(part_stat.st_size);
  SHA256_Init(&part->sha_);

  std::ifstream meta(part->meta_path_);
  std::string line;
  std::string meta_url;
  std::string validator;
  while (std::getline(meta, line)) {
    std::vector<std::string> field =
        absl::StrSplit(line, absl::MaxSplits(' ', 1));
    if (field.size() != 2) continue;
    if (field[0] == "url") meta_url = field[1];
    if (field[0] == "validator") validator = field[1];
  }
  if (meta_url == url) part->validator_ = validator;
  return part;
}

PartFile::~PartFile() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status PartFile::Restart() {
  if (::ftruncate(fd_, 0) != 0) return Errno("cannot truncate", part_path_);
  if (::lseek(fd_, 0, SEEK_SET) < 0) return Errno("cannot seek", part_path_);
  size_ = 0;
  written_back_ = 0;
  SHA256_Init(&sha_);
  return SetValidator("");
}

absl::Status PartFile::SetValidator(const std::string& validator) {
  validator_ = validator;
  if (validator.empty()) {
    if (::unlink(meta_path_.c_str()) != 0 && errno != ENOENT) {
      return Errno("cannot remove", meta_path_);
    }
    return absl::OkStatus();
  }
  std::string text =
      absl::StrCat("url ", url_, "\nvalidator ", validator, "\n");
  std::string temporary = meta_path_ + ".new";
  int fd =
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", temporary);
  absl::Status written = WriteAll(fd, text.data(), text.size(), temporary);
  if (written.ok() && ::fsync(fd) != 0)
    written = Errno("cannot sync", temporary);
  ::close(fd);
  if (!written.ok()) {
    ::unlink(temporary.c_str());
    return written;
  }
  if (::rename(temporary.c_str(), meta_path_.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return Errno("cannot rename to", meta_path_);
  }
  return absl::OkStatus();
}

absl::Status PartFile::ContinueAfterExisting() {
  SHA256_Init(&sha_);
  written_back_ = size_;
  if (!hash_) {
    if (::lseek(fd_, 0, SEEK_END) < 0) return Errno("cannot seek", part_path_);
    return absl::OkStatus();
  }
  if (::lseek(fd_, 0, SEEK_SET) < 0) return Errno("cannot seek", part_path_);
  std::vector<char> buffer(1 << 16);
  uint64_t hashed = 0;
  while (hashed < size_) {
    ssize_t n = ::read(fd_, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot read", part_path_);
    if (n == 0) break;
    SHA256_Update(&sha_, buffer.data(), static_cast<size_t>(n));
    hashed += static_cast<uint64_t>(n);
  }
  if (hashed != size_) {
    return absl::InternalError(
        absl::StrCat(part_path_, " shrank while it was read"));
  }
  if (::lseek(fd_, 0, SEEK_END) < 0) return Errno("cannot seek", part_path_);
  return absl::OkStatus();
}

absl::Status PartFile::Append(const void* data, size_t size) {
  absl::Status written = WriteAll(fd_, data, size, part_path_);
  if (!written.ok()) return written;
  if (hash_) SHA256_Update(&sha_, data, size);
  size_ += size;
  // Start the writeback of every 8 MiB as it is written, so that the fsync
  // before the rename does not wait for the whole file.
  constexpr uint64_t kWriteback = 8 << 20;
  if (size_ - written_back_ >= kWriteback) {
    ::sync_file_range(fd_, static_cast<off_t>(written_back_),
                      static_cast<off_t>(size_ - written_back_),
                      SYNC_FILE_RANGE_WRITE);
    written_back_ = size_;
  }
  return absl::OkStatus();
}

std::string PartFile::Sha256Hex() const {
  if (!hash_) return "";
  SHA256_CTX copy = sha_;
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &copy);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

absl::Status PartFile::TruncateTo(uint64_t size) {
  if (size > size_) {
    return absl::FailedPreconditionError(
        absl::StrCat(part_path_, " has ", size_, " bytes, fewer than ", size));
  }
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
    return Errno("cannot truncate", part_path_);
  }
  if (::lseek(fd_, 0, SEEK_END) < 0) return Errno("cannot seek", part_path_);
  size_ = size;
  written_back_ = std::min(written_back_, size);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> PartFile::Sync() {
  if (fd_ < 0) return absl::FailedPreconditionError(part_path_ + " is closed");
  if (::fdatasync(fd_) != 0) return Errno("cannot sync", part_path_);
  return size_;
}

absl::Status PartFile::Commit() {
  return RenameIntoPlace(fd_, part_path_, target_path_, meta_path_);
}

absl::Status PartFile::CommitExisting(const std::string& target_path) {
  std::string part_path = target_path + kPartSuffix;
  int fd = ::open(part_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    return absl::NotFoundError(absl::StrCat("no part file ", part_path));
  }
  if (fd < 0) return Errno("cannot open", part_path);
  absl::Status committed =
      RenameIntoPlace(fd, part_path, target_path, target_path + kMetaSuffix);
  ::close(fd);
  return committed;
}

absl::Status PartFile::Remove(const std::string& target_path) {
  for (const std::string& path :
       {target_path + kPartSuffix, target_path + kMetaSuffix}) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Errno("cannot remove", path);
    }
  }
  return absl::OkStatus();
}

bool IsSha256Hex(const std::string& text) {
  if (text.size() != 2 * SHA256_DIGEST_LENGTH) return false;
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

uint64_t PartFile::SyncExisting(const std::string& target_path) {
  std::string part = target_path + kPartSuffix;
  int fd = ::open(part.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat info;
  uint64_t size = 0;
  if (::fdatasync(fd) == 0 && ::fstat(fd, &info) == 0) size = info.st_size;
  ::close(fd);
  return size;
}

absl::StatusOr<std::string> PartFile::Sha256OfFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    return absl::NotFoundError(absl::StrCat("no file ", path));
  }
  if (fd < 0) return Errno("cannot open", path);
  SHA256_CTX sha;
  SHA256_Init(&sha);
  std::vector<uint8_t> block(1 << 20);
  while (true) {
    ssize_t n = ::read(fd, block.data(), block.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status failed = Errno("cannot read", path);
      ::close(fd);
      return failed;
    }
    if (n == 0) break;
    SHA256_Update(&sha, block.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &sha);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

void PartFile::Discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(part_path_.c_str());
  ::unlink(meta_path_.c_str());
}

}  // namespace certbroker::transfer

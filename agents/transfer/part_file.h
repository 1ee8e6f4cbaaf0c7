// part_file.h: the temporary file a download writes beside its target
// (TARGET.certbroker-part), the sidecar that remembers the server's
// validator for a later resume (TARGET.certbroker-part.meta), and the
// atomic rename that completes it.
#ifndef CERTBROKER_AGENTS_TRANSFER_PART_FILE_H_
#define CERTBROKER_AGENTS_TRANSFER_PART_FILE_H_

#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace certbroker::transfer {

// PartFile is the part file of one target, open for writing. Not
// thread-safe. The destructor closes the file and leaves it in place.
// IsSha256Hex is true for 64 hex digits (any case): a SHA-256 as the
// transfer agent's flags and requests give it.
bool IsSha256Hex(const std::string& text);

class PartFile {
 public:
  // kPartSuffix and kMetaSuffix name the files beside the target.
  static constexpr const char* kPartSuffix = ".certbroker-part";
  static constexpr const char* kMetaSuffix = ".certbroker-part.meta";

  // Open opens (creating it if needed) target_path's part file and reads its
  // sidecar. The validator is kept only when the sidecar names the same
  // `url`. Fails (with errno's text and the path) when the part file cannot
  // be created or opened, for instance in an unwritable directory; nothing
  // is created then. With `hash`, the bytes are hashed (Sha256Hex).
  static absl::StatusOr<std::unique_ptr<PartFile>> Open(
      const std::string& target_path, const std::string& url, bool hash);
  ~PartFile();
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;

  // size is the number of bytes in the part file.
  uint64_t size() const { return size_; }
  // validator is the ETag (else Last-Modified) the bytes came with, empty
  // when unknown (then a resume is not possible).
  const std::string& validator() const { return validator_; }
  // part_path is the part file's path.
  const std::string& part_path() const { return part_path_; }

  // Restart empties the part file and forgets the validator.
  absl::Status Restart();
  // SetValidator records the validator of the bytes being written, in the
  // sidecar (written and synced before the first byte of the body), or
  // removes the sidecar when `validator` is empty.
  absl::Status SetValidator(const std::string& validator);
  // ContinueAfterExisting hashes the bytes already there (when hashing) so
  // that Sha256Hex covers the whole file, and positions writes at the end.
  absl::Status ContinueAfterExisting();
  // Append writes `size` bytes at the end.
  absl::Status Append(const void* data, size_t size);
  // Sha256Hex is the SHA-256 (lowercase hex) of everything written or
  // hashed so far; empty when not hashing.
  std::string Sha256Hex() const;
  // TruncateTo cuts the part file to `size` bytes, which must not exceed
  // size() (FAILED_PRECONDITION otherwise), and positions writes there.
  absl::Status TruncateTo(uint64_t size);
  // Sync makes the written bytes durable (fdatasync) and returns their
  // number.
  absl::StatusOr<uint64_t> Sync();
  // Commit syncs the part file, renames it to the target atomically, syncs
  // the directory and removes the sidecar.
  absl::Status Commit();
  // Discard closes and removes the part file and its sidecar.
  void Discard();

  // CommitExisting does what Commit does for target_path's part file left
  // by an earlier, verified download (the file is not checked again).
  // NOT_FOUND when there is no part file.
  static absl::Status CommitExisting(const std::string& target_path);
  // Remove deletes target_path's part file and sidecar; absent ones are no
  // error.
  static absl::Status Remove(const std::string& target_path);
  // SyncExisting makes target_path's part file durable (fdatasync) and
  // returns its size: 0 when there is none or it cannot be synced (then
  // nothing of it may be counted on).
  static uint64_t SyncExisting(const std::string& target_path);
  // Sha256OfFile reads the file at `path` and returns its SHA-256
  // (lowercase hex); NOT_FOUND when it does not exist.
  static absl::StatusOr<std::string> Sha256OfFile(const std::string& path);

 private:
  PartFile() = default;

  std::string target_path_;
  std::string part_path_;
  std::string meta_path_;
  std::string url_;
  std::string validator_;
  int fd_ = -1;
  uint64_t size_ = 0;
  bool hash_ = false;
  uint64_t written_back_ = 0;  // Bytes whose writeback was started.
  SHA256_CTX sha_;
};

}  // namespace certbroker::transfer

#endif  // CERTBROKER_AGENTS_TRANSFER_PART_FILE_H_

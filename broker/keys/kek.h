// Key-encryption keys (KEKs): the 32-byte AES-256 keys that wrap each sealed
// private key's data key, read from a file (in production a Kubernetes Secret
// mount), each with an id derived from the key so rotation can tell them
// apart without revealing anything about them.
#ifndef CERTBROKER_BROKER_KEYS_KEK_H_
#define CERTBROKER_BROKER_KEYS_KEK_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/keys/secret.h"

namespace certbroker::keys {

// kKekIdBytes is the size of a KEK id; Kek::id() is its lowercase hex.
inline constexpr size_t kKekIdBytes = 8;

// kMaxKekFileBytes caps what Kek::FromFile reads: a KEK file is at most 64
// hex digits and some whitespace, so anything bigger is the wrong file.
inline constexpr size_t kMaxKekFileBytes = 4096;

// KekFileOptions tunes Kek::FromFile.
struct KekFileOptions {
  // allow_insecure_permissions accepts a KEK file that its group or others
  // may access (any of the mode bits 077 set). Off by default, because such a
  // file hands every key the broker stores to whoever can read it. Turn it on
  // only where the mode cannot be made owner-only and access is restricted
  // otherwise (for instance a Kubernetes Secret volume mounted with an
  // fsGroup, which adds group read). For a Secret volume prefer
  // `defaultMode: 0400` (or an item `mode: 0400`), which needs no option.
  bool allow_insecure_permissions = false;
  // insecure_permissions_hint ends the error for such a file, telling how
  // to allow it where FromFile is called (a program names its own flag).
  std::string insecure_permissions_hint = "set allow_insecure_permissions";
};

// Kek is a key-encryption key. Its material never leaves the object except
// into the encryption that KeyRing performs; the only way to print a Kek is
// operator<<, which prints its id. Every copy wipes its material with
// OPENSSL_cleanse when destroyed. Immutable, so safe to share across threads.
class Kek {
 public:
  // kBytes is the size of a KEK.
  static constexpr size_t kBytes = kSymmetricKeyBytes;

  // FromBytes makes a KEK from exactly 32 raw bytes. Fails with
  // INVALID_ARGUMENT (which says how many bytes it got) otherwise.
  static absl::StatusOr<Kek> FromBytes(absl::string_view raw);

  // FromFile reads the KEK in the file at `path` (symbolic links are
  // followed, as Kubernetes Secret mounts use them). The file holds one of:
  //  * exactly 32 raw bytes (binary, not text: 32 printable characters are
  //    refused rather than taken as a weak key);
  //  * 64 hex digits (either case), surrounding whitespace ignored;
  //  * standard padded base64 of 32 bytes (as `openssl rand -base64 32`
  //    prints), surrounding whitespace ignored.
  // Fails with NOT_FOUND when `path` does not exist; PERMISSION_DENIED when
  // it cannot be opened; FAILED_PRECONDITION when its group or others have
  // any access and `options.allow_insecure_permissions` is off;
  // INVALID_ARGUMENT when it is not a regular file, is larger than
  // kMaxKekFileBytes, or its contents are none of the above (empty, too short,
  // too long, neither hex nor base64). Every message names `path` and never
  // quotes the contents. Buffers that held the contents are wiped.
  static absl::StatusOr<Kek> FromFile(const std::string& path,
                                      const KekFileOptions& options = {});

  // FromFileContents parses `contents` as FromFile does the file's contents;
  // `source` names them in errors. For KEKs that arrive by other means.
  static absl::StatusOr<Kek> FromFileContents(absl::string_view contents,
                                              absl::string_view source);

  // Generate makes a KEK from fresh random bytes (tests and tooling).
  static Kek Generate();

  // id identifies the KEK: the lowercase hex of the first 8 bytes of
  // SHA-256("certbroker KEK id v1" || 0x00 || key). The same key always has
  // the same id; a one-way hash of the whole key, truncated, tells an
  // observer nothing useful about it.
  const std::string& id() const { return id_; }

  // raw_id is id() as the 8 bytes sealed keys record.
  const std::array<uint8_t, kKekIdBytes>& raw_id() const { return raw_id_; }

  // operator<< prints "KEK <id>" and nothing of the key.
  friend std::ostream& operator<<(std::ostream& out, const Kek& kek) {
    return out << "KEK " << kek.id_;
  }

 private:
  friend class KeyRing;

  explicit Kek(const SymmetricKey& key);

  const SymmetricKey& key() const { return key_; }

  SymmetricKey key_;
  std::array<uint8_t, kKekIdBytes> raw_id_;
  std::string id_;
};

// KekIdToHex formats a raw KEK id the way Kek::id() does.
std::string KekIdToHex(const std::array<uint8_t, kKekIdBytes>& raw_id);

}  // namespace certbroker::keys

#endif  // CERTBROKER_BROKER_KEYS_KEK_H_

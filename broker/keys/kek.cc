// KEKs from raw bytes, and their ids.
#include "broker/keys/kek.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "broker/x509/boringssl.h"

namespace certbroker::keys {
namespace {

// kKekIdLabel separates the id hash from any other hash of the key; the
// NUL that follows it in the hash input ends the label unambiguously.
constexpr absl::string_view kKekIdLabel = "certbroker KEK id v1";

}  // namespace

Kek::Kek(const SymmetricKey& key) : key_(key) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256_CTX sha;
  SHA256_Init(&sha);
  SHA256_Update(&sha, kKekIdLabel.data(), kKekIdLabel.size());
  const uint8_t separator = 0;
  SHA256_Update(&sha, &separator, 1);
  SHA256_Update(&sha, key_.data(), key_.size());
  SHA256_Final(digest, &sha);
  // The hash state buffered key bytes.
  OPENSSL_cleanse(&sha, sizeof(sha));
  std::memcpy(raw_id_.data(), digest, raw_id_.size());
  OPENSSL_cleanse(digest, sizeof(digest));
  id_ = KekIdToHex(raw_id_);
}

absl::StatusOr<Kek> Kek::FromBytes(absl::string_view raw) {
  if (raw.size() != kBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a KEK must be exactly ", kBytes, " bytes, got ", raw.size()));
  }
  SymmetricKey key;
  std::memcpy(key.data(), raw.data(), kBytes);
  return Kek(key);
}

Kek Kek::Generate() { return Kek(SymmetricKey::Random()); }

std::string KekIdToHex(const std::array<uint8_t, kKekIdBytes>& raw_id) {
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(raw_id.data()), raw_id.size()));
}

}  // namespace certbroker::keys

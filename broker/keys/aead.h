// AES-256-GCM through BoringSSL's EVP_AEAD, with a fresh random 96-bit nonce
// for every encryption. The one place this component calls the cipher.
#ifndef CERTBROKER_BROKER_KEYS_AEAD_H_
#define CERTBROKER_BROKER_KEYS_AEAD_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/keys/secret.h"

namespace certbroker::keys {

// kAeadNonceBytes and kAeadTagBytes are AES-256-GCM's nonce and tag sizes.
inline constexpr size_t kAeadNonceBytes = 12;
inline constexpr size_t kAeadTagBytes = 16;

using AeadNonce = std::array<uint8_t, kAeadNonceBytes>;

// AeadSealed is one encryption's output: the nonce it drew and the
// ciphertext followed by the tag.
struct AeadSealed {
  AeadNonce nonce;
  std::string ciphertext_and_tag;
};

// AeadSeal encrypts `plaintext` under `key` with `aad` authenticated, using a
// nonce drawn from RAND_bytes. Random nonces keep (key, nonce) pairs unique
// without state; for one key they stay safe up to 2^32 encryptions, far above
// what a KEK seals. Fails with INTERNAL only if BoringSSL does.
absl::StatusOr<AeadSealed> AeadSeal(const SymmetricKey& key,
                                    absl::string_view plaintext,
                                    absl::string_view aad);

// AeadOpen authenticates and decrypts `ciphertext_and_tag` into `out`, which
// it resizes to the plaintext's length. Returns false, with `out` wiped and
// empty, when the tag does not match (wrong key, wrong `aad`, altered bytes)
// or the input is shorter than a tag. The caller wipes `out` after use.
bool AeadOpen(const SymmetricKey& key, const AeadNonce& nonce,
              absl::string_view ciphertext_and_tag, absl::string_view aad,
              std::string& out);

}  // namespace certbroker::keys

#endif  // CERTBROKER_BROKER_KEYS_AEAD_H_

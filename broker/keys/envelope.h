// The sealed-key envelope: the versioned binary form a private key is stored
// in, and its strict parser. Encryption is KeyRing's; this file only lays
// bytes out and checks them.
//
// Version 1, all integers big-endian, every field fixed-size except the
// payload, whose length is recorded:
//
//   offset  size  field
//        0     4  magic "CBSK" (Certbroker Sealed Key)
//        4     1  version, 0x01
//        5     8  KEK id: the KEK that wrapped the data key (Kek::raw_id)
//       13    12  DEK nonce, random
//       25    48  wrapped DEK: AES-256-GCM(KEK, 32-byte DEK) || 16-byte tag
//       73    12  payload nonce, random
//       85     4  N, the payload's length: 17 <= N <= kMaxSealedPlaintextBytes
//       + 16 89     N  payload: AES-256-GCM(DEK, PKCS#8 private key) || 16-byte
//       tag
//
// The total is exactly 89 + N bytes; anything shorter or longer is refused.
// The associated data binds each ciphertext to where it belongs:
//   wrapped DEK: "certbroker sealed key v1 DEK" 0x00 || KEK id || certificate
//   id payload:     "certbroker sealed key v1 payload" 0x00 || certificate id
// The payload's associated data leaves out the KEK id so that rewrapping (a
// new KEK for the same DEK) keeps the payload as it is.
#ifndef CERTBROKER_BROKER_KEYS_ENVELOPE_H_
#define CERTBROKER_BROKER_KEYS_ENVELOPE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/keys/aead.h"
#include "broker/keys/kek.h"

namespace certbroker::keys {

inline constexpr absl::string_view kSealedKeyMagic = "CBSK";
inline constexpr uint8_t kSealedKeyVersion = 1;

// kWrappedDekBytes is the size of the wrapped DEK: a key and a tag.
inline constexpr size_t kWrappedDekBytes = kSymmetricKeyBytes + kAeadTagBytes;

// kSealedKeyHeaderBytes is everything before the payload.
inline constexpr size_t kSealedKeyHeaderBytes =
    4 + 1 + kKekIdBytes + kAeadNonceBytes + kWrappedDekBytes + kAeadNonceBytes +
    4;

// kMaxSealedPlaintextBytes caps what one envelope holds: 64 KiB, over ten
// times an RSA-8192 PKCS#8 key.
inline constexpr size_t kMaxSealedPlaintextBytes = 64 << 10;

// SealedKeyEnvelope is a parsed envelope, version 1.
struct SealedKeyEnvelope {
  std::array<uint8_t, kKekIdBytes> kek_id{};
  AeadNonce dek_nonce{};
  std::string wrapped_dek;  // kWrappedDekBytes.
  AeadNonce payload_nonce{};
  std::string payload;  // Ciphertext || tag.
};

// SerializeSealedKey lays `envelope` out as described above. The sizes of
// wrapped_dek and payload are the caller's to get right.
std::string SerializeSealedKey(const SealedKeyEnvelope& envelope);

// ParseSealedKey parses `sealed` strictly. Fails with DATA_LOSS, saying
// what is wrong, when it is truncated, does not start with the magic, has a
// version other than 1, a payload length out of range, or bytes after the
// payload. Never reads out of bounds, whatever the input.
absl::StatusOr<SealedKeyEnvelope> ParseSealedKey(absl::string_view sealed);

// DekAssociatedData and PayloadAssociatedData build the associated data
// described above.
std::string DekAssociatedData(const std::array<uint8_t, kKekIdBytes>& kek_id,
                              absl::string_view certificate_id);
std::string PayloadAssociatedData(absl::string_view certificate_id);

}  // namespace certbroker::keys

#endif  // CERTBROKER_BROKER_KEYS_ENVELOPE_H_

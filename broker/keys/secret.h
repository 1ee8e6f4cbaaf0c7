// Secret bytes in memory: a fixed-size symmetric key that wipes itself, and
// wiping of strings that held key material. Nothing here prints a secret.
#ifndef CERTBROKER_BROKER_KEYS_SECRET_H_
#define CERTBROKER_BROKER_KEYS_SECRET_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace certbroker::keys {

// kSymmetricKeyBytes is the size of every key this component handles: KEKs
// and data keys are AES-256 keys.
inline constexpr size_t kSymmetricKeyBytes = 32;

// SymmetricKey is 32 bytes of key material, wiped with OPENSSL_cleanse when
// the object is destroyed. Copies are independent and each wipes itself;
// moving copies (there is no cheaper move for a fixed array), so the source
// still holds the bytes until it is destroyed in turn.
class SymmetricKey {
 public:
  // SymmetricKey makes an all-zero key, to be filled through data().
  SymmetricKey() : bytes_{} {}
  ~SymmetricKey();
  SymmetricKey(const SymmetricKey&) = default;
  SymmetricKey& operator=(const SymmetricKey&) = default;

  // Random returns a key of fresh bytes from BoringSSL's RAND_bytes.
  static SymmetricKey Random();

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  static constexpr size_t size() { return kSymmetricKeyBytes; }

  // view returns the key bytes, for handing to an encryption; never log it.
  absl::string_view view() const {
    return absl::string_view(reinterpret_cast<const char*>(bytes_.data()),
                             bytes_.size());
  }

 private:
  std::array<uint8_t, kSymmetricKeyBytes> bytes_;
};

// WipeString overwrites every byte `value` owns (its whole capacity, not
// only its size) with OPENSSL_cleanse and leaves it empty. Call it on strings
// that held plaintext keys, such as KeyRing::Open's result, once done.
void WipeString(std::string& value);

}  // namespace certbroker::keys

#endif  // CERTBROKER_BROKER_KEYS_SECRET_H_

// KeyRing seals private keys for storage and opens them again: the current
// KEK seals, any loaded KEK opens, and Rewrap moves a sealed key to the
// current KEK during rotation. See envelope.h for the stored format.
#ifndef CERTBROKER_BROKER_KEYS_KEY_RING_H_
#define CERTBROKER_BROKER_KEYS_KEY_RING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/keys/envelope.h"
#include "broker/keys/kek.h"

namespace certbroker::keys {

// KeyRing holds the current KEK and older KEKs still accepted for opening.
//
// Sealing draws a fresh random 32-byte data key (DEK) per call, encrypts the
// plaintext under it with AES-256-GCM, and wraps the DEK under the current
// KEK, also with AES-256-GCM (chosen over AES-KW because GCM authenticates
// associated data: the KEK id and the certificate id are bound to the
// wrapped DEK, which AES-KW cannot do). Both encryptions bind the
// certificate id, so a sealed key moved to another certificate id does not
// open. Every nonce is 96 random bits; a DEK encrypts exactly one payload.
//
// Error codes, the same for Open, Rewrap and SealedKekId:
//  * INVALID_ARGUMENT: the caller's input is wrong (empty certificate id,
//    empty or oversized plaintext).
//  * DATA_LOSS: the sealed bytes are unusable: malformed (truncated,
//    trailing bytes, bad magic, unknown version) or failing authentication
//    ("authentication failed for certificate '<id>': the sealed key was
//    altered or belongs to another certificate"). Retrying cannot help.
//  * FAILED_PRECONDITION: the sealed key is intact as far as can be told but
//    its KEK is not loaded ("sealed with KEK <id>, which is not loaded
//    (loaded: <ids>)"): load that KEK and retry.
//  * INTERNAL: BoringSSL failed to encrypt.
// Every message names the certificate id. Immutable after construction, so
// one KeyRing may be used from many threads.
class KeyRing {
 public:
  // KeyRing seals with `current` and opens with `current` or any of
  // `previous`. A previous KEK equal to the current one is harmless.
  explicit KeyRing(Kek current, std::vector<Kek> previous = {});

  // current returns the KEK that seals.
  const Kek& current() const { return keks_.front(); }

  // KekIds returns the ids of the loaded KEKs, the current one first.
  std::vector<std::string> KekIds() const;

  // Seal encrypts `plaintext_pkcs8` (a private key; any non-empty bytes up to
  // kMaxSealedPlaintextBytes) for `certificate_id` and returns the envelope.
  // Two seals of the same input differ. Intermediate buffers and the DEK are
  // wiped.
  absl::StatusOr<std::string> Seal(absl::string_view plaintext_pkcs8,
                                   absl::string_view certificate_id) const;

  // Open returns the plaintext sealed for `certificate_id`. The caller owns
  // the result and should wipe it (WipeString) when done. Never returns
  // plaintext from bytes that fail authentication.
  absl::StatusOr<std::string> Open(absl::string_view sealed,
                                   absl::string_view certificate_id) const;

  // Rewrap returns `sealed` with its DEK wrapped by the current KEK instead
  // of the one that sealed it; the payload ciphertext is kept. The whole
  // envelope is authenticated first (a tampered payload fails here, not at
  // the next Open). When `sealed` is already under the current KEK it is
  // returned unchanged, so callers can skip rewriting it.
  absl::StatusOr<std::string> Rewrap(absl::string_view sealed,
                                     absl::string_view certificate_id) const;

  // SealedKekId returns the id of the KEK that `sealed` names, for reporting
  // and to find keys still under an old KEK. It parses the envelope strictly
  // but cannot authenticate it (no key): DATA_LOSS when it is malformed.
  static absl::StatusOr<std::string> SealedKekId(absl::string_view sealed);

 private:
  // Find returns the loaded KEK with `kek_id`, or null.
  const Kek* Find(const std::array<uint8_t, kKekIdBytes>& kek_id) const;

  // OpenEnvelope authenticates `envelope` for `certificate_id`, leaving the
  // DEK in `dek` and the plaintext in `plaintext`. Errors are complete
  // messages; `action` ("open", "rewrap") words them.
  absl::Status OpenEnvelope(const SealedKeyEnvelope& envelope,
                            absl::string_view certificate_id,
                            absl::string_view action, SymmetricKey& dek,
                            std::string& plaintext) const;

  // WrapDek wraps `dek` under the current KEK into `envelope`.
  absl::Status WrapDek(const SymmetricKey& dek,
                       absl::string_view certificate_id,
                       SealedKeyEnvelope& envelope) const;

  std::vector<Kek> keks_;  // keks_[0] is the current KEK.
};

}  // namespace certbroker::keys

#endif  // CERTBROKER_BROKER_KEYS_KEY_RING_H_

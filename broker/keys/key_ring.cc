// Sealing, opening and rewrapping private keys with a DEK per key and
// AES-256-GCM at both levels.
#include "broker/keys/key_ring.h"

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/status_macros.h"
#include "broker/keys/aead.h"

namespace certbroker::keys {
namespace {

absl::Status CheckCertificateId(absl::string_view certificate_id) {
  if (certificate_id.empty()) {
    return absl::InvalidArgumentError(
        "a sealed key needs a certificate id, got an empty one");
  }
  return absl::OkStatus();
}

// Prefixed returns `status` with its message prefixed by what was being
// done to which certificate's key.
absl::Status Prefixed(const absl::Status& status, absl::string_view action,
                      absl::string_view certificate_id) {
  return absl::Status(
      status.code(),
      absl::StrCat("cannot ", action, " the key of certificate '",
                   certificate_id, "': ", status.message()));
}

absl::Status AuthenticationFailed(absl::string_view certificate_id) {
  return absl::DataLossError(absl::StrCat(
      "authentication failed for certificate '", certificate_id,
      "': the sealed key was altered or belongs to another certificate"));
}

// WipedString is a string wiped when it goes out of scope.
struct WipedString {
  ~WipedString() { WipeString(value); }
  std::string value;
};

}  // namespace

KeyRing::KeyRing(Kek current, std::vector<Kek> previous) {
  keks_.reserve(previous.size() + 1);
  keks_.push_back(std::move(current));
  for (Kek& kek : previous) keks_.push_back(std::move(kek));
}

std::vector<std::string> KeyRing::KekIds() const {
  std::vector<std::string> ids;
  ids.reserve(keks_.size());
  for (const Kek& kek : keks_) ids.push_back(kek.id());
  return ids;
}

const Kek* KeyRing::Find(const std::array<uint8_t, kKekIdBytes>& kek_id) const {
  for (const Kek& kek : keks_) {
    if (kek.raw_id() == kek_id) return &kek;
  }
  return nullptr;
}

absl::Status KeyRing::WrapDek(const SymmetricKey& dek,
                              absl::string_view certificate_id,
                              SealedKeyEnvelope& envelope) const {
  const Kek& kek = current();
  envelope.kek_id = kek.raw_id();
  CB_ASSIGN_OR_RETURN(
      AeadSealed wrapped,
      AeadSeal(kek.key(), dek.view(),
               DekAssociatedData(envelope.kek_id, certificate_id)));
  envelope.dek_nonce = wrapped.nonce;
  envelope.wrapped_dek = std::move(wrapped.ciphertext_and_tag);
  return absl::OkStatus();
}

absl::Status KeyRing::OpenEnvelope(const SealedKeyEnvelope& envelope,
                                   absl::string_view certificate_id,
                                   absl::string_view action, SymmetricKey& dek,
                                   std::string& plaintext) const {
  const Kek* kek = Find(envelope.kek_id);
  if (kek == nullptr) {
    return Prefixed(absl::FailedPreconditionError(absl::StrCat(
                        "sealed with KEK ", KekIdToHex(envelope.kek_id),
                        ", which is not loaded (loaded: ",
                        absl::StrJoin(KekIds(), ", "), ")")),
                    action, certificate_id);
  }
  WipedString dek_bytes;
  if (!AeadOpen(kek->key(), envelope.dek_nonce, envelope.wrapped_dek,
                DekAssociatedData(envelope.kek_id, certificate_id),
                dek_bytes.value) ||
      dek_bytes.value.size() != dek.size()) {
    return AuthenticationFailed(certificate_id);
  }
  std::memcpy(dek.data(), dek_bytes.value.data(), dek.size());
  if (!AeadOpen(dek, envelope.payload_nonce, envelope.payload,
                PayloadAssociatedData(certificate_id), plaintext)) {
    return AuthenticationFailed(certificate_id);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> KeyRing::Seal(
    absl::string_view plaintext_pkcs8, absl::string_view certificate_id) const {
  CB_RETURN_IF_ERROR(CheckCertificateId(certificate_id));
  if (plaintext_pkcs8.empty() ||
      plaintext_pkcs8.size() > kMaxSealedPlaintextBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot seal the key of certificate '", certificate_id, "': it is ",
        plaintext_pkcs8.size(), " bytes, and a sealed key holds 1 to ",
        kMaxSealedPlaintextBytes));
  }
  const SymmetricKey dek = SymmetricKey::Random();
  SealedKeyEnvelope envelope;
  absl::StatusOr<AeadSealed> payload =
      AeadSeal(dek, plaintext_pkcs8, PayloadAssociatedData(certificate_id));
  if (!payload.ok()) return Prefixed(payload.status(), "seal", certificate_id);
  envelope.payload_nonce = payload->nonce;
  envelope.payload = std::move(payload->ciphertext_and_tag);
  absl::Status wrapped = WrapDek(dek, certificate_id, envelope);
  if (!wrapped.ok()) return Prefixed(wrapped, "seal", certificate_id);
  return SerializeSealedKey(envelope);
}

absl::StatusOr<std::string> KeyRing::Open(
    absl::string_view sealed, absl::string_view certificate_id) const {
  CB_RETURN_IF_ERROR(CheckCertificateId(certificate_id));
  absl::StatusOr<SealedKeyEnvelope> envelope = ParseSealedKey(sealed);
  if (!envelope.ok()) {
    return Prefixed(envelope.status(), "open", certificate_id);
  }
  SymmetricKey dek;
  std::string plaintext;
  absl::Status opened =
      OpenEnvelope(*envelope, certificate_id, "open", dek, plaintext);
  if (!opened.ok()) {
    WipeString(plaintext);
    return opened;
  }
  // Moved implicitly into the StatusOr, not copied, so no unwiped copy of
  // the plaintext is left behind.
  return plaintext;
}

absl::StatusOr<std::string> KeyRing::Rewrap(
    absl::string_view sealed, absl::string_view certificate_id) const {
  CB_RETURN_IF_ERROR(CheckCertificateId(certificate_id));
  absl::StatusOr<SealedKeyEnvelope> envelope = ParseSealedKey(sealed);
  if (!envelope.ok()) {
    return Prefixed(envelope.status(), "rewrap", certificate_id);
  }
  SymmetricKey dek;
  WipedString plaintext;
  CB_RETURN_IF_ERROR(
      OpenEnvelope(*envelope, certificate_id, "rewrap", dek, plaintext.value));
  if (envelope->kek_id == current().raw_id()) return std::string(sealed);
  absl::Status wrapped = WrapDek(dek, certificate_id, *envelope);
  if (!wrapped.ok()) return Prefixed(wrapped, "rewrap", certificate_id);
  return SerializeSealedKey(*envelope);
}

absl::StatusOr<std::string> KeyRing::SealedKekId(absl::string_view sealed) {
  CB_ASSIGN_OR_RETURN(SealedKeyEnvelope envelope, ParseSealedKey(sealed));
  return KekIdToHex(envelope.kek_id);
}

}  // namespace certbroker::keys

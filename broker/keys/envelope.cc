// Laying out and strictly parsing sealed-key envelopes with BoringSSL's CBS.
#include "broker/keys/envelope.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/x509/boringssl.h"

namespace certbroker::keys {
namespace {

constexpr size_t kMinPayloadBytes = kAeadTagBytes + 1;
constexpr size_t kMaxPayloadBytes = kMaxSealedPlaintextBytes + kAeadTagBytes;

constexpr char kDekLabel[] = "certbroker sealed key v1 DEK";
constexpr char kPayloadLabel[] = "certbroker sealed key v1 payload";

void AppendBytes(std::string& out, const uint8_t* data, size_t size) {
  out.append(reinterpret_cast<const char*>(data), size);
}

// AppendLabel appends `label` with its terminating NUL, which ends it
// unambiguously before the variable part.
void AppendLabel(std::string& out, const char* label) {
  out.append(label, std::strlen(label) + 1);
}

template <size_t N>
bool CopyBytes(CBS* cbs, std::array<uint8_t, N>& out) {
  return CBS_copy_bytes(cbs, out.data(), N) == 1;
}

bool CopyString(CBS* cbs, size_t size, std::string& out) {
  CBS field;
  if (!CBS_get_bytes(cbs, &field, size)) return false;
  out.assign(reinterpret_cast<const char*>(CBS_data(&field)), CBS_len(&field));
  return true;
}

}  // namespace

std::string SerializeSealedKey(const SealedKeyEnvelope& envelope) {
  std::string out;
  out.reserve(kSealedKeyHeaderBytes + envelope.payload.size());
  out.append(kSealedKeyMagic.data(), kSealedKeyMagic.size());
  out.push_back(static_cast<char>(kSealedKeyVersion));
  AppendBytes(out, envelope.kek_id.data(), envelope.kek_id.size());
  AppendBytes(out, envelope.dek_nonce.data(), envelope.dek_nonce.size());
  out.append(envelope.wrapped_dek);
  AppendBytes(out, envelope.payload_nonce.data(),
              envelope.payload_nonce.size());
  const uint32_t length = static_cast<uint32_t>(envelope.payload.size());
  const uint8_t length_bytes[4] = {
      static_cast<uint8_t>(length >> 24), static_cast<uint8_t>(length >> 16),
      static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
  AppendBytes(out, length_bytes, sizeof(length_bytes));
  out.append(envelope.payload);
  return out;
}

absl::StatusOr<SealedKeyEnvelope> ParseSealedKey(absl::string_view sealed) {
  if (sealed.size() < kSealedKeyHeaderBytes) {
    return absl::DataLossError(absl::StrCat(
        "sealed key is truncated: ", sealed.size(), " bytes, shorter than the ",
        kSealedKeyHeaderBytes, "-byte header"));
  }
  CBS cbs;
  CBS_init(&cbs, reinterpret_cast<const uint8_t*>(sealed.data()),
           sealed.size());
  CBS magic;
  uint8_t version = 0;
  if (!CBS_get_bytes(&cbs, &magic, kSealedKeyMagic.size()) ||
      !CBS_mem_equal(&magic,
                     reinterpret_cast<const uint8_t*>(kSealedKeyMagic.data()),
                     kSealedKeyMagic.size())) {
    return absl::DataLossError(
        absl::StrCat("sealed key does not start with the magic \"",
                     kSealedKeyMagic, "\": not a sealed key, or corrupt"));
  }
  if (!CBS_get_u8(&cbs, &version) || version != kSealedKeyVersion) {
    return absl::DataLossError(absl::StrCat(
        "sealed key has format version ", static_cast<unsigned>(version),
        "; this broker reads only ", "version ",
        static_cast<unsigned>(kSealedKeyVersion),
        " (corrupt, or from a newer broker)"));
  }
  SealedKeyEnvelope envelope;
  uint32_t payload_size = 0;
  // The size check above covers every fixed field, so these cannot fail;
  // they are checked all the same.
  if (!CopyBytes(&cbs, envelope.kek_id) ||
      !CopyBytes(&cbs, envelope.dek_nonce) ||
      !CopyString(&cbs, kWrappedDekBytes, envelope.wrapped_dek) ||
      !CopyBytes(&cbs, envelope.payload_nonce) ||
      !CBS_get_u32(&cbs, &payload_size)) {
    return absl::DataLossError("sealed key is truncated inside its header");
  }
  if (payload_size < kMinPayloadBytes || payload_size > kMaxPayloadBytes) {
    return absl::DataLossError(
        absl::StrCat("sealed key records a payload of ", payload_size,
                     " bytes, outside the valid range ", kMinPayloadBytes, "..",
                     kMaxPayloadBytes));
  }
  if (CBS_len(&cbs) < payload_size) {
    return absl::DataLossError(
        absl::StrCat("sealed key is truncated: its payload needs ",
                     payload_size, " bytes, ", CBS_len(&cbs), " remain"));
  }
  if (CBS_len(&cbs) > payload_size) {
    return absl::DataLossError(absl::StrCat(
        "sealed key has ", CBS_len(&cbs) - payload_size,
        " trailing bytes after its ", payload_size, "-byte payload"));
  }
  CopyString(&cbs, payload_size, envelope.payload);
  return envelope;
}

std::string DekAssociatedData(const std::array<uint8_t, kKekIdBytes>& kek_id,
                              absl::string_view certificate_id) {
  std::string aad;
  AppendLabel(aad, kDekLabel);
  AppendBytes(aad, kek_id.data(), kek_id.size());
  aad.append(certificate_id.data(), certificate_id.size());
  return aad;
}

std::string PayloadAssociatedData(absl::string_view certificate_id) {
  std::string aad;
  AppendLabel(aad, kPayloadLabel);
  aad.append(certificate_id.data(), certificate_id.size());
  return aad;
}

}  // namespace certbroker::keys

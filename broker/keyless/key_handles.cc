// Encoding, sealing and checking key handles.
//
// Layout before base64url: version (1 byte, 1) | epoch (8) | expires (8,
// big-endian unix seconds) | leaf SHA-256 (32) | id length (2) | id |
// scope length (2) | scope | caller tag (32) | outer tag (32).
//   caller tag = HMAC-SHA256(secret, "certbroker caller\0" | body |
//                            caller length (4) | caller)
//   outer tag  = HMAC-SHA256(secret, "certbroker handle\0" | body |
//                            caller tag)
// where body is everything before the caller tag.
#include "broker/keyless/key_handles.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "broker/x509/boringssl.h"
// After boringssl.h, which checks the include order.
#include <openssl/hmac.h>

namespace certbroker::keyless {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kTagBytes = SHA256_DIGEST_LENGTH;
constexpr char kCallerLabel[] = "certbroker caller";  // NUL included below.
constexpr char kOuterLabel[] = "certbroker handle";
// Base64 of the largest handle, rounded up.
constexpr size_t kMaxHandleChars =
    (1 + 8 + 8 + 32 + 2 + KeyHandles::kMaxCertificateIdBytes + 2 +
     KeyHandles::kMaxScopeBytes + 2 * kTagBytes) *
        4 / 3 +
    4;

using Tag = std::array<uint8_t, kTagBytes>;

// Mac computes HMAC-SHA256(secret, label | parts...) with the label's
// terminating NUL as separator.
template <size_t N>
Tag Mac(const std::array<uint8_t, 32>& secret, const char (&label)[N],
        std::initializer_list<absl::string_view> parts) {
  bssl::ScopedHMAC_CTX ctx;
  Tag tag{};
  unsigned length = 0;
  // HMAC with SHA-256 and a 32-byte key cannot fail short of memory
  // exhaustion; a zero tag then simply never verifies.
  if (!HMAC_Init_ex(ctx.get(), secret.data(), secret.size(), EVP_sha256(),
                    nullptr) ||
      !HMAC_Update(ctx.get(), reinterpret_cast<const uint8_t*>(label), N)) {
    return Tag{};
  }
  for (absl::string_view part : parts) {
    if (!HMAC_Update(ctx.get(), reinterpret_cast<const uint8_t*>(part.data()),
                     part.size())) {
      return Tag{};
    }
  }
  if (!HMAC_Final(ctx.get(), tag.data(), &length)) return Tag{};
  return tag;
}

absl::string_view View(const uint8_t* data, size_t size) {
  return absl::string_view(reinterpret_cast<const char*>(data), size);
}

std::string CallerLength(absl::string_view caller) {
  const uint32_t n = static_cast<uint32_t>(caller.size());
  return std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)};
}

Tag CallerTag(const std::array<uint8_t, 32>& secret, absl::string_view body,
              absl::string_view caller) {
  return Mac(secret, kCallerLabel, {body, CallerLength(caller), caller});
}

Tag OuterTag(const std::array<uint8_t, 32>& secret, absl::string_view body,
             const Tag& caller_tag) {
  return Mac(secret, kOuterLabel,
             {body, View(caller_tag.data(), caller_tag.size())});
}

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed key handle: ", why));
}

}  // namespace

KeyHandles::KeyHandles(absl::Duration lifetime) : lifetime_(lifetime) {
  RAND_bytes(secret_.data(), secret_.size());
  RAND_bytes(epoch_.data(), epoch_.size());
}

absl::StatusOr<IssuedKeyHandle> KeyHandles::Issue(
    absl::string_view caller, absl::string_view certificate_id,
    absl::string_view leaf_sha256, absl::string_view scope,
    absl::Time leaf_not_after, absl::Time now) const {
  if (certificate_id.size() > kMaxCertificateIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate id of ", certificate_id.size(),
                     " bytes is too long for a key handle (at most ",
                     kMaxCertificateIdBytes, ")"));
  }
  if (scope.size() > kMaxScopeBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scope of ", scope.size(),
        " bytes is too long for a key handle (at most ", kMaxScopeBytes, ")"));
  }
  if (leaf_sha256.size() != SHA256_DIGEST_LENGTH) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf digest is ", leaf_sha256.size(),
                     " bytes, not a SHA-256 digest of 32"));
  }
  const int64_t expires =
      absl::ToUnixSeconds(std::min(now + lifetime_, leaf_not_after));
  bssl::ScopedCBB cbb;
  CBB id, scope_bytes;
  uint8_t* encoded = nullptr;
  size_t encoded_size = 0;
  if (!CBB_init(cbb.get(), 128 + certificate_id.size() + scope.size()) ||
      !CBB_add_u8(cbb.get(), kVersion) ||
      !CBB_add_bytes(cbb.get(), epoch_.data(), epoch_.size()) ||
      !CBB_add_u64(cbb.get(), static_cast<uint64_t>(expires)) ||
      !CBB_add_bytes(cbb.get(),
                     reinterpret_cast<const uint8_t*>(leaf_sha256.data()),
                     leaf_sha256.size()) ||
      !CBB_add_u16_length_prefixed(cbb.get(), &id) ||
      !CBB_add_bytes(&id,
                     reinterpret_cast<const uint8_t*>(certificate_id.data()),
                     certificate_id.size()) ||
      !CBB_add_u16_length_prefixed(cbb.get(), &scope_bytes) ||
      !CBB_add_bytes(&scope_bytes,
                     reinterpret_cast<const uint8_t*>(scope.data()),
                     scope.size()) ||
      !CBB_finish(cbb.get(), &encoded, &encoded_size)) {
    return absl::InternalError("cannot encode a key handle");
  }
  bssl::UniquePtr<uint8_t> owned(encoded);
  std::string raw(reinterpret_cast<const char*>(encoded), encoded_size);
  const Tag caller_tag = CallerTag(secret_, raw, caller);
  const Tag outer_tag = OuterTag(secret_, raw, caller_tag);
  raw.append(reinterpret_cast<const char*>(caller_tag.data()), kTagBytes);
  raw.append(reinterpret_cast<const char*>(outer_tag.data()), kTagBytes);
  return IssuedKeyHandle{absl::WebSafeBase64Escape(raw),
                         absl::FromUnixSeconds(expires)};
}

absl::StatusOr<KeyHandleClaims> KeyHandles::Verify(absl::string_view handle,
                                                   absl::string_view caller,
                                                   absl::Time now) const {
  if (handle.empty()) return Malformed("empty");
  if (handle.size() > kMaxHandleChars) {
    return Malformed(absl::StrCat(handle.size(), " characters is too long"));
  }
  std::string raw;
  if (!absl::WebSafeBase64Unescape(handle, &raw)) {
    return Malformed("not base64url");
  }
  if (raw.size() < 2 * kTagBytes) return Malformed("too short");
  const absl::string_view body =
      absl::string_view(raw).substr(0, raw.size() - 2 * kTagBytes);
  const auto* tags = reinterpret_cast<const uint8_t*>(raw.data()) + body.size();

  CBS cbs, epoch, leaf, id, scope;
  uint8_t version = 0;
  uint64_t expires = 0;
  CBS_init(&cbs, reinterpret_cast<const uint8_t*>(body.data()), body.size());
  if (!CBS_get_u8(&cbs, &version)) return Malformed("too short");
  if (version != kVersion) {
    return Malformed(absl::StrCat("unknown version ", version));
  }
  if (!CBS_get_bytes(&cbs, &epoch, epoch_.size()) ||
      !CBS_get_u64(&cbs, &expires) ||
      !CBS_get_bytes(&cbs, &leaf, SHA256_DIGEST_LENGTH) ||
      !CBS_get_u16_length_prefixed(&cbs, &id) ||
      !CBS_get_u16_length_prefixed(&cbs, &scope) || CBS_len(&cbs) != 0) {
    return Malformed("bad layout");
  }
  if (!CBS_mem_equal(&epoch, epoch_.data(), epoch_.size())) {
    return absl::FailedPreconditionError(
        "key handle was given out by another broker process: the broker "
        "restarted since it gave out this handle; call GetClientCertificate "
        "again");
  }
  const Tag caller_tag_sent = [&] {
    Tag tag;
    std::copy(tags, tags + kTagBytes, tag.begin());
    return tag;
  }();
  const Tag outer_tag = OuterTag(secret_, body, caller_tag_sent);
  if (CRYPTO_memcmp(outer_tag.data(), tags + kTagBytes, kTagBytes) != 0) {
    return Malformed("its tag does not verify");
  }
  const Tag caller_tag = CallerTag(secret_, body, caller);
  if (CRYPTO_memcmp(caller_tag.data(), tags, kTagBytes) != 0) {
    return absl::PermissionDeniedError(
        "key handle was issued to another caller");
  }
  KeyHandleClaims claims;
  claims.certificate_id =
      std::string(reinterpret_cast<const char*>(CBS_data(&id)), CBS_len(&id));
  claims.leaf_sha256 = std::string(
      reinterpret_cast<const char*>(CBS_data(&leaf)), CBS_len(&leaf));
  claims.scope = std::string(reinterpret_cast<const char*>(CBS_data(&scope)),
                             CBS_len(&scope));
  claims.expires = absl::FromUnixSeconds(static_cast<int64_t>(expires));
  if (now > claims.expires) {
    return absl::FailedPreconditionError(absl::StrCat(
        "key handle for certificate '", claims.certificate_id, "' expired at ",
        absl::FormatTime(claims.expires, absl::UTCTimeZone()),
        "; call GetClientCertificate again"));
  }
  return claims;
}

}  // namespace certbroker::keyless

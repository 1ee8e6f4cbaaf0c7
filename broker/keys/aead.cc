// AES-256-GCM with EVP_AEAD; the key schedule is wiped after every call.
#include "broker/keys/aead.h"

#include <openssl/aead.h>
#include <openssl/rand.h>

#include "absl/strings/str_cat.h"
#include "broker/x509/boringssl.h"
#include "broker/x509/certificate.h"

namespace certbroker::keys {
namespace {

const uint8_t* Bytes(absl::string_view data) {
  return reinterpret_cast<const uint8_t*>(data.data());
}

// AeadContext is an EVP_AEAD_CTX for AES-256-GCM whose expanded key is wiped
// on destruction (EVP_AEAD_CTX_cleanup alone leaves it in the struct).
class AeadContext {
 public:
  AeadContext() { EVP_AEAD_CTX_zero(&ctx_); }
  ~AeadContext() {
    EVP_AEAD_CTX_cleanup(&ctx_);
    OPENSSL_cleanse(&ctx_, sizeof(ctx_));
  }
  AeadContext(const AeadContext&) = delete;
  AeadContext& operator=(const AeadContext&) = delete;

  bool Init(const SymmetricKey& key) {
    return EVP_AEAD_CTX_init(&ctx_, EVP_aead_aes_256_gcm(), key.data(),
                             key.size(), EVP_AEAD_DEFAULT_TAG_LENGTH,
                             nullptr) == 1;
  }
  const EVP_AEAD_CTX* get() const { return &ctx_; }

 private:
  EVP_AEAD_CTX ctx_;
};

}  // namespace

absl::StatusOr<AeadSealed> AeadSeal(const SymmetricKey& key,
                                    absl::string_view plaintext,
                                    absl::string_view aad) {
  AeadContext ctx;
  if (!ctx.Init(key)) {
    return absl::InternalError(
        absl::StrCat("cannot set up AES-256-GCM: ", x509::DrainErrorQueue()));
  }
  AeadSealed sealed;
  RAND_bytes(sealed.nonce.data(), sealed.nonce.size());
  sealed.ciphertext_and_tag.resize(plaintext.size() + kAeadTagBytes);
  size_t written = 0;
  if (EVP_AEAD_CTX_seal(
          ctx.get(),
          reinterpret_cast<uint8_t*>(sealed.ciphertext_and_tag.data()),
          &written, sealed.ciphertext_and_tag.size(), sealed.nonce.data(),
          sealed.nonce.size(), Bytes(plaintext), plaintext.size(), Bytes(aad),
          aad.size()) != 1 ||
      written != sealed.ciphertext_and_tag.size()) {
    return absl::InternalError(absl::StrCat("AES-256-GCM encryption failed: ",
                                            x509::DrainErrorQueue()));
  }
  return sealed;
}

bool AeadOpen(const SymmetricKey& key, const AeadNonce& nonce,
              absl::string_view ciphertext_and_tag, absl::string_view aad,
              std::string& out) {
  WipeString(out);
  if (ciphertext_and_tag.size() < kAeadTagBytes) return false;
  AeadContext ctx;
  // AES-256-GCM's set-up cannot fail for a 32-byte key (it allocates
  // nothing), so a failure here is reported like any other: not opened.
  if (!ctx.Init(key)) {
    ERR_clear_error();
    return false;
  }
  out.resize(ciphertext_and_tag.size() - kAeadTagBytes);
  size_t written = 0;
  // On failure EVP_AEAD_CTX_open zeroes `out`; WipeString also drops it.
  if (EVP_AEAD_CTX_open(ctx.get(), reinterpret_cast<uint8_t*>(out.data()),
                        &written, out.size(), nonce.data(), nonce.size(),
                        Bytes(ciphertext_and_tag), ciphertext_and_tag.size(),
                        Bytes(aad), aad.size()) != 1 ||
      written != out.size()) {
    // A mismatched tag queues an error; it means nothing beyond "false".
    ERR_clear_error();
    WipeString(out);
    return false;
  }
  return true;
}

}  // namespace certbroker::keys

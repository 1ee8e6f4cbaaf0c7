// Private-key parsing, encoding and certificate matching with BoringSSL.
#include "broker/x509/keys.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/x509/certificate.h"

namespace certbroker::x509 {

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> ParsePrivateKeyDer(
    absl::string_view der, absl::string_view pem_type) {
  CBS cbs;
  CBS_init(&cbs, reinterpret_cast<const uint8_t*>(der.data()), der.size());
  bssl::UniquePtr<EVP_PKEY> key;
  if (pem_type == "PRIVATE KEY") {
    key.reset(EVP_parse_private_key(&cbs));
  } else if (pem_type == "RSA PRIVATE KEY") {
    bssl::UniquePtr<RSA> rsa(RSA_parse_private_key(&cbs));
    if (rsa != nullptr) {
      key.reset(EVP_PKEY_new());
      if (key == nullptr || !EVP_PKEY_assign_RSA(key.get(), rsa.release())) {
        key.reset();
      }
    }
  } else if (pem_type == "EC PRIVATE KEY") {
    bssl::UniquePtr<EC_KEY> ec(EC_KEY_parse_private_key(&cbs, nullptr));
    if (ec != nullptr) {
      key.reset(EVP_PKEY_new());
      if (key == nullptr || !EVP_PKEY_assign_EC_KEY(key.get(), ec.release())) {
        key.reset();
      }
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported private key type '", pem_type, "'"));
  }
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ", pem_type, " does not parse (", DrainErrorQueue(), ")"));
  }
  if (CBS_len(&cbs) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("trailing bytes after the ", pem_type));
  }
  return key;
}

absl::StatusOr<std::string> PrivateKeyToPkcs8Der(const EVP_PKEY* key) {
  bssl::ScopedCBB cbb;
  uint8_t* der = nullptr;
  size_t length = 0;
  if (!CBB_init(cbb.get(), 256) || !EVP_marshal_private_key(cbb.get(), key) ||
      !CBB_finish(cbb.get(), &der, &length)) {
    return absl::InternalError(absl::StrCat(
        "cannot encode the private key as PKCS#8 (", DrainErrorQueue(), ")"));
  }
  bssl::UniquePtr<uint8_t> owned(der);
  return std::string(reinterpret_cast<const char*>(der), length);
}

bool KeyMatchesCertificate(const X509* certificate, const EVP_PKEY* key) {
  // X509_check_private_key takes non-const pointers but modifies nothing.
  int matches = X509_check_private_key(const_cast<X509*>(certificate), key);
  ERR_clear_error();
  return matches == 1;
}

}  // namespace certbroker::x509

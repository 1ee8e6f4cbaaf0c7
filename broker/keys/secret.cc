// Wiping key material with OPENSSL_cleanse, which the compiler may not elide.
#include "broker/keys/secret.h"

#include <openssl/rand.h>

#include "broker/x509/boringssl.h"

namespace certbroker::keys {

SymmetricKey::~SymmetricKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

SymmetricKey SymmetricKey::Random() {
  SymmetricKey key;
  // BoringSSL's RAND_bytes aborts the process rather than fail.
  RAND_bytes(key.data(), key.size());
  return key;
}

void WipeString(std::string& value) {
  // Growing to the capacity does not reallocate, so this reaches every byte
  // the string owns, including what an earlier, longer content left behind.
  value.resize(value.capacity());
  OPENSSL_cleanse(value.data(), value.size());
  value.clear();
}

}  // namespace certbroker::keys

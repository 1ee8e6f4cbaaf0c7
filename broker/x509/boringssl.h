// The one include for BoringSSL's headers. It stops the build when Debian's
// OpenSSL headers (pulled in by gRPC's dev package) were found first, or when
// the symbol prefix is missing: either would make our calls land in OpenSSL.
#ifndef CERTBROKER_BROKER_X509_BORINGSSL_H_
#define CERTBROKER_BROKER_X509_BORINGSSL_H_

#include <openssl/base.h>

#ifndef OPENSSL_IS_BORINGSSL
#error "OpenSSL headers were found before BoringSSL's: fix the include order"
#endif
#ifndef BORINGSSL_PREFIX
#error "BORINGSSL_PREFIX is not defined: link boringssl::crypto"
#endif

#include <openssl/bytestring.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/pool.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#endif  // CERTBROKER_BROKER_X509_BORINGSSL_H_

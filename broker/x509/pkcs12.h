// PKCS#12 (.p12/.pfx) files: a private key and its certificate chain in one
// password-protected file, as browsers, Windows and Java keystores export
// them. Read with BoringSSL and returned in chain order, leaf first.
#ifndef CERTBROKER_BROKER_X509_PKCS12_H_
#define CERTBROKER_BROKER_X509_PKCS12_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/x509/boringssl.h"
#include "broker/x509/certificate.h"

namespace certbroker::x509 {

// kMaxPkcs12Bytes is the largest PKCS#12 file ParsePkcs12 reads (1 MiB); a
// key with a long chain is a few kilobytes.
inline constexpr size_t kMaxPkcs12Bytes = 1 << 20;

// Pkcs12Contents is what a PKCS#12 file holds: a private key and the
// certificates that go with it.
struct Pkcs12Contents {
  // chain starts with the leaf (the certificate of `key`), then its issuers
  // in order as far as the file has them, then any other certificates of the
  // file in file order. Exact duplicates appear once.
  CertificateList chain;
  bssl::UniquePtr<EVP_PKEY> key;
};

// ParsePkcs12 reads the DER (or BER) PKCS#12 file `der`, checks its MAC and
// decrypts it with `password` (UTF-8; "" for none), and returns its key and
// chain. It needs exactly one private key and a certificate whose public key
// matches it; the leaf's issuers are found by name (preferring those whose
// key identifiers also match).
//
// Encryptions it reads, as BoringSSL of 2022 (Debian's Android 13 source)
// implements them; those marked * are tested with files from OpenSSL 3.0's
// `openssl pkcs12 -export` or BoringSSL's PKCS12_create:
//   - PBES2 with PBKDF2 (PRF HMAC-SHA1 or HMAC-SHA256) and AES-128*, -192 or
//     -256-CBC* or 3DES-CBC*: OpenSSL 3's default is PBES2, HMAC-SHA256,
//     AES-256-CBC and a SHA-256 MAC*;
//   - the PKCS#12 PBEs with SHA-1 and 3DES* or 40-bit RC2*, as
//     `openssl pkcs12 -legacy`* (OpenSSL 1.x's default) and PKCS12_create*
//     write them;
//   - unencrypted bags* (`-keypbe NONE -certpbe NONE`);
//   - MACs over SHA-1*, SHA-256*, SHA-384 or SHA-512*.
// Not read: files without a MAC (`-nomac`), public-key integrity mode,
// different MAC and encryption passwords, and other ciphers (Camellia, ARIA).
//
// Fails with INVALID_ARGUMENT, the message starting with `source` and saying
// what is wrong, when `der` is empty, larger than kMaxPkcs12Bytes, PEM text,
// not PKCS#12 or malformed or truncated, needs another password, or uses an
// algorithm not listed above; when `password` holds a NUL byte or is not
// UTF-8 that PKCS#12 can encode (characters up to U+FFFF); and when the file
// holds no private key, more than one, no certificate, or no certificate
// matching the key. Damage inside the part the MAC covers reads as a wrong
// password: the MAC cannot tell the two apart. RESOURCE_EXHAUSTED when out
// of memory. Copies of `password` are wiped before returning.
//
// Safe on any input, but not cheap on every input: the file chooses its
// key-derivation iteration counts and BoringSSL accepts up to 100 million
// (many seconds of CPU), so callers taking files from untrusted clients should
// limit how often they call it.
absl::StatusOr<Pkcs12Contents> ParsePkcs12(absl::string_view der,
                                           absl::string_view password,
                                           absl::string_view source);

}  // namespace certbroker::x509

#endif  // CERTBROKER_BROKER_X509_PKCS12_H_

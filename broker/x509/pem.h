// PEM files of certificates and private keys, read strictly: every block must
// parse, and errors name the source and the block's position.
#ifndef CERTBROKER_BROKER_X509_PEM_H_
#define CERTBROKER_BROKER_X509_PEM_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/x509/boringssl.h"
#include "broker/x509/certificate.h"

namespace certbroker::x509 {

// PemBlock is one decoded "-----BEGIN TYPE-----" block.
struct PemBlock {
  std::string type;
  std::string data;
};

// ReadPemBlocks splits `pem` into its blocks, in order, without parsing
// their contents; text outside blocks is ignored. Fails with
// INVALID_ARGUMENT naming `source` and the block when a block is truncated,
// its base64 is corrupt, or it has headers.
absl::StatusOr<std::vector<PemBlock>> ReadPemBlocks(absl::string_view pem,
                                                    absl::string_view source);

// ParsePemCertificates parses every PEM block of `pem` as a certificate, in
// order. Text outside blocks is ignored (bundles often carry comments).
// Fails with INVALID_ARGUMENT naming `source` and the block number (from 1)
// when a block is truncated, is not a CERTIFICATE, or does not parse, and
// when there is no block at all.
absl::StatusOr<CertificateList> ParsePemCertificates(absl::string_view pem,
                                                     absl::string_view source);

// ParsePemPrivateKey parses the single unencrypted private key in `pem`
// (PKCS#8 "PRIVATE KEY", "RSA PRIVATE KEY" or "EC PRIVATE KEY"). Fails with
// INVALID_ARGUMENT naming `source` when there is none, more than one, or it
// is encrypted.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> ParsePemPrivateKey(
    absl::string_view pem, absl::string_view source);

// KeyPair is a certificate chain (leaf first) with the leaf's private key.
struct KeyPair {
  CertificateList chain;
  bssl::UniquePtr<EVP_PKEY> key;
};

// ParsePemKeyPair parses a chain and a private key and checks that the key
// is the leaf's. Fails with INVALID_ARGUMENT naming the sources.
absl::StatusOr<KeyPair> ParsePemKeyPair(absl::string_view chain_pem,
                                        absl::string_view chain_source,
                                        absl::string_view key_pem,
                                        absl::string_view key_source);

// ParseCrls parses certificate revocation lists: PEM "X509 CRL" blocks, or
// one DER CRL. Fails with INVALID_ARGUMENT naming `source` and the block.
absl::StatusOr<std::vector<bssl::UniquePtr<X509_CRL>>> ParseCrls(
    absl::string_view data, absl::string_view source);

// CertificateToPem returns `certificate` as one PEM block.
std::string CertificateToPem(const X509* certificate);

// CrlToPem returns `crl` as one "X509 CRL" PEM block.
std::string CrlToPem(const X509_CRL* crl);

// PrivateKeyToPem returns `key` as a PKCS#8 "PRIVATE KEY" PEM block.
std::string PrivateKeyToPem(const EVP_PKEY* key);

}  // namespace certbroker::x509

#endif  // CERTBROKER_BROKER_X509_PEM_H_

// A small certificate factory for development and tests. It issues real
// certificates with BoringSSL (EC P-256 or RSA keys, SHA-256 signatures) with
// whatever names, usages and validity a case needs: a good chain, an expired
// leaf, a clientAuth-only leaf, an unrelated root. Not for production PKIs.
#ifndef CERTBROKER_BROKER_DEVPKI_PKI_H_
#define CERTBROKER_BROKER_DEVPKI_PKI_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/x509/boringssl.h"

namespace certbroker::devpki {

enum class KeyType { kEcP256, kEcP384, kEcP224, kRsa2048, kRsa1024 };

// Digest is the hash the issuer signs with.
enum class Digest { kSha256, kSha1 };

// ExtendedKeyUsage is what the leaf may be used for (the EKU extension).
enum class ExtendedKeyUsage {
  kNone,
  kServerAuth,
  kClientAuth,
  kServerAndClient
};

// CertificateSpec describes a certificate to issue.
struct CertificateSpec {
  std::string common_name;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  // uris are URI subject alternative names (a SPIFFE ID, say).
  std::vector<std::string> uris;
  // is_ca makes a CA certificate (basicConstraints CA:TRUE, keyCertSign).
  bool is_ca = false;
  // path_length is the CA's pathLenConstraint; negative means none.
  int path_length = -1;
  // usage is the leaf's EKU; CAs get none unless set.
  ExtendedKeyUsage usage = ExtendedKeyUsage::kNone;
  absl::Time not_before = absl::Now() - absl::Hours(1);
  absl::Time not_after = absl::Now() + absl::Hours(24 * 90);
  KeyType key_type = KeyType::kEcP256;
  Digest digest = Digest::kSha256;
  // omit_key_usage leaves out the keyUsage extension (a CA:false
  // "intermediate" then fails on basic constraints, not key usage).
  bool omit_key_usage = false;
  // Name constraints of a CA, in OpenSSL's syntax: "DNS:example.com",
  // "IP:10.0.0.0/255.0.0.0".
  std::vector<std::string> permitted_names;
  std::vector<std::string> excluded_names;
  // unknown_critical_extension adds a critical extension no verifier
  // understands (OID 1.3.6.1.4.1.57264.99), which must fail verification.
  bool unknown_critical_extension = false;
};

// Issued is a certificate with its private key.
struct Issued {
  bssl::UniquePtr<X509> certificate;
  bssl::UniquePtr<EVP_PKEY> key;

  // CertificatePem, KeyPem and Der encode the certificate and key.
  std::string CertificatePem() const;
  std::string KeyPem() const;
  std::string Der() const;
};

// GenerateKey makes a new private key of `type`.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> GenerateKey(KeyType type);

// Issue makes a certificate for `spec`, signed by `issuer`, or self-signed
// when `issuer` is null.
absl::StatusOr<Issued> Issue(const CertificateSpec& spec, const Issued* issuer);

// CrlSpec describes a CRL to issue.
struct CrlSpec {
  std::vector<const X509*> revoked;  // Certificates to list as revoked.
  absl::Time this_update = absl::Now() - absl::Hours(1);
  absl::Time next_update = absl::Now() + absl::Hours(24);
};

// IssueCrl makes a CRL signed by `issuer` (SHA-256).
absl::StatusOr<bssl::UniquePtr<X509_CRL>> IssueCrl(const CrlSpec& spec,
                                                   const Issued& issuer);

// RootSpec, IntermediateSpec, ServerSpec and ClientSpec are the usual shapes,
// valid from an hour ago for 90 days.
CertificateSpec RootSpec(std::string common_name);
CertificateSpec IntermediateSpec(std::string common_name);
CertificateSpec ServerSpec(std::string common_name,
                           std::vector<std::string> dns_names,
                           std::vector<std::string> ip_addresses = {});
CertificateSpec ClientSpec(std::string common_name);

}  // namespace certbroker::devpki

#endif  // CERTBROKER_BROKER_DEVPKI_PKI_H_

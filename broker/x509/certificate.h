// Certificates as the broker handles them: parsed from DER with strict
// checks, and the facts about them the broker reports (subject, validity,
// fingerprint).
#ifndef CERTBROKER_BROKER_X509_CERTIFICATE_H_
#define CERTBROKER_BROKER_X509_CERTIFICATE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/x509/boringssl.h"

namespace certbroker::x509 {

using CertificateList = std::vector<bssl::UniquePtr<X509>>;

// ParseDerCertificate parses one DER certificate. Fails with INVALID_ARGUMENT
// ("not a DER certificate", "trailing bytes after the certificate") when
// `der` is not exactly one well-formed certificate.
absl::StatusOr<bssl::UniquePtr<X509>> ParseDerCertificate(
    absl::string_view der);

// CertificateToDer returns the DER encoding of `certificate`; empty only if
// BoringSSL cannot encode it, which does not happen for parsed certificates.
std::string CertificateToDer(const X509* certificate);

// CrlToDer returns the DER encoding of `crl`.
std::string CrlToDer(const X509_CRL* crl);

// NameToDer returns the DER encoding of `name` (as a TLS CertificateRequest
// lists acceptable issuers); empty only if BoringSSL cannot encode it.
std::string NameToDer(const X509_NAME* name);

// IsDerName is true when `der` is exactly one DER-encoded X.509 Name.
bool IsDerName(absl::string_view der);

// SubjectName returns `certificate`'s subject as a one-line RFC 2253 string,
// for details and logs ("CN=api.example.com,O=Example").
std::string SubjectName(const X509* certificate);

// NameToString formats a distinguished name as RFC 2253 text.
std::string NameToString(const X509_NAME* name);

// IssuerName is SubjectName for the issuer.
std::string IssuerName(const X509* certificate);

// Asn1TimeToAbsl converts an ASN.1 time; InfinitePast when it cannot.
absl::Time Asn1TimeToAbsl(const ASN1_TIME* time);

// NotBefore and NotAfter return `certificate`'s validity bounds.
absl::Time NotBefore(const X509* certificate);
absl::Time NotAfter(const X509* certificate);

// Sha256 returns the SHA-256 (32 raw bytes) of `data`.
std::string Sha256(absl::string_view data);

// Sha256Hex returns the lowercase hex SHA-256 of `data`; of a certificate's
// DER, that is its fingerprint.
std::string Sha256Hex(absl::string_view data);

// Sha256Fingerprint returns the lowercase hex SHA-256 of `certificate`'s DER.
std::string Sha256Fingerprint(const X509* certificate);

// DescribeCertificate returns "certificate N (SUBJECT)", the way details
// refer to a certificate of a chain.
std::string DescribeCertificate(size_t index, const X509* certificate);

// DrainErrorQueue returns BoringSSL's queued errors as text and clears the
// queue. For logs and details only; never branch on it.
std::string DrainErrorQueue();

}  // namespace certbroker::x509

#endif  // CERTBROKER_BROKER_X509_CERTIFICATE_H_

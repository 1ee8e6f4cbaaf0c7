// Parsing and describing X.509 certificates with BoringSSL.
#include "broker/x509/certificate.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace certbroker::x509 {

std::string NameToString(const X509_NAME* name) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    ERR_clear_error();
    return "<unprintable name>";
  }
  const uint8_t* data = nullptr;
  size_t length = 0;
  BIO_mem_contents(bio.get(), &data, &length);
  return std::string(reinterpret_cast<const char*>(data), length);
}

absl::Time Asn1TimeToAbsl(const ASN1_TIME* time) {
  // BoringSSL of this vintage has no ASN1_TIME_to_posix; the difference from
  // the epoch gives the same answer.
  // Made once and only read afterwards (ASN1_TIME_diff does not modify it).
  static const ASN1_TIME* const epoch = ASN1_TIME_set(nullptr, 0);
  int days = 0;
  int seconds = 0;
  if (epoch == nullptr || time == nullptr ||
      !ASN1_TIME_diff(&days, &seconds, epoch, time)) {
    ERR_clear_error();
    return absl::InfinitePast();
  }
  return absl::FromUnixSeconds(int64_t{days} * 86400 + seconds);
}

absl::StatusOr<bssl::UniquePtr<X509>> ParseDerCertificate(
    absl::string_view der) {
  if (der.empty()) return absl::InvalidArgumentError("empty certificate");
  const uint8_t* cursor = reinterpret_cast<const uint8_t*>(der.data());
  const uint8_t* end = cursor + der.size();
  bssl::UniquePtr<X509> certificate(
      d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));
  if (certificate == nullptr) {
    ERR_clear_error();  // BoringSSL's reasons are noise to an agent.
    return absl::InvalidArgumentError("not a DER certificate");
  }
  if (cursor != end) {
    return absl::InvalidArgumentError(absl::StrCat(
        "trailing bytes after the certificate (", end - cursor, " bytes)"));
  }
  return certificate;
}

// Encode calls one of BoringSSL's i2d functions and returns the bytes.
template <typename T>
std::string Encode(int (*i2d)(T*, uint8_t**), const T* object) {
  uint8_t* der = nullptr;
  // This BoringSSL's i2d functions take non-const pointers but only read.
  int length = i2d(const_cast<T*>(object), &der);
  if (length <= 0) {
    ERR_clear_error();
    return std::string();
  }
  bssl::UniquePtr<uint8_t> owned(der);
  return std::string(reinterpret_cast<const char*>(der),
                     static_cast<size_t>(length));
}

std::string CertificateToDer(const X509* certificate) {
  return Encode(i2d_X509, certificate);
}

std::string CrlToDer(const X509_CRL* crl) { return Encode(i2d_X509_CRL, crl); }

std::string NameToDer(const X509_NAME* name) {
  return Encode(i2d_X509_NAME, name);
}

bool IsDerName(absl::string_view der) {
  const uint8_t* cursor = reinterpret_cast<const uint8_t*>(der.data());
  bssl::UniquePtr<X509_NAME> name(
      d2i_X509_NAME(nullptr, &cursor, static_cast<long>(der.size())));
  ERR_clear_error();
  return name != nullptr &&
         cursor == reinterpret_cast<const uint8_t*>(der.data()) + der.size();
}

std::string SubjectName(const X509* certificate) {
  return NameToString(X509_get_subject_name(certificate));
}

std::string IssuerName(const X509* certificate) {
  return NameToString(X509_get_issuer_name(certificate));
}

absl::Time NotBefore(const X509* certificate) {
  return Asn1TimeToAbsl(X509_get0_notBefore(certificate));
}

absl::Time NotAfter(const X509* certificate) {
  return Asn1TimeToAbsl(X509_get0_notAfter(certificate));
}

std::string Sha256(absl::string_view data) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

std::string Sha256Hex(absl::string_view data) {
  return absl::BytesToHexString(Sha256(data));
}

std::string Sha256Fingerprint(const X509* certificate) {
  return Sha256Hex(CertificateToDer(certificate));
}

std::string DescribeCertificate(size_t index, const X509* certificate) {
  return absl::StrCat("certificate ", index, " (", SubjectName(certificate),
                      ")");
}

std::string DrainErrorQueue() {
  std::string text;
  uint32_t error;
  while ((error = ERR_get_error()) != 0) {
    char buffer[256];
    ERR_error_string_n(error, buffer, sizeof(buffer));
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "no details" : text;
}

}  // namespace certbroker::x509

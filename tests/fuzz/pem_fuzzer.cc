// Feeds the input, as PEM text, to the broker's PEM readers: certificates
// (ParsePemCertificates), private keys (ParsePemPrivateKey) and CRLs
// (ParseCrls), as trust bundles, imports and configuration files reach
// them. What parses must encode back to PEM that parses again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "broker/x509/pem.h"

using certbroker::x509::CertificateToPem;
using certbroker::x509::CrlToPem;
using certbroker::x509::ParseCrls;
using certbroker::x509::ParsePemCertificates;
using certbroker::x509::ParsePemPrivateKey;
using certbroker::x509::PrivateKeyToPem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view pem(reinterpret_cast<const char*>(data), size);
  auto certificates = ParsePemCertificates(pem, "fuzz.pem");
  if (certificates.ok()) {
    for (const auto& certificate : *certificates) {
      if (!ParsePemCertificates(CertificateToPem(certificate.get()), "again")
               .ok()) {
        std::abort();
      }
    }
  }
  auto key = ParsePemPrivateKey(pem, "fuzz.key");
  if (key.ok() &&
      !ParsePemPrivateKey(PrivateKeyToPem(key->get()), "again").ok()) {
    std::abort();
  }
  auto crls = ParseCrls(pem, "fuzz.crl");
  if (crls.ok()) {
    for (const auto& crl : *crls) {
      if (!ParseCrls(CrlToPem(crl.get()), "again").ok()) std::abort();
    }
  }
  return 0;
}

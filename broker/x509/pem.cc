// Strict PEM parsing and encoding of certificates and private keys.
#include "broker/x509/pem.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/x509/keys.h"

namespace certbroker::x509 {

absl::StatusOr<std::vector<PemBlock>> ReadPemBlocks(absl::string_view pem,
                                                    absl::string_view source) {
  std::vector<PemBlock> blocks;
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), pem.size()));
  if (bio == nullptr) return absl::ResourceExhaustedError("out of memory");
  while (true) {
    char* name = nullptr;
    char* header = nullptr;
    uint8_t* data = nullptr;
    long length = 0;
    if (!PEM_read_bio(bio.get(), &name, &header, &data, &length)) {
      uint32_t error = ERR_peek_last_error();
      if (ERR_GET_LIB(error) == ERR_LIB_PEM &&
          ERR_GET_REASON(error) == PEM_R_NO_START_LINE) {
        ERR_clear_error();
        break;  // No further block: the normal end.
      }
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": PEM block ", blocks.size() + 1,
                       " is truncated or corrupt (", DrainErrorQueue(), ")"));
    }
    bssl::UniquePtr<char> owned_name(name);
    bssl::UniquePtr<char> owned_header(header);
    bssl::UniquePtr<uint8_t> owned_data(data);
    if (header != nullptr && header[0] != '\0') {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": PEM block ", blocks.size() + 1,
          " has headers (an encrypted key?); only plain blocks are supported"));
    }
    blocks.push_back(
        PemBlock{name, std::string(reinterpret_cast<const char*>(data),
                                   static_cast<size_t>(length))});
  }
  return blocks;
}

namespace {

std::string EncodePem(const char* type, absl::string_view der) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      !PEM_write_bio(bio.get(), type, "",
                     reinterpret_cast<const uint8_t*>(der.data()),
                     static_cast<long>(der.size()))) {
    ERR_clear_error();
    return std::string();
  }
  const uint8_t* data = nullptr;
  size_t length = 0;
  BIO_mem_contents(bio.get(), &data, &length);
  return std::string(reinterpret_cast<const char*>(data), length);
}

}  // namespace

absl::StatusOr<CertificateList> ParsePemCertificates(absl::string_view pem,
                                                     absl::string_view source) {
  auto blocks = ReadPemBlocks(pem, source);
  if (!blocks.ok()) return blocks.status();
  if (blocks->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": holds no PEM certificate"));
  }
  CertificateList certificates;
  for (size_t i = 0; i < blocks->size(); ++i) {
    const PemBlock& block = (*blocks)[i];
    if (block.type != "CERTIFICATE") {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": PEM block ", i + 1, " is a '", block.type,
                       "', expected 'CERTIFICATE'"));
    }
    auto certificate = ParseDerCertificate(block.data);
    if (!certificate.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": certificate ", i + 1,
                       " is not valid: ", certificate.status().message()));
    }
    certificates.push_back(std::move(certificate).value());
  }
  return certificates;
}

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> ParsePemPrivateKey(
    absl::string_view pem, absl::string_view source) {
  auto blocks = ReadPemBlocks(pem, source);
  if (!blocks.ok()) return blocks.status();
  const PemBlock* key_block = nullptr;
  for (const PemBlock& block : *blocks) {
    if (block.type == "ENCRYPTED PRIVATE KEY") {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": the private key is encrypted; give an unencrypted key"));
    }
    if (block.type == "PRIVATE KEY" || block.type == "RSA PRIVATE KEY" ||
        block.type == "EC PRIVATE KEY") {
      if (key_block != nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat(source, ": holds more than one private key"));
      }
      key_block = &block;
    }
  }
  if (key_block == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": holds no PEM private key"));
  }
  auto key = ParsePrivateKeyDer(key_block->data, key_block->type);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", key.status().message()));
  }
  return key;
}

namespace {

absl::StatusOr<bssl::UniquePtr<X509_CRL>> ParseDerCrl(absl::string_view der) {
  const uint8_t* cursor = reinterpret_cast<const uint8_t*>(der.data());
  bssl::UniquePtr<X509_CRL> crl(
      d2i_X509_CRL(nullptr, &cursor, static_cast<long>(der.size())));
  if (crl == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not a DER CRL");
  }
  if (cursor != reinterpret_cast<const uint8_t*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("trailing bytes after the CRL");
  }
  return crl;
}

}  // namespace

absl::StatusOr<KeyPair> ParsePemKeyPair(absl::string_view chain_pem,
                                        absl::string_view chain_source,
                                        absl::string_view key_pem,
                                        absl::string_view key_source) {
  auto chain = ParsePemCertificates(chain_pem, chain_source);
  if (!chain.ok()) return chain.status();
  auto key = ParsePemPrivateKey(key_pem, key_source);
  if (!key.ok()) return key.status();
  X509* leaf = chain->front().get();
  if (!KeyMatchesCertificate(leaf, key->get())) {
    return absl::InvalidArgumentError(
        absl::StrCat("the private key in ", key_source,
                     " does not match the leaf certificate (",
                     SubjectName(leaf), ") in ", chain_source));
  }
  return KeyPair{std::move(chain).value(), std::move(key).value()};
}

absl::StatusOr<std::vector<bssl::UniquePtr<X509_CRL>>> ParseCrls(
    absl::string_view data, absl::string_view source) {
  std::vector<bssl::UniquePtr<X509_CRL>> crls;
  if (data.find("-----BEGIN") == absl::string_view::npos) {
    auto crl = ParseDerCrl(data);
    if (!crl.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": ", crl.status().message()));
    }
    crls.push_back(std::move(crl).value());
    return crls;
  }
  auto blocks = ReadPemBlocks(data, source);
  if (!blocks.ok()) return blocks.status();
  for (size_t i = 0; i < blocks->size(); ++i) {
    if ((*blocks)[i].type != "X509 CRL") {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": PEM block ", i + 1, " is a '",
                       (*blocks)[i].type, "', expected 'X509 CRL'"));
    }
    auto crl = ParseDerCrl((*blocks)[i].data);
    if (!crl.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": CRL ", i + 1, ": ", crl.status().message()));
    }
    crls.push_back(std::move(crl).value());
  }
  if (crls.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": holds no CRL"));
  }
  return crls;
}

std::string CertificateToPem(const X509* certificate) {
  return EncodePem("CERTIFICATE", CertificateToDer(certificate));
}

std::string CrlToPem(const X509_CRL* crl) {
  return EncodePem("X509 CRL", CrlToDer(crl));
}

std::string PrivateKeyToPem(const EVP_PKEY* key) {
  auto der = PrivateKeyToPkcs8Der(key);
  return der.ok() ? EncodePem("PRIVATE KEY", *der) : std::string();
}

}  // namespace certbroker::x509

// Tests of strict PEM parsing of certificates and keys.
#include "broker/x509/pem.h"

#include "broker/devpki/pki.h"
#include "broker/x509/keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace certbroker::x509 {
namespace {

using ::testing::HasSubstr;

TEST(PemTest, RoundTripsCertificatesAndKeys) {
  auto root = devpki::Issue(devpki::RootSpec("Pem Root"), nullptr);
  ASSERT_TRUE(root.ok()) << root.status();
  std::string pem = "# comment before\n" + root->CertificatePem() +
                    "between\n" + root->CertificatePem();
  auto certificates = ParsePemCertificates(pem, "bundle.pem");
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  ASSERT_EQ(certificates->size(), 2u);
  EXPECT_EQ(SubjectName((*certificates)[0].get()), "CN=Pem Root");
  auto key = ParsePemPrivateKey(root->KeyPem(), "root.key");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(KeyMatchesCertificate((*certificates)[0].get(), key->get()));
}

TEST(PemTest, ParsesTraditionalKeyForms) {
  auto rsa = devpki::GenerateKey(devpki::KeyType::kRsa2048);
  ASSERT_TRUE(rsa.ok());
  uint8_t* der = nullptr;
  int length = i2d_RSAPrivateKey(EVP_PKEY_get0_RSA(rsa->get()), &der);
  ASSERT_GT(length, 0);
  bssl::UniquePtr<uint8_t> owned(der);
  auto parsed = ParsePrivateKeyDer(
      absl::string_view(reinterpret_cast<const char*>(der), length),
      "RSA PRIVATE KEY");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(EVP_PKEY_id(parsed->get()), EVP_PKEY_RSA);
}

TEST(PemTest, RejectsEncryptedKeys) {
  auto key = ParsePemPrivateKey(
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE "
      "KEY-----\n",
      "secret.key");
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(key.status().message()),
              HasSubstr("secret.key: the private key is encrypted"));
}

TEST(PemTest, RejectsTwoKeys) {
  auto root = devpki::Issue(devpki::RootSpec("Pem Root"), nullptr);
  ASSERT_TRUE(root.ok());
  auto key = ParsePemPrivateKey(root->KeyPem() + root->KeyPem(), "two.key");
  EXPECT_THAT(std::string(key.status().message()),
              HasSubstr("more than one private key"));
}

TEST(PemTest, RejectsTrailingBytesInDer) {
  auto root = devpki::Issue(devpki::RootSpec("Pem Root"), nullptr);
  ASSERT_TRUE(root.ok());
  auto parsed = ParseDerCertificate(root->Der() + "x");
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()),
              HasSubstr("trailing bytes after the certificate (1 bytes)"));
}

TEST(PemTest, RejectsTruncatedDer) {
  auto root = devpki::Issue(devpki::RootSpec("Pem Root"), nullptr);
  ASSERT_TRUE(root.ok());
  std::string der = root->Der();
  auto parsed = ParseDerCertificate(der.substr(0, der.size() / 2));
  EXPECT_THAT(std::string(parsed.status().message()),
              HasSubstr("not a DER certificate"));
  EXPECT_THAT(std::string(ParseDerCertificate("").status().message()),
              HasSubstr("empty certificate"));
}

}  // namespace
}  // namespace certbroker::x509

// Signing under every supported TLS SignatureScheme with real keys, each
// signature checked by BoringSSL's verifier under the certificate's public
// key over the original message; and the refusals: wrong input lengths,
// schemes a key cannot do, unknown schemes.
#include "broker/keyless/signature_scheme.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_pki.h"

namespace certbroker::keyless {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct Hash {
  const EVP_MD* md;
  bool pss;
};

// HashOf returns the digest and padding a scheme verifies with.
Hash HashOf(uint16_t scheme) {
  switch (scheme) {
    case kEcdsaSecp256r1Sha256:
    case kRsaPkcs1Sha256:
      return {EVP_sha256(), false};
    case kEcdsaSecp384r1Sha384:
    case kRsaPkcs1Sha384:
      return {EVP_sha384(), false};
    case kRsaPkcs1Sha512:
      return {EVP_sha512(), false};
    case kRsaPssRsaeSha256:
      return {EVP_sha256(), true};
    case kRsaPssRsaeSha384:
      return {EVP_sha384(), true};
    case kRsaPssRsaeSha512:
      return {EVP_sha512(), true};
    default:
      return {nullptr, false};
  }
}

std::string Digest(const EVP_MD* md, const std::string& message) {
  std::string digest(EVP_MD_size(md), '\0');
  unsigned length = 0;
  EXPECT_TRUE(EVP_Digest(message.data(), message.size(),
                         reinterpret_cast<uint8_t*>(digest.data()), &length, md,
                         nullptr));
  return digest;
}

// Verifies checks `signature` over `message` (not the digest) under
// `public_key` as a TLS peer would.
bool Verifies(EVP_PKEY* public_key, uint16_t scheme, const std::string& message,
              const std::string& signature) {
  bssl::ScopedEVP_MD_CTX ctx;
  EVP_PKEY_CTX* pctx = nullptr;
  const Hash hash = HashOf(scheme);
  if (!EVP_DigestVerifyInit(ctx.get(), &pctx, hash.md, nullptr, public_key)) {
    return false;
  }
  if (hash.pss && (!EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) ||
                   !EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, -1))) {
    return false;
  }
  return EVP_DigestVerify(
             ctx.get(), reinterpret_cast<const uint8_t*>(signature.data()),
             signature.size(), reinterpret_cast<const uint8_t*>(message.data()),
             message.size()) == 1;
}

devpki::Issued Leaf(devpki::KeyType type) {
  devpki::CertificateSpec spec = devpki::ClientSpec("keyless");
  spec.key_type = type;
  return testing::MustIssue(spec, nullptr);
}

bssl::UniquePtr<EVP_PKEY> Ed25519Key() {
  bssl::UniquePtr<EVP_PKEY_CTX> ctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* key = nullptr;
  EXPECT_TRUE(ctx && EVP_PKEY_keygen_init(ctx.get()) &&
              EVP_PKEY_keygen(ctx.get(), &key));
  return bssl::UniquePtr<EVP_PKEY>(key);
}

// ExpectEverySchemeSigns signs a message under each scheme `key` offers
// and checks each signature under `public_key`.
void ExpectEverySchemeSigns(const EVP_PKEY* key, EVP_PKEY* public_key) {
  const std::string message = "TLS 1.3, client CertificateVerify transcript";
  for (uint16_t scheme : SchemesForKey(key)) {
    SCOPED_TRACE(SchemeName(scheme));
    const std::string input =
        scheme == kEd25519 ? message : Digest(HashOf(scheme).md, message);
    absl::StatusOr<std::string> signature = SignWithScheme(key, scheme, input);
    ASSERT_TRUE(signature.ok()) << signature.status();
    EXPECT_TRUE(Verifies(public_key, scheme, message, *signature));
    // And not over another message.
    EXPECT_FALSE(Verifies(public_key, scheme, message + "!", *signature));
  }
}

TEST(SignatureSchemeTest, EachKeyTypeOffersItsSchemes) {
  EXPECT_THAT(SchemesForKey(Leaf(devpki::KeyType::kEcP256).key.get()),
              ElementsAre(kEcdsaSecp256r1Sha256));
  EXPECT_THAT(SchemesForKey(Leaf(devpki::KeyType::kEcP384).key.get()),
              ElementsAre(kEcdsaSecp384r1Sha384));
  EXPECT_THAT(
      SchemesForKey(Leaf(devpki::KeyType::kRsa2048).key.get()),
      ElementsAre(kRsaPssRsaeSha256, kRsaPssRsaeSha384, kRsaPssRsaeSha512,
                  kRsaPkcs1Sha256, kRsaPkcs1Sha384, kRsaPkcs1Sha512));
  // 1024 bits leave no room for a 64-byte salt and hash.
  EXPECT_THAT(SchemesForKey(Leaf(devpki::KeyType::kRsa1024).key.get()),
              ElementsAre(kRsaPssRsaeSha256, kRsaPssRsaeSha384, kRsaPkcs1Sha256,
                          kRsaPkcs1Sha384, kRsaPkcs1Sha512));
  EXPECT_THAT(SchemesForKey(Ed25519Key().get()), ElementsAre(kEd25519));
  EXPECT_THAT(SchemesForKey(Leaf(devpki::KeyType::kEcP224).key.get()),
              IsEmpty());
  EXPECT_THAT(SchemesForKey(nullptr), IsEmpty());
}

TEST(SignatureSchemeTest, EcdsaSignaturesVerifyUnderTheCertificate) {
  for (devpki::KeyType type :
       {devpki::KeyType::kEcP256, devpki::KeyType::kEcP384}) {
    devpki::Issued leaf = Leaf(type);
    bssl::UniquePtr<EVP_PKEY> public_key(
        X509_get_pubkey(leaf.certificate.get()));
    ExpectEverySchemeSigns(leaf.key.get(), public_key.get());
  }
}

TEST(SignatureSchemeTest, RsaPssAndPkcs1SignaturesVerifyUnderTheCertificate) {
  devpki::Issued leaf = Leaf(devpki::KeyType::kRsa2048);
  bssl::UniquePtr<EVP_PKEY> public_key(X509_get_pubkey(leaf.certificate.get()));
  ExpectEverySchemeSigns(leaf.key.get(), public_key.get());
}

TEST(SignatureSchemeTest, RsaPssSaltIsAsLongAsTheHash) {
  devpki::Issued leaf = Leaf(devpki::KeyType::kRsa2048);
  bssl::UniquePtr<EVP_PKEY> public_key(X509_get_pubkey(leaf.certificate.get()));
  const std::string digest = Digest(EVP_sha384(), "m");
  absl::StatusOr<std::string> signature =
      SignWithScheme(leaf.key.get(), kRsaPssRsaeSha384, digest);
  ASSERT_TRUE(signature.ok()) << signature.status();
  // Explicit salt length 48 and MGF1-SHA-384, as TLS 1.3 requires.
  EXPECT_EQ(
      RSA_verify_pss_mgf1(EVP_PKEY_get0_RSA(public_key.get()),
                          reinterpret_cast<const uint8_t*>(digest.data()),
                          digest.size(), EVP_sha384(), EVP_sha384(), 48,
                          reinterpret_cast<const uint8_t*>(signature->data()),
                          signature->size()),
      1);
}

TEST(SignatureSchemeTest, Ed25519SignsTheMessageItself) {
  bssl::UniquePtr<EVP_PKEY> key = Ed25519Key();
  ExpectEverySchemeSigns(key.get(), key.get());
  absl::StatusOr<std::string> largest = SignWithScheme(
      key.get(), kEd25519, std::string(kMaxEd25519MessageBytes, 'x'));
  EXPECT_TRUE(largest.ok()) << largest.status();
  absl::StatusOr<std::string> too_large = SignWithScheme(
      key.get(), kEd25519, std::string(kMaxEd25519MessageBytes + 1, 'x'));
  EXPECT_EQ(too_large.status(),
            absl::InvalidArgumentError("input is 65537 bytes; ed25519 signs a "
                                       "message of at most 65536 bytes"));
}

TEST(SignatureSchemeTest, WrongInputLengthsAreRefused) {
  devpki::Issued ec = Leaf(devpki::KeyType::kEcP256);
  EXPECT_EQ(
      SignWithScheme(ec.key.get(), kEcdsaSecp256r1Sha256, std::string(31, 'd'))
          .status(),
      absl::InvalidArgumentError(
          "input is 31 bytes; ecdsa_secp256r1_sha256 signs a SHA-256 "
          "digest of 32 bytes"));
  EXPECT_EQ(
      SignWithScheme(ec.key.get(), kEcdsaSecp256r1Sha256, "").status(),
      absl::InvalidArgumentError("input is 0 bytes; ecdsa_secp256r1_sha256 "
                                 "signs a SHA-256 digest of 32 bytes"));
  devpki::Issued rsa = Leaf(devpki::KeyType::kRsa2048);
  EXPECT_EQ(
      SignWithScheme(rsa.key.get(), kRsaPssRsaeSha512, std::string(48, 'd'))
          .status(),
      absl::InvalidArgumentError("input is 48 bytes; rsa_pss_rsae_sha512 "
                                 "signs a SHA-512 digest of 64 bytes"));
  EXPECT_EQ(SignWithScheme(rsa.key.get(), kRsaPkcs1Sha384, std::string(32, 'd'))
                .status(),
            absl::InvalidArgumentError("input is 32 bytes; rsa_pkcs1_sha384 "
                                       "signs a SHA-384 digest of 48 bytes"));
}

TEST(SignatureSchemeTest, SchemesTheKeyCannotDoAreRefusedNamingBoth) {
  devpki::Issued ec = Leaf(devpki::KeyType::kEcP256);
  EXPECT_EQ(
      SignWithScheme(ec.key.get(), kRsaPssRsaeSha256, std::string(32, 'd'))
          .status(),
      absl::InvalidArgumentError(
          "algorithm rsa_pss_rsae_sha256 cannot sign with the EC P-256 "
          "key (it can: ecdsa_secp256r1_sha256)"));
  EXPECT_EQ(
      SignWithScheme(ec.key.get(), kEcdsaSecp384r1Sha384, std::string(48, 'd'))
          .status(),
      absl::InvalidArgumentError(
          "algorithm ecdsa_secp384r1_sha384 cannot sign with the EC "
          "P-256 key (it can: ecdsa_secp256r1_sha256)"));
  devpki::Issued rsa = Leaf(devpki::KeyType::kRsa1024);
  EXPECT_EQ(
      SignWithScheme(rsa.key.get(), kRsaPssRsaeSha512, std::string(64, 'd'))
          .status(),
      absl::InvalidArgumentError(
          "algorithm rsa_pss_rsae_sha512 cannot sign with the RSA "
          "1024-bit key (it can: rsa_pss_rsae_sha256, "
          "rsa_pss_rsae_sha384, rsa_pkcs1_sha256, rsa_pkcs1_sha384, "
          "rsa_pkcs1_sha512)"));
  bssl::UniquePtr<EVP_PKEY> ed = Ed25519Key();
  EXPECT_EQ(
      SignWithScheme(ed.get(), kEcdsaSecp256r1Sha256, std::string(32, 'd'))
          .status(),
      absl::InvalidArgumentError(
          "algorithm ecdsa_secp256r1_sha256 cannot sign with the "
          "Ed25519 key (it can: ed25519)"));
  devpki::Issued p224 = Leaf(devpki::KeyType::kEcP224);
  EXPECT_EQ(SignWithScheme(p224.key.get(), kEcdsaSecp256r1Sha256,
                           std::string(32, 'd'))
                .status(),
            absl::InvalidArgumentError(
                "algorithm ecdsa_secp256r1_sha256 cannot sign with the EC "
                "P-224 key (it can: nothing)"));
}

TEST(SignatureSchemeTest, UnknownSchemesAreRefused) {
  devpki::Issued ec = Leaf(devpki::KeyType::kEcP256);
  // rsa_pss_pss_sha256 and a legacy SHA-1 scheme: real, not supported.
  for (uint32_t scheme : {0x0809u, 0x0201u, 0x0000u, 0x10403u}) {
    EXPECT_FALSE(IsSupportedScheme(scheme));
    EXPECT_FALSE(KeyCanSign(ec.key.get(), scheme));
  }
  EXPECT_EQ(SignWithScheme(ec.key.get(), 0x0809, std::string(32, 'd')).status(),
            absl::InvalidArgumentError("algorithm 0x0809 is not a signature "
                                       "scheme the broker signs with"));
  EXPECT_EQ(SchemeName(0x10403), "0x10403");
  EXPECT_EQ(SchemeName(kRsaPkcs1Sha512), "rsa_pkcs1_sha512");
  EXPECT_TRUE(KeyCanSign(ec.key.get(), kEcdsaSecp256r1Sha256));
}

}  // namespace
}  // namespace certbroker::keyless

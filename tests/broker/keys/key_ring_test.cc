// Tests of KeyRing: sealing real PKCS#8 keys, binding to the certificate id,
// tamper and truncation resistance, missing KEKs, and rotation.
#include "broker/keys/key_ring.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "broker/devpki/pki.h"
#include "broker/keys/envelope.h"
#include "broker/keys/secret.h"
#include "broker/x509/keys.h"
#include "broker/x509/pem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace certbroker::keys {
namespace {

using ::testing::HasSubstr;

constexpr char kCertificateId[] = "payroll-client";

// Offsets of the version-1 envelope's fields (envelope.h).
constexpr size_t kVersionOffset = 4;
constexpr size_t kKekIdOffset = 5;
constexpr size_t kPayloadLengthOffset = 85;

// Pkcs8Key returns a freshly generated private key as PKCS#8 DER.
std::string Pkcs8Key(devpki::KeyType type = devpki::KeyType::kEcP256) {
  auto key = devpki::GenerateKey(type);
  EXPECT_TRUE(key.ok()) << key.status();
  if (!key.ok()) return "";
  auto der = x509::PrivateKeyToPkcs8Der(key->get());
  EXPECT_TRUE(der.ok()) << der.status();
  return der.ok() ? *der : "";
}

TEST(KeyRingTest, RoundTripsRealPkcs8Keys) {
  KeyRing ring(Kek::Generate());
  for (devpki::KeyType type :
       {devpki::KeyType::kEcP256, devpki::KeyType::kRsa2048}) {
    std::string der = Pkcs8Key(type);
    ASSERT_FALSE(der.empty());
    auto sealed = ring.Seal(der, kCertificateId);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_EQ(sealed->size(),
              kSealedKeyHeaderBytes + der.size() + kAeadTagBytes);
    auto opened = ring.Open(*sealed, kCertificateId);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, der);
    auto parsed = x509::ParsePrivateKeyDer(*opened, "PRIVATE KEY");
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    WipeString(*opened);
    EXPECT_TRUE(opened->empty());
  }
}

TEST(KeyRingTest, SealedBytesRevealNothingOfTheKey) {
  KeyRing ring(Kek::Generate());
  auto key = devpki::GenerateKey(devpki::KeyType::kRsa2048);
  ASSERT_TRUE(key.ok());
  auto der = x509::PrivateKeyToPkcs8Der(key->get());
  ASSERT_TRUE(der.ok());
  auto sealed = ring.Seal(*der, kCertificateId);
  ASSERT_TRUE(sealed.ok()) << sealed.status();

  EXPECT_EQ(sealed->find(*der), std::string::npos);
  for (size_t i = 0; i + 16 <= der->size(); ++i) {
    ASSERT_EQ(sealed->find(der->substr(i, 16)), std::string::npos)
        << "DER window at " << i;
  }
  std::string pem_body;
  for (absl::string_view line :
       absl::StrSplit(x509::PrivateKeyToPem(key->get()), '\n')) {
    if (!line.empty() && line[0] != '-') absl::StrAppend(&pem_body, line);
  }
  ASSERT_GT(pem_body.size(), 1000u);
  for (size_t i = 0; i + 16 <= pem_body.size(); ++i) {
    ASSERT_EQ(sealed->find(pem_body.substr(i, 16)), std::string::npos)
        << "PEM base64 window at " << i;
  }
}

TEST(KeyRingTest, TwoSealsOfTheSameKeyDiffer) {
  KeyRing ring(Kek::Generate());
  std::string der = Pkcs8Key();
  auto first = ring.Seal(der, kCertificateId);
  auto second = ring.Seal(der, kCertificateId);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, *second);
  auto a = ParseSealedKey(*first);
  auto b = ParseSealedKey(*second);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->kek_id, b->kek_id);
  EXPECT_NE(a->dek_nonce, b->dek_nonce);
  EXPECT_NE(a->payload_nonce, b->payload_nonce);
  EXPECT_NE(a->wrapped_dek, b->wrapped_dek);
  EXPECT_NE(a->payload, b->payload);
}

TEST(KeyRingTest, WrongCertificateIdFailsAuthentication) {
  KeyRing ring(Kek::Generate());
  auto sealed = ring.Seal(Pkcs8Key(), kCertificateId);
  ASSERT_TRUE(sealed.ok());
  for (const char* other : {"payroll-client2", "payroll-clien", "x"}) {
    auto opened = ring.Open(*sealed, other);
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << other;
    EXPECT_THAT(std::string(opened.status().message()),
                HasSubstr(absl::StrCat(
                    "authentication failed for certificate '", other,
                    "': the sealed key was altered or belongs to another "
                    "certificate")));
  }
}

TEST(KeyRingTest, WrappedDekMovedToAnotherEnvelopeFails) {
  KeyRing ring(Kek::Generate());
  auto first = ring.Seal(Pkcs8Key(), kCertificateId);
  auto second = ring.Seal(Pkcs8Key(), kCertificateId);
  ASSERT_TRUE(first.ok() && second.ok());
  auto spliced = ParseSealedKey(*first);
  auto donor = ParseSealedKey(*second);
  ASSERT_TRUE(spliced.ok() && donor.ok());
  spliced->dek_nonce = donor->dek_nonce;
  spliced->wrapped_dek = donor->wrapped_dek;
  auto opened = ring.Open(SerializeSealedKey(*spliced), kCertificateId);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(opened.status().message()),
              HasSubstr("authentication failed"));
}

TEST(KeyRingTest, EverySingleByteFlipFailsToOpen) {
  KeyRing ring(Kek::Generate());
  auto sealed = ring.Seal(Pkcs8Key(), kCertificateId);
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::string flipped = *sealed;
      flipped[i] = static_cast<char>(flipped[i] ^ mask);
      auto opened = ring.Open(flipped, kCertificateId);
      ASSERT_FALSE(opened.ok())
          << "byte " << i << " ^ " << int{mask} << " still opened";
      bool in_kek_id = i >= kKekIdOffset && i < kKekIdOffset + kKekIdBytes;
      EXPECT_EQ(opened.status().code(),
                in_kek_id ? absl::StatusCode::kFailedPrecondition
                          : absl::StatusCode::kDataLoss)
          << "byte " << i << ": " << opened.status();
      EXPECT_THAT(std::string(opened.status().message()),
                  HasSubstr(absl::StrCat("'", kCertificateId, "'")));
    }
  }
}

TEST(KeyRingTest, EveryTruncationFailsCleanly) {
  KeyRing ring(Kek::Generate());
  auto sealed = ring.Seal(Pkcs8Key(), kCertificateId);
  ASSERT_TRUE(sealed.ok());
  for (size_t size = 0; size < sealed->size(); ++size) {
    auto opened = ring.Open(sealed->substr(0, size), kCertificateId);
    ASSERT_EQ(opened.status().code(), absl::StatusCode::kDataLoss)
        << size << ": " << opened.status();
    EXPECT_THAT(std::string(opened.status().message()),
                HasSubstr("sealed key is truncated"))
        << size;
  }
}

TEST(KeyRingTest, TrailingBytesFail) {
  KeyRing ring(Kek::Generate());
  auto sealed = ring.Seal(Pkcs8Key(), kCertificateId);
  ASSERT_TRUE(sealed.ok());
  auto opened = ring.Open(*sealed + std::string(1, '\0'), kCertificateId);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(opened.status().message()),
              HasSubstr(absl::StrCat("cannot open the key of certificate '",
                                     kCertificateId,
                                     "': sealed key has 1 trailing bytes")));
}

TEST(KeyRingTest, UnknownVersionFails) {
  KeyRing ring(Kek::Generate());
  auto sealed = ring.Seal(Pkcs8Key(), kCertificateId);
  ASSERT_TRUE(sealed.ok());
  std::string newer = *sealed;
  newer[kVersionOffset] = 2;
  auto opened = ring.Open(newer, kCertificateId);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(opened.status().message()),
              HasSubstr("sealed key has format version 2; this broker reads "
                        "only version 1"));
}

TEST(KeyRingTest, BadMagicAndPayloadLengthFail) {
  KeyRing ring(Kek::Generate());
  auto sealed = ring.Seal(Pkcs8Key(), kCertificateId);
  ASSERT_TRUE(sealed.ok());
  std::string pem_like = *sealed;
  pem_like.replace(0, 4, "----");
  auto opened = ring.Open(pem_like, kCertificateId);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(opened.status().message()),
              HasSubstr("does not start with the magic \"CBSK\""));

  std::string zero_length = *sealed;
  zero_length.replace(kPayloadLengthOffset, 4, std::string(4, '\0'));
  opened = ring.Open(zero_length, kCertificateId);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(opened.status().message()),
              HasSubstr("records a payload of 0 bytes, outside the valid "
                        "range 17..65552"));
}

TEST(KeyRingTest, MissingKekIsNamedWithTheLoadedOnes) {
  Kek a = Kek::Generate();
  Kek b = Kek::Generate();
  Kek c = Kek::Generate();
  auto sealed = KeyRing(a).Seal(Pkcs8Key(), kCertificateId);
  ASSERT_TRUE(sealed.ok());
  auto opened = KeyRing(b, {c}).Open(*sealed, kCertificateId);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(opened.status().message()),
              HasSubstr(absl::StrCat("cannot open the key of certificate '",
                                     kCertificateId, "': sealed with KEK ",
                                     a.id(), ", which is not loaded (loaded: ",
                                     b.id(), ", ", c.id(), ")")));
}

TEST(KeyRingTest, RotationOpensWithOldKeksAndRewrapsToTheCurrentOne) {
  Kek a = Kek::Generate();
  Kek b = Kek::Generate();
  std::string der = Pkcs8Key();
  auto sealed = KeyRing(a).Seal(der, kCertificateId);
  ASSERT_TRUE(sealed.ok());

  KeyRing rotating(b, {a});
  EXPECT_EQ(rotating.KekIds(), (std::vector<std::string>{b.id(), a.id()}));
  auto opened = rotating.Open(*sealed, kCertificateId);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, der);

  auto rewrapped = rotating.Rewrap(*sealed, kCertificateId);
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  auto old_id = KeyRing::SealedKekId(*sealed);
  auto new_id = KeyRing::SealedKekId(*rewrapped);
  ASSERT_TRUE(old_id.ok() && new_id.ok());
  EXPECT_EQ(*old_id, a.id());
  EXPECT_EQ(*new_id, b.id());

  // Only the DEK was re-encrypted.
  auto before = ParseSealedKey(*sealed);
  auto after = ParseSealedKey(*rewrapped);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(before->payload_nonce, after->payload_nonce);
  EXPECT_EQ(before->payload, after->payload);
  EXPECT_NE(before->dek_nonce, after->dek_nonce);
  EXPECT_NE(before->wrapped_dek, after->wrapped_dek);

  auto reopened = KeyRing(b).Open(*rewrapped, kCertificateId);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(*reopened, der);
  auto with_old_only = KeyRing(a).Open(*rewrapped, kCertificateId);
  EXPECT_EQ(with_old_only.status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(with_old_only.status().message()),
              HasSubstr(absl::StrCat("sealed with KEK ", b.id())));
}

TEST(KeyRingTest, RewrapUnderTheCurrentKekReturnsTheSameBytes) {
  KeyRing ring(Kek::Generate());
  auto sealed = ring.Seal(Pkcs8Key(), kCertificateId);
  ASSERT_TRUE(sealed.ok());
  auto rewrapped = ring.Rewrap(*sealed, kCertificateId);
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  EXPECT_EQ(*rewrapped, *sealed);
}

TEST(KeyRingTest, RewrapAuthenticatesTheWholeEnvelope) {
  Kek a = Kek::Generate();
  KeyRing rotating(Kek::Generate(), {a});
  auto sealed = KeyRing(a).Seal(Pkcs8Key(), kCertificateId);
  ASSERT_TRUE(sealed.ok());

  auto wrong_id = rotating.Rewrap(*sealed, "someone-else");
  EXPECT_EQ(wrong_id.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(wrong_id.status().message()),
              HasSubstr("authentication failed for certificate "
                        "'someone-else'"));

  std::string tampered = *sealed;
  tampered.back() ^= 1;  // The payload's tag: the DEK itself unwraps fine.
  auto rewrapped = rotating.Rewrap(tampered, kCertificateId);
  EXPECT_EQ(rewrapped.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(rewrapped.status().message()),
              HasSubstr("authentication failed"));

  auto truncated = rotating.Rewrap(sealed->substr(0, 10), kCertificateId);
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(truncated.status().message()),
              HasSubstr("cannot rewrap the key of certificate"));
}

TEST(KeyRingTest, SealedKekIdRejectsMalformedInput) {
  auto id = KeyRing::SealedKekId("not a sealed key");
  EXPECT_EQ(id.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(id.status().message()),
              HasSubstr("sealed key is truncated"));
}

TEST(KeyRingTest, RejectsEmptyCertificateIdsAndBadPlaintexts) {
  KeyRing ring(Kek::Generate());
  std::string der = Pkcs8Key();
  auto sealed = ring.Seal(der, kCertificateId);
  ASSERT_TRUE(sealed.ok());
  for (const auto& status :
       {ring.Seal(der, "").status(), ring.Open(*sealed, "").status(),
        ring.Rewrap(*sealed, "").status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(
        std::string(status.message()),
        HasSubstr("a sealed key needs a certificate id, got an empty one"));
  }
  auto empty = ring.Seal("", kCertificateId);
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(empty.status().message()),
              HasSubstr("it is 0 bytes, and a sealed key holds 1 to 65536"));
  auto huge =
      ring.Seal(std::string(kMaxSealedPlaintextBytes + 1, 'k'), kCertificateId);
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(huge.status().message()),
              HasSubstr("it is 65537 bytes"));
  auto largest =
      ring.Seal(std::string(kMaxSealedPlaintextBytes, 'k'), kCertificateId);
  ASSERT_TRUE(largest.ok()) << largest.status();
  auto opened = ring.Open(*largest, kCertificateId);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->size(), kMaxSealedPlaintextBytes);
}

}  // namespace
}  // namespace certbroker::keys

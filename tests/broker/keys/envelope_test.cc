// Tests of the sealed-key envelope's documented layout and its parser.
#include "broker/keys/envelope.h"

#include <string>

#include "broker/keys/key_ring.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace certbroker::keys {
namespace {

using ::testing::HasSubstr;

SealedKeyEnvelope SampleEnvelope() {
  SealedKeyEnvelope envelope;
  for (size_t i = 0; i < envelope.kek_id.size(); ++i) envelope.kek_id[i] = i;
  envelope.dek_nonce.fill(0xd1);
  envelope.wrapped_dek = std::string(kWrappedDekBytes, 'w');
  envelope.payload_nonce.fill(0xa1);
  envelope.payload = std::string(300, 'p');
  return envelope;
}

TEST(EnvelopeTest, LaysOutTheDocumentedVersionOneFormat) {
  EXPECT_EQ(kSealedKeyHeaderBytes, 89u);
  std::string bytes = SerializeSealedKey(SampleEnvelope());
  ASSERT_EQ(bytes.size(), 89u + 300u);
  EXPECT_EQ(bytes.substr(0, 4), "CBSK");
  EXPECT_EQ(bytes[4], '\x01');
  EXPECT_EQ(bytes.substr(5, 8), std::string("\0\1\2\3\4\5\6\7", 8));
  EXPECT_EQ(bytes.substr(13, 12), std::string(12, '\xd1'));
  EXPECT_EQ(bytes.substr(25, 48), std::string(48, 'w'));
  EXPECT_EQ(bytes.substr(73, 12), std::string(12, '\xa1'));
  EXPECT_EQ(bytes.substr(85, 4), std::string("\0\0\x01\x2c", 4));  // 300.
  EXPECT_EQ(bytes.substr(89), std::string(300, 'p'));
}

TEST(EnvelopeTest, ParsesWhatItSerializes) {
  SealedKeyEnvelope envelope = SampleEnvelope();
  auto parsed = ParseSealedKey(SerializeSealedKey(envelope));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->kek_id, envelope.kek_id);
  EXPECT_EQ(parsed->dek_nonce, envelope.dek_nonce);
  EXPECT_EQ(parsed->wrapped_dek, envelope.wrapped_dek);
  EXPECT_EQ(parsed->payload_nonce, envelope.payload_nonce);
  EXPECT_EQ(parsed->payload, envelope.payload);
  auto id = KeyRing::SealedKekId(SerializeSealedKey(envelope));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "0001020304050607");
}

TEST(EnvelopeTest, RejectsPayloadLengthsOutOfRange) {
  for (size_t size : {size_t{0}, size_t{16}, kMaxSealedPlaintextBytes + 17}) {
    SealedKeyEnvelope envelope = SampleEnvelope();
    envelope.payload = std::string(size, 'p');
    auto parsed = ParseSealedKey(SerializeSealedKey(envelope));
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss) << size;
    EXPECT_THAT(std::string(parsed.status().message()),
                HasSubstr("outside the valid range 17..65552"));
  }
  SealedKeyEnvelope smallest = SampleEnvelope();
  smallest.payload = std::string(17, 'p');
  EXPECT_TRUE(ParseSealedKey(SerializeSealedKey(smallest)).ok());
}

TEST(EnvelopeTest, AssociatedDataBindsKekIdAndCertificateId) {
  SealedKeyEnvelope envelope = SampleEnvelope();
  std::string dek_aad = DekAssociatedData(envelope.kek_id, "cert");
  EXPECT_EQ(dek_aad, std::string("certbroker sealed key v1 DEK\0", 29) +
                         std::string("\0\1\2\3\4\5\6\7", 8) + "cert");
  EXPECT_EQ(PayloadAssociatedData("cert"),
            std::string("certbroker sealed key v1 payload\0", 33) + "cert");
}

}  // namespace
}  // namespace certbroker::keys

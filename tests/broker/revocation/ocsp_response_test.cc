// Tests of stapled OCSP response checking against responses built by
// devpki's OCSP builder: each outcome, who may sign, freshness with skew,
// signature algorithms, and malformed input of every kind.
#include "broker/revocation/ocsp_response.h"

#include <random>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/devpki/ocsp_builder.h"
#include "broker/devpki/pki.h"
#include "broker/revocation/der.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace certbroker::revocation {
namespace {

using devpki::BuildOcspResponse;
using devpki::Issued;
using devpki::OcspCertStatus;
using devpki::OcspResponseSpec;
using devpki::OcspSignatureAlgorithm;
using ::testing::HasSubstr;

constexpr absl::Duration kSkew = absl::Minutes(5);

std::string Day(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d", time, absl::UTCTimeZone());
}

class OcspResponseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto issuer = devpki::Issue(devpki::RootSpec("OCSP Test CA"), nullptr);
    ASSERT_TRUE(issuer.ok()) << issuer.status();
    issuer_ = std::move(issuer).value();
    auto leaf = devpki::Issue(
        devpki::ServerSpec("leaf.example.test", {"leaf.example.test"}),
        &issuer_);
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    leaf_ = std::move(leaf).value();
  }

  // Spec is a good response, valid from an hour ago for a day.
  OcspResponseSpec Spec() const {
    OcspResponseSpec spec;
    spec.produced_at = now_ - absl::Minutes(30);
    spec.this_update = now_ - absl::Hours(1);
    spec.next_update = now_ + absl::Hours(24);
    return spec;
  }

  Issued NewRoot(const std::string& name) {
    auto root = devpki::Issue(devpki::RootSpec(name), nullptr);
    EXPECT_TRUE(root.ok()) << root.status();
    return std::move(root).value();
  }

  Issued NewResponder(const Issued& issuer, bool ocsp_signing,
                      const devpki::CertificateSpec& spec =
                          devpki::OcspResponderSpec("OCSP Responder")) {
    auto responder = devpki::IssueOcspResponder(spec, issuer, ocsp_signing);
    EXPECT_TRUE(responder.ok()) << responder.status();
    return std::move(responder).value();
  }

  // Build makes a response about leaf_ from issuer_, signed by `responder`
  // (issuer_ when null).
  std::string Build(const OcspResponseSpec& spec,
                    const Issued* responder = nullptr) {
    auto der = BuildOcspResponse(spec, leaf_, issuer_,
                                 responder ? *responder : issuer_);
    EXPECT_TRUE(der.ok()) << der.status();
    return der.ok() ? *der : std::string();
  }

  OcspVerdict Check(absl::string_view der) const {
    return CheckOcspResponse(der, leaf_.certificate.get(),
                             issuer_.certificate.get(), now_, kSkew);
  }

  // now_ is a whole second, as the response's times are.
  const absl::Time now_ =
      absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  Issued issuer_;
  Issued leaf_;
};

TEST_F(OcspResponseTest, GoodWithSha1CertId) {
  OcspVerdict verdict = Check(Build(Spec()));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kGood) << verdict.detail;
  EXPECT_EQ(verdict.detail, "good, signed with the issuer's key");
  EXPECT_EQ(verdict.this_update, now_ - absl::Hours(1));
  EXPECT_EQ(verdict.next_update, now_ + absl::Hours(24));
  EXPECT_EQ(verdict.revocation_time, absl::InfinitePast());
}

TEST_F(OcspResponseTest, GoodWithSha256CertId) {
  OcspResponseSpec spec = Spec();
  spec.sha256_cert_id = true;
  OcspVerdict verdict = Check(Build(spec));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kGood) << verdict.detail;
}

TEST_F(OcspResponseTest, RevokedReportsTimeAndReason) {
  OcspResponseSpec spec = Spec();
  spec.status = OcspCertStatus::kRevoked;
  spec.revocation_time = now_ - absl::Hours(48);
  spec.revocation_reason = 1;
  OcspVerdict verdict = Check(Build(spec));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kRevoked) << verdict.detail;
  EXPECT_EQ(verdict.revocation_time, now_ - absl::Hours(48));
  EXPECT_THAT(verdict.detail, HasSubstr(absl::StrCat(
                                  "revoked at ", Day(now_ - absl::Hours(48)))));
  EXPECT_THAT(verdict.detail, HasSubstr("(keyCompromise)"));
}

TEST_F(OcspResponseTest, RevokedWithoutReason) {
  OcspResponseSpec spec = Spec();
  spec.status = OcspCertStatus::kRevoked;
  spec.revocation_time = now_ - absl::Hours(3);
  OcspVerdict verdict = Check(Build(spec));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kRevoked) << verdict.detail;
  EXPECT_EQ(verdict.revocation_time, now_ - absl::Hours(3));
  EXPECT_THAT(verdict.detail, ::testing::Not(HasSubstr("(")));
}

TEST_F(OcspResponseTest, UnknownCertificate) {
  OcspResponseSpec spec = Spec();
  spec.status = OcspCertStatus::kUnknown;
  OcspVerdict verdict = Check(Build(spec));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kUnknownCertificate)
      << verdict.detail;
  EXPECT_EQ(verdict.detail, "the responder does not know this certificate");
}

TEST_F(OcspResponseTest, StaleWhenNextUpdateIsPast) {
  OcspResponseSpec spec = Spec();
  spec.this_update = now_ - absl::Hours(48);
  spec.next_update = now_ - absl::Hours(24);
  OcspVerdict verdict = Check(Build(spec));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kStale) << verdict.detail;
  EXPECT_THAT(verdict.detail, HasSubstr(absl::StrCat(
                                  "nextUpdate ", Day(now_ - absl::Hours(24)))));
  EXPECT_THAT(verdict.detail, HasSubstr("is past"));
  EXPECT_EQ(verdict.next_update, now_ - absl::Hours(24));
}

TEST_F(OcspResponseTest, StaleWhenThisUpdateIsInTheFuture) {
  OcspResponseSpec spec = Spec();
  spec.this_update = now_ + absl::Hours(1);
  OcspVerdict verdict = Check(Build(spec));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kStale) << verdict.detail;
  EXPECT_THAT(verdict.detail, HasSubstr("not yet valid"));
}

TEST_F(OcspResponseTest, StalenessIsJudgedAfterTheSignature) {
  OcspResponseSpec spec = Spec();
  spec.next_update = now_ - absl::Hours(1);
  Issued stranger = NewRoot("Stranger");
  spec.signer = &stranger;
  OcspVerdict verdict = Check(Build(spec));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid) << verdict.detail;
}

TEST_F(OcspResponseTest, AcceptsTimesWithinSkew) {
  OcspResponseSpec early = Spec();
  early.this_update = now_ + kSkew - absl::Seconds(30);
  OcspVerdict verdict = Check(Build(early));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kGood) << verdict.detail;

  OcspResponseSpec late = Spec();
  late.this_update = now_ - absl::Hours(48);
  late.next_update = now_ - kSkew + absl::Seconds(30);
  verdict = Check(Build(late));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kGood) << verdict.detail;

  late.next_update = now_ - kSkew - absl::Seconds(30);
  verdict = Check(Build(late));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kStale) << verdict.detail;
}

TEST_F(OcspResponseTest, WithoutNextUpdateRecentIsGood) {
  OcspResponseSpec spec = Spec();
  spec.next_update = absl::nullopt;
  spec.this_update = now_ - absl::Hours(24 * 6);
  OcspVerdict verdict = Check(Build(spec));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kGood) << verdict.detail;
  EXPECT_EQ(verdict.next_update, absl::InfiniteFuture());
}

TEST_F(OcspResponseTest, WithoutNextUpdateOldIsStale) {
  OcspResponseSpec spec = Spec();
  spec.next_update = absl::nullopt;
  spec.this_update = now_ - absl::Hours(24 * 8);
  OcspVerdict verdict = Check(Build(spec));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kStale) << verdict.detail;
  EXPECT_THAT(verdict.detail, HasSubstr("no nextUpdate"));
  EXPECT_THAT(verdict.detail, HasSubstr(Day(now_ - absl::Hours(24 * 8))));
}

TEST_F(OcspResponseTest, NextUpdateBeforeThisUpdateIsInvalid) {
  OcspResponseSpec spec = Spec();
  spec.next_update = now_ - absl::Hours(2);
  OcspVerdict verdict = Check(Build(spec));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid) << verdict.detail;
  EXPECT_THAT(verdict.detail, HasSubstr("is before thisUpdate"));
}

TEST_F(OcspResponseTest, DelegatedResponderWithOcspSigningIsTrusted) {
  Issued responder = NewResponder(issuer_, /*ocsp_signing=*/true);
  OcspResponseSpec spec = Spec();
  spec.include_responder_certificate = true;
  OcspVerdict verdict = Check(Build(spec, &responder));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kGood) << verdict.detail;
  EXPECT_EQ(verdict.detail,
            "good, signed with responder 'CN=OCSP Responder''s key");

  spec.responder_id_by_key = true;
  verdict = Check(Build(spec, &responder));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kGood) << verdict.detail;
  EXPECT_THAT(verdict.detail, HasSubstr("responder with key SHA-1 "));
}

TEST_F(OcspResponseTest, DelegatedResponderWithoutOcspSigningIsInvalid) {
  Issued responder = NewResponder(issuer_, /*ocsp_signing=*/false);
  OcspResponseSpec spec = Spec();
  spec.include_responder_certificate = true;
  OcspVerdict verdict = Check(Build(spec, &responder));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid) << verdict.detail;
  EXPECT_EQ(verdict.detail,
            "responder 'CN=OCSP Responder' is not the issuer and has no "
            "id-kp-OCSPSigning");
  EXPECT_EQ(verdict.this_update, absl::InfinitePast());
}

TEST_F(OcspResponseTest, DelegatedResponderWithServerAuthOnlyIsInvalid) {
  auto server = devpki::Issue(
      devpki::ServerSpec("OCSP Responder", {"ocsp.example.test"}), &issuer_);
  ASSERT_TRUE(server.ok()) << server.status();
  OcspResponseSpec spec = Spec();
  spec.include_responder_certificate = true;
  OcspVerdict verdict = Check(Build(spec, &*server));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid) << verdict.detail;
  EXPECT_THAT(verdict.detail, HasSubstr("has no id-kp-OCSPSigning"));
}

TEST_F(OcspResponseTest, DelegatedResponderNotIncludedIsInvalid) {
  Issued responder = NewResponder(issuer_, /*ocsp_signing=*/true);
  OcspVerdict verdict = Check(Build(Spec(), &responder));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid) << verdict.detail;
  EXPECT_THAT(verdict.detail,
              HasSubstr("responder 'CN=OCSP Responder' is not the issuer "
                        "'CN=OCSP Test CA' and its certificate is not in the "
                        "response"));
}

TEST_F(OcspResponseTest, ResponderFromAnotherCaIsInvalid) {
  Issued other = NewRoot("Other CA");
  Issued responder = NewResponder(other, /*ocsp_signing=*/true);
  OcspResponseSpec spec = Spec();
  spec.include_responder_certificate = true;
  OcspVerdict verdict = Check(Build(spec, &responder));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid) << verdict.detail;
  EXPECT_THAT(verdict.detail,
              HasSubstr("responder 'CN=OCSP Responder' is not the issuer and "
                        "was not issued by it"));
}

TEST_F(OcspResponseTest, ResponderFromImpostorCaWithTheSameNameIsInvalid) {
  // Same issuer name, different key: only the signature tells them apart.
  Issued impostor = NewRoot("OCSP Test CA");
  Issued responder = NewResponder(impostor, /*ocsp_signing=*/true);
  OcspResponseSpec spec = Spec();
  spec.include_responder_certificate = true;
  OcspVerdict verdict = Check(Build(spec, &responder));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid) << verdict.detail;
  EXPECT_THAT(verdict.detail, HasSubstr("was not issued by it"));
}

TEST_F(OcspResponseTest, ExpiredDelegatedResponderIsInvalid) {
  devpki::CertificateSpec expired = devpki::OcspResponderSpec("Old Responder");
  expired.not_before = now_ - absl::Hours(24 * 10);
  expired.not_after = now_ - absl::Hours(24);
  Issued responder = NewResponder(issuer_, /*ocsp_signing=*/true, expired);
  OcspResponseSpec spec = Spec();
  spec.include_responder_certificate = true;
  OcspVerdict verdict = Check(Build(spec, &responder));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid) << verdict.detail;
  EXPECT_THAT(verdict.detail,
              HasSubstr(absl::StrCat("responder 'CN=Old Responder' expired at ",
                                     Day(now_ - absl::Hours(24)))));
}

TEST_F(OcspResponseTest, SignedByUnrelatedKeyIsInvalid) {
  Issued stranger = NewRoot("Stranger");
  OcspResponseSpec spec = Spec();
  spec.signer = &stranger;
  OcspVerdict verdict = Check(Build(spec));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid) << verdict.detail;
  EXPECT_EQ(verdict.detail, "signature does not verify under the issuer's key");
}

TEST_F(OcspResponseTest, ResponderIdByKeyForTheIssuer) {
  OcspResponseSpec spec = Spec();
  spec.responder_id_by_key = true;
  OcspVerdict verdict = Check(Build(spec));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kGood) << verdict.detail;
  EXPECT_EQ(verdict.detail, "good, signed with the issuer's key");
}

TEST_F(OcspResponseTest, ResponseForAnotherCertificateIsInvalid) {
  auto other = devpki::Issue(
      devpki::ServerSpec("other.example.test", {"other.example.test"}),
      &issuer_);
  ASSERT_TRUE(other.ok()) << other.status();
  auto der = BuildOcspResponse(Spec(), *other, issuer_, issuer_);
  ASSERT_TRUE(der.ok()) << der.status();
  OcspVerdict verdict = Check(*der);
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid) << verdict.detail;
  EXPECT_THAT(verdict.detail, HasSubstr("no response for this certificate"));
}

TEST_F(OcspResponseTest, CertIdForAnotherIssuerKeyIsInvalid) {
  // The CertID names leaf_'s serial and issuer_'s name but another key, and
  // the impostor signs as "CN=OCSP Test CA".
  Issued impostor = NewRoot("OCSP Test CA");
  for (bool sha256 : {false, true}) {
    OcspResponseSpec spec = Spec();
    spec.sha256_cert_id = sha256;
    auto der = BuildOcspResponse(spec, leaf_, impostor, impostor);
    ASSERT_TRUE(der.ok()) << der.status();
    OcspVerdict verdict = Check(*der);
    EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid) << verdict.detail;
    EXPECT_THAT(verdict.detail, HasSubstr("no response for this certificate"));
  }
}

TEST_F(OcspResponseTest, UnsuccessfulStatusesAreInvalid) {
  const std::pair<int, const char*> kStatuses[] = {
      {1, "malformedRequest"}, {2, "internalError"}, {3, "tryLater"},
      {5, "sigRequired"},      {6, "unauthorized"},  {4, "unknown status"}};
  for (const auto& [status, name] : kStatuses) {
    OcspResponseSpec spec = Spec();
    spec.response_status = status;
    OcspVerdict verdict = Check(Build(spec));
    EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid) << verdict.detail;
    EXPECT_THAT(verdict.detail,
                HasSubstr(absl::StrCat(name, " (", status, ")")));
  }
}

TEST_F(OcspResponseTest, Sha1SignatureIsWeak) {
  OcspResponseSpec spec = Spec();
  spec.signature_algorithm = OcspSignatureAlgorithm::kSha1;
  OcspVerdict verdict = Check(Build(spec));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid) << verdict.detail;
  EXPECT_EQ(verdict.detail, "weak signature algorithm: ecdsa-with-SHA1");
}

TEST_F(OcspResponseTest, EcdsaWithSha384AndSha512) {
  for (auto algorithm :
       {OcspSignatureAlgorithm::kSha384, OcspSignatureAlgorithm::kSha512}) {
    OcspResponseSpec spec = Spec();
    spec.signature_algorithm = algorithm;
    OcspVerdict verdict = Check(Build(spec));
    EXPECT_EQ(verdict.outcome, OcspOutcome::kGood) << verdict.detail;
  }
}

TEST_F(OcspResponseTest, RsaIssuerSignatures) {
  devpki::CertificateSpec root_spec = devpki::RootSpec("RSA CA");
  root_spec.key_type = devpki::KeyType::kRsa2048;
  auto root = devpki::Issue(root_spec, nullptr);
  ASSERT_TRUE(root.ok()) << root.status();
  auto leaf = devpki::Issue(devpki::ClientSpec("rsa client"), &*root);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  auto check = [&](OcspSignatureAlgorithm algorithm) {
    OcspResponseSpec spec = Spec();
    spec.signature_algorithm = algorithm;
    auto der = BuildOcspResponse(spec, *leaf, *root, *root);
    EXPECT_TRUE(der.ok()) << der.status();
    return CheckOcspResponse(der.value_or(""), leaf->certificate.get(),
                             root->certificate.get(), now_, kSkew);
  };
  for (auto algorithm :
       {OcspSignatureAlgorithm::kSha256, OcspSignatureAlgorithm::kSha384,
        OcspSignatureAlgorithm::kSha512,
        OcspSignatureAlgorithm::kRsaPssSha256}) {
    OcspVerdict verdict = check(algorithm);
    EXPECT_EQ(verdict.outcome, OcspOutcome::kGood) << verdict.detail;
  }
  OcspVerdict weak = check(OcspSignatureAlgorithm::kSha1);
  EXPECT_EQ(weak.outcome, OcspOutcome::kInvalid);
  EXPECT_EQ(weak.detail, "weak signature algorithm: sha1WithRSAEncryption");

  // An RSA signature cannot be checked with the EC issuer_'s key.
  OcspResponseSpec spec = Spec();
  spec.signer = &*root;
  OcspVerdict mismatch = Check(Build(spec));
  EXPECT_EQ(mismatch.outcome, OcspOutcome::kInvalid);
  EXPECT_EQ(mismatch.detail,
            "signature algorithm sha256WithRSAEncryption needs an RSA key, "
            "but the issuer's key is EC");
}

TEST_F(OcspResponseTest, NonCriticalExtensionIsAccepted) {
  OcspResponseSpec spec = Spec();
  spec.add_nonce = true;
  OcspVerdict verdict = Check(Build(spec));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kGood) << verdict.detail;
}

TEST_F(OcspResponseTest, CriticalExtensionIsInvalid) {
  OcspResponseSpec spec = Spec();
  spec.add_nonce = true;
  spec.add_critical_extension = true;
  OcspVerdict verdict = Check(Build(spec));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid) << verdict.detail;
  EXPECT_EQ(verdict.detail,
            "malformed OCSP response: tbsResponseData.responseExtensions[1] "
            "(1.3.6.1.4.1.32473.1) is critical and not supported");
}

TEST_F(OcspResponseTest, NullArgumentsAreInvalid) {
  const std::string der = Build(Spec());
  EXPECT_EQ(
      CheckOcspResponse(der, nullptr, issuer_.certificate.get(), now_, kSkew)
          .outcome,
      OcspOutcome::kInvalid);
  EXPECT_EQ(
      CheckOcspResponse(der, leaf_.certificate.get(), nullptr, now_, kSkew)
          .outcome,
      OcspOutcome::kInvalid);
}

TEST_F(OcspResponseTest, EmptyIsInvalid) {
  OcspVerdict verdict = Check("");
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid);
  EXPECT_EQ(verdict.detail, "the OCSP response is empty");
}

TEST_F(OcspResponseTest, OversizedIsInvalid) {
  std::string der = Build(Spec());
  der.resize(kMaxOcspResponseBytes + 1, '\0');
  OcspVerdict verdict = Check(der);
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid);
  EXPECT_THAT(verdict.detail, HasSubstr("more than the limit of 65536"));
}

TEST_F(OcspResponseTest, TrailingBytesAreInvalid) {
  OcspVerdict verdict = Check(Build(Spec()) + std::string("\0\0", 2));
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid);
  EXPECT_EQ(verdict.detail,
            "malformed OCSP response: 2 trailing bytes after the "
            "OCSPResponse");
}

TEST_F(OcspResponseTest, TruncatedIsInvalid) {
  std::string der = Build(Spec());
  der.pop_back();
  OcspVerdict verdict = Check(der);
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid);
  EXPECT_EQ(verdict.detail,
            "malformed OCSP response: OCSPResponse is truncated or not DER");
}

TEST_F(OcspResponseTest, WrongOuterTagIsInvalid) {
  std::string der = Build(Spec());
  der[0] = 0x31;  // A SET where the SEQUENCE belongs.
  OcspVerdict verdict = Check(der);
  EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid);
  EXPECT_EQ(verdict.detail,
            "malformed OCSP response: OCSPResponse has tag SET, expected "
            "SEQUENCE");
}

TEST_F(OcspResponseTest, HandMadeStructuralErrorsNameTheElement) {
  const std::pair<std::string, const char*> kCases[] = {
      // Successful, but no responseBytes.
      {std::string("\x30\x03\x0a\x01\x00", 5), "responseBytes is missing"},
      // responseStatus as an INTEGER.
      {std::string("\x30\x03\x02\x01\x00", 5),
       "responseStatus has tag INTEGER, expected ENUMERATED"},
      // A non-minimal length.
      {std::string("\x30\x81\x03\x0a\x01\x00", 6),
       "OCSPResponse is truncated or not DER"},
      // Indefinite length (BER).
      {std::string("\x30\x80\x0a\x01\x00\x00\x00", 7),
       "OCSPResponse is truncated or not DER"},
      // responseType 1.2.3 instead of id-pkix-ocsp-basic.
      {std::string("\x30\x0e\x0a\x01\x00\xa0\x09\x30\x07\x06\x02\x2a\x03"
                   "\x04\x01\x00",
                   16),
       "responseBytes.responseType 1.2.3 is not id-pkix-ocsp-basic"},
      // id-pkix-ocsp-basic with an empty OCTET STRING.
      {std::string("\x30\x14\x0a\x01\x00\xa0\x0f\x30\x0d\x06\x09\x2b\x06\x01"
                   "\x05\x05\x07\x30\x01\x01\x04\x00",
                   22),
       "BasicOCSPResponse is missing"},
  };
  for (const auto& [der, expected] : kCases) {
    OcspVerdict verdict = Check(der);
    EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid);
    EXPECT_EQ(verdict.detail,
              absl::StrCat("malformed OCSP response: ", expected));
  }
}

TEST_F(OcspResponseTest, RandomBytesAreInvalid) {
  std::mt19937 random(20240229);
  for (int round = 0; round < 200; ++round) {
    std::string noise(1 + random() % 512, '\0');
    for (char& byte : noise) byte = static_cast<char>(random());
    if (round % 2 == 0) noise[0] = 0x30;  // Get past the first tag.
    OcspVerdict verdict = Check(noise);
    EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid) << round;
    EXPECT_THAT(verdict.detail, HasSubstr("malformed OCSP response: "));
  }
}

TEST_F(OcspResponseTest, EveryTruncationIsInvalid) {
  Issued responder = NewResponder(issuer_, /*ocsp_signing=*/true);
  OcspResponseSpec spec = Spec();
  spec.include_responder_certificate = true;
  spec.add_nonce = true;
  const std::string der = Build(spec, &responder);
  ASSERT_EQ(Check(der).outcome, OcspOutcome::kGood);
  for (size_t length = 0; length < der.size(); ++length) {
    OcspVerdict verdict = Check(absl::string_view(der.data(), length));
    EXPECT_EQ(verdict.outcome, OcspOutcome::kInvalid) << length;
  }
}

TEST_F(OcspResponseTest, NoSingleBitFlipIsGood) {
  Issued responder = NewResponder(issuer_, /*ocsp_signing=*/true);
  OcspResponseSpec delegated = Spec();
  delegated.include_responder_certificate = true;
  for (const std::string& der : {Build(Spec()), Build(delegated, &responder)}) {
    ASSERT_EQ(Check(der).outcome, OcspOutcome::kGood);
    for (size_t i = 0; i < der.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string flipped = der;
        flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
        OcspVerdict verdict = Check(flipped);
        EXPECT_NE(verdict.outcome, OcspOutcome::kGood)
            << "byte " << i << " bit " << bit;
      }
    }
  }
}

TEST(GeneralizedTimeTest, ParsesOnlyTheStrictForm) {
  EXPECT_EQ(internal::ParseGeneralizedTime("20240229235959Z"),
            absl::FromCivil(absl::CivilSecond(2024, 2, 29, 23, 59, 59),
                            absl::UTCTimeZone()));
  EXPECT_EQ(internal::ParseGeneralizedTime("20000229000000Z"),
            absl::FromCivil(absl::CivilSecond(2000, 2, 29, 0, 0, 0),
                            absl::UTCTimeZone()));
  for (const char* bad :
       {"20230229000000Z", "19000229000000Z", "20241301000000Z",
        "20240001000000Z", "20240100000000Z", "20240431000000Z",
        "20240101240000Z", "20240101006000Z", "20240101000060Z",
        "2024010100000Z", "202401010000000Z", "20240101000000",
        "20240101000000z", "20240101000000.5Z", "2024010100000aZ",
        "+2024010100000Z", "20240101000000+0000", ""}) {
    EXPECT_EQ(internal::ParseGeneralizedTime(bad), absl::nullopt) << bad;
  }
}

}  // namespace
}  // namespace certbroker::revocation

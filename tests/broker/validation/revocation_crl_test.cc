// Tests of revocation in ValidateServerChain: CRLs (revoked leaf and
// intermediate, a stale CRL, missing CRLs) and stapled OCSP responses
// (good, revoked, stale) under the OFF / SOFT_FAIL / HARD_FAIL modes.
// Trust anchors are never checked.
#include "broker/devpki/ocsp_builder.h"
#include "broker/devpki/pki.h"
#include "broker/validation/server_chain_validator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_pki.h"

namespace certbroker::validation {
namespace {

using ::certbroker::devpki::Issued;
using ::certbroker::testing::Chain;
using ::certbroker::testing::MustCrl;
using ::certbroker::testing::MustIssue;
using ::certbroker::v1::Reason;
using ::testing::HasSubstr;

class CrlRevocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MustIssue(devpki::RootSpec("CRL Root"), nullptr);
    intermediate_ =
        MustIssue(devpki::IntermediateSpec("CRL Intermediate"), &root_);
    leaf_ =
        MustIssue(devpki::ServerSpec("api.example.com", {"api.example.com"}),
                  &intermediate_);
    auto trust = TrustStore::Create(Chain({&root_}), {"crl-roots"});
    ASSERT_TRUE(trust.ok()) << trust.status();
    trust_ = *trust;
  }

  // Crls returns a CRL from the root (about the intermediate) and one from
  // the intermediate (about the leaf), revoking what is given.
  std::vector<bssl::UniquePtr<X509_CRL>> Crls(
      std::vector<const X509*> revoked_by_root,
      std::vector<const X509*> revoked_by_intermediate,
      absl::Time next_update = absl::Now() + absl::Hours(24)) {
    std::vector<bssl::UniquePtr<X509_CRL>> crls;
    devpki::CrlSpec from_root;
    from_root.revoked = std::move(revoked_by_root);
    from_root.next_update = next_update;
    crls.push_back(MustCrl(from_root, root_));
    devpki::CrlSpec from_intermediate;
    from_intermediate.revoked = std::move(revoked_by_intermediate);
    from_intermediate.next_update = next_update;
    crls.push_back(MustCrl(from_intermediate, intermediate_));
    return crls;
  }

  ChainVerdict Validate(RevocationMode mode,
                        const std::vector<bssl::UniquePtr<X509_CRL>>& crls,
                        const std::string& staple = "") {
    x509::CertificateList chain = Chain({&leaf_, &intermediate_});
    ChainPolicy policy;
    policy.revocation = mode;
    ServerChainCheck check{"api.example.com", absl::Now(), staple};
    return ValidateServerChain(*trust_, chain, check, policy, crls);
  }

  // Staple is an OCSP response about the leaf, signed by its issuer.
  std::string Staple(devpki::OcspResponseSpec spec) {
    auto staple =
        devpki::BuildOcspResponse(spec, leaf_, intermediate_, intermediate_);
    EXPECT_TRUE(staple.ok()) << staple.status();
    return staple.ok() ? *staple : std::string();
  }

  // RootCrlOnly covers the intermediate but not the leaf.
  std::vector<bssl::UniquePtr<X509_CRL>> RootCrlOnly() {
    std::vector<bssl::UniquePtr<X509_CRL>> crls;
    crls.push_back(MustCrl(devpki::CrlSpec(), root_));
    return crls;
  }

  Issued root_, intermediate_, leaf_;
  std::shared_ptr<const TrustStore> trust_;
};

TEST_F(CrlRevocationTest, AcceptsWhenCrlsListNothingEvenUnderHardFail) {
  ChainVerdict verdict = Validate(RevocationMode::kHardFail, Crls({}, {}));
  EXPECT_EQ(verdict.reason, Reason::ACCEPTED) << verdict.detail;
  EXPECT_TRUE(verdict.failures.empty());
}

TEST_F(CrlRevocationTest, RejectsRevokedLeaf) {
  ChainVerdict verdict =
      Validate(RevocationMode::kSoftFail, Crls({}, {leaf_.certificate.get()}));
  EXPECT_EQ(verdict.reason, Reason::REVOKED);
  EXPECT_THAT(
      verdict.detail,
      HasSubstr("certificate_chain[0] (CN=api.example.com) is revoked"));
}

TEST_F(CrlRevocationTest, RejectsRevokedIntermediate) {
  ChainVerdict verdict = Validate(RevocationMode::kHardFail,
                                  Crls({intermediate_.certificate.get()}, {}));
  EXPECT_EQ(verdict.reason, Reason::REVOKED);
  EXPECT_THAT(verdict.detail,
              HasSubstr("certificate_chain[1] (CN=CRL Intermediate)"));
}

TEST_F(CrlRevocationTest, OffIgnoresRevocation) {
  EXPECT_EQ(Validate(RevocationMode::kOff, Crls({}, {leaf_.certificate.get()}))
                .reason,
            Reason::ACCEPTED);
}

TEST_F(CrlRevocationTest, MissingCrlIsRejectedUnderHardFailOnly) {
  ChainVerdict soft = Validate(RevocationMode::kSoftFail, {});
  EXPECT_EQ(soft.reason, Reason::ACCEPTED) << soft.detail;
  EXPECT_TRUE(soft.failures.empty());
  ChainVerdict hard = Validate(RevocationMode::kHardFail, {});
  EXPECT_EQ(hard.reason, Reason::REVOCATION_UNKNOWN);
  EXPECT_THAT(hard.detail, HasSubstr("no CRL from its issuer is held"));
}

TEST_F(CrlRevocationTest, StaleCrlIsRevocationUnknown) {
  auto stale = Crls({}, {}, absl::Now() - absl::Minutes(10));
  ChainVerdict hard = Validate(RevocationMode::kHardFail, stale);
  EXPECT_EQ(hard.reason, Reason::REVOCATION_UNKNOWN);
  EXPECT_THAT(hard.detail, HasSubstr("is stale (past its nextUpdate)"));
  ChainVerdict soft = Validate(RevocationMode::kSoftFail, stale);
  EXPECT_EQ(soft.reason, Reason::ACCEPTED);
  ASSERT_FALSE(soft.failures.empty());
  EXPECT_EQ(soft.failures[0].reason, Reason::REVOCATION_UNKNOWN);
  EXPECT_TRUE(soft.failures[0].tolerated);
  EXPECT_THAT(soft.detail, HasSubstr("(soft-fail: tolerated)"));
}

TEST_F(CrlRevocationTest, VerdictExpiresWithTheCrl) {
  absl::Time next_update =
      absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) + 3600);
  ChainVerdict verdict =
      Validate(RevocationMode::kHardFail, Crls({}, {}, next_update));
  EXPECT_EQ(verdict.reason, Reason::ACCEPTED);
  EXPECT_EQ(verdict.expires, next_update);
}

TEST_F(CrlRevocationTest, CrlFromAnotherIssuerDoesNotCount) {
  Issued stranger = MustIssue(devpki::RootSpec("Stranger"), nullptr);
  std::vector<bssl::UniquePtr<X509_CRL>> crls;
  crls.push_back(MustCrl(devpki::CrlSpec(), stranger));
  EXPECT_EQ(Validate(RevocationMode::kHardFail, crls).reason,
            Reason::REVOCATION_UNKNOWN);
}

TEST_F(CrlRevocationTest, GoodStapleSettlesTheLeafUnderHardFail) {
  EXPECT_EQ(Validate(RevocationMode::kHardFail, RootCrlOnly()).reason,
            Reason::REVOCATION_UNKNOWN);
  devpki::OcspResponseSpec good;
  absl::Time next_update =
      absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) + 7200);
  good.next_update = next_update;
  ChainVerdict verdict =
      Validate(RevocationMode::kHardFail, RootCrlOnly(), Staple(good));
  EXPECT_EQ(verdict.reason, Reason::ACCEPTED) << verdict.detail;
  EXPECT_THAT(verdict.detail,
              HasSubstr("stapled OCSP response: certificate_chain[0] "
                        "(CN=api.example.com) is good"));
  EXPECT_EQ(verdict.expires, next_update);
}

TEST_F(CrlRevocationTest, RevokedStapleRejectsEvenUnderSoftFail) {
  devpki::OcspResponseSpec revoked;
  revoked.status = devpki::OcspCertStatus::kRevoked;
  ChainVerdict verdict =
      Validate(RevocationMode::kSoftFail, {}, Staple(revoked));
  EXPECT_EQ(verdict.reason, Reason::REVOKED);
  EXPECT_THAT(verdict.detail,
              HasSubstr("is revoked by its stapled OCSP response"));
  EXPECT_EQ(Validate(RevocationMode::kOff, {}, Staple(revoked)).reason,
            Reason::ACCEPTED);
}

TEST_F(CrlRevocationTest, StaleStapleIsRevocationUnknown) {
  devpki::OcspResponseSpec stale;
  stale.this_update = absl::Now() - absl::Hours(48);
  stale.next_update = absl::Now() - absl::Hours(1);
  std::string staple = Staple(stale);
  ChainVerdict hard =
      Validate(RevocationMode::kHardFail, RootCrlOnly(), staple);
  EXPECT_EQ(hard.reason, Reason::REVOCATION_UNKNOWN);
  bool staple_reported = false;
  for (const CheckFailure& failure : hard.failures) {
    staple_reported =
        staple_reported ||
        (failure.reason == Reason::REVOCATION_UNKNOWN &&
         failure.detail.find("stapled OCSP response not usable") !=
             std::string::npos);
  }
  EXPECT_TRUE(staple_reported);
  ChainVerdict soft = Validate(RevocationMode::kSoftFail, {}, staple);
  EXPECT_EQ(soft.reason, Reason::ACCEPTED);
  EXPECT_THAT(soft.detail, HasSubstr("tolerated REVOCATION_UNKNOWN"));
}

TEST_F(CrlRevocationTest, GarbageStapleIsRevocationUnknownNotACrash) {
  ChainVerdict verdict =
      Validate(RevocationMode::kHardFail, Crls({}, {}), "\x30\x03\x0a\x01");
  EXPECT_EQ(verdict.reason, Reason::REVOCATION_UNKNOWN);
}

}  // namespace
}  // namespace certbroker::validation

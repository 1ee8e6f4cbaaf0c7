// Tests of ValidateServerChain with certificates generated per test: each
// case asserts the exact reason and what the detail names.
#include "broker/validation/server_chain_validator.h"

#include "broker/devpki/pki.h"
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

class ServerChainValidatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MustIssue(devpki::RootSpec("Test Root"), nullptr);
    intermediate_ =
        MustIssue(devpki::IntermediateSpec("Test Intermediate"), &root_);
    leaf_ = MustIssue(devpki::ServerSpec("api.example.com", {"api.example.com"},
                                         {"192.0.2.10"}),
                      &intermediate_);
    auto trust = TrustStore::Create(Chain({&root_}), {"test-roots"});
    ASSERT_TRUE(trust.ok()) << trust.status();
    trust_ = *trust;
  }

  ChainVerdict Validate(
      const x509::CertificateList& chain,
      const std::string& name = "api.example.com",
      const ChainPolicy& policy = ChainPolicy(),
      const std::vector<bssl::UniquePtr<X509_CRL>>& crls = {}) {
    ServerChainCheck check;
    check.server_name = name;
    check.now = absl::Now();
    return ValidateServerChain(*trust_, chain, check, policy, crls);
  }

  Issued root_, intermediate_, leaf_;
  std::shared_ptr<const TrustStore> trust_;
};

TEST_F(ServerChainValidatorTest, AcceptsValidChainWithIntermediate) {
  ServerChainCheck check{"api.example.com", absl::Now()};
  check.describe_path = true;
  ChainVerdict verdict = ValidateServerChain(
      *trust_, Chain({&leaf_, &intermediate_}), check, ChainPolicy());
  EXPECT_EQ(verdict.reason, Reason::ACCEPTED) << verdict.detail;
  EXPECT_TRUE(verdict.accepted());
  EXPECT_THAT(verdict.detail, HasSubstr("path of 3 certificates"));
  EXPECT_EQ(verdict.expires, x509::NotAfter(leaf_.certificate.get()));
  EXPECT_TRUE(verdict.failures.empty());
  ASSERT_EQ(verdict.path.size(), 3u);
  EXPECT_EQ(verdict.path[0].chain_index, 0);
  EXPECT_EQ(verdict.path[1].chain_index, 1);
  EXPECT_EQ(verdict.path[2].chain_index, -1);
  EXPECT_EQ(verdict.path[2].subject, "CN=Test Root");
}

TEST_F(ServerChainValidatorTest, AcceptsIpAddressSubjectAltName) {
  ChainVerdict verdict =
      Validate(Chain({&leaf_, &intermediate_}), "192.0.2.10");
  EXPECT_EQ(verdict.reason, Reason::ACCEPTED) << verdict.detail;
}

TEST_F(ServerChainValidatorTest,
       AcceptsIntermediatesInAnyOrderWithRootIncluded) {
  ChainVerdict verdict = Validate(Chain({&leaf_, &root_, &intermediate_}));
  EXPECT_EQ(verdict.reason, Reason::ACCEPTED) << verdict.detail;
}

TEST_F(ServerChainValidatorTest, RejectsExpiredLeaf) {
  auto spec = devpki::ServerSpec("api.example.com", {"api.example.com"});
  spec.not_before = absl::Now() - absl::Hours(48);
  spec.not_after = absl::Now() - absl::Hours(1);
  Issued expired = MustIssue(spec, &intermediate_);
  ChainVerdict verdict = Validate(Chain({&expired, &intermediate_}));
  EXPECT_EQ(verdict.reason, Reason::EXPIRED);
  EXPECT_FALSE(verdict.accepted());
  EXPECT_THAT(verdict.detail,
              HasSubstr("certificate_chain[0] (CN=api.example.com)"));
  EXPECT_THAT(verdict.detail, HasSubstr("expired at"));
}

TEST_F(ServerChainValidatorTest, RejectsNotYetValidLeaf) {
  auto spec = devpki::ServerSpec("api.example.com", {"api.example.com"});
  spec.not_before = absl::Now() + absl::Hours(2);
  spec.not_after = absl::Now() + absl::Hours(48);
  Issued future = MustIssue(spec, &intermediate_);
  ChainVerdict verdict = Validate(Chain({&future, &intermediate_}));
  EXPECT_EQ(verdict.reason, Reason::NOT_YET_VALID);
  EXPECT_THAT(verdict.detail, HasSubstr("is not valid before"));
}

TEST_F(ServerChainValidatorTest, RejectsExpiredIntermediateNamingIt) {
  auto spec = devpki::IntermediateSpec("Old Intermediate");
  spec.not_before = absl::Now() - absl::Hours(48);
  spec.not_after = absl::Now() - absl::Hours(1);
  Issued old = MustIssue(spec, &root_);
  Issued leaf = MustIssue(
      devpki::ServerSpec("api.example.com", {"api.example.com"}), &old);
  ChainVerdict verdict = Validate(Chain({&leaf, &old}));
  EXPECT_EQ(verdict.reason, Reason::EXPIRED);
  EXPECT_THAT(verdict.detail,
              HasSubstr("certificate_chain[1] (CN=Old Intermediate)"));
}

TEST_F(ServerChainValidatorTest, RejectsWrongHost) {
  ChainVerdict verdict =
      Validate(Chain({&leaf_, &intermediate_}), "other.example.com");
  EXPECT_EQ(verdict.reason, Reason::HOSTNAME_MISMATCH);
  EXPECT_THAT(verdict.detail, HasSubstr("'other.example.com'"));
}

TEST_F(ServerChainValidatorTest, RejectsWrongIpAddress) {
  ChainVerdict verdict =
      Validate(Chain({&leaf_, &intermediate_}), "192.0.2.11");
  EXPECT_EQ(verdict.reason, Reason::HOSTNAME_MISMATCH);
  EXPECT_THAT(verdict.detail,
              HasSubstr("no matching IP subject alternative name"));
}

TEST_F(ServerChainValidatorTest, NeverFallsBackToSubjectCommonName) {
  // The CN names the host, but there is no SAN for it.
  Issued cn_only = MustIssue(
      devpki::ServerSpec("cn-only.example.com", {"other.example.com"}),
      &intermediate_);
  ChainVerdict verdict =
      Validate(Chain({&cn_only, &intermediate_}), "cn-only.example.com");
  EXPECT_EQ(verdict.reason, Reason::HOSTNAME_MISMATCH);
}

TEST_F(ServerChainValidatorTest, WildcardCoversOnlyOneLeftMostLabel) {
  Issued wildcard = MustIssue(devpki::ServerSpec("wildcard", {"*.example.com"}),
                              &intermediate_);
  EXPECT_EQ(
      Validate(Chain({&wildcard, &intermediate_}), "a.example.com").reason,
      Reason::ACCEPTED);
  EXPECT_EQ(
      Validate(Chain({&wildcard, &intermediate_}), "a.b.example.com").reason,
      Reason::HOSTNAME_MISMATCH);
}

TEST_F(ServerChainValidatorTest, RejectsSelfSignedUnknownRootAsUntrustedRoot) {
  Issued stranger_root = MustIssue(devpki::RootSpec("Stranger Root"), nullptr);
  Issued stranger_leaf =
      MustIssue(devpki::ServerSpec("api.example.com", {"api.example.com"}),
                &stranger_root);
  ChainVerdict verdict = Validate(Chain({&stranger_leaf, &stranger_root}));
  EXPECT_EQ(verdict.reason, Reason::UNTRUSTED_ROOT);
  EXPECT_THAT(verdict.detail, HasSubstr("CN=Stranger Root"));
  EXPECT_THAT(verdict.detail, HasSubstr("test-roots"));
}

TEST_F(ServerChainValidatorTest, RejectsUnknownRootNotSentAsIncompleteChain) {
  Issued stranger_root = MustIssue(devpki::RootSpec("Stranger Root"), nullptr);
  Issued stranger_leaf =
      MustIssue(devpki::ServerSpec("api.example.com", {"api.example.com"}),
                &stranger_root);
  ChainVerdict verdict = Validate(Chain({&stranger_leaf}));
  EXPECT_EQ(verdict.reason, Reason::INCOMPLETE_CHAIN);
  EXPECT_THAT(verdict.detail, HasSubstr("'CN=Stranger Root'"));
}

TEST_F(ServerChainValidatorTest, RejectsMissingIntermediate) {
  ChainVerdict verdict = Validate(Chain({&leaf_}));
  EXPECT_EQ(verdict.reason, Reason::INCOMPLETE_CHAIN);
  EXPECT_THAT(verdict.detail,
              HasSubstr("certificate_chain[0] (CN=api.example.com)"));
  EXPECT_THAT(verdict.detail, HasSubstr("'CN=Test Intermediate'"));
}

TEST_F(ServerChainValidatorTest, RejectsClientAuthOnlyLeaf) {
  auto spec = devpki::ServerSpec("api.example.com", {"api.example.com"});
  spec.usage = devpki::ExtendedKeyUsage::kClientAuth;
  Issued client_only = MustIssue(spec, &intermediate_);
  ChainVerdict verdict = Validate(Chain({&client_only, &intermediate_}));
  EXPECT_EQ(verdict.reason, Reason::BAD_EXTENDED_KEY_USAGE);
  EXPECT_THAT(verdict.detail, HasSubstr("serverAuth"));
}

TEST_F(ServerChainValidatorTest, RejectsLeafWithoutExtendedKeyUsage) {
  auto spec = devpki::ServerSpec("api.example.com", {"api.example.com"});
  spec.usage = devpki::ExtendedKeyUsage::kNone;
  Issued no_eku = MustIssue(spec, &intermediate_);
  ChainVerdict verdict = Validate(Chain({&no_eku, &intermediate_}));
  EXPECT_EQ(verdict.reason, Reason::BAD_EXTENDED_KEY_USAGE);
  EXPECT_THAT(verdict.detail, HasSubstr("no extended key usage extension"));
}

TEST_F(ServerChainValidatorTest, RejectsLeafUsedAsIssuerNamingIt) {
  Issued fake = MustIssue(
      devpki::ServerSpec("api.example.com", {"api.example.com"}), &leaf_);
  ChainVerdict verdict = Validate(Chain({&fake, &leaf_, &intermediate_}));
  EXPECT_EQ(verdict.reason, Reason::INCOMPLETE_CHAIN) << verdict.detail;
  EXPECT_THAT(verdict.detail,
              HasSubstr("certificate_chain[1] carries the name of the "
                        "issuer of certificate_chain[0]"));
}

TEST_F(ServerChainValidatorTest, RejectsPathLengthViolation) {
  // intermediate_ has pathLenConstraint 0, so it may not issue another CA.
  Issued sub =
      MustIssue(devpki::IntermediateSpec("Sub Intermediate"), &intermediate_);
  Issued leaf = MustIssue(
      devpki::ServerSpec("api.example.com", {"api.example.com"}), &sub);
  ChainVerdict verdict = Validate(Chain({&leaf, &sub, &intermediate_}));
  EXPECT_EQ(verdict.reason, Reason::INVALID_CA) << verdict.detail;
}

TEST_F(ServerChainValidatorTest, RejectsCaCertificateAsLeaf) {
  ChainVerdict verdict = Validate(Chain({&intermediate_}), "api.example.com");
  EXPECT_FALSE(verdict.accepted());
  EXPECT_NE(verdict.reason, Reason::ACCEPTED) << verdict.detail;
}

TEST_F(ServerChainValidatorTest, RejectsChainLongerThanMaxDepth) {
  Issued second = MustIssue(devpki::RootSpec("Second Intermediate"), &root_);
  Issued third =
      MustIssue(devpki::IntermediateSpec("Third Intermediate"), &second);
  Issued leaf = MustIssue(
      devpki::ServerSpec("api.example.com", {"api.example.com"}), &third);
  ChainPolicy policy;
  policy.max_depth = 3;  // leaf + 2 intermediates + root is 4.
  ChainVerdict verdict =
      Validate(Chain({&leaf, &third, &second}), "api.example.com", policy);
  EXPECT_EQ(verdict.reason, Reason::CHAIN_TOO_LONG) << verdict.detail;
  EXPECT_THAT(verdict.detail, HasSubstr("maximum depth of 3 certificates"));
  policy.max_depth = 4;
  ChainVerdict longer =
      Validate(Chain({&leaf, &third, &second}), "api.example.com", policy);
  EXPECT_EQ(longer.reason, Reason::ACCEPTED) << longer.detail;
}

TEST_F(ServerChainValidatorTest, AcceptsRsaChain) {
  auto spec = devpki::ServerSpec("api.example.com", {"api.example.com"});
  spec.key_type = devpki::KeyType::kRsa2048;
  Issued rsa_leaf = MustIssue(spec, &intermediate_);
  EXPECT_EQ(Validate(Chain({&rsa_leaf, &intermediate_})).reason,
            Reason::ACCEPTED);
}

TEST_F(ServerChainValidatorTest, IntermediateTrustedOnItsOwnEndsThePath) {
  auto trust = TrustStore::Create(Chain({&intermediate_}), {"issuing-ca"});
  ASSERT_TRUE(trust.ok()) << trust.status();
  EXPECT_TRUE((*trust)->has_intermediate_anchors());
  ServerChainCheck check{"api.example.com", absl::Now()};
  check.describe_path = true;
  ChainVerdict verdict = ValidateServerChain(
      **trust, Chain({&leaf_, &intermediate_}), check, ChainPolicy());
  EXPECT_EQ(verdict.reason, Reason::ACCEPTED) << verdict.detail;
  ASSERT_EQ(verdict.path.size(), 2u);
  EXPECT_EQ(verdict.path[1].subject, "CN=Test Intermediate");
  // The root alone still needs the intermediate, which is not sent here.
  ChainVerdict missing =
      ValidateServerChain(*trust_, Chain({&leaf_}), check, ChainPolicy());
  EXPECT_EQ(missing.reason, Reason::INCOMPLETE_CHAIN) << missing.detail;
}

// AnchorTest judges chains under a root whose own extensions constrain the
// path, with and without ignore_trust_anchor_constraints.
class AnchorConstraintTest : public ::testing::Test {
 protected:
  ChainVerdict Judge(const devpki::CertificateSpec& root_spec,
                     bool enforce = true) {
    root_ = MustIssue(root_spec, nullptr);
    intermediate_ = MustIssue(devpki::IntermediateSpec("Anchor Sub"), &root_);
    leaf_ =
        MustIssue(devpki::ServerSpec("api.example.com", {"api.example.com"}),
                  &intermediate_);
    auto trust = TrustStore::Create(Chain({&root_}), {"constrained"});
    EXPECT_TRUE(trust.ok()) << trust.status();
    ChainPolicy policy;
    policy.enforce_anchor_constraints = enforce;
    return ValidateServerChain(**trust, Chain({&leaf_, &intermediate_}),
                               ServerChainCheck{"api.example.com", absl::Now()},
                               policy);
  }

  Issued root_, intermediate_, leaf_;
};

TEST_F(AnchorConstraintTest, RootPathLengthBindsThePath) {
  devpki::CertificateSpec root = devpki::RootSpec("Zero Root");
  root.path_length = 0;  // No intermediate CA may follow.
  ChainVerdict verdict = Judge(root);
  EXPECT_EQ(verdict.reason, Reason::INVALID_CA) << verdict.detail;
  EXPECT_THAT(verdict.detail,
              HasSubstr("(CN=Zero Root) allows 0 intermediate CAs below it "
                        "(pathLenConstraint); the path has 1"));
  EXPECT_EQ(Judge(root, /*enforce=*/false).reason, Reason::ACCEPTED);
  root.path_length = 1;
  EXPECT_EQ(Judge(root).reason, Reason::ACCEPTED);
}

TEST_F(AnchorConstraintTest, RootExtendedKeyUsageBindsThePath) {
  devpki::CertificateSpec root = devpki::RootSpec("Client Root");
  root.usage = devpki::ExtendedKeyUsage::kClientAuth;
  ChainVerdict verdict = Judge(root);
  EXPECT_EQ(verdict.reason, Reason::BAD_EXTENDED_KEY_USAGE) << verdict.detail;
  EXPECT_THAT(verdict.detail,
              HasSubstr("(CN=Client Root) is trusted, but its extended key "
                        "usage does not include serverAuth"));
  EXPECT_EQ(Judge(root, /*enforce=*/false).reason, Reason::ACCEPTED);
  root.usage = devpki::ExtendedKeyUsage::kServerAndClient;
  EXPECT_EQ(Judge(root).reason, Reason::ACCEPTED);
}

TEST(TrustStoreTest, RefusesEmptyRootList) {
  auto trust = TrustStore::Create({}, {"empty"});
  EXPECT_EQ(trust.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace certbroker::validation

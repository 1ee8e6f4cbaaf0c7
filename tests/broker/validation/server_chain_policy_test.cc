// Tests of the per-rule checks of ValidateServerChain: clock skew, allowed
// errors, CN fallback, name constraints, CA:false issuers, key and
// signature strength, pins and deny lists. Each failing case is paired with
// the same chain accepted once the offending property or setting is fixed.
#include "broker/devpki/pki.h"
#include "broker/validation/path_checks.h"
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

class ChainPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MustIssue(devpki::RootSpec("Policy Root"), nullptr);
    intermediate_ =
        MustIssue(devpki::IntermediateSpec("Policy Intermediate"), &root_);
    auto trust = TrustStore::Create(Chain({&root_}), {"policy-roots"});
    ASSERT_TRUE(trust.ok()) << trust.status();
    trust_ = *trust;
  }

  Issued Leaf(devpki::CertificateSpec spec, const Issued* issuer = nullptr) {
    return MustIssue(spec, issuer != nullptr ? issuer : &intermediate_);
  }

  static devpki::CertificateSpec ServerSpec(
      const std::string& name = "api.example.com") {
    return devpki::ServerSpec(name, {name});
  }

  ChainVerdict Validate(const Issued& leaf, const ChainPolicy& policy,
                        const std::string& name = "api.example.com",
                        const Issued* intermediate = nullptr) {
    x509::CertificateList chain =
        Chain({&leaf, intermediate ? intermediate : &intermediate_});
    ServerChainCheck check{name, absl::Now()};
    return ValidateServerChain(*trust_, chain, check, policy);
  }

  Issued root_, intermediate_;
  std::shared_ptr<const TrustStore> trust_;
};

TEST_F(ChainPolicyTest, ClockSkewToleratesJustExpiredLeafAndReportsIt) {
  auto spec = ServerSpec();
  spec.not_before = absl::Now() - absl::Hours(24);
  spec.not_after = absl::Now() - absl::Minutes(2);
  Issued leaf = Leaf(spec);
  EXPECT_EQ(Validate(leaf, ChainPolicy()).reason, Reason::EXPIRED);
  ChainPolicy skewed;
  skewed.clock_skew = absl::Minutes(5);
  ChainVerdict verdict = Validate(leaf, skewed);
  EXPECT_EQ(verdict.reason, Reason::ACCEPTED) << verdict.detail;
  ASSERT_EQ(verdict.failures.size(), 1u);
  EXPECT_EQ(verdict.failures[0].reason, Reason::EXPIRED);
  EXPECT_TRUE(verdict.failures[0].tolerated);
  EXPECT_THAT(verdict.detail, HasSubstr("tolerated EXPIRED"));
  EXPECT_THAT(verdict.detail, HasSubstr("within the clock skew of 5m"));
}

TEST_F(ChainPolicyTest, ClockSkewAlsoCoversNotYetValid) {
  auto spec = ServerSpec();
  spec.not_before = absl::Now() + absl::Minutes(2);
  Issued leaf = Leaf(spec);
  EXPECT_EQ(Validate(leaf, ChainPolicy()).reason, Reason::NOT_YET_VALID);
  ChainPolicy skewed;
  skewed.clock_skew = absl::Minutes(5);
  EXPECT_EQ(Validate(leaf, skewed).reason, Reason::ACCEPTED);
}

TEST_F(ChainPolicyTest, AllowedErrorIsToleratedButReported) {
  Issued leaf = Leaf(ServerSpec("legacy.example.com"));
  EXPECT_EQ(Validate(leaf, ChainPolicy(), "old-name.example.com").reason,
            Reason::HOSTNAME_MISMATCH);
  ChainPolicy lenient;
  lenient.allowed_errors = {Reason::HOSTNAME_MISMATCH};
  ChainVerdict verdict = Validate(leaf, lenient, "old-name.example.com");
  EXPECT_EQ(verdict.reason, Reason::ACCEPTED);
  ASSERT_EQ(verdict.failures.size(), 1u);
  EXPECT_EQ(verdict.failures[0].reason, Reason::HOSTNAME_MISMATCH);
  EXPECT_TRUE(verdict.failures[0].tolerated);
  EXPECT_THAT(verdict.detail, HasSubstr("tolerated HOSTNAME_MISMATCH"));
}

TEST_F(ChainPolicyTest, ToleratingOneErrorDoesNotHideAnother) {
  auto spec = ServerSpec("legacy.example.com");
  spec.not_before = absl::Now() - absl::Hours(48);
  spec.not_after = absl::Now() - absl::Hours(1);
  Issued leaf = Leaf(spec);
  ChainPolicy lenient;
  lenient.allowed_errors = {Reason::HOSTNAME_MISMATCH};
  ChainVerdict verdict = Validate(leaf, lenient, "old-name.example.com");
  EXPECT_EQ(verdict.reason, Reason::EXPIRED);
  EXPECT_EQ(verdict.failures.size(), 2u);
}

TEST_F(ChainPolicyTest, CommonNameFallbackOnlyWhenAllowed) {
  Issued cn_only = Leaf(devpki::ServerSpec("cn-only.example.com", {}));
  EXPECT_EQ(Validate(cn_only, ChainPolicy(), "cn-only.example.com").reason,
            Reason::HOSTNAME_MISMATCH);
  ChainPolicy fallback;
  fallback.allow_common_name_fallback = true;
  EXPECT_EQ(Validate(cn_only, fallback, "cn-only.example.com").reason,
            Reason::ACCEPTED);
}

TEST_F(ChainPolicyTest, IdnaALabelsCompareCaseInsensitively) {
  Issued idn = Leaf(devpki::ServerSpec("idn", {"xn--bcher-kva.example"}));
  EXPECT_EQ(Validate(idn, ChainPolicy(), "xn--bcher-kva.example").reason,
            Reason::ACCEPTED);
  EXPECT_EQ(Validate(idn, ChainPolicy(), "XN--BCHER-KVA.EXAMPLE").reason,
            Reason::ACCEPTED);
}

TEST_F(ChainPolicyTest, WildcardEdgeCases) {
  Issued wildcard = Leaf(devpki::ServerSpec("w", {"*.example.com"}));
  EXPECT_EQ(Validate(wildcard, ChainPolicy(), "a.example.com").reason,
            Reason::ACCEPTED);
  EXPECT_EQ(Validate(wildcard, ChainPolicy(), "example.com").reason,
            Reason::HOSTNAME_MISMATCH);
  Issued partial = Leaf(devpki::ServerSpec("p", {"a*.example.com"}));
  EXPECT_EQ(Validate(partial, ChainPolicy(), "ab.example.com").reason,
            Reason::HOSTNAME_MISMATCH);
}

TEST_F(ChainPolicyTest, NameConstraintsOnDnsNames) {
  auto constrained_spec = devpki::IntermediateSpec("Constrained Intermediate");
  constrained_spec.permitted_names = {"DNS:example.com"};
  constrained_spec.excluded_names = {"DNS:secret.example.com"};
  Issued constrained = MustIssue(constrained_spec, &root_);
  Issued inside = Leaf(ServerSpec("api.example.com"), &constrained);
  EXPECT_EQ(
      Validate(inside, ChainPolicy(), "api.example.com", &constrained).reason,
      Reason::ACCEPTED);
  Issued outside = Leaf(ServerSpec("api.other.org"), &constrained);
  ChainVerdict verdict =
      Validate(outside, ChainPolicy(), "api.other.org", &constrained);
  EXPECT_EQ(verdict.reason, Reason::NAME_CONSTRAINT_VIOLATION)
      << verdict.detail;
  EXPECT_THAT(verdict.detail, HasSubstr("permitted subtrees"));
  Issued excluded = Leaf(ServerSpec("secret.example.com"), &constrained);
  verdict =
      Validate(excluded, ChainPolicy(), "secret.example.com", &constrained);
  EXPECT_EQ(verdict.reason, Reason::NAME_CONSTRAINT_VIOLATION)
      << verdict.detail;
  EXPECT_THAT(verdict.detail, HasSubstr("excluded subtrees"));
}

TEST_F(ChainPolicyTest, NameConstraintsOnIpAddresses) {
  auto constrained_spec = devpki::IntermediateSpec("IP Constrained");
  constrained_spec.permitted_names = {"IP:192.0.2.0/255.255.255.0"};
  Issued constrained = MustIssue(constrained_spec, &root_);
  Issued inside =
      Leaf(devpki::ServerSpec("in", {}, {"192.0.2.7"}), &constrained);
  ChainVerdict verdict =
      Validate(inside, ChainPolicy(), "192.0.2.7", &constrained);
  EXPECT_EQ(verdict.reason, Reason::ACCEPTED) << verdict.detail;
  Issued outside =
      Leaf(devpki::ServerSpec("out", {}, {"198.51.100.7"}), &constrained);
  verdict = Validate(outside, ChainPolicy(), "198.51.100.7", &constrained);
  EXPECT_EQ(verdict.reason, Reason::NAME_CONSTRAINT_VIOLATION);
  EXPECT_THAT(
      verdict.detail,
      HasSubstr(
          "certificate_chain[0] (CN=out): IP address 198.51.100.7 is outside "
          "the "
          "permitted subtrees of certificate_chain[1] (CN=IP Constrained)"));
  // A DNS name after an IP address is still checked against DNS subtrees.
  auto mixed_spec = devpki::IntermediateSpec("Mixed Constraints");
  mixed_spec.permitted_names = {"IP:192.0.2.0/255.255.255.0",
                                "DNS:example.com"};
  Issued mixed = MustIssue(mixed_spec, &root_);
  Issued sneaky =
      Leaf(devpki::ServerSpec("s", {"evil.org"}, {"192.0.2.9"}), &mixed);
  verdict = Validate(sneaky, ChainPolicy(), "192.0.2.9", &mixed);
  EXPECT_EQ(verdict.reason, Reason::NAME_CONSTRAINT_VIOLATION)
      << verdict.detail;
}

TEST_F(ChainPolicyTest, CaFalseIntermediateIsInvalidCa) {
  auto not_ca_spec = devpki::IntermediateSpec("Not A CA");
  not_ca_spec.is_ca = false;
  not_ca_spec.omit_key_usage = true;
  Issued not_ca = MustIssue(not_ca_spec, &root_);
  Issued leaf = Leaf(ServerSpec(), &not_ca);
  ChainVerdict verdict =
      Validate(leaf, ChainPolicy(), "api.example.com", &not_ca);
  EXPECT_EQ(verdict.reason, Reason::INVALID_CA) << verdict.detail;
  EXPECT_THAT(verdict.detail, HasSubstr("certificate_chain[1] (CN=Not A CA)"));
}

TEST_F(ChainPolicyTest, WeakRsaKeyUntilMinimumLowered) {
  auto spec = ServerSpec();
  spec.key_type = devpki::KeyType::kRsa1024;
  Issued weak = Leaf(spec);
  ChainVerdict verdict = Validate(weak, ChainPolicy());
  EXPECT_EQ(verdict.reason, Reason::WEAK_KEY);
  EXPECT_THAT(
      verdict.detail,
      HasSubstr(
          "certificate_chain[0] (CN=api.example.com): RSA key of 1024 bits, "
          "below the minimum of 2048"));
  ChainPolicy lowered;
  lowered.min_rsa_bits = 1024;
  EXPECT_EQ(Validate(weak, lowered).reason, Reason::ACCEPTED);
}

TEST_F(ChainPolicyTest, CurveOutsideAllowedListIsWeakKey) {
  auto spec = ServerSpec();
  spec.key_type = devpki::KeyType::kEcP224;
  Issued p224 = Leaf(spec);
  ChainVerdict verdict = Validate(p224, ChainPolicy());
  EXPECT_EQ(verdict.reason, Reason::WEAK_KEY);
  EXPECT_THAT(verdict.detail, HasSubstr("not an allowed curve"));
  ChainPolicy with_p224;
  with_p224.allowed_curves.push_back(NID_secp224r1);
  EXPECT_EQ(Validate(p224, with_p224).reason, Reason::ACCEPTED);
  spec.key_type = devpki::KeyType::kEcP384;
  EXPECT_EQ(Validate(Leaf(spec), ChainPolicy()).reason, Reason::ACCEPTED);
}

TEST_F(ChainPolicyTest, Sha1SignatureIsWeakUnlessAllowed) {
  auto spec = ServerSpec();
  spec.digest = devpki::Digest::kSha1;
  Issued sha1 = Leaf(spec);
  ChainVerdict verdict = Validate(sha1, ChainPolicy());
  EXPECT_EQ(verdict.reason, Reason::WEAK_SIGNATURE_ALGORITHM);
  EXPECT_THAT(verdict.detail, HasSubstr("SHA-1 is forbidden"));
  ChainPolicy allow_sha1;
  allow_sha1.allow_sha1_signatures = true;
  EXPECT_EQ(Validate(sha1, allow_sha1).reason, Reason::ACCEPTED);
}

TEST_F(ChainPolicyTest, PinMatchesAnyCertificateOfThePathAndSaysWhich) {
  Issued leaf = Leaf(ServerSpec());
  ChainPolicy pinned;
  pinned.spki_pins = {SpkiSha256(intermediate_.certificate.get())};
  ChainVerdict verdict = Validate(leaf, pinned);
  EXPECT_EQ(verdict.reason, Reason::ACCEPTED) << verdict.detail;
  EXPECT_THAT(verdict.detail,
              HasSubstr("of certificate_chain[1] (CN=Policy Intermediate)"));
  pinned.spki_pins = {SpkiSha256(root_.certificate.get())};
  EXPECT_THAT(Validate(leaf, pinned).detail,
              HasSubstr("of trusted root (CN=Policy Root)"));
}

TEST_F(ChainPolicyTest, UnpinnedChainIsPinMismatch) {
  Issued leaf = Leaf(ServerSpec());
  Issued stranger = MustIssue(devpki::RootSpec("Stranger"), nullptr);
  ChainPolicy pinned;
  pinned.spki_pins = {SpkiSha256(stranger.certificate.get())};
  ChainVerdict verdict = Validate(leaf, pinned);
  EXPECT_EQ(verdict.reason, Reason::PIN_MISMATCH);
  EXPECT_THAT(verdict.detail,
              HasSubstr(PinText(SpkiSha256(leaf.certificate.get()))));
}

TEST_F(ChainPolicyTest, DeniedFingerprintAndKeyAreRejectedOutright) {
  Issued leaf = Leaf(ServerSpec());
  ChainPolicy deny_leaf;
  deny_leaf.denied_fingerprints = {CertificateSha256(leaf.certificate.get())};
  ChainVerdict verdict = Validate(leaf, deny_leaf);
  EXPECT_EQ(verdict.reason, Reason::DENIED);
  EXPECT_THAT(verdict.detail,
              HasSubstr("certificate_chain[0] (CN=api.example.com) is denied"));
  ChainPolicy deny_key;
  deny_key.denied_spki = {SpkiSha256(intermediate_.certificate.get())};
  EXPECT_EQ(Validate(leaf, deny_key).reason, Reason::DENIED);
  deny_key.allowed_errors = {Reason::DENIED};  // Not tolerable: still denied.
  EXPECT_EQ(Validate(leaf, deny_key).reason, Reason::DENIED);
  EXPECT_FALSE(IsTolerable(Reason::DENIED));
}

TEST_F(ChainPolicyTest, LeafWithoutEkuAcceptedOnlyWhenNotRequired) {
  auto spec = ServerSpec();
  spec.usage = devpki::ExtendedKeyUsage::kNone;
  Issued no_eku = Leaf(spec);
  EXPECT_EQ(Validate(no_eku, ChainPolicy()).reason,
            Reason::BAD_EXTENDED_KEY_USAGE);
  ChainPolicy relaxed;
  relaxed.require_extended_key_usage = false;
  EXPECT_EQ(Validate(no_eku, relaxed).reason, Reason::ACCEPTED);
}

TEST_F(ChainPolicyTest, EmptyServerNameSkipsTheNameCheck) {
  Issued leaf = Leaf(ServerSpec());
  EXPECT_EQ(Validate(leaf, ChainPolicy(), "").reason, Reason::ACCEPTED);
}

TEST_F(ChainPolicyTest, TamperedSignatureIsBadSignature) {
  Issued leaf = Leaf(ServerSpec());
  std::string der = leaf.Der();
  der[der.size() - 3] ^= 0x01;  // Inside the signature value.
  auto tampered = x509::ParseDerCertificate(der);
  ASSERT_TRUE(tampered.ok()) << tampered.status();
  x509::CertificateList chain;
  chain.push_back(std::move(tampered).value());
  chain.push_back(bssl::UpRef(intermediate_.certificate));
  ChainVerdict verdict = ValidateServerChain(
      *trust_, chain, {"api.example.com", absl::Now()}, ChainPolicy());
  EXPECT_EQ(verdict.reason, Reason::BAD_SIGNATURE) << verdict.detail;
  EXPECT_THAT(verdict.detail, HasSubstr("certificate_chain[0]"));
  EXPECT_EQ(Validate(leaf, ChainPolicy()).reason,
            Reason::ACCEPTED);  // Untampered.
}

TEST_F(ChainPolicyTest, EmptyChainIsMalformed) {
  ChainVerdict verdict = ValidateServerChain(
      *trust_, {}, {"api.example.com", absl::Now()}, ChainPolicy());
  EXPECT_EQ(verdict.reason, Reason::MALFORMED_CHAIN);
  EXPECT_EQ(verdict.detail, "the chain is empty");
}

TEST_F(ChainPolicyTest, UnknownCriticalExtensionFailsVerification) {
  auto spec = ServerSpec();
  spec.unknown_critical_extension = true;
  ChainVerdict verdict = Validate(Leaf(spec), ChainPolicy());
  EXPECT_EQ(verdict.reason, Reason::VERIFICATION_FAILED) << verdict.detail;
  EXPECT_THAT(verdict.detail, HasSubstr("unhandled critical extension"));
  spec.unknown_critical_extension = false;
  EXPECT_EQ(Validate(Leaf(spec), ChainPolicy()).reason, Reason::ACCEPTED);
}

}  // namespace
}  // namespace certbroker::validation

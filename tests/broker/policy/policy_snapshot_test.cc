// Tests of compiling configurations into PolicySnapshots: files are read
// relative to the config, loaded material is checked, and each failure names
// the file and field.
#include "broker/policy/policy_snapshot.h"

#include "broker/devpki/pki.h"
#include "broker/x509/pem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace certbroker::policy {
namespace {

using ::testing::HasSubstr;

class PolicySnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto root = devpki::Issue(devpki::RootSpec("Snapshot Root"), nullptr);
    ASSERT_TRUE(root.ok());
    auto client = devpki::Issue(devpki::ClientSpec("snapshot-client"), &*root);
    ASSERT_TRUE(client.ok());
    auto other = devpki::Issue(devpki::ClientSpec("other-client"), &*root);
    ASSERT_TRUE(other.ok());
    auto server = devpki::Issue(devpki::ServerSpec("s", {"s.example"}), &*root);
    ASSERT_TRUE(server.ok());
    dir_.Write("pki/ca.pem", root->CertificatePem());
    dir_.Write("pki/client.pem",
               client->CertificatePem() + root->CertificatePem());
    dir_.Write("pki/client.key", client->KeyPem());
    dir_.Write("pki/other.key", other->KeyPem());
    dir_.Write("pki/server.pem", server->CertificatePem());
    dir_.Write("pki/server.key", server->KeyPem());
  }

  absl::StatusOr<std::shared_ptr<const PolicySnapshot>> Load(
      const std::string& yaml) {
    return LoadPolicyFile(dir_.Write("config.yaml", yaml));
  }

  std::string ConfigWith(const std::string& bundle_file,
                         const std::string& chain_file,
                         const std::string& key_file) {
    return "trust_bundles: [{name: roots, pem_file: " + bundle_file + "}]\n" +
           "certificates: [{id: client, chain_pem_file: " + chain_file +
           ", key_pem_file: " + key_file + "}]\n" +
           "rules:\n"
           "  - name: all\n"
           "    match: {hosts: ['*.example']}\n"
           "    client_certificate: client\n"
           "    server_validation: {trust_bundles: [roots]}\n";
  }

  testing::TempDir dir_;
};

TEST_F(PolicySnapshotTest, CompilesGoodConfigWithRelativePaths) {
  auto snapshot =
      Load(ConfigWith("pki/ca.pem", "pki/client.pem", "pki/client.key"));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->version().size(), 16u);
  EXPECT_EQ((*snapshot)->rule_count(), 1u);
  ResolvedTarget target;
  target.host = "api.example";
  target.port = 443;
  target.scheme = "https";
  const CompiledRule* rule = (*snapshot)->FindRule(target);
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->name, "all");
  ASSERT_NE(rule->client_certificate, nullptr);
  EXPECT_EQ(rule->client_certificate->id, "client");
  EXPECT_EQ(rule->client_certificate->chain_der.size(), 2u);
  EXPECT_FALSE(rule->client_certificate->exportable);
  ASSERT_NE(rule->trust, nullptr);
  EXPECT_EQ(rule->cache_ttl, absl::Seconds(300));
}

TEST_F(PolicySnapshotTest, VersionChangesWhenAReferencedFileChanges) {
  std::string yaml =
      ConfigWith("pki/ca.pem", "pki/client.pem", "pki/client.key");
  auto first = Load(yaml);
  auto same = Load(yaml);
  ASSERT_TRUE(first.ok() && same.ok());
  EXPECT_EQ((*first)->version(), (*same)->version());
  auto root = devpki::Issue(devpki::RootSpec("Another Root"), nullptr);
  dir_.Write("pki/ca.pem", root->CertificatePem());
  auto changed = Load(yaml);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_NE((*first)->version(), (*changed)->version());
}

struct BadMaterial {
  const char* bundle;
  const char* chain;
  const char* key;
  const char* message;
};

class PolicySnapshotErrorTest
    : public PolicySnapshotTest,
      public ::testing::WithParamInterface<BadMaterial> {};

TEST_P(PolicySnapshotErrorTest, FailsNamingFieldAndFile) {
  dir_.Write("pki/empty.pem", "# no certificates here\n");
  dir_.Write("pki/truncated.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n");
  dir_.Write("pki/garbage.pem",
             "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  auto snapshot =
      Load(ConfigWith(GetParam().bundle, GetParam().chain, GetParam().key));
  ASSERT_FALSE(snapshot.ok());
  EXPECT_THAT(std::string(snapshot.status().message()),
              HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PolicySnapshotErrorTest,
    ::testing::Values(
        BadMaterial{
            "pki/missing.pem", "pki/client.pem", "pki/client.key",
            "config.yaml: trust_bundles[0] (roots).pem_file: cannot open "},
        BadMaterial{"pki/empty.pem", "pki/client.pem", "pki/client.key",
                    "trust_bundles[0] (roots): " /* then the path */},
        BadMaterial{"pki/empty.pem", "pki/client.pem", "pki/client.key",
                    "pki/empty.pem: holds no PEM certificate"},
        BadMaterial{"pki/truncated.pem", "pki/client.pem", "pki/client.key",
                    "pki/truncated.pem: PEM block 1 is truncated or corrupt"},
        BadMaterial{"pki/garbage.pem", "pki/client.pem", "pki/client.key",
                    "pki/garbage.pem: certificate 1 is not valid: not a DER "
                    "certificate"},
        BadMaterial{"pki/ca.pem", "pki/client.pem", "pki/other.key",
                    "certificates[0] (client): the private key in"},
        BadMaterial{"pki/ca.pem", "pki/client.pem", "pki/other.key",
                    "does not match the leaf certificate (CN=snapshot-client)"},
        BadMaterial{"pki/ca.pem", "pki/client.pem", "pki/client.pem",
                    "pki/client.pem: holds no PEM private key"},
        BadMaterial{"pki/ca.pem", "pki/client.key", "pki/client.key",
                    "PEM block 1 is a 'PRIVATE KEY', expected 'CERTIFICATE'"},
        BadMaterial{"pki/ca.pem", "pki/server.pem", "pki/server.key",
                    "extended key usage that does not allow clientAuth"},
        BadMaterial{"pki/server.pem", "pki/client.pem", "pki/client.key",
                    "pki/server.pem: certificate 1 (CN=s) is neither a "
                    "self-signed root "
                    "nor a CA certificate"}));

TEST_F(PolicySnapshotTest, RefusesAllowedErrorsThatCanNeverBeTolerated) {
  auto snapshot = Load(
      "trust_bundles: [{name: roots, pem_file: pki/ca.pem}]\n"
      "rules:\n"
      "  - name: r\n"
      "    match: {hosts: [x.example]}\n"
      "    server_validation: {trust_bundles: [roots], allowed_errors: "
      "[EXPIRED, REVOKED]}\n");
  ASSERT_FALSE(snapshot.ok());
  EXPECT_THAT(
      std::string(snapshot.status().message()),
      HasSubstr("config.yaml: rules[0].server_validation.allowed_errors[1]: "
                "REVOKED can "
                "never be tolerated"));
}

TEST_F(PolicySnapshotTest, LoadsCrlsAndRefusesBadOnes) {
  auto root = devpki::Issue(devpki::RootSpec("CRL Issuer"), nullptr);
  ASSERT_TRUE(root.ok());
  auto crl = devpki::IssueCrl(devpki::CrlSpec(), *root);
  ASSERT_TRUE(crl.ok());
  dir_.Write("pki/good.crl", x509::CrlToPem(crl->get()));
  auto snapshot = Load("crls: [{name: good, file: pki/good.crl}]\n");
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->crls().size(), 1u);
  dir_.Write("pki/bad.crl",
             "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n");
  auto bad = Load("crls: [{name: bad, file: pki/bad.crl}]\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("crls[0] (bad): " + dir_.Path("pki/bad.crl") +
                        ": CRL 1: not a DER CRL"));
  auto missing = Load("crls: [{name: gone, file: pki/gone.crl}]\n");
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("crls[0] (gone).file: cannot open"));
}

TEST_F(PolicySnapshotTest, RefusesEquallySpecificRules) {
  auto snapshot = Load(
      "trust_bundles: [{name: roots, pem_file: pki/ca.pem}]\n"
      "rules:\n"
      "  - {name: a, match: {hosts: [x.example]}, server_validation: "
      "{trust_bundles: [roots]}}\n"
      "  - {name: b, match: {hosts: [x.example]}, server_validation: "
      "{trust_bundles: [roots]}}\n");
  ASSERT_FALSE(snapshot.ok());
  EXPECT_THAT(
      std::string(snapshot.status().message()),
      HasSubstr("config.yaml: rules: rules 'a' and 'b' are equally specific"));
}

TEST_F(PolicySnapshotTest, RefusesEquallySpecificInboundRules) {
  auto snapshot = Load(
      "inbound_rules:\n"
      "  - {name: a, match: {listeners: [in], server_names: ['*']}, "
      "client_certificate: IGNORE}\n"
      "  - {name: b, match: {listeners: [in], server_names: ['*']}, "
      "client_certificate: IGNORE}\n");
  ASSERT_FALSE(snapshot.ok());
  EXPECT_THAT(std::string(snapshot.status().message()),
              HasSubstr("config.yaml: inbound_rules: rules 'a' and 'b' are "
                        "equally specific"));
}

TEST_F(PolicySnapshotTest, FindsMostSpecificInboundRule) {
  auto snapshot = Load(
      "inbound_rules:\n"
      "  - {name: any, match: {server_names: ['*']}, "
      "client_certificate: IGNORE}\n"
      "  - {name: listener, match: {listeners: [in], server_names: ['*']}, "
      "client_certificate: IGNORE}\n"
      "  - {name: suffix, match: {server_names: ['*.example']}, "
      "client_certificate: IGNORE}\n"
      "  - {name: agent, match: {server_names: ['*.example'], agents: "
      "['spiffe://t/*']}, client_certificate: IGNORE}\n");
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const InboundRules& rules = (*snapshot)->inbound_rules();
  auto name = [&](absl::string_view listener, absl::string_view sni,
                  absl::string_view agent) -> std::string {
    const InboundRule* rule = rules.Find(listener, sni, false, agent);
    return rule == nullptr ? "none" : rule->match->name;
  };
  EXPECT_EQ(name("other", "", ""), "any");
  EXPECT_EQ(name("IN", "", ""), "listener");
  EXPECT_EQ(name("in", "a.example", ""), "suffix");
  EXPECT_EQ(name("in", "a.example", "spiffe://t/x"), "agent");
}

TEST(CurrentPolicyTest, SwapsSnapshots) {
  testing::TempDir dir;
  auto first = LoadPolicyFile(dir.Write("a.yaml", "{}"));
  auto second = LoadPolicyFile(dir.Write("b.yaml", "default_cache_ttl: 7s"));
  ASSERT_TRUE(first.ok() && second.ok());
  CurrentPolicy current(*first);
  auto held = current.Get();
  current.Set(*second);
  EXPECT_EQ(current.Get()->default_cache_ttl(), absl::Seconds(7));
  EXPECT_EQ(held->default_cache_ttl(),
            absl::Seconds(300));  // Readers keep theirs.
}

}  // namespace
}  // namespace certbroker::policy

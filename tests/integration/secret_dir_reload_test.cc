// Hot reload from watched directories against a real certbrokerd: a client
// certificate and a trust bundle mounted the way Kubernetes mounts Secrets
// (..data swap) are reloaded within a second of a change, bump the policy
// version by one, and bad or half-written content keeps the old state,
// counted in GetStatus, until good content arrives.
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/admin_fixture.h"
#include "tests/integration/broker_fixture.h"
#include "tests/support/kubernetes_volume.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {
namespace {

using ::testing::HasSubstr;

class SecretDirReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MustIssue(devpki::RootSpec("Mounted Root"), nullptr);
    for (const char* name : {"first", "second", "third"}) {
      clients_.push_back(MustIssue(devpki::ClientSpec(name), &root_));
    }
    secret_dir_ = broker_.dir().Path("mounts/client-tls");
    policy_ = absl::StrCat(
        "certificates: [{id: mounted, secret_dir: ", secret_dir_,
        ", exportable: true}]\n"
        "trust_bundles: [{name: mounted-ca, secret_dir: ",
        secret_dir_,
        "}]\n"
        "rules:\n"
        "  - name: mounted\n"
        "    match: { hosts: [svc.example.test] }\n"
        "    client_certificate: mounted\n"
        "    server_validation: { trust_bundles: [mounted-ca] }\n");
  }

  std::map<std::string, std::string> Files(const devpki::Issued& client) {
    return {{"tls.crt", client.CertificatePem()},
            {"tls.key", client.KeyPem()},
            {"ca.crt", root_.CertificatePem()}};
  }

  // Given returns the leaf DER GetClientCertificate answers and the
  // policy version.
  std::pair<std::string, std::string> Given() {
    v1::GetClientCertificateRequest request;
    request.mutable_target()->set_host("svc.example.test");
    v1::GetClientCertificateResponse response;
    grpc::Status status = broker_.broker().GetClientCertificate(
        Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (response.certificate_chain_size() == 0) return {"", ""};
    return {response.certificate_chain(0), response.policy_version()};
  }

  // WaitFor polls until `client` is given, and returns how long it took.
  absl::Duration WaitFor(const devpki::Issued& client, absl::Time since) {
    while (absl::Now() - since < absl::Seconds(5)) {
      if (Given().first == client.Der()) return absl::Now() - since;
      absl::SleepFor(absl::Milliseconds(10));
    }
    ADD_FAILURE() << "not reloaded within 5 s:\n" << broker_.process().Log();
    return absl::InfiniteDuration();
  }

  v1::Status Status() {
    v1::Status status;
    EXPECT_TRUE(broker_.admin()
                    .GetStatus(Context().get(), v1::GetStatusRequest(), &status)
                    .ok());
    return status;
  }

  devpki::Issued root_;
  std::vector<devpki::Issued> clients_;
  std::string secret_dir_;
  std::string policy_;
  StoreBroker broker_;
};

TEST_F(SecretDirReloadTest, KubernetesSwapReloadsWithinASecond) {
  KubernetesVolume volume(secret_dir_);
  volume.Publish(Files(clients_[0]));
  std::string seed = broker_.dir().Write("seed.yaml", policy_);
  ASSERT_TRUE(broker_.Start({"--seed_config=" + seed}));
  auto [first, version] = Given();
  EXPECT_EQ(first, clients_[0].Der());

  absl::Time swapped = absl::Now();
  volume.Publish(Files(clients_[1]));
  absl::Duration took = WaitFor(clients_[1], swapped);
  EXPECT_LT(took, absl::Seconds(1));
  RecordProperty("reload_ms", static_cast<int>(took / absl::Milliseconds(1)));
  EXPECT_EQ(std::stoll(Given().second), std::stoll(version) + 1);

  // A key of another certificate: the old state stays, and the error is
  // counted and logged.
  std::map<std::string, std::string> bad = Files(clients_[2]);
  bad["tls.key"] = clients_[0].KeyPem();
  volume.Publish(bad);
  ASSERT_TRUE(broker_.process().WaitForLog("reload failed"))
      << broker_.process().Log();
  EXPECT_THAT(broker_.process().Log(),
              HasSubstr("does not match the leaf certificate (CN=third)"));
  EXPECT_EQ(Given().first, clients_[1].Der());
  v1::Status status = Status();
  EXPECT_EQ(status.reload_errors(), 1);
  EXPECT_THAT(status.last_reload_error(), HasSubstr(secret_dir_));
  EXPECT_EQ(std::stoll(status.policy_version()), std::stoll(version) + 1);
  v1::ListAuditRecordsRequest refused;
  refused.set_verdict("refused");
  v1::ListAuditRecordsResponse records;
  ASSERT_TRUE(broker_.admin()
                  .ListAuditRecords(Context().get(), refused, &records)
                  .ok());
  ASSERT_EQ(records.records_size(), 1);
  EXPECT_EQ(records.records(0).rpc(), "Reload");
  EXPECT_THAT(records.records(0).detail(),
              HasSubstr(absl::StrCat("changed: ", secret_dir_)));

  // The next good content is picked up.
  swapped = absl::Now();
  volume.Publish(Files(clients_[2]));
  EXPECT_LT(WaitFor(clients_[2], swapped), absl::Seconds(1));
  EXPECT_EQ(std::stoll(Given().second), std::stoll(version) + 2);
}

TEST_F(SecretDirReloadTest, HalfWrittenPlainDirectoryKeepsTheOldState) {
  broker_.dir().Write("mounts/client-tls/tls.crt",
                      clients_[0].CertificatePem());
  broker_.dir().Write("mounts/client-tls/tls.key", clients_[0].KeyPem());
  broker_.dir().Write("mounts/client-tls/ca.crt", root_.CertificatePem());
  std::string config = broker_.dir().Write("config.yaml", policy_);
  ASSERT_TRUE(broker_.StartWith({"--config=" + config, "--enable_admin"}));
  EXPECT_EQ(Given().first, clients_[0].Der());
  std::string version = Given().second;

  // The certificate is rewritten first; until the key follows, the pair
  // does not match and the old one stays in force.
  broker_.dir().Write("mounts/client-tls/tls.crt",
                      clients_[1].CertificatePem());
  ASSERT_TRUE(broker_.process().WaitForLog("reload failed"));
  EXPECT_EQ(Given().first, clients_[0].Der());
  EXPECT_GE(Status().reload_errors(), 1);
  absl::Time written = absl::Now();
  broker_.dir().Write("mounts/client-tls/tls.key", clients_[1].KeyPem());
  EXPECT_LT(WaitFor(clients_[1], written), absl::Seconds(1));
  EXPECT_NE(Given().second, version);  // Without a store: a new digest.
}

}  // namespace
}  // namespace certbroker::testing

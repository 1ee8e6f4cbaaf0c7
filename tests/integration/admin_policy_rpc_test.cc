// The store-held policy through the admin API against a real certbrokerd:
// a policy naming stored certificates and bundles takes effect at once and
// reports its version in decisions; optimistic concurrency; a bad document
// changes nothing and names the field; stored objects in use cannot be
// deleted; every change is in the audit log and reaches a watcher; status.
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/admin_fixture.h"
#include "tests/integration/broker_fixture.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {
namespace {

using ::testing::HasSubstr;

class AdminPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MustIssue(devpki::RootSpec("Policy Root"), nullptr);
    client_ = MustIssue(devpki::ClientSpec("pay-client"), &root_);
    server_ = MustIssue(
        devpki::ServerSpec("pay.example.test", {"pay.example.test"}), &root_);
    ASSERT_TRUE(broker_.Start());
  }

  void StoreObjects() {
    v1::Certificate certificate;
    v1::ImportCertificateRequest import =
        PemImport("pay-client", client_, {}, client_.key.get());
    import.set_exportable(true);
    ASSERT_TRUE(broker_.admin()
                    .ImportCertificate(Context().get(), import, &certificate)
                    .ok());
    v1::UpdateTrustBundleRequest bundle;
    bundle.mutable_trust_bundle()->set_name("trustBundles/corp");
    bundle.mutable_trust_bundle()->set_certificates_pem(root_.CertificatePem());
    bundle.set_allow_missing(true);
    v1::TrustBundle stored;
    grpc::Status status =
        broker_.admin().UpdateTrustBundle(Context().get(), bundle, &stored);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(stored.subjects(0), "CN=Policy Root");
  }

  grpc::Status Put(const std::string& document, std::optional<int64_t> expected,
                   v1::Policy* out) {
    v1::UpdatePolicyRequest request;
    request.mutable_policy()->set_document(document);
    if (expected.has_value()) request.set_expected_version(*expected);
    return broker_.admin().UpdatePolicy(Context().get(), request, out);
  }

  v1::Policy Get() {
    v1::Policy policy;
    EXPECT_TRUE(broker_.admin()
                    .GetPolicy(Context().get(), v1::GetPolicyRequest(), &policy)
                    .ok());
    return policy;
  }

  devpki::Issued root_, client_, server_;
  StoreBroker broker_;
};

TEST_F(AdminPolicyTest, StoredPolicyTakesEffectWithItsVersion) {
  v1::Policy empty = Get();
  EXPECT_EQ(empty.source(), "none");
  EXPECT_EQ(empty.document(), "");
  StoreObjects();

  v1::Policy put;
  grpc::Status status = Put(kPayPolicy, Get().version(), &put);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(put.version(), Get().version());
  EXPECT_EQ(Get().document(), kPayPolicy);
  EXPECT_EQ(Get().source(), "store");

  v1::GetClientCertificateResponse response;
  grpc::Status given = broker_.ClientCertificate("pay.example.test", &response);
  ASSERT_TRUE(given.ok()) << given.error_message();
  EXPECT_EQ(response.certificate_id(), "pay-client");
  ASSERT_EQ(response.certificate_chain_size(), 1);
  EXPECT_EQ(response.certificate_chain(0), client_.Der());
  EXPECT_FALSE(response.private_key().empty());
  EXPECT_EQ(response.policy_version(), absl::StrCat(put.version()));

  v1::OnServerCertificateRequest server;
  server.mutable_target()->set_host("pay.example.test");
  server.add_certificate_chain(server_.Der());
  v1::OnServerCertificateResponse verdict;
  ASSERT_TRUE(broker_.broker()
                  .OnServerCertificate(Context().get(), server, &verdict)
                  .ok());
  EXPECT_TRUE(verdict.accepted()) << verdict.detail();

  // The policy survives a restart, at the same version.
  EXPECT_EQ(broker_.Stop(), 0);
  ASSERT_TRUE(broker_.Start());
  EXPECT_EQ(Get().version(), put.version());
  EXPECT_EQ(Get().document(), kPayPolicy);
}

TEST_F(AdminPolicyTest, StaleVersionBadDocumentAndObjectsInUseChangeNothing) {
  StoreObjects();
  v1::Policy put;
  ASSERT_TRUE(Put(kPayPolicy, std::nullopt, &put).ok());

  v1::Policy ignored;
  grpc::Status stale = Put("rules: []\n", put.version() - 1, &ignored);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(stale.error_message(),
              HasSubstr(absl::StrCat("expected_version is ", put.version() - 1,
                                     ", but the policy is at version ",
                                     put.version())));

  grpc::Status unknown =
      Put("rules: [{name: r, colour: red}]\n", std::nullopt, &ignored);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(unknown.error_message(),
              HasSubstr("rules[0].colour: unknown field"));

  grpc::Status dangling =
      Put("rules: [{name: r, match: {hosts: [a.test]}, client_certificate: "
          "nobody, server_validation: {trust_bundles: [corp]}}]\n",
          std::nullopt, &ignored);
  EXPECT_EQ(dangling.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(dangling.error_message(),
              HasSubstr("rules[0].client_certificate: no certificate has id "
                        "'nobody'"));

  grpc::Status relative =
      Put("trust_bundles: [{name: files, pem_file: roots.pem}]\n", std::nullopt,
          &ignored);
  EXPECT_EQ(relative.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(relative.error_message(), HasSubstr("is a relative path"));

  v1::DeleteCertificateRequest remove;
  remove.set_name("certificates/pay-client");
  v1::DeleteCertificateResponse removed;
  grpc::Status in_use =
      broker_.admin().DeleteCertificate(Context().get(), remove, &removed);
  EXPECT_EQ(in_use.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(in_use.error_message(),
              HasSubstr("certificates/pay-client is used by rule payments"));
  v1::DeleteTrustBundleRequest remove_bundle;
  remove_bundle.set_name("corp");
  v1::DeleteTrustBundleResponse bundle_removed;
  EXPECT_EQ(
      broker_.admin()
          .DeleteTrustBundle(Context().get(), remove_bundle, &bundle_removed)
          .error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);

  v1::UpdatePolicyRequest validate;
  validate.mutable_policy()->set_document("rules: []\n");
  validate.set_validate_only(true);
  v1::Policy validated;
  ASSERT_TRUE(
      broker_.admin().UpdatePolicy(Context().get(), validate, &validated).ok());

  v1::Policy after = Get();
  EXPECT_EQ(after.version(), put.version());
  EXPECT_EQ(after.document(), kPayPolicy);
}

TEST_F(AdminPolicyTest, ChangesAreAuditedAndWatched) {
  grpc::ClientContext watch_context;
  v1::WatchAuditRecordsRequest filter;
  filter.set_verdict("changed");
  auto reader = broker_.admin().WatchAuditRecords(&watch_context, filter);
  reader->WaitForInitialMetadata();

  StoreObjects();
  v1::Policy put;
  ASSERT_TRUE(Put(kPayPolicy, std::nullopt, &put).ok());

  std::vector<std::string> seen;
  v1::AuditRecord record;
  while (seen.size() < 3 && reader->Read(&record)) {
    seen.push_back(absl::StrCat(record.rpc(), " ", record.target(), " v",
                                record.policy_version()));
  }
  watch_context.TryCancel();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_THAT(seen[0], HasSubstr("ImportCertificate certificates/pay-client"));
  EXPECT_THAT(seen[1], HasSubstr("UpdateTrustBundle trustBundles/corp"));
  EXPECT_EQ(seen[2], absl::StrCat("UpdatePolicy policy v", put.version()));

  v1::ListAuditRecordsRequest list;
  list.set_verdict("changed");
  v1::ListAuditRecordsResponse listed;
  ASSERT_TRUE(
      broker_.admin().ListAuditRecords(Context().get(), list, &listed).ok());
  ASSERT_EQ(listed.records_size(), 3);
  EXPECT_EQ(listed.records(0).rpc(), "UpdatePolicy");  // Newest first.
  EXPECT_EQ(listed.records(2).rpc(), "ImportCertificate");
  EXPECT_FALSE(listed.records(2).leaf_fingerprint().empty());
  EXPECT_THAT(listed.records(2).detail(), HasSubstr("sealed under KEK"));

  // A refused change is recorded too.
  v1::Policy ignored;
  ASSERT_FALSE(Put("nonsense: 1\n", std::nullopt, &ignored).ok());
  list.set_verdict("INVALID_ARGUMENT");
  ASSERT_TRUE(
      broker_.admin().ListAuditRecords(Context().get(), list, &listed).ok());
  ASSERT_EQ(listed.records_size(), 1);
  EXPECT_EQ(listed.records(0).rpc(), "UpdatePolicy");
}

TEST_F(AdminPolicyTest, StatusReportsCountsAndExpiringCertificates) {
  StoreObjects();
  v1::Policy put;
  ASSERT_TRUE(Put(kPayPolicy, std::nullopt, &put).ok());
  v1::GetStatusRequest request;
  request.mutable_expiring_within()->set_seconds(3600 * 24 * 365);
  v1::Status status;
  ASSERT_TRUE(
      broker_.admin().GetStatus(Context().get(), request, &status).ok());
  EXPECT_EQ(status.policy_version(), absl::StrCat(put.version()));
  EXPECT_EQ(status.policy_source(), "store");
  EXPECT_EQ(status.rule_count(), 1);
  EXPECT_TRUE(status.store_healthy());
  EXPECT_EQ(status.store_path(), broker_.data_dir() + "/certbroker.db");
  EXPECT_EQ(status.certificate_count(), 1);
  EXPECT_EQ(status.trust_bundle_count(), 1);
  EXPECT_EQ(status.crl_count(), 0);
  EXPECT_FALSE(status.kek_id().empty());
  ASSERT_EQ(status.expiring_certificates_size(), 1);  // ClientSpec: 90 days.
  EXPECT_EQ(status.expiring_certificates(0).id(), "pay-client");
  EXPECT_TRUE(status.expiring_certificates(0).stored());
  request.mutable_expiring_within()->set_seconds(3600);
  ASSERT_TRUE(
      broker_.admin().GetStatus(Context().get(), request, &status).ok());
  EXPECT_EQ(status.expiring_certificates_size(), 0);
}

}  // namespace
}  // namespace certbroker::testing

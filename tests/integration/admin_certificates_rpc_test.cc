// The admin API's certificate methods against a real store-backed
// certbrokerd: import (PEM and PKCS#12), get, list with filters and paging,
// delete; every kind of bad input refused with a message naming the
// problem and nothing stored changing; and no plaintext key in the
// database or its WAL.
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/admin_fixture.h"
#include "tests/integration/broker_fixture.h"
#include "tests/support/command_runner.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {
namespace {

using ::testing::HasSubstr;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

class AdminCertificatesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ =
        new devpki::Issued(MustIssue(devpki::RootSpec("Admin Root"), nullptr));
    client_ = new devpki::Issued(
        MustIssue(devpki::ClientSpec("payments-client"), root_));
    other_ = new devpki::Issued(
        MustIssue(devpki::ClientSpec("other-client"), root_));
    devpki::CertificateSpec expired = devpki::ClientSpec("expired-client");
    expired.not_before = absl::Now() - absl::Hours(48);
    expired.not_after = absl::Now() - absl::Hours(24);
    expired_ = new devpki::Issued(MustIssue(expired, root_));
  }
  static void TearDownTestSuite() {
    delete root_;
    delete client_;
    delete other_;
    delete expired_;
  }

  void SetUp() override { ASSERT_TRUE(broker_.Start()); }

  v1::ListCertificatesResponse List(const std::string& selector = "") {
    v1::ListCertificatesRequest request;
    request.set_label_selector(selector);
    v1::ListCertificatesResponse response;
    grpc::Status status =
        broker_.admin().ListCertificates(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::string PolicyVersion() {
    v1::Status status;
    EXPECT_TRUE(broker_.admin()
                    .GetStatus(Context().get(), v1::GetStatusRequest(), &status)
                    .ok());
    return status.policy_version();
  }

  grpc::Status Import(const v1::ImportCertificateRequest& request,
                      v1::Certificate* response = nullptr) {
    v1::Certificate ignored;
    return broker_.admin().ImportCertificate(
        Context().get(), request, response != nullptr ? response : &ignored);
  }

  // ExpectRefused checks that `request` fails with `code` and `message`,
  // and that neither the certificates nor the policy version changed.
  void ExpectRefused(const v1::ImportCertificateRequest& request,
                     grpc::StatusCode code, const std::string& message) {
    std::string version = PolicyVersion();
    size_t count = List().certificates_size();
    grpc::Status status = Import(request);
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(message));
    EXPECT_EQ(List().certificates_size(), count);
    EXPECT_EQ(PolicyVersion(), version);
  }

  static devpki::Issued* root_;
  static devpki::Issued* client_;
  static devpki::Issued* other_;
  static devpki::Issued* expired_;
  StoreBroker broker_;
};

devpki::Issued* AdminCertificatesTest::root_ = nullptr;
devpki::Issued* AdminCertificatesTest::client_ = nullptr;
devpki::Issued* AdminCertificatesTest::other_ = nullptr;
devpki::Issued* AdminCertificatesTest::expired_ = nullptr;

TEST_F(AdminCertificatesTest, ImportGetListDelete) {
  std::string version = PolicyVersion();
  v1::ImportCertificateRequest request =
      PemImport("payments", *client_, {root_}, client_->key.get());
  (*request.mutable_labels())["team"] = "payments";
  request.set_exportable(true);
  v1::Certificate imported;
  ASSERT_TRUE(Import(request, &imported).ok());
  EXPECT_EQ(imported.name(), "certificates/payments");
  EXPECT_EQ(imported.subject(), "CN=payments-client");
  EXPECT_EQ(imported.key_type(), "EC P-256");
  EXPECT_EQ(imported.labels().at("team"), "payments");
  EXPECT_TRUE(imported.exportable());
  EXPECT_EQ(imported.chain_pem(),
            client_->CertificatePem() + root_->CertificatePem());
  EXPECT_EQ(imported.sha256_fingerprint().size(), 64u);
  EXPECT_FALSE(imported.kek_id().empty());
  EXPECT_EQ(std::stoll(PolicyVersion()), std::stoll(version) + 1);

  v1::GetCertificateRequest get;
  get.set_name("certificates/payments");
  v1::Certificate fetched;
  ASSERT_TRUE(
      broker_.admin().GetCertificate(Context().get(), get, &fetched).ok());
  EXPECT_EQ(fetched.sha256_fingerprint(), imported.sha256_fingerprint());
  get.set_name("certificates/missing");
  EXPECT_EQ(broker_.admin()
                .GetCertificate(Context().get(), get, &fetched)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);

  ASSERT_TRUE(Import(PemImport("other", *other_, {}, other_->key.get())).ok());
  EXPECT_EQ(List().certificates_size(), 2);
  ASSERT_EQ(List("team=payments").certificates_size(), 1);
  EXPECT_EQ(List("team=payments").certificates(0).name(),
            "certificates/payments");
  EXPECT_EQ(List("team=nobody").certificates_size(), 0);

  v1::ListCertificatesRequest paged;
  paged.set_page_size(1);
  v1::ListCertificatesResponse first;
  ASSERT_TRUE(
      broker_.admin().ListCertificates(Context().get(), paged, &first).ok());
  ASSERT_EQ(first.certificates_size(), 1);
  EXPECT_EQ(first.certificates(0).name(), "certificates/other");
  ASSERT_FALSE(first.next_page_token().empty());
  paged.set_page_token(first.next_page_token());
  v1::ListCertificatesResponse second;
  ASSERT_TRUE(
      broker_.admin().ListCertificates(Context().get(), paged, &second).ok());
  ASSERT_EQ(second.certificates_size(), 1);
  EXPECT_EQ(second.certificates(0).name(), "certificates/payments");
  EXPECT_TRUE(second.next_page_token().empty());

  v1::ListCertificatesRequest expiring;
  expiring.mutable_expire_before()->set_seconds(
      absl::ToUnixSeconds(absl::Now() + absl::Hours(24)));
  v1::ListCertificatesResponse soon;
  ASSERT_TRUE(
      broker_.admin().ListCertificates(Context().get(), expiring, &soon).ok());
  EXPECT_EQ(soon.certificates_size(), 0);

  v1::DeleteCertificateRequest remove;
  remove.set_name("certificates/other");
  v1::DeleteCertificateResponse removed;
  ASSERT_TRUE(broker_.admin()
                  .DeleteCertificate(Context().get(), remove, &removed)
                  .ok());
  EXPECT_EQ(removed.policy_version(), PolicyVersion());
  EXPECT_EQ(broker_.admin()
                .DeleteCertificate(Context().get(), remove, &removed)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(List().certificates_size(), 1);

  // Survives a restart.
  EXPECT_EQ(broker_.Stop(), 0);
  ASSERT_TRUE(broker_.Start());
  ASSERT_EQ(List().certificates_size(), 1);
  EXPECT_EQ(List().certificates(0).sha256_fingerprint(),
            imported.sha256_fingerprint());
}

TEST_F(AdminCertificatesTest, BadInputIsRefusedAndNothingChanges) {
  ASSERT_TRUE(
      Import(PemImport("payments", *client_, {}, client_->key.get())).ok());

  ExpectRefused(PemImport("payments", *client_, {}, client_->key.get()),
                grpc::StatusCode::ALREADY_EXISTS,
                "certificates/payments already exists");
  ExpectRefused(PemImport("mismatch", *client_, {}, other_->key.get()),
                grpc::StatusCode::INVALID_ARGUMENT,
                "the private key does not match the leaf certificate "
                "(CN=payments-client)");
  ExpectRefused(PemImport("expired", *expired_, {}, expired_->key.get()),
                grpc::StatusCode::FAILED_PRECONDITION,
                "certificate 0 (CN=expired-client) expired at");
  ExpectRefused(PemImport("bad/id", *client_, {}, client_->key.get()),
                grpc::StatusCode::INVALID_ARGUMENT,
                "certificate_id 'bad/id' is not valid");

  v1::ImportCertificateRequest truncated =
      PemImport("truncated", *client_, {}, client_->key.get());
  std::string pem = truncated.pem().chain_pem();
  truncated.mutable_pem()->set_chain_pem(pem.substr(0, pem.size() / 2));
  ExpectRefused(truncated, grpc::StatusCode::INVALID_ARGUMENT, "pem.chain_pem");

  v1::ImportCertificateRequest no_material;
  no_material.set_certificate_id("empty");
  ExpectRefused(no_material, grpc::StatusCode::INVALID_ARGUMENT,
                "material: required");

  v1::ImportCertificateRequest huge =
      PemImport("huge", *client_, {}, client_->key.get());
  huge.mutable_pem()->set_chain_pem(std::string(10 << 20, 'A'));
  ExpectRefused(huge, grpc::StatusCode::RESOURCE_EXHAUSTED, "");

  v1::ImportCertificateRequest bad_label =
      PemImport("labelled", *client_, {}, client_->key.get());
  (*bad_label.mutable_labels())["Team"] = "x";
  ExpectRefused(bad_label, grpc::StatusCode::INVALID_ARGUMENT,
                "labels: key 'Team' is not valid");

  // Forced and replaced imports do go through.
  v1::ImportCertificateRequest forced =
      PemImport("expired", *expired_, {}, expired_->key.get());
  forced.set_allow_expired(true);
  EXPECT_TRUE(Import(forced).ok());
  v1::ImportCertificateRequest replace =
      PemImport("payments", *other_, {}, other_->key.get());
  replace.set_allow_replace(true);
  v1::Certificate replaced;
  ASSERT_TRUE(Import(replace, &replaced).ok());
  EXPECT_EQ(replaced.subject(), "CN=other-client");
}

TEST_F(AdminCertificatesTest, Pkcs12ImportAndWrongPassword) {
  TempDir work;
  work.Write("leaf.pem", client_->CertificatePem());
  work.Write("root.pem", root_->CertificatePem());
  work.Write("leaf.key", client_->KeyPem());
  CommandResult made = RunCommand(
      {"/usr/bin/openssl", "pkcs12", "-export", "-in", work.Path("leaf.pem"),
       "-inkey", work.Path("leaf.key"), "-certfile", work.Path("root.pem"),
       "-out", work.Path("bundle.p12"), "-passout", "pass:s3cret"});
  ASSERT_EQ(made.exit_code, 0) << made.err;

  v1::ImportCertificateRequest request;
  request.set_certificate_id("from-p12");
  request.mutable_pkcs12()->set_pkcs12(ReadAll(work.Path("bundle.p12")));
  request.mutable_pkcs12()->set_password("wrong");
  ExpectRefused(request, grpc::StatusCode::INVALID_ARGUMENT, "wrong password");

  request.mutable_pkcs12()->set_password("s3cret");
  v1::Certificate imported;
  ASSERT_TRUE(Import(request, &imported).ok());
  EXPECT_EQ(imported.subject(), "CN=payments-client");
  EXPECT_EQ(imported.chain_pem(),
            client_->CertificatePem() + root_->CertificatePem());

  request.set_certificate_id("garbage");
  request.mutable_pkcs12()->set_pkcs12("not a pkcs12 file");
  ExpectRefused(request, grpc::StatusCode::INVALID_ARGUMENT, "pkcs12");
}

TEST_F(AdminCertificatesTest, NoPlaintextKeyInTheDatabaseOrItsWal) {
  ASSERT_TRUE(
      Import(PemImport("payments", *client_, {}, client_->key.get())).ok());
  // The PKCS#8 DER, and the base64 body of the PEM the key arrived in.
  std::string pkcs8 = Pkcs8(client_->key.get());
  ASSERT_FALSE(pkcs8.empty());
  std::string pem_body = absl::Base64Escape(pkcs8).substr(0, 48);
  // The raw private scalar too (its last 16 bytes).
  std::string scalar = pkcs8.substr(pkcs8.find('\x04', 10) + 2, 32);

  std::string database = ReadAll(broker_.data_dir() + "/certbroker.db");
  std::string wal = ReadAll(broker_.data_dir() + "/certbroker.db-wal");
  ASSERT_FALSE(database.empty());
  ASSERT_FALSE(wal.empty()) << "the import should still be in the WAL";
  // The certificate itself is there (so the search works) ...
  EXPECT_NE((database + wal).find(client_->Der()), std::string::npos);
  // ... and the key, in any of its encodings, is not.
  for (const std::string* secret : {&pkcs8, &pem_body, &scalar}) {
    EXPECT_EQ(database.find(*secret), std::string::npos);
    EXPECT_EQ(wal.find(*secret), std::string::npos);
  }
  EXPECT_EQ(broker_.Stop(), 0);  // Checkpoints the WAL into the database.
  database = ReadAll(broker_.data_dir() + "/certbroker.db");
  EXPECT_NE(database.find(client_->Der()), std::string::npos);
  for (const std::string* secret : {&pkcs8, &pem_body, &scalar}) {
    EXPECT_EQ(database.find(*secret), std::string::npos);
  }
  ASSERT_TRUE(broker_.Start());
}

}  // namespace
}  // namespace certbroker::testing

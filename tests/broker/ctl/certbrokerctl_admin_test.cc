// certbrokerctl end to end over the whole CertificateAdmin API: the real
// binary against a real certbrokerd holding its policy in a fresh store
// (--data_dir, --kek_file, --enable_admin, no --config), asserting exact
// output, JSON and exit codes: certificates, trust bundles, CRLs, the
// policy document, status, the audit log and KEK rotation.
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "broker/common/file.h"
#include "broker/keys/kek.h"
#include "broker/x509/certificate.h"
#include "broker/x509/pem.h"
#include "certbroker/v1/admin.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"
#include "tests/support/command_runner.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

// Utc formats a time the way certbrokerctl's tables do.
std::string Utc(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

std::string Utc(const google::protobuf::Timestamp& timestamp) {
  return Utc(absl::FromUnixSeconds(timestamp.seconds()));
}

// Fields is the expected "label:  value" block whose longest label has
// `width` characters.
std::string Fields(size_t width,
                   std::vector<std::pair<std::string, std::string>> fields) {
  std::string text;
  for (const auto& [label, value] : fields) {
    absl::StrAppend(&text, label, ":",
                    std::string(width - label.size() + 2, ' '), value, "\n");
  }
  return text;
}

template <typename Message>
Message FromJson(const std::string& json) {
  Message message;
  auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status << "\n" << json;
  return message;
}

std::string RandomKekHex() {
  std::random_device random;
  std::string bytes(32, '\0');
  for (char& byte : bytes) byte = static_cast<char>(random() & 0xff);
  return absl::BytesToHexString(bytes);
}

class CertbrokerctlAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_root_ = MustIssue(devpki::RootSpec("Ctl Client Root"), nullptr);
    issuing_ =
        MustIssue(devpki::IntermediateSpec("Ctl Client CA"), &client_root_);
    payments_ = MustIssue(devpki::ClientSpec("payments client"), &issuing_);
    reports_ = MustIssue(devpki::ClientSpec("reports client"), &issuing_);
    server_root_ = MustIssue(devpki::RootSpec("Ctl Server Root"), nullptr);
    dir_.Write("payments.pem",
               payments_.CertificatePem() + issuing_.CertificatePem());
    dir_.Write("payments.key", payments_.KeyPem());
    dir_.Write("reports.pem",
               reports_.CertificatePem() + issuing_.CertificatePem());
    dir_.Write("reports.key", reports_.KeyPem());
    dir_.Write("server-root.pem", server_root_.CertificatePem());
    kek_a_id_ = WriteKek("kek-a.hex");
    kek_b_id_ = WriteKek("kek-b.hex");
  }

  void TearDown() override { StopBroker(); }

  // WriteKek writes a fresh KEK file (mode 0600) and returns its id.
  std::string WriteKek(const std::string& name) {
    std::string hex = RandomKekHex();
    std::string path = dir_.Write(name, hex + "\n");
    EXPECT_EQ(::chmod(path.c_str(), 0600), 0);
    auto kek = keys::Kek::FromFileContents(hex, name);
    EXPECT_TRUE(kek.ok()) << kek.status();
    return kek.ok() ? kek->id() : "";
  }

  void StartBroker(std::vector<std::string> extra = {"--kek_file=KEK_A"}) {
    std::vector<std::string> arguments = {
        "--data_dir=" + dir_.Path("data"), "--enable_admin",
        "--listen=unix:" + dir_.Path("b.sock")};
    for (std::string& argument : extra) {
      absl::StrReplaceAll({{"KEK_A", dir_.Path("kek-a.hex")},
                           {"KEK_B", dir_.Path("kek-b.hex")}},
                          &argument);
      arguments.push_back(argument);
    }
    auto broker = BrokerProcess::Start(arguments, dir_.path());
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(broker).value();
  }

  void StopBroker() {
    if (broker_ == nullptr) return;
    EXPECT_EQ(broker_->Stop(), 0) << broker_->Log();
    broker_.reset();
  }

  CommandResult Ctl(std::vector<std::string> arguments) const {
    std::vector<std::string> argv = {CERTBROKERCTL_PATH};
    if (broker_ != nullptr) {
      argv.push_back("--broker");
      argv.push_back(broker_->addresses()[0]);
    }
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    return RunCommand(argv);
  }

  // CtlOk runs certbrokerctl, expecting exit code 0, and returns stdout.
  std::string CtlOk(std::vector<std::string> arguments) const {
    CommandResult result = Ctl(arguments);
    EXPECT_EQ(result.exit_code, 0) << absl::StrJoin(arguments, " ") << "\n"
                                   << result.err;
    return result.out;
  }

  void ImportPayments() {
    CtlOk({"cert", "import", "payments", "--chain", dir_.Path("payments.pem"),
           "--key", dir_.Path("payments.key"), "--label", "team=pay", "--label",
           "env=prod"});
  }

  void ImportReports() {
    CtlOk({"cert", "import", "reports", "--chain", dir_.Path("reports.pem"),
           "--key", dir_.Path("reports.key"), "--exportable"});
  }

  int64_t PolicyVersion() const {
    return FromJson<v1::Policy>(CtlOk({"-o", "json", "policy", "get"}))
        .version();
  }

  // CertificateRow is the expected `cert list` row of a certificate.
  std::string CertificateRow(const std::string& id, const devpki::Issued& leaf,
                             const std::string& kek, const char* exportable,
                             const std::string& labels) const {
    return absl::StrFormat("%-8s  %-18s  %-20s  %-8s  %-16s  %-10s  %s\n", id,
                           x509::SubjectName(leaf.certificate.get()),
                           Utc(x509::NotAfter(leaf.certificate.get())),
                           "EC P-256", kek, exportable, labels);
  }

  static std::string CertificateHeader() {
    return absl::StrFormat("%-8s  %-18s  %-20s  %-8s  %-16s  %-10s  %s\n", "ID",
                           "SUBJECT", "NOT AFTER", "KEY", "KEK", "EXPORTABLE",
                           "LABELS");
  }

  // WaitForAudit polls `audit list` until a record of `rpc` on `target`
  // appears, and returns the listing.
  v1::ListAuditRecordsResponse WaitForAudit(const std::string& rpc,
                                            const std::string& target) const {
    v1::ListAuditRecordsResponse records;
    for (int attempt = 0; attempt < 50; ++attempt) {
      records = FromJson<v1::ListAuditRecordsResponse>(
          CtlOk({"-o", "json", "audit", "list", "--limit", "1000"}));
      for (const v1::AuditRecord& record : records.records()) {
        if (record.rpc() == rpc && record.target() == target) return records;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "no audit record of " << rpc << " on " << target;
    return records;
  }

  TempDir dir_;
  std::unique_ptr<BrokerProcess> broker_;
  devpki::Issued client_root_, issuing_, payments_, reports_, server_root_;
  std::string kek_a_id_, kek_b_id_;
};

TEST_F(CertbrokerctlAdminTest, ImportedCertificateShowsInGetAndList) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  CommandResult imported =
      Ctl({"cert", "import", "payments", "--chain", dir_.Path("payments.pem"),
           "--key", dir_.Path("payments.key"), "--label", "team=pay", "--label",
           "env=prod"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_THAT(imported.out, Not(HasSubstr("PRIVATE KEY")));

  auto certificate = FromJson<v1::Certificate>(
      CtlOk({"-o", "json", "cert", "get", "payments"}));
  X509* leaf = payments_.certificate.get();
  EXPECT_EQ(certificate.name(), "certificates/payments");
  EXPECT_EQ(certificate.chain_pem(),
            payments_.CertificatePem() + issuing_.CertificatePem());
  EXPECT_EQ(certificate.kek_id(), kek_a_id_);
  std::string expected =
      Fields(10, {{"name", "certificates/payments"},
                  {"subject", "CN=payments client"},
                  {"issuer", "CN=Ctl Client CA"},
                  {"serial", certificate.serial_number()},
                  {"dns names", "-"},
                  {"sha256", x509::Sha256Fingerprint(leaf)},
                  {"not before", Utc(x509::NotBefore(leaf))},
                  {"not after", Utc(x509::NotAfter(leaf))},
                  {"key type", "EC P-256"},
                  {"kek", kek_a_id_},
                  {"exportable", "no"},
                  {"labels", "env=prod,team=pay"},
                  {"chain", "2 certificates"},
                  {"created", Utc(certificate.create_time())},
                  {"updated", Utc(certificate.update_time())}});
  EXPECT_EQ(imported.out, expected);
  EXPECT_EQ(CtlOk({"cert", "get", "payments"}), expected);
  EXPECT_EQ(CtlOk({"cert", "get", "certificates/payments", "--pem"}),
            certificate.chain_pem());

  ImportReports();
  std::string payments_row = CertificateRow("payments", payments_, kek_a_id_,
                                            "no", "env=prod,team=pay");
  std::string reports_row =
      CertificateRow("reports", reports_, kek_a_id_, "yes", "-");
  EXPECT_EQ(CtlOk({"cert", "list"}),
            CertificateHeader() + payments_row + reports_row);
  EXPECT_EQ(CtlOk({"cert", "list", "--label-selector", "team=pay,env=prod"}),
            CertificateHeader() + payments_row);
  EXPECT_EQ(CtlOk({"cert", "list", "--expiring-within", "100d"}),
            CertificateHeader() + payments_row + reports_row);
  // Without rows, the columns are as wide as their headers.
  EXPECT_EQ(CtlOk({"cert", "list", "--expiring-within", "1d"}),
            "ID  SUBJECT  NOT AFTER  KEY  KEK  EXPORTABLE  LABELS\n");

  auto listed = FromJson<v1::ListCertificatesResponse>(
      CtlOk({"cert", "list", "-o", "json"}));
  ASSERT_EQ(listed.certificates_size(), 2);
  EXPECT_EQ(listed.certificates(0).name(), "certificates/payments");
  EXPECT_EQ(listed.certificates(1).name(), "certificates/reports");
  EXPECT_TRUE(listed.certificates(1).exportable());
  EXPECT_EQ(listed.next_page_token(), "");
}

TEST_F(CertbrokerctlAdminTest, ListPagesOnRequest) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  ImportPayments();
  ImportReports();
  CommandResult first = Ctl({"cert", "list", "--page-size", "1"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, CertificateHeader() +
                           CertificateRow("payments", payments_, kek_a_id_,
                                          "no", "env=prod,team=pay"));
  ASSERT_THAT(first.err, StartsWith("certbrokerctl: more results; next page: "
                                    "--page-token "));
  std::string token = first.err.substr(first.err.rfind(' ') + 1);
  token.pop_back();  // The line break.
  CommandResult second =
      Ctl({"cert", "list", "--page-size", "1", "--page-token", token});
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_THAT(second.out, HasSubstr("\nreports "));
  EXPECT_THAT(second.out, Not(HasSubstr("\npayments ")));
  auto all = FromJson<v1::ListCertificatesResponse>(
      CtlOk({"-o", "json", "cert", "list", "--page-size", "1", "--all"}));
  EXPECT_EQ(all.certificates_size(), 2);
  EXPECT_EQ(all.next_page_token(), "");
}

TEST_F(CertbrokerctlAdminTest, ExistingIdIsRefusedUnlessReplace) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  ImportPayments();
  std::vector<std::string> again = {"cert",
                                    "import",
                                    "payments",
                                    "--chain",
                                    dir_.Path("reports.pem"),
                                    "--key",
                                    dir_.Path("reports.key")};
  CommandResult refused = Ctl(again);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err,
              StartsWith("certbrokerctl: ALREADY_EXISTS: certificates/payments "
                         "already exists"));
  EXPECT_EQ(refused.out, "");
  again.push_back("--replace");
  EXPECT_THAT(CtlOk(again), HasSubstr("\nsubject:     CN=reports client\n"));

  CommandResult missing = Ctl({"cert", "get", "nobody"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, StartsWith("certbrokerctl: NOT_FOUND: "));
}

TEST_F(CertbrokerctlAdminTest,
       Pkcs12ImportTakesThePasswordFromFileOrEnvironment) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  std::string p12 = dir_.Path("payments.p12");
  CommandResult exported =
      RunCommand({"/usr/bin/openssl", "pkcs12", "-export", "-in",
                  dir_.Write("leaf.pem", payments_.CertificatePem()), "-inkey",
                  dir_.Path("payments.key"), "-certfile",
                  dir_.Write("issuing.pem", issuing_.CertificatePem()),
                  "-passout", "pass:correct-horse", "-out", p12});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  dir_.Write("password.txt", "correct-horse\n");

  CommandResult imported = Ctl({"cert", "import", "payments", "--pkcs12", p12,
                                "--password-file", dir_.Path("password.txt")});
  EXPECT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_THAT(imported.out, HasSubstr("\nsubject:     CN=payments client\n"));
  EXPECT_THAT(imported.out, HasSubstr("\nchain:       2 certificates\n"));
  EXPECT_THAT(imported.out + imported.err, Not(HasSubstr("correct-horse")));

  ASSERT_EQ(::setenv("CTL_TEST_P12_PASSWORD", "not-the-password", 1), 0);
  CommandResult wrong = Ctl({"cert", "import", "other", "--pkcs12", p12,
                             "--password-env", "CTL_TEST_P12_PASSWORD"});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_THAT(wrong.err, StartsWith("certbrokerctl: INVALID_ARGUMENT: "));
  EXPECT_THAT(wrong.out + wrong.err, Not(HasSubstr("not-the-password")));

  ASSERT_EQ(::setenv("CTL_TEST_P12_PASSWORD", "correct-horse", 1), 0);
  EXPECT_THAT(CtlOk({"cert", "import", "other", "--pkcs12", p12,
                     "--password-env", "CTL_TEST_P12_PASSWORD"}),
              StartsWith("name:        certificates/other\n"));
  ::unsetenv("CTL_TEST_P12_PASSWORD");
}

TEST_F(CertbrokerctlAdminTest, TrustBundlePutUpsertsAndMustExistDoesNot) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  std::string fingerprint =
      x509::Sha256Fingerprint(server_root_.certificate.get());
  CommandResult put = Ctl(
      {"bundle", "put", "corp-roots", "--pem", dir_.Path("server-root.pem")});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  auto bundle = FromJson<v1::TrustBundle>(
      CtlOk({"-o", "json", "bundle", "get", "corp-roots"}));
  EXPECT_EQ(put.out,
            Fields(7, {{"name", "trustBundles/corp-roots"},
                       {"roots", "1"},
                       {"root 1", "CN=Ctl Server Root  sha256:" + fingerprint},
                       {"updated", Utc(bundle.update_time())}}));
  EXPECT_EQ(CtlOk({"bundle", "get", "corp-roots", "--pem"}),
            server_root_.CertificatePem());

  CommandResult missing = Ctl({"bundle", "put", "other", "--pem",
                               dir_.Path("server-root.pem"), "--must-exist"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, StartsWith("certbrokerctl: NOT_FOUND: "));
  // Replacing an existing bundle with --must-exist works.
  dir_.Write("two-roots.pem",
             server_root_.CertificatePem() + client_root_.CertificatePem());
  EXPECT_THAT(CtlOk({"bundle", "put", "corp-roots", "--pem",
                     dir_.Path("two-roots.pem"), "--must-exist"}),
              HasSubstr("\nroots:    2\n"));
  EXPECT_EQ(
      CtlOk({"bundle", "list"}),
      absl::StrCat("ID          ROOTS  UPDATED               SUBJECTS\n",
                   "corp-roots  2      ",
                   Utc(FromJson<v1::TrustBundle>(
                           CtlOk({"-o", "json", "bundle", "get", "corp-roots"}))
                           .update_time()),
                   "  CN=Ctl Server Root; CN=Ctl Client Root\n"));
  EXPECT_THAT(CtlOk({"bundle", "delete", "corp-roots"}),
              MatchesRegex("deleted trustBundles/corp-roots \\(policy version "
                           "[0-9]+\\)\n"));
  EXPECT_EQ(CtlOk({"bundle", "list"}), "ID  ROOTS  UPDATED  SUBJECTS\n");
}

TEST_F(CertbrokerctlAdminTest, CrlPutSendsDerAsPem) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  devpki::CrlSpec spec;
  spec.revoked = {payments_.certificate.get()};
  bssl::UniquePtr<X509_CRL> crl = MustCrl(spec, issuing_);
  ASSERT_NE(crl, nullptr);
  dir_.Write("issuing.crl", x509::CrlToDer(crl.get()));
  dir_.Write("issuing-crl.pem", x509::CrlToPem(crl.get()));
  std::string this_update =
      Utc(x509::Asn1TimeToAbsl(X509_CRL_get0_lastUpdate(crl.get())));
  std::string next_update =
      Utc(x509::Asn1TimeToAbsl(X509_CRL_get0_nextUpdate(crl.get())));

  CommandResult put =
      Ctl({"crl", "put", "issuing", "--file", dir_.Path("issuing.crl")});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  auto stored =
      FromJson<v1::Crl>(CtlOk({"-o", "json", "crl", "get", "issuing"}));
  EXPECT_EQ(stored.crl_pem(), x509::CrlToPem(crl.get()));
  EXPECT_EQ(put.out, Fields(11, {{"name", "crls/issuing"},
                                 {"issuer", "CN=Ctl Client CA"},
                                 {"this update", this_update},
                                 {"next update", next_update},
                                 {"revoked", "1"},
                                 {"updated", Utc(stored.update_time())}}));
  EXPECT_EQ(CtlOk({"crl", "get", "issuing", "--pem"}),
            x509::CrlToPem(crl.get()));
  EXPECT_EQ(CtlOk({"crl", "put", "issuing", "--file",
                   dir_.Path("issuing-crl.pem"), "--must-exist", "-o", "json"})
                .find("\"name\":\"crls/issuing\""),
            1u);
  EXPECT_EQ(CtlOk({"crl", "list"}),
            absl::StrCat("ID       THIS UPDATE           NEXT UPDATE         "
                         "  REVOKED  ISSUER\n",
                         "issuing  ", this_update, "  ", next_update,
                         "  1        CN=Ctl Client CA\n"));
  EXPECT_THAT(
      CtlOk({"crl", "delete", "issuing"}),
      MatchesRegex("deleted crls/issuing \\(policy version [0-9]+\\)\n"));
  CommandResult gone = Ctl({"crl", "get", "issuing"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_THAT(gone.err, StartsWith("certbrokerctl: NOT_FOUND: "));
}

TEST_F(CertbrokerctlAdminTest, PolicyUsingStoredObjectsGuardsThemAndIsAudited) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  CtlOk({"bundle", "put", "corp-roots", "--pem", dir_.Path("server-root.pem")});
  ImportPayments();
  const std::string document =
      "# Payments egress.\n"
      "rules:\n"
      "  - name: payments\n"
      "    match: {hosts: [payments.example.test]}\n"
      "    client_certificate: payments\n"
      "    server_validation: {trust_bundles: [corp-roots]}\n";
  std::string policy = dir_.Write("policy.yaml", document);
  const int64_t before = PolicyVersion();

  CommandResult unversioned = Ctl({"policy", "put", policy});
  EXPECT_EQ(unversioned.exit_code, 2);
  EXPECT_THAT(unversioned.err, HasSubstr("give --expected-version N"));
  CommandResult stale = Ctl({"policy", "put", policy, "--expected-version",
                             absl::StrCat(before + 100)});
  EXPECT_EQ(stale.exit_code, 5) << stale.err;
  EXPECT_THAT(stale.err, StartsWith("certbrokerctl: ABORTED: "));
  std::string bad = dir_.Write(
      "bad.yaml",
      absl::StrReplaceAll(document, {{"client_certificate: payments",
                                      "client_certificate: nobody"}}));
  CommandResult rejected = Ctl({"policy", "put", bad, "--force"});
  EXPECT_EQ(rejected.exit_code, 3) << rejected.err;
  EXPECT_THAT(rejected.err, StartsWith("certbrokerctl: INVALID_ARGUMENT: "));
  EXPECT_EQ(CtlOk({"policy", "put", policy, "--validate-only"}),
            absl::StrCat(policy, ": valid (not stored; policy version ", before,
                         " in force)\n"));
  EXPECT_EQ(PolicyVersion(), before);

  std::string stored = CtlOk(
      {"policy", "put", policy, "--expected-version", absl::StrCat(before)});
  const int64_t after = PolicyVersion();
  EXPECT_GT(after, before);
  EXPECT_EQ(stored, absl::StrCat("stored policy version ", after, "\n"));
  EXPECT_EQ(CtlOk({"policy", "get"}), document);
  std::string copy = dir_.Path("copy.yaml");
  EXPECT_EQ(
      CtlOk({"policy", "get", "--output-file", copy}),
      absl::StrCat("wrote policy version ", after, " (store) to ", copy, "\n"));
  EXPECT_EQ(*ReadFile(copy), document);

  // diff: nothing when identical; a unified diff and exit 4 otherwise.
  CommandResult same = Ctl({"policy", "diff", policy});
  EXPECT_EQ(same.exit_code, 0) << same.err;
  EXPECT_EQ(same.out, "");
  std::string edited = dir_.Write(
      "edited.yaml",
      absl::StrReplaceAll(document,
                          {{"payments.example.test", "pay.example.test"}}) +
          "  - name: reports\n    match: {hosts: [reports.example.test]}\n");
  CommandResult different = Ctl({"policy", "diff", edited});
  EXPECT_EQ(different.exit_code, 4) << different.err;
  EXPECT_EQ(
      different.out,
      absl::StrCat("--- live policy (version ", after, ")\n+++ ", edited,
                   "\n@@ -1,6 +1,8 @@\n"
                   " # Payments egress.\n"
                   " rules:\n"
                   "   - name: payments\n"
                   "-    match: {hosts: [payments.example.test]}\n"
                   "+    match: {hosts: [pay.example.test]}\n"
                   "     client_certificate: payments\n"
                   "     server_validation: {trust_bundles: [corp-roots]}\n"
                   "+  - name: reports\n"
                   "+    match: {hosts: [reports.example.test]}\n"));

  // status reflects the store.
  std::string status = CtlOk({"status"});
  EXPECT_THAT(status, HasSubstr(absl::StrCat("\npolicy version:  ", after,
                                             "\n"
                                             "policy source:   store\n"
                                             "rules:           1\n")));
  EXPECT_THAT(status, ContainsRegex("\nstore: +.*/data.* \\(healthy, "
                                    "revision [0-9]+\\)\n"));
  EXPECT_THAT(status, HasSubstr(absl::StrCat("\ncertificates:    1\n"
                                             "trust bundles:   1\n"
                                             "crls:            0\n"
                                             "kek:             ",
                                             kek_a_id_, "\n")));
  EXPECT_THAT(status, HasSubstr("\n\nno certificate expires within 30d\n"));
  EXPECT_THAT(
      CtlOk({"status", "--expiring-within", "100d"}),
      HasSubstr(absl::StrCat("\n\ncertificates expiring within 100d:\n"
                             "ID        NOT AFTER             SOURCE\n"
                             "payments  ",
                             Utc(x509::NotAfter(payments_.certificate.get())),
                             "  store\n")));

  // What the policy uses cannot be deleted.
  CommandResult in_use = Ctl({"cert", "delete", "payments"});
  EXPECT_EQ(in_use.exit_code, 1);
  EXPECT_THAT(in_use.err,
              StartsWith("certbrokerctl: FAILED_PRECONDITION: "
                         "certificates/payments is used by rule payments"));
  CommandResult bundle_in_use = Ctl({"bundle", "delete", "corp-roots"});
  EXPECT_EQ(bundle_in_use.exit_code, 1);
  EXPECT_THAT(bundle_in_use.err,
              StartsWith("certbrokerctl: FAILED_PRECONDITION: "));

  // The audit log holds every change.
  auto records = WaitForAudit("UpdatePolicy", "policy");
  auto changed = [&](const std::string& rpc, const std::string& target) {
    for (const v1::AuditRecord& record : records.records()) {
      if (record.rpc() == rpc && record.target() == target &&
          record.verdict() == "changed") {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(changed("UpdateTrustBundle", "trustBundles/corp-roots"));
  EXPECT_TRUE(changed("ImportCertificate", "certificates/payments"));
  EXPECT_TRUE(changed("UpdatePolicy", "policy"));
  std::string table = CtlOk({"audit", "list", "--verdict", "changed"});
  EXPECT_THAT(table, StartsWith("TIME                  RPC  "));
  EXPECT_THAT(table, ContainsRegex(absl::StrCat(
                         "\n[-0-9T:]+Z  UpdatePolicy +policy +changed +OK +- +",
                         after, " +dev:insecure-loopback +")));
  EXPECT_THAT(table, ContainsRegex("\n[-0-9T:]+Z  ImportCertificate +"
                                   "certificates/payments +changed "));
  auto filtered = FromJson<v1::ListAuditRecordsResponse>(
      CtlOk({"-o", "json", "audit", "list", "--target", "certificates/payments",
             "--since", "1h"}));
  ASSERT_GE(filtered.records_size(), 1);
  for (const v1::AuditRecord& record : filtered.records()) {
    EXPECT_EQ(record.target(), "certificates/payments");
  }
  EXPECT_EQ(FromJson<v1::ListAuditRecordsResponse>(
                CtlOk({"-o", "json", "audit", "list", "--limit", "1"}))
                .records_size(),
            1);

  // Once the policy no longer uses it, the certificate can go.
  dir_.Write("empty.yaml", "{}\n");
  CtlOk({"policy", "put", dir_.Path("empty.yaml"), "--force"});
  EXPECT_THAT(CtlOk({"cert", "delete", "payments"}),
              MatchesRegex("deleted certificates/payments \\(policy version "
                           "[0-9]+\\)\n"));
}

TEST_F(CertbrokerctlAdminTest, KekRotateRewrapsEveryKeyUnderTheNewKek) {
  ASSERT_NO_FATAL_FAILURE(StartBroker({"--kek_file=KEK_A"}));
  ImportPayments();
  ImportReports();
  StopBroker();
  ASSERT_NO_FATAL_FAILURE(
      StartBroker({"--kek_file=KEK_B", "--previous_kek_files=KEK_A"}));
  auto listed = FromJson<v1::ListCertificatesResponse>(
      CtlOk({"-o", "json", "cert", "list"}));
  ASSERT_EQ(listed.certificates_size(), 2);
  EXPECT_EQ(listed.certificates(0).kek_id(), kek_a_id_);

  EXPECT_THAT(CtlOk({"kek", "rotate"}),
              MatchesRegex(absl::StrCat("every stored key is sealed under KEK ",
                                        kek_b_id_,
                                        ": 2 rewrapped, 0 already current "
                                        "\\(policy version [0-9]+\\)\n")));
  EXPECT_EQ(CtlOk({"cert", "list"}),
            CertificateHeader() +
                CertificateRow("payments", payments_, kek_b_id_, "no",
                               "env=prod,team=pay") +
                CertificateRow("reports", reports_, kek_b_id_, "yes", "-"));
  auto again =
      FromJson<v1::RotateKekResponse>(CtlOk({"-o", "json", "kek", "rotate"}));
  EXPECT_EQ(again.kek_id(), kek_b_id_);
  EXPECT_EQ(again.rewrapped(), 0);
  EXPECT_EQ(again.already_current(), 2);

  // The old KEK is no longer needed.
  StopBroker();
  ASSERT_NO_FATAL_FAILURE(StartBroker({"--kek_file=KEK_B"}));
  EXPECT_THAT(CtlOk({"status"}), HasSubstr("\nkek:             " + kek_b_id_));
  EXPECT_THAT(CtlOk({"cert", "get", "payments"}),
              HasSubstr("\nkek:         " + kek_b_id_ + "\n"));
}

TEST_F(CertbrokerctlAdminTest, AuditWatchPrintsRecordsAsTheyAreWritten) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  for (bool json : {false, true}) {
    SCOPED_TRACE(json ? "json" : "table");
    CommandResult watched;
    std::atomic<bool> done{false};
    std::vector<std::string> arguments = {
        "audit", "watch", "--target", "trustBundles/watched", "--limit", "1"};
    if (json) arguments.insert(arguments.begin(), {"-o", "json"});
    std::thread watcher([&] {
      watched = Ctl(arguments);
      done = true;
    });
    // The watch only sees records written after it started: change until
    // it has seen one.
    for (int attempt = 0; attempt < 100 && !done; ++attempt) {
      CtlOk(
          {"bundle", "put", "watched", "--pem", dir_.Path("server-root.pem")});
      absl::SleepFor(absl::Milliseconds(100));
    }
    watcher.join();
    EXPECT_EQ(watched.exit_code, 0) << watched.err;
    if (json) {
      auto record = FromJson<v1::AuditRecord>(watched.out);
      EXPECT_EQ(record.rpc(), "UpdateTrustBundle");
      EXPECT_EQ(record.target(), "trustBundles/watched");
      EXPECT_EQ(std::count(watched.out.begin(), watched.out.end(), '\n'), 1);
    } else {
      EXPECT_THAT(watched.out,
                  MatchesRegex("[-0-9T:]+Z  UpdateTrustBundle  "
                               "trustBundles/watched  changed  OK  -  [0-9]+  "
                               "dev:insecure-loopback  .*\n"));
    }
  }
}

struct UsageCase {
  std::vector<std::string> arguments;
  std::string message;
};

TEST_F(CertbrokerctlAdminTest, UsageErrorsExitTwoAndNameTheProblem) {
  dir_.Write("empty.pem", "");
  std::vector<UsageCase> cases = {
      {{"cert"}, "cert: missing subcommand (import, get, list, delete)"},
      {{"cert", "export"}, "unknown cert subcommand 'export'"},
      {{"cert", "import"}, "missing ID"},
      {{"cert", "import", "a/b", "--pkcs12", "x"},
       "ID 'a/b' is not 1-128 letters"},
      {{"cert", "import", "x"},
       "give --chain FILE and --key FILE, or --pkcs12"},
      {{"cert", "import", "x", "--chain", dir_.Path("payments.pem")},
       "--key FILE is required with --chain"},
      {{"cert", "import", "x", "--chain", dir_.Path("payments.pem"), "--key",
        dir_.Path("payments.key"), "--pkcs12", "p"},
       "give either --chain and --key, or --pkcs12, not both"},
      {{"cert", "import", "x", "--chain", dir_.Path("missing.pem"), "--key",
        dir_.Path("payments.key")},
       "--chain: cannot open " + dir_.Path("missing.pem")},
      {{"cert", "import", "x", "--chain", dir_.Path("payments.key"), "--key",
        dir_.Path("payments.key")},
       "--chain: " + dir_.Path("payments.key")},
      {{"cert", "import", "x", "--chain", dir_.Path("payments.pem"), "--key",
        dir_.Path("payments.pem")},
       "--key: " + dir_.Path("payments.pem")},
      {{"cert", "import", "x", "--pkcs12", dir_.Path("payments.pem"),
        "--password-env", "CTL_TEST_SURELY_UNSET"},
       "--password-env: CTL_TEST_SURELY_UNSET is not set"},
      {{"cert", "import", "x", "--pkcs12", dir_.Path("payments.pem"), "--label",
        "team"},
       "--label: 'team' is not KEY=VALUE"},
      {{"cert", "get", "a", "b"}, "unexpected argument 'b'"},
      {{"cert", "list", "--page-size", "0"},
       "--page-size: '0' is not a number from 1 to 1000"},
      {{"cert", "list", "--all"}, "--all needs --page-size"},
      {{"cert", "list", "--expiring-within", "soon"},
       "--expiring-within: 'soon' is not a positive duration"},
      {{"cert", "list", "--label-selector", "team"},
       "--label-selector: 'team' is not KEY=VALUE"},
      {{"bundle", "put", "x"}, "--pem FILE is required"},
      {{"bundle", "put", "x", "--pem", dir_.Path("empty.pem")},
       "--pem: " + dir_.Path("empty.pem")},
      {{"crl", "put", "x", "--file", dir_.Path("payments.pem")},
       "--file: " + dir_.Path("payments.pem")},
      {{"policy", "put", dir_.Path("missing.yaml"), "--force"},
       "FILE: cannot open " + dir_.Path("missing.yaml")},
      {{"policy", "put", "p.yaml", "--force", "--expected-version", "3"},
       "give only one of --expected-version and --force"},
      {{"policy", "put", "p.yaml", "--expected-version", "x"},
       "--expected-version: 'x' is not a number"},
      {{"policy", "diff"}, "missing FILE"},
      {{"audit", "list", "--since", "yesterday"},
       "--since: 'yesterday' is neither an RFC 3339 time"},
      {{"audit", "list", "--limit", "-1"}, "--limit: '-1' is not a number"},
      {{"audit", "watch", "--verdikt", "x"}, "unknown option --verdikt"},
      {{"status", "--expiring-within", "-3d"},
       "--expiring-within: '-3d' is not a positive duration"},
      {{"status", "extra"}, "unexpected argument 'extra'"},
      {{"kek"}, "kek: missing subcommand (rotate)"},
      {{"kek", "rotate", "--force"}, "unknown option --force"},
      {{"status", "-o"}, "-o needs a value"},
      {{"help", "cert", "export"}, "help: no command 'cert export'"},
  };
  for (const UsageCase& c : cases) {
    CommandResult result = Ctl(c.arguments);
    EXPECT_EQ(result.exit_code, 2) << c.message << "\n" << result.err;
    EXPECT_THAT(result.err, HasSubstr("certbrokerctl: " + c.message));
    EXPECT_EQ(result.out, "");
  }
}

TEST_F(CertbrokerctlAdminTest, EveryCommandAndSubcommandHasHelp) {
  CommandResult global = Ctl({"--help"});
  EXPECT_EQ(global.exit_code, 0);
  for (const char* command : {"cert", "bundle", "crl", "policy", "audit",
                              "status", "kek", "simulate"}) {
    EXPECT_THAT(global.out, HasSubstr(absl::StrCat("\n  ", command, " ")));
  }
  EXPECT_THAT(global.out, HasSubstr("\n  4  policy diff: the live policy and "
                                    "the file differ\n"));
  const std::vector<std::pair<std::string, std::vector<std::string>>> groups = {
      {"cert", {"import", "get", "list", "delete"}},
      {"bundle", {"put", "get", "list", "delete"}},
      {"crl", {"put", "get", "list", "delete"}},
      {"policy", {"get", "put", "diff"}},
      {"audit", {"list", "watch"}},
      {"kek", {"rotate"}}};
  for (const auto& [group, subcommands] : groups) {
    CommandResult help = Ctl({group, "--help"});
    EXPECT_EQ(help.exit_code, 0) << group;
    EXPECT_THAT(help.out, StartsWith(absl::StrCat(
                              "Usage: certbrokerctl [global options] ", group,
                              " SUBCOMMAND [options]\n")));
    for (const std::string& subcommand : subcommands) {
      EXPECT_THAT(help.out, HasSubstr("\n  " + subcommand + " "));
      CommandResult sub = Ctl({group, subcommand, "--help"});
      EXPECT_EQ(sub.exit_code, 0) << group << " " << subcommand;
      EXPECT_THAT(sub.out, StartsWith(absl::StrCat(
                               "Usage: certbrokerctl [global options] ", group,
                               " ", subcommand)));
      EXPECT_THAT(sub.out, HasSubstr("\nOptions:\n"));
      EXPECT_EQ(Ctl({"help", group, subcommand}).out, sub.out);
    }
  }
  CommandResult status = Ctl({"status", "--help"});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_THAT(status.out, HasSubstr("--expiring-within DURATION"));
  EXPECT_THAT(Ctl({"cert", "import", "--help"}).out,
              HasSubstr("--password-env VAR"));
}

}  // namespace
}  // namespace certbroker::testing

// Start-up of a real certbrokerd with a store: sealed keys without the KEK
// or under another KEK are refused before anything is written; KEK file
// permissions; KEK rotation across restarts; which source defines the
// policy (--config, the store, --seed_config); and a policy version that
// only grows, by exactly one per admin change.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/x509/boringssl.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/admin_fixture.h"
#include "tests/integration/broker_fixture.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {
namespace {

using ::testing::HasSubstr;

// ReadAll returns the bytes of `path`, or nullopt when it does not exist.
std::optional<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// StoreFiles is the content of the store's database and WAL.
struct StoreFiles {
  std::optional<std::string> database;
  std::optional<std::string> wal;

  bool operator==(const StoreFiles& other) const {
    return database == other.database && wal == other.wal;
  }
};

std::string Describe(const std::optional<std::string>& bytes) {
  return bytes.has_value() ? absl::StrCat(bytes->size(), " bytes")
                           : std::string("absent");
}

StoreFiles ReadStore(const std::string& data_dir) {
  return {ReadAll(data_dir + "/certbroker.db"),
          ReadAll(data_dir + "/certbroker.db-wal")};
}

// KekId computes a KEK file's id independently of the broker: the hex of
// the first 8 bytes of SHA-256("certbroker KEK id v1" || 0x00 || key).
std::string KekId(const std::string& path) {
  std::optional<std::string> text = ReadAll(path);
  EXPECT_TRUE(text.has_value()) << path;
  if (!text.has_value()) return "";
  std::string key = absl::HexStringToBytes(absl::StripAsciiWhitespace(*text));
  EXPECT_EQ(key.size(), 32u) << path;
  std::string input = std::string("certbroker KEK id v1") + '\0' + key;
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(input.data()), input.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), 8));
}

class StoreStartupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MustIssue(devpki::RootSpec("Startup Root"), nullptr);
    pay_client_ = MustIssue(devpki::ClientSpec("pay-client"), &root_);
    ops_client_ = MustIssue(devpki::ClientSpec("ops-client"), &root_);
  }

  // StoreArguments are the flags of a store-backed broker with `kek_file`.
  std::vector<std::string> StoreArguments(const std::string& kek_file) const {
    std::vector<std::string> arguments = {"--data_dir=" + broker_.data_dir(),
                                          "--enable_admin"};
    if (!kek_file.empty()) arguments.push_back("--kek_file=" + kek_file);
    return arguments;
  }

  // RunRefused runs certbrokerd with `arguments`, expecting it to exit by
  // itself; returns the exit code (-1 when it kept running) and its log.
  int RunRefused(std::vector<std::string> arguments, std::string& log) {
    arguments.push_back("--listen=unix:" + broker_.dir().Path("refused.sock"));
    auto code = BrokerProcess::RunToExit(arguments, broker_.dir().path(), log);
    EXPECT_TRUE(code.ok()) << code.status() << "\n" << log;
    return code.ok() ? *code : -1;
  }

  // StopAndReadStore stops the broker gracefully (checkpointing the WAL)
  // and returns the store's files.
  StoreFiles StopAndReadStore() {
    EXPECT_EQ(broker_.Stop(), 0);
    return ReadStore(broker_.data_dir());
  }

  void ExpectStoreUnchanged(const StoreFiles& before) {
    StoreFiles after = ReadStore(broker_.data_dir());
    EXPECT_TRUE(before.database.has_value());
    EXPECT_TRUE(after == before)
        << "the refused start changed the store: certbroker.db "
        << Describe(before.database) << " -> " << Describe(after.database)
        << ", certbroker.db-wal " << Describe(before.wal) << " -> "
        << Describe(after.wal);
  }

  grpc::Status Import(const std::string& id, const devpki::Issued& leaf,
                      bool exportable, v1::Certificate* out = nullptr) {
    v1::ImportCertificateRequest request =
        PemImport(id, leaf, {&root_}, leaf.key.get());
    request.set_exportable(exportable);
    v1::Certificate ignored;
    return broker_.admin().ImportCertificate(Context().get(), request,
                                             out != nullptr ? out : &ignored);
  }

  grpc::Status StoreBundle(const std::string& id) {
    v1::UpdateTrustBundleRequest request;
    request.mutable_trust_bundle()->set_name("trustBundles/" + id);
    request.mutable_trust_bundle()->set_certificates_pem(
        root_.CertificatePem());
    request.set_allow_missing(true);
    v1::TrustBundle stored;
    return broker_.admin().UpdateTrustBundle(Context().get(), request, &stored);
  }

  grpc::Status PutPolicy(const std::string& document,
                         bool validate_only = false) {
    v1::UpdatePolicyRequest request;
    request.mutable_policy()->set_document(document);
    request.set_validate_only(validate_only);
    v1::Policy policy;
    return broker_.admin().UpdatePolicy(Context().get(), request, &policy);
  }

  v1::Policy GetPolicy() {
    v1::Policy policy;
    grpc::Status status = broker_.admin().GetPolicy(
        Context().get(), v1::GetPolicyRequest(), &policy);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return policy;
  }

  v1::Status Status() {
    v1::Status status;
    grpc::Status called = broker_.admin().GetStatus(
        Context().get(), v1::GetStatusRequest(), &status);
    EXPECT_TRUE(called.ok()) << called.error_message();
    return status;
  }

  int64_t Version() {
    std::string version = Status().policy_version();
    int64_t number = -1;
    EXPECT_TRUE(absl::SimpleAtoi(version, &number)) << version;
    return number;
  }

  v1::RotateKekResponse Rotate() {
    v1::RotateKekResponse response;
    grpc::Status status = broker_.admin().RotateKek(
        Context().get(), v1::RotateKekRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::string CertificateKekId(const std::string& id) {
    v1::GetCertificateRequest request;
    request.set_name("certificates/" + id);
    v1::Certificate certificate;
    grpc::Status status =
        broker_.admin().GetCertificate(Context().get(), request, &certificate);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return certificate.kek_id();
  }

  devpki::Issued root_, pay_client_, ops_client_;
  StoreBroker broker_;
};

TEST_F(StoreStartupTest, FlagsMayBeSpelledWithDashes) {
  ASSERT_TRUE(
      broker_.StartWith({"--data-dir=" + broker_.data_dir(),
                         "--kek-file=" + broker_.kek(), "--enable-admin"}));
  EXPECT_EQ(Status().store_path(), broker_.data_dir() + "/certbroker.db");
  EXPECT_EQ(Status().kek_id(), KekId(broker_.kek()));
}

TEST_F(StoreStartupTest, BadKekFileCreatesNoStore) {
  std::string log;
  std::string data_dir = broker_.dir().Path("never-created");
  EXPECT_EQ(RunRefused({"--data_dir=" + data_dir,
                        "--kek_file=" + broker_.dir().Path("missing-kek")},
                       log),
            1)
      << log;
  EXPECT_THAT(log, HasSubstr("--kek_file: "));
  EXPECT_NE(::access(data_dir.c_str(), F_OK), 0) << "the store was created";
}

TEST_F(StoreStartupTest, SealedKeyWithoutKekIsRefusedAndTouchesNothing) {
  ASSERT_TRUE(broker_.Start());
  grpc::Status imported = Import("payments", pay_client_, false);
  ASSERT_TRUE(imported.ok()) << imported.error_message();
  StoreFiles before = StopAndReadStore();

  std::string log;
  EXPECT_EQ(RunRefused(StoreArguments(""), log), 1) << log;
  EXPECT_THAT(log,
              HasSubstr("cannot load the policy: certificates/payments: its "
                        "private key is sealed, and certbrokerd has no KEK to "
                        "open it: start it with --kek_file"));
  ExpectStoreUnchanged(before);

  // With its KEK the store starts as before.
  ASSERT_TRUE(broker_.Start());
  EXPECT_EQ(Status().certificate_count(), 1);
}

TEST_F(StoreStartupTest, SealedKeyUnderAnotherKekIsRefusedNamingBothKeks) {
  ASSERT_TRUE(broker_.Start());
  v1::Certificate certificate;
  ASSERT_TRUE(Import("payments", pay_client_, false, &certificate).ok());
  const std::string kek_a = KekId(broker_.kek());
  EXPECT_EQ(certificate.kek_id(), kek_a);
  StoreFiles before = StopAndReadStore();

  std::string wrong = WriteKek(broker_.dir(), "wrong-kek");
  std::string log;
  EXPECT_EQ(RunRefused(StoreArguments(wrong), log), 1) << log;
  EXPECT_THAT(
      log, HasSubstr(absl::StrCat(
               "cannot load the policy: certificates/payments: cannot "
               "open the key of certificate 'payments': sealed with "
               "KEK ",
               kek_a, ", which is not loaded (loaded: ", KekId(wrong), ")")));
  ExpectStoreUnchanged(before);
}

TEST_F(StoreStartupTest, KekFileReadableByOthersIsRefusedUnlessAllowed) {
  ASSERT_EQ(::chmod(broker_.kek().c_str(), 0644), 0);
  std::string log;
  EXPECT_EQ(RunRefused(StoreArguments(broker_.kek()), log), 1) << log;
  EXPECT_THAT(log, HasSubstr(absl::StrCat(
                       "--kek_file: KEK file ", broker_.kek(),
                       " has mode 0644, which lets its group or others access "
                       "it; make it owner-only")));
  EXPECT_THAT(log, HasSubstr("start certbrokerd with "
                             "--allow_insecure_kek_permissions"));

  // A previous KEK is checked the same way.
  ASSERT_EQ(::chmod(broker_.kek().c_str(), 0600), 0);
  std::string previous = WriteKek(broker_.dir(), "previous-kek");
  ASSERT_EQ(::chmod(previous.c_str(), 0640), 0);
  std::vector<std::string> arguments = StoreArguments(broker_.kek());
  arguments.push_back("--previous_kek_files=" + previous);
  EXPECT_EQ(RunRefused(arguments, log), 1) << log;
  EXPECT_THAT(log, HasSubstr(absl::StrCat("--previous_kek_files: KEK file ",
                                          previous, " has mode 0640")));

  ASSERT_EQ(::chmod(broker_.kek().c_str(), 0644), 0);
  ASSERT_TRUE(broker_.Start({"--allow_insecure_kek_permissions"}));
  EXPECT_EQ(Status().kek_id(), KekId(broker_.kek()));
}

TEST_F(StoreStartupTest, KekRotationAcrossRestarts) {
  const std::string kek_a = broker_.kek();
  const std::string id_a = KekId(kek_a);
  ASSERT_TRUE(broker_.Start());
  EXPECT_EQ(Status().kek_id(), id_a);
  ASSERT_TRUE(Import("pay-client", pay_client_, /*exportable=*/true).ok());
  ASSERT_TRUE(Import("ops-client", ops_client_, /*exportable=*/false).ok());
  ASSERT_TRUE(StoreBundle("corp").ok());
  grpc::Status put = PutPolicy(kPayPolicy);
  ASSERT_TRUE(put.ok()) << put.error_message();
  EXPECT_EQ(CertificateKekId("pay-client"), id_a);
  EXPECT_EQ(broker_.Stop(), 0);

  const std::string kek_b = WriteKek(broker_.dir(), "kek-b");
  const std::string id_b = KekId(kek_b);
  ASSERT_NE(id_a, id_b);
  std::vector<std::string> rotating = StoreArguments(kek_b);
  rotating.push_back("--previous_kek_files=" + kek_a);
  ASSERT_TRUE(broker_.StartWith(rotating));
  EXPECT_EQ(Status().kek_id(), id_b);
  // Keys under a previous KEK still open before the rotation.
  EXPECT_EQ(CertificateKekId("pay-client"), id_a);

  const int64_t before = Version();
  v1::RotateKekResponse first = Rotate();
  EXPECT_EQ(first.kek_id(), id_b);
  EXPECT_EQ(first.rewrapped(), 2);
  EXPECT_EQ(first.already_current(), 0);
  EXPECT_EQ(first.policy_version(), absl::StrCat(before + 1));
  EXPECT_EQ(Version(), before + 1);

  v1::RotateKekResponse second = Rotate();
  EXPECT_EQ(second.kek_id(), id_b);
  EXPECT_EQ(second.rewrapped(), 0);
  EXPECT_EQ(second.already_current(), 2);
  EXPECT_EQ(second.policy_version(), absl::StrCat(before + 1));
  EXPECT_EQ(Version(), before + 1);
  EXPECT_EQ(CertificateKekId("pay-client"), id_b);
  EXPECT_EQ(CertificateKekId("ops-client"), id_b);
  EXPECT_EQ(broker_.Stop(), 0);

  // B alone opens every key, and the exportable one is handed out whole.
  ASSERT_TRUE(broker_.StartWith(StoreArguments(kek_b)));
  EXPECT_EQ(Version(), before + 1);
  v1::GetClientCertificateResponse response;
  grpc::Status given = broker_.ClientCertificate("pay.example.test", &response);
  ASSERT_TRUE(given.ok()) << given.error_message();
  EXPECT_EQ(response.certificate_id(), "pay-client");
  ASSERT_GE(response.certificate_chain_size(), 1);
  EXPECT_EQ(response.certificate_chain(0), pay_client_.Der());
  EXPECT_EQ(response.private_key(), Pkcs8(pay_client_.key.get()));
  EXPECT_EQ(response.policy_version(), absl::StrCat(before + 1));
  EXPECT_EQ(broker_.Stop(), 0);

  // A alone no longer opens them: the first certificate (id order) is named.
  std::string log;
  EXPECT_EQ(RunRefused(StoreArguments(kek_a), log), 1) << log;
  EXPECT_THAT(log, HasSubstr(absl::StrCat(
                       "certificates/ops-client: cannot open the key of "
                       "certificate 'ops-client': sealed with KEK ",
                       id_b, ", which is not loaded (loaded: ", id_a, ")")));
}

TEST_F(StoreStartupTest, ConfigFlagWithStoredPolicyDocumentIsAmbiguous) {
  ASSERT_TRUE(broker_.Start());
  ASSERT_TRUE(StoreBundle("corp").ok());
  grpc::Status put = PutPolicy("rules: []\n");
  ASSERT_TRUE(put.ok()) << put.error_message();
  const int64_t version = Version();
  StoreFiles before = StopAndReadStore();

  std::string config = broker_.dir().Write("config.yaml", "rules: []\n");
  std::vector<std::string> arguments = StoreArguments(broker_.kek());
  arguments.push_back("--config=" + config);
  std::string log;
  EXPECT_EQ(RunRefused(arguments, log), 1) << log;
  EXPECT_THAT(log,
              HasSubstr(absl::StrCat(
                  "cannot load the policy: ambiguous policy: --config ", config,
                  " defines the policy, but the store holds a policy "
                  "document too (policy version ",
                  version, ", seeded or written through the admin API)")));
  ExpectStoreUnchanged(before);
}

TEST_F(StoreStartupTest, ConfigFlagDefinesThePolicyOfStoreWithoutDocument) {
  ASSERT_TRUE(broker_.Start());
  ASSERT_TRUE(StoreBundle("corp").ok());
  EXPECT_EQ(Status().policy_source(), "none");
  EXPECT_EQ(broker_.Stop(), 0);

  // The file's rule names the store's bundle.
  const std::string text =
      "# From the file.\n"
      "rules:\n"
      "  - name: corp\n"
      "    match: { hosts: [corp.example.test] }\n"
      "    server_validation: { trust_bundles: [corp] }\n";
  std::string config = broker_.dir().Write("config.yaml", text);
  ASSERT_TRUE(broker_.Start({"--config=" + config}));
  v1::Status status = Status();
  EXPECT_EQ(status.policy_source(), "config:" + config);
  EXPECT_EQ(status.rule_count(), 1);
  EXPECT_EQ(status.trust_bundle_count(), 1);
  v1::Policy policy = GetPolicy();
  EXPECT_EQ(policy.source(), "config:" + config);
  EXPECT_EQ(policy.document(), text);

  const int64_t version = Version();
  grpc::Status put = PutPolicy("rules: []\n");
  EXPECT_EQ(put.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(put.error_message(),
              HasSubstr("the policy document comes from --config " + config));
  EXPECT_EQ(Version(), version);
  EXPECT_EQ(broker_.Stop(), 0);

  // Nothing of the file went into the store.
  ASSERT_TRUE(broker_.Start());
  EXPECT_EQ(Status().policy_source(), "none");
  EXPECT_EQ(GetPolicy().document(), "");
}

TEST_F(StoreStartupTest, SeedConfigSeedsAnEmptyStoreOnce) {
  broker_.dir().Write("seed/roots.pem", root_.CertificatePem());
  // Relative paths resolve in the seed's directory; comments are kept.
  const std::string seed_text =
      "# Seeded by the test.\n"
      "trust_bundles: [{name: files, pem_file: roots.pem}]\n"
      "rules:\n"
      "  - name: seeded\n"
      "    match: { hosts: [seeded.example.test] }\n"
      "    server_validation: { trust_bundles: [files] }\n";
  std::string seed = broker_.dir().Write("seed/seed.yaml", seed_text);
  ASSERT_TRUE(broker_.Start({"--seed_config=" + seed}));
  v1::Policy policy = GetPolicy();
  EXPECT_EQ(policy.document(), seed_text);
  EXPECT_EQ(policy.source(), "store");
  EXPECT_EQ(Status().policy_source(), "store");
  EXPECT_EQ(Status().rule_count(), 1);
  EXPECT_THAT(broker_.process().Log(),
              HasSubstr("seeded the store's policy from " + seed));
  const int64_t version = Version();
  EXPECT_EQ(broker_.Stop(), 0);

  std::string other = broker_.dir().Write("other-seed.yaml", "rules: []\n");
  ASSERT_TRUE(broker_.Start({"--seed_config=" + other}));
  EXPECT_EQ(GetPolicy().document(), seed_text);
  EXPECT_EQ(GetPolicy().source(), "store");
  EXPECT_EQ(Status().rule_count(), 1);
  EXPECT_EQ(Version(), version);
  EXPECT_THAT(broker_.process().Log(),
              HasSubstr(absl::StrCat(
                  "--seed_config ", other,
                  " ignored: the store already holds a different policy "
                  "document (policy version ",
                  version, ")")));
}

TEST_F(StoreStartupTest, SeedThatDoesNotLoadRefusesStartAndStoresNothing) {
  std::string bad =
      broker_.dir().Write("bad-seed.yaml", "rules: [{name: r, colour: red}]\n");
  std::vector<std::string> arguments = StoreArguments(broker_.kek());
  arguments.push_back("--seed_config=" + bad);
  std::string log;
  EXPECT_EQ(RunRefused(arguments, log), 1) << log;
  EXPECT_THAT(log, HasSubstr("cannot load the policy: "));
  EXPECT_THAT(log, HasSubstr("rules[0].colour: unknown field"));

  ASSERT_TRUE(broker_.Start());
  EXPECT_EQ(GetPolicy().source(), "none");
  EXPECT_EQ(GetPolicy().document(), "");
  EXPECT_EQ(broker_.Stop(), 0);

  std::string good = broker_.dir().Write("good-seed.yaml", "rules: []\n");
  ASSERT_TRUE(broker_.Start({"--seed_config=" + good}));
  EXPECT_EQ(GetPolicy().source(), "store");
  EXPECT_EQ(GetPolicy().document(), "rules: []\n");
}

TEST_F(StoreStartupTest, PolicyVersionOnlyGrowsByOnePerChange) {
  std::vector<int64_t> versions;
  std::vector<std::string> steps;
  auto record = [&](const std::string& step) {
    steps.push_back(step);
    versions.push_back(Version());
  };
  auto restart = [&](const std::vector<std::string>& extra) {
    EXPECT_EQ(broker_.Stop(), 0);
    ASSERT_TRUE(broker_.Start(extra));
  };

  ASSERT_TRUE(broker_.Start());
  record("start");
  restart({});
  record("restart");
  ASSERT_TRUE(Import("pay-client", pay_client_, true).ok());
  record("import");
  ASSERT_TRUE(StoreBundle("corp").ok());
  record("bundle");
  ASSERT_TRUE(PutPolicy(kPayPolicy).ok());
  record("policy");
  restart({});
  record("restart");
  ASSERT_TRUE(PutPolicy(kPayPolicy, /*validate_only=*/true).ok());
  record("validate only");
  EXPECT_EQ(PutPolicy("rules: [{name: r, colour: red}]\n").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  record("refused policy");
  EXPECT_EQ(Rotate().rewrapped(), 0);
  record("rotate, nothing to do");
  ASSERT_TRUE(Import("ops-client", ops_client_, false).ok());
  record("import");
  v1::DeleteCertificateRequest remove;
  remove.set_name("certificates/ops-client");
  v1::DeleteCertificateResponse removed;
  ASSERT_TRUE(broker_.admin()
                  .DeleteCertificate(Context().get(), remove, &removed)
                  .ok());
  record("delete");
  std::string seed = broker_.dir().Write("seed.yaml", "rules: []\n");
  restart({"--seed_config=" + seed});
  record("restart with an ignored seed");
  ASSERT_TRUE(PutPolicy(absl::StrCat(kPayPolicy, "# edited\n")).ok());
  record("policy");
  broker_.Kill();
  ASSERT_TRUE(broker_.Start());
  record("restart after SIGKILL");

  const int64_t v = versions.front();
  EXPECT_GE(v, 1);
  std::vector<int64_t> expected = {v,     v,     v + 1, v + 2, v + 3,
                                   v + 3, v + 3, v + 3, v + 3, v + 4,
                                   v + 5, v + 5, v + 6, v + 6};
  EXPECT_EQ(versions, expected) << "steps: " << ::testing::PrintToString(steps);
}

}  // namespace
}  // namespace certbroker::testing

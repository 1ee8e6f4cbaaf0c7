// Decisions of a real certbrokerd started with --data_dir are in its audit
// log, with the fields an investigation needs, once it has stopped.
#include "absl/strings/escaping.h"
#include "broker/store/sqlite_store.h"
#include "broker/x509/boringssl.h"
#include "gmock/gmock.h"
#include "tests/integration/broker_fixture.h"

namespace certbroker::testing {
namespace {

std::string HexSha256(const std::string& der) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(der.data()), der.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

TEST(AuditRpcTest, EveryDecisionIsRecorded) {
  TempDir dir;
  TestPki pki = TestPki::Generate();
  pki.Write(dir);
  std::string config = dir.Write("config.yaml", BrokerConfigFor(pki));
  auto broker = BrokerProcess::Start(
      {"--config=" + config, "--data_dir=" + dir.Path("data"),
       "--listen=unix:" + dir.Path("b.sock")},
      dir.path());
  ASSERT_TRUE(broker.ok()) << broker.status();
  auto stub = MakeStub((*broker)->addresses()[0]);

  v1::OnServerCertificateRequest request;
  request.mutable_target()->set_host("api.example.test");
  for (const std::string& der : ChainOf({&pki.server, &pki.intermediate})) {
    request.add_certificate_chain(der);
  }
  v1::OnServerCertificateResponse accepted;
  ASSERT_TRUE(
      stub->OnServerCertificate(Context().get(), request, &accepted).ok());
  request.mutable_target()->set_host("nowhere.invalid");
  v1::OnServerCertificateResponse rejected;
  ASSERT_TRUE(
      stub->OnServerCertificate(Context().get(), request, &rejected).ok());
  ASSERT_EQ((*broker)->Stop(), 0) << (*broker)->Log();
  EXPECT_THAT((*broker)->Log(),
              ::testing::HasSubstr("audit log flushed: 2 records written"));

  auto store = store::OpenSqliteStore(dir.Path("data"));
  ASSERT_TRUE(store.ok()) << store.status();
  store::AuditQuery query;
  query.limit = 100;
  auto page = (*store)->ListAudit(query);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->records.size(), 2u);
  const store::AuditRecord* accept = nullptr;
  for (const auto& record : page->records) {
    if (record.decision_id == accepted.decision_id()) accept = &record;
  }
  ASSERT_NE(accept, nullptr);
  EXPECT_EQ(accept->rpc, "OnServerCertificate");
  EXPECT_EQ(accept->target, "https://api.example.test:443");
  EXPECT_EQ(accept->rule, "example-test");
  EXPECT_EQ(accept->verdict, "accept");
  EXPECT_EQ(accept->reason, "ACCEPTED");
  EXPECT_EQ(accept->policy_version, accepted.policy_version());
  EXPECT_EQ(accept->leaf_fingerprint, HexSha256(pki.server.Der()));
  // The test broker runs with --insecure_dev_loopback.
  EXPECT_EQ(accept->agent, "dev:insecure-loopback");

  store::AuditQuery rejects;
  rejects.filter.verdict = "reject";
  rejects.limit = 10;
  auto rejected_page = (*store)->ListAudit(rejects);
  ASSERT_TRUE(rejected_page.ok());
  ASSERT_EQ(rejected_page->records.size(), 1u);
  EXPECT_EQ(rejected_page->records[0].decision_id, rejected.decision_id());
  EXPECT_EQ(rejected_page->records[0].reason, "NO_MATCHING_RULE");
}

TEST(AuditRpcTest, UnusableDataDirRefusesToStart) {
  TempDir dir;
  dir.Write("data/certbroker.db", "this is not a database");
  std::string config = dir.Write("config.yaml", "{}");
  std::string log;
  auto code = BrokerProcess::RunToExit(
      {"--config=" + config, "--data_dir=" + dir.Path("data"),
       "--listen=127.0.0.1:0"},
      dir.path(), log);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 1);
  EXPECT_THAT(log, ::testing::HasSubstr("cannot open the store in --data_dir " +
                                        dir.Path("data")));
}

}  // namespace
}  // namespace certbroker::testing

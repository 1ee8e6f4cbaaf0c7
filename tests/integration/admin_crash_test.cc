// The reliability test of the store: admin writes against a real
// certbrokerd that the test kills with SIGKILL at random points, 20 times.
// After each restart every write the broker acknowledged is there (and
// nothing else but the one call in flight), the newest imported key still
// opens, the policy version counts every change, and SQLite's
// integrity_check passes. Rerun a failure with CERTBROKER_CRASH_SEED=<seed>.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/store/sqlite_store.h"
#include "broker/x509/boringssl.h"
#include "gtest/gtest.h"
#include "tests/integration/admin_fixture.h"
#include "tests/integration/broker_fixture.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {
namespace {

constexpr int kRounds = 20;
constexpr char kBundlePrefix[] = "trustBundles/";
constexpr char kCertificatePrefix[] = "certificates/";

// CrashSeed is CERTBROKER_CRASH_SEED when set, else a fresh random seed.
uint32_t CrashSeed() {
  const char* text = std::getenv("CERTBROKER_CRASH_SEED");
  uint32_t seed = 0;
  if (text != nullptr && absl::SimpleAtoi(text, &seed)) return seed;
  return std::random_device()();
}

// WriterLog is what one round's writer did.
struct WriterLog {
  std::vector<std::string> bundles;       // Acknowledged bundle ids.
  std::vector<std::string> certificates;  // Acknowledged certificate ids.
  std::string in_flight;                  // The id of the call that failed.
  grpc::Status failure;                   // How it failed.
};

// WriteUntilFailure issues admin writes with distinct ids, an
// ImportCertificate (sealing a key) after every two UpdateTrustBundle
// calls, until a call fails.
void WriteUntilFailure(v1::CertificateAdmin::Stub& admin, int round,
                       const std::string& root_pem,
                       const v1::ImportCertificateRequest& import,
                       WriterLog& log) {
  for (int n = 0;; ++n) {
    std::string id;
    grpc::Status status;
    if (n % 3 == 1) {
      id = absl::StrCat("c-", round, "-", n);
      v1::ImportCertificateRequest request = import;
      request.set_certificate_id(id);
      v1::Certificate certificate;
      status = admin.ImportCertificate(Context().get(), request, &certificate);
      if (status.ok()) {
        log.certificates.push_back(id);
        continue;
      }
    } else {
      id = absl::StrCat("b-", round, "-", n);
      v1::UpdateTrustBundleRequest request;
      request.mutable_trust_bundle()->set_name(kBundlePrefix + id);
      request.mutable_trust_bundle()->set_certificates_pem(root_pem);
      request.set_allow_missing(true);
      v1::TrustBundle bundle;
      status = admin.UpdateTrustBundle(Context().get(), request, &bundle);
      if (status.ok()) {
        log.bundles.push_back(id);
        continue;
      }
    }
    log.in_flight = id;
    log.failure = status;
    return;
  }
}

// ListBundles returns every stored bundle's id and PEM, following pages.
std::map<std::string, std::string> ListBundles(
    v1::CertificateAdmin::Stub& admin) {
  std::map<std::string, std::string> bundles;
  v1::ListTrustBundlesRequest request;
  do {
    v1::ListTrustBundlesResponse response;
    grpc::Status status =
        admin.ListTrustBundles(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) break;
    for (const v1::TrustBundle& bundle : response.trust_bundles()) {
      EXPECT_TRUE(absl::StartsWith(bundle.name(), kBundlePrefix))
          << bundle.name();
      bundles[bundle.name().substr(sizeof(kBundlePrefix) - 1)] =
          bundle.certificates_pem();
    }
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return bundles;
}

// ListCertificateIds returns every stored certificate's id, following
// pages.
std::set<std::string> ListCertificateIds(v1::CertificateAdmin::Stub& admin) {
  std::set<std::string> ids;
  v1::ListCertificatesRequest request;
  do {
    v1::ListCertificatesResponse response;
    grpc::Status status =
        admin.ListCertificates(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) break;
    for (const v1::Certificate& certificate : response.certificates()) {
      ids.insert(certificate.name().substr(sizeof(kCertificatePrefix) - 1));
    }
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return ids;
}

int64_t Version(v1::CertificateAdmin::Stub& admin) {
  v1::Status status;
  grpc::Status called =
      admin.GetStatus(Context().get(), v1::GetStatusRequest(), &status);
  EXPECT_TRUE(called.ok()) << called.error_message();
  EXPECT_TRUE(status.store_healthy()) << status.store_detail();
  int64_t version = -1;
  EXPECT_TRUE(absl::SimpleAtoi(status.policy_version(), &version))
      << status.policy_version();
  return version;
}

// PolicyUsing is a policy whose one rule hands out `certificate_id`.
std::string PolicyUsing(const std::string& certificate_id) {
  return absl::StrCat(
      "rules:\n"
      "  - name: crash\n"
      "    match: { hosts: [crash.example.test] }\n"
      "    client_certificate: ",
      certificate_id,
      "\n"
      "    server_validation: { trust_bundles: [corp] }\n");
}

void ExpectIntegrity(const std::string& data_dir) {
  auto store = store::OpenSqliteStore(data_dir);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::Status integrity = (*store)->CheckIntegrity();
  EXPECT_TRUE(integrity.ok()) << integrity;
}

TEST(AdminCrashTest, AcknowledgedWritesSurviveSigkillAtRandomPoints) {
  const uint32_t seed = CrashSeed();
  SCOPED_TRACE(absl::StrCat("CERTBROKER_CRASH_SEED=", seed));
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> kill_after_ms(20, 300);

  devpki::Issued root = MustIssue(devpki::RootSpec("Crash Root"), nullptr);
  devpki::Issued client = MustIssue(devpki::ClientSpec("crash-client"), &root);
  const std::string root_pem = root.CertificatePem();
  const std::string client_key = Pkcs8(client.key.get());
  ASSERT_FALSE(client_key.empty());
  v1::ImportCertificateRequest import =
      PemImport("", client, {&root}, client.key.get());
  import.set_exportable(true);

  StoreBroker broker;
  ASSERT_TRUE(broker.Start());
  {
    v1::UpdateTrustBundleRequest corp;
    corp.mutable_trust_bundle()->set_name("trustBundles/corp");
    corp.mutable_trust_bundle()->set_certificates_pem(root_pem);
    corp.set_allow_missing(true);
    v1::TrustBundle stored;
    grpc::Status status =
        broker.admin().UpdateTrustBundle(Context().get(), corp, &stored);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const int64_t base_version = Version(broker.admin());

  std::set<std::string> acknowledged_bundles, acknowledged_certificates;
  // Writes whose call failed but that committed (seen after the restart).
  std::set<std::string> committed_unacknowledged;
  int64_t acknowledged_changes = 0;
  const absl::Time start = absl::Now();

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const int delay_ms = kill_after_ms(random);
    WriterLog log;
    std::thread writer([&broker, &log, &root_pem, &import, round] {
      WriteUntilFailure(broker.admin(), round, root_pem, import, log);
    });
    absl::SleepFor(absl::Milliseconds(delay_ms));
    broker.Kill();
    writer.join();
    EXPECT_EQ(log.failure.error_code(), grpc::StatusCode::UNAVAILABLE)
        << log.in_flight << ": " << log.failure.error_message();
    acknowledged_bundles.insert(log.bundles.begin(), log.bundles.end());
    acknowledged_certificates.insert(log.certificates.begin(),
                                     log.certificates.end());
    acknowledged_changes +=
        static_cast<int64_t>(log.bundles.size() + log.certificates.size());

    // Start-up opens every sealed key, so coming up proves they all open.
    ASSERT_TRUE(broker.Start()) << "after a kill " << delay_ms << " ms in";

    std::map<std::string, std::string> bundles = ListBundles(broker.admin());
    std::set<std::string> certificates = ListCertificateIds(broker.admin());
    bool in_flight_committed = bundles.count(log.in_flight) > 0 ||
                               certificates.count(log.in_flight) > 0;
    if (in_flight_committed) committed_unacknowledged.insert(log.in_flight);
    for (const std::string& id : acknowledged_bundles) {
      auto found = bundles.find(id);
      if (found == bundles.end()) {
        ADD_FAILURE() << "acknowledged trust bundle " << id << " is missing";
      } else {
        EXPECT_EQ(found->second, root_pem) << id;
      }
    }
    for (const std::string& id : acknowledged_certificates) {
      EXPECT_EQ(certificates.count(id), 1u)
          << "acknowledged certificate " << id << " is missing";
    }
    // Nothing appears that was not written: every id is acknowledged, or a
    // call in flight at a kill.
    for (const auto& [id, pem] : bundles) {
      EXPECT_TRUE(id == "corp" || acknowledged_bundles.count(id) > 0 ||
                  committed_unacknowledged.count(id) > 0)
          << "unexpected trust bundle " << id;
    }
    for (const std::string& id : certificates) {
      EXPECT_TRUE(acknowledged_certificates.count(id) > 0 ||
                  committed_unacknowledged.count(id) > 0)
          << "unexpected certificate " << id;
    }
    for (const std::string& id : committed_unacknowledged) {
      EXPECT_TRUE(bundles.count(id) > 0 || certificates.count(id) > 0)
          << id << " was seen after an earlier restart and is gone";
    }

    // The newest acknowledged import, perhaps the last call before the
    // kill: its key opens and is handed out under a policy using it.
    if (!log.certificates.empty()) {
      const std::string& newest = log.certificates.back();
      v1::UpdatePolicyRequest put;
      put.mutable_policy()->set_document(PolicyUsing(newest));
      v1::Policy policy;
      grpc::Status status =
          broker.admin().UpdatePolicy(Context().get(), put, &policy);
      ASSERT_TRUE(status.ok()) << status.error_message();
      ++acknowledged_changes;
      v1::GetClientCertificateRequest request;
      request.mutable_target()->set_host("crash.example.test");
      v1::GetClientCertificateResponse response;
      status = broker.broker().GetClientCertificate(Context().get(), request,
                                                    &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(response.certificate_id(), newest);
      EXPECT_EQ(response.private_key(), client_key) << newest;
    }

    const int64_t version = Version(broker.admin());
    EXPECT_GE(version - base_version, acknowledged_changes);
    // Exactly one bump per committed change; restarts add none.
    EXPECT_EQ(version - base_version,
              acknowledged_changes +
                  static_cast<int64_t>(committed_unacknowledged.size()));

    // Checked while the broker runs, so that the next restart still does
    // its own recovery of whatever the kill left in the WAL.
    if (round % 5 == 4) ExpectIntegrity(broker.data_dir());
  }

  EXPECT_EQ(broker.Stop(), 0);
  ExpectIntegrity(broker.data_dir());
  ::testing::Test::RecordProperty("acknowledged_changes",
                                  std::to_string(acknowledged_changes));
  ::testing::Test::RecordProperty(
      "seconds", std::to_string(absl::ToDoubleSeconds(absl::Now() - start)));
  // The rounds did write: bundles, and sealed keys.
  EXPECT_GT(acknowledged_bundles.size(), 0u);
  EXPECT_GT(acknowledged_certificates.size(), 0u);
}

}  // namespace
}  // namespace certbroker::testing

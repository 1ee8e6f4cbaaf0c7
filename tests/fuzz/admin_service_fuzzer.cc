// Feeds requests to the unary handlers of CertificateAdmin (all but the
// streaming WatchAuditRecords) on a CertificateAdminService built
// in-process as certbrokerd builds it with --data_dir, --seed_config,
// --kek_file and --enable_admin: an SQLite store in a temporary directory
// (on /dev/shm when there is one), seeded with a small policy over the
// fixed PKI of tests/fuzz/data, a PolicyManager, an audit writer, and a
// fixed clock. Input: calls (fuzz_support.h), each a method byte (an index
// into kMethods, modulo its size) and a frame parsed as that method's
// request. A sequence may import and then read, change or delete. When an
// input changed the store, everything is built afresh for the next one.
// Policy documents that name absolute paths are skipped (they would read
// the machine's files).
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>

#include "broker/audit/audit_writer.h"
#include "broker/keys/kek.h"
#include "broker/keys/key_ring.h"
#include "broker/service/call_tracker.h"
#include "broker/service/certificate_admin_service.h"
#include "broker/state/policy_manager.h"
#include "broker/store/sqlite_store.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/temp_dir.h"

namespace certbroker::fuzz {
namespace {

namespace v1 = ::certbroker::v1;
using service::CertificateAdminService;

constexpr size_t kMaxCalls = 8;

constexpr char kSeedPolicy[] = R"(trust_bundles:
  - name: fuzz-roots
    pem_file: roots.pem
crls:
  - name: fuzz-crls
    file: crls.pem
certificates:
  - id: fuzz-client
    chain_pem_file: client-chain.pem
    key_pem_file: client.key
    exportable: true
rules:
  - name: api
    match: { hosts: ["*.example.test", 127.0.0.1] }
    client_certificate: fuzz-client
    server_validation: { trust_bundles: [fuzz-roots], mode: BROKER }
)";

// Admin is one broker's admin side, as RunBroker assembles it.
struct Admin {
  testing::TempDir dir;
  std::unique_ptr<keys::KeyRing> keys;
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<audit::AuditWriter> audit;
  std::unique_ptr<state::PolicyManager> manager;
  service::CallTracker calls;
  std::unique_ptr<CertificateAdminService> service;
  int64_t revision = 0;  // The store's revision once built.
};

template <typename T>
T Must(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) {
    std::fprintf(stderr, "fuzz admin set-up: %s: %s\n", what,
                 std::string(value.status().message()).c_str());
    std::abort();
  }
  return *std::move(value);
}

std::unique_ptr<Admin> BuildAdmin() {
  auto admin = std::make_unique<Admin>();
  for (const char* name :
       {"roots.pem", "crls.pem", "client-chain.pem", "client.key"}) {
    admin->dir.Write(name, DataFile(name));
  }
  admin->keys = std::make_unique<keys::KeyRing>(keys::Kek::Generate());
  admin->store = Must(store::OpenSqliteStore(admin->dir.Path("data")), "store");
  admin->audit = std::make_unique<audit::AuditWriter>(
      *admin->store, audit::AuditWriterOptions());
  state::PolicyManagerOptions options;
  options.seed_config_path = admin->dir.Write("seed.yaml", kSeedPolicy);
  options.store = admin->store.get();
  options.keys = admin->keys.get();
  admin->manager = Must(state::PolicyManager::Create(options), "policy");
  admin->service = std::make_unique<CertificateAdminService>(
      *admin->manager, admin->calls, admin->dir.path(),
      /*simulation_only=*/false, [] { return FixedNow(); });
  admin->service->set_audit(admin->audit.get());
  admin->service->set_store_path(admin->store->path());
  admin->revision = Must(admin->store->CurrentRevision(), "revision");
  return admin;
}

void Destroy(std::unique_ptr<Admin> admin) {
  admin->audit->Stop();
  admin->service.reset();
  admin->manager.reset();
  admin->audit.reset();
  admin->store.reset();
}

using Method = std::function<void(CertificateAdminService&, absl::string_view)>;

// M makes the Method that serves `rpc` with `handler`.
template <typename Request, typename Response, typename Handler>
Method M(const char* rpc, Handler handler) {
  return [rpc, handler](CertificateAdminService& s, absl::string_view bytes) {
    Serve<Request, Response>(rpc, bytes, [&](auto* c, auto* q, auto* r) {
      return (s.*handler)(c, q, r);
    });
  };
}

// Documents naming absolute paths are skipped: see the header comment.
Method UpdatePolicy() {
  return [](CertificateAdminService& s, absl::string_view bytes) {
    v1::UpdatePolicyRequest probe;
    if (probe.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) &&
        HasAbsolutePaths(probe.policy().document())) {
      return;
    }
    Serve<v1::UpdatePolicyRequest, v1::Policy>(
        "UpdatePolicy", bytes,
        [&](auto* c, auto* q, auto* r) { return s.UpdatePolicy(c, q, r); });
  };
}

Method Simulate() {
  return [](CertificateAdminService& s, absl::string_view bytes) {
    v1::SimulateServerCertificateRequest probe;
    if (probe.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) &&
        HasAbsolutePaths(probe.policy_yaml())) {
      return;
    }
    Serve<v1::SimulateServerCertificateRequest,
          v1::SimulateServerCertificateResponse>(
        "SimulateServerCertificate", bytes, [&](auto* c, auto* q, auto* r) {
          return s.SimulateServerCertificate(c, q, r);
        });
  };
}

const std::vector<Method>& Methods() {
  using S = CertificateAdminService;
  static const auto* methods = new std::vector<Method>{
      Simulate(),
      M<v1::ImportCertificateRequest, v1::Certificate>("ImportCertificate",
                                                       &S::ImportCertificate),
      M<v1::GetCertificateRequest, v1::Certificate>("GetCertificate",
                                                    &S::GetCertificate),
      M<v1::ListCertificatesRequest, v1::ListCertificatesResponse>(
          "ListCertificates", &S::ListCertificates),
      M<v1::DeleteCertificateRequest, v1::DeleteCertificateResponse>(
          "DeleteCertificate", &S::DeleteCertificate),
      M<v1::UpdateTrustBundleRequest, v1::TrustBundle>("UpdateTrustBundle",
                                                       &S::UpdateTrustBundle),
      M<v1::GetTrustBundleRequest, v1::TrustBundle>("GetTrustBundle",
                                                    &S::GetTrustBundle),
      M<v1::ListTrustBundlesRequest, v1::ListTrustBundlesResponse>(
          "ListTrustBundles", &S::ListTrustBundles),
      M<v1::DeleteTrustBundleRequest, v1::DeleteTrustBundleResponse>(
          "DeleteTrustBundle", &S::DeleteTrustBundle),
      M<v1::UpdateCrlRequest, v1::Crl>("UpdateCrl", &S::UpdateCrl),
      M<v1::GetCrlRequest, v1::Crl>("GetCrl", &S::GetCrl),
      M<v1::ListCrlsRequest, v1::ListCrlsResponse>("ListCrls", &S::ListCrls),
      M<v1::DeleteCrlRequest, v1::DeleteCrlResponse>("DeleteCrl",
                                                     &S::DeleteCrl),
      M<v1::GetPolicyRequest, v1::Policy>("GetPolicy", &S::GetPolicy),
      UpdatePolicy(),
      M<v1::ListAuditRecordsRequest, v1::ListAuditRecordsResponse>(
          "ListAuditRecords", &S::ListAuditRecords),
      M<v1::GetStatusRequest, v1::Status>("GetStatus", &S::GetStatus),
      M<v1::RotateKekRequest, v1::RotateKekResponse>("RotateKek",
                                                     &S::RotateKek),
  };
  return *methods;
}

std::unique_ptr<Admin>& CurrentAdmin() {
  static auto* admin = new std::unique_ptr<Admin>(BuildAdmin());
  return *admin;
}

int Run(absl::string_view input) {
  std::unique_ptr<Admin>& admin = CurrentAdmin();
  const std::vector<Method>& methods = Methods();
  for (const Call& call : ReadCalls(input, kMaxCalls)) {
    methods[call.method % methods.size()](*admin->service, call.request);
  }
  auto revision = admin->store->CurrentRevision();
  if (!revision.ok() || *revision != admin->revision) {
    Destroy(std::move(admin));
    admin = BuildAdmin();
  }
  return 0;
}

}  // namespace
}  // namespace certbroker::fuzz

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  // The store syncs every commit; on tmpfs that costs nothing.
  struct stat shm;
  if (std::getenv("TMPDIR") == nullptr && ::stat("/dev/shm", &shm) == 0 &&
      S_ISDIR(shm.st_mode) && ::access("/dev/shm", W_OK) == 0) {
    ::setenv("TMPDIR", "/dev/shm", 0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return certbroker::fuzz::Run(
      absl::string_view(reinterpret_cast<const char*>(data), size));
}

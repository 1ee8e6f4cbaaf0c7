// Feeds requests to the CertificateBroker unary handlers (GetCertificatePolicy,
// GetClientCertificate, OnServerCertificate, GetNegotiationPolicy,
// OnClientCertificate, Sign) of a CertificateBrokerService
// built in-process over a small fixed policy (the fixed PKI of
// tests/fuzz/data, written to a temporary directory), with a fixed clock.
// Input: calls (fuzz_support.h), each a method byte (0 to 5 in that order,
// modulo 6) and a frame parsed as that method's request; bytes that do not
// parse are skipped, as gRPC would refuse them. The handlers run as gRPC
// runs them, minus the transport (fuzz_support.h's Serve), and what they
// answer must survive serialization. The verdict cache persists
// across inputs, as in certbrokerd.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "broker/policy/policy_snapshot.h"
#include "broker/service/call_tracker.h"
#include "broker/service/certificate_broker_service.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/temp_dir.h"

namespace certbroker::fuzz {
namespace {

namespace v1 = ::certbroker::v1;

constexpr size_t kMaxCalls = 8;

constexpr char kPolicy[] = R"(trust_bundles:
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
  - id: sealed-client
    chain_pem_file: client-chain.pem
    key_pem_file: client.key
rules:
  - name: api
    match: { hosts: ["*.example.test", 127.0.0.1, "::1"] }
    client_certificate: fuzz-client
    server_validation: { trust_bundles: [fuzz-roots], mode: BROKER }
    cache_ttl: 60s
  - name: both
    match: { hosts: [10.1.2.3], ports: [8443], schemes: [https] }
    client_certificate: sealed-client
    server_validation:
      trust_bundles: [fuzz-roots]
      mode: BOTH
      revocation: { mode: HARD_FAIL }
      allowed_errors: [HOSTNAME_MISMATCH]
  - name: agent
    match: { hosts: ["*.agent.test"] }
    server_validation: { trust_bundles: [fuzz-roots], mode: AGENT }
  - name: denied
    match: { hosts: ["*.deny.test"] }
    action: DENY
inbound_rules:
  - name: mesh
    match: { listeners: [sidecar-in], server_names: ["*"] }
    peer_validation: { trust_bundles: [fuzz-roots] }
    allowed_peers: ["*"]
  - name: uploads
    match: { server_names: ["*.example.test"] }
    client_certificate: REQUEST
    peer_validation:
      trust_bundles: [fuzz-roots]
      revocation: { mode: HARD_FAIL }
    allowed_peers: ["spiffe://fuzz.test/*"]
  - name: open
    match: { listeners: [public], server_names: ["*"] }
    client_certificate: IGNORE
verdict_cache: { max_entries: 64, max_bytes: 262144 }
)";

struct Broker {
  testing::TempDir dir;
  std::unique_ptr<policy::CurrentPolicy> policy;
  service::CallTracker calls;
  std::unique_ptr<service::CertificateBrokerService> service;
};

Broker& GetBroker() {
  static Broker* broker = [] {
    auto* built = new Broker;
    for (const char* name :
         {"roots.pem", "crls.pem", "client-chain.pem", "client.key"}) {
      built->dir.Write(name, DataFile(name));
    }
    auto snapshot =
        policy::LoadPolicyFile(built->dir.Write("config.yaml", kPolicy));
    if (!snapshot.ok()) {
      std::fprintf(stderr, "fuzz policy: %s\n",
                   std::string(snapshot.status().message()).c_str());
      std::abort();
    }
    built->policy = std::make_unique<policy::CurrentPolicy>(*snapshot);
    built->service = std::make_unique<service::CertificateBrokerService>(
        *built->policy, built->calls, [] { return FixedNow(); });
    return built;
  }();
  return *broker;
}

int Run(absl::string_view input) {
  Broker& broker = GetBroker();
  service::CertificateBrokerService& s = *broker.service;
  for (const Call& call : ReadCalls(input, kMaxCalls)) {
    switch (call.method % 6) {
      case 0:
        Serve<v1::GetCertificatePolicyRequest,
              v1::GetCertificatePolicyResponse>(
            "GetCertificatePolicy", call.request,
            [&](auto* c, auto* q, auto* r) {
              return s.GetCertificatePolicy(c, q, r);
            });
        break;
      case 1:
        Serve<v1::GetClientCertificateRequest,
              v1::GetClientCertificateResponse>(
            "GetClientCertificate", call.request,
            [&](auto* c, auto* q, auto* r) {
              return s.GetClientCertificate(c, q, r);
            });
        break;
      case 2:
        Serve<v1::OnServerCertificateRequest, v1::OnServerCertificateResponse>(
            "OnServerCertificate", call.request,
            [&](auto* c, auto* q, auto* r) {
              return s.OnServerCertificate(c, q, r);
            });
        break;
      case 3:
        Serve<v1::GetNegotiationPolicyRequest,
              v1::GetNegotiationPolicyResponse>(
            "GetNegotiationPolicy", call.request,
            [&](auto* c, auto* q, auto* r) {
              return s.GetNegotiationPolicy(c, q, r);
            });
        break;
      case 4:
        Serve<v1::OnClientCertificateRequest, v1::OnClientCertificateResponse>(
            "OnClientCertificate", call.request,
            [&](auto* c, auto* q, auto* r) {
              return s.OnClientCertificate(c, q, r);
            });
        break;
      case 5:
        Serve<v1::SignRequest, v1::SignResponse>(
            "Sign", call.request, [&](auto* c, auto* q, auto* r) {
              return s.Sign(c, q, r);
            });
        break;
    }
  }
  return 0;
}

}  // namespace
}  // namespace certbroker::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return certbroker::fuzz::Run(
      absl::string_view(reinterpret_cast<const char*>(data), size));
}

// AccessFixture: a certbrokerd that enforces access as a production one
// would (no development flag): TLS with required client certificates from
// an agents' CA, SPIFFE identities of one trust domain, role bindings,
// agent-selected rules, a CRL of revoked agents, per-caller limits, a store
// for the audit log, and a Unix socket whose peers are mapped by uid. The
// PKI holds every agent certificate the security tests present.
#ifndef CERTBROKER_TESTS_INTEGRATION_ACCESS_FIXTURE_H_
#define CERTBROKER_TESTS_INTEGRATION_ACCESS_FIXTURE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/devpki/pki.h"
#include "certbroker/v1/admin.grpc.pb.h"
#include "certbroker/v1/broker.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"
#include "tests/support/temp_dir.h"

namespace certbroker::testing {

// AccessPki is the fixture's PKI.
struct AccessPki {
  devpki::Issued broker_ca, broker;  // The broker's serving certificate.
  devpki::Issued agents_ca;          // Issues agents' certificates.
  devpki::Issued agent_a, agent_b, admin, auditor;  // Good agents.
  devpki::Issued expired_agent, revoked_agent, foreign_domain_agent;
  devpki::Issued stranger_ca, stranger_agent;  // Not trusted by the broker.
  devpki::Issued upstream_root, client_a, client_b;  // What rules hand out.

  static AccessPki Generate();
  // Write puts the files the configuration names under `dir`/pki.
  void Write(const TempDir& dir) const;
};

// kAgentA etc. are the SPIFFE IDs of the fixture's agents.
extern const char kAgentA[];
extern const char kAgentB[];
extern const char kAdmin[];
extern const char kAuditor[];

// TlsChannel opens a TLS channel of its own (a new connection) to
// `address`, trusting `ca_pem`, expecting the name "broker.test" and
// presenting `client` (null: no client certificate).
std::shared_ptr<grpc::Channel> TlsChannel(const std::string& address,
                                          const std::string& ca_pem,
                                          const devpki::Issued* client);

class AccessFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();

  // Channel opens a TLS channel to the broker presenting `client` (null:
  // no client certificate).
  static std::shared_ptr<grpc::Channel> Channel(const devpki::Issued* client);
  // UnixChannel connects to the broker's Unix socket.
  static std::shared_ptr<grpc::Channel> UnixChannel();

  // HasAuditRecord waits up to 5 s for an audit record (read as the admin)
  // that `wanted` accepts.
  static bool HasAuditRecord(
      const std::function<bool(const v1::AuditRecord&)>& wanted);

  static TempDir* dir_;
  static AccessPki* pki_;
  static std::unique_ptr<BrokerProcess> broker_;
};

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_INTEGRATION_ACCESS_FIXTURE_H_

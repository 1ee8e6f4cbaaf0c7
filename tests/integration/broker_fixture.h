// BrokerFixture: a PKI written to a temporary directory (good, expired,
// wrong-root, clientAuth-only and client certificates), a configuration
// using it, a running certbrokerd, and stubs on its TCP and Unix listeners.
// Shared by the integration tests.
#ifndef CERTBROKER_TESTS_INTEGRATION_BROKER_FIXTURE_H_
#define CERTBROKER_TESTS_INTEGRATION_BROKER_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "broker/devpki/pki.h"
#include "certbroker/v1/broker.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"
#include "tests/support/temp_dir.h"

namespace certbroker::testing {

// TestPki is every certificate the integration tests use.
struct TestPki {
  devpki::Issued root, intermediate, server, expired_server, client_only_server;
  devpki::Issued stranger_root, stranger_server;
  devpki::Issued client, expired_client;
  devpki::Issued revoked_server;  // Listed in pki/intermediate.crl.
  devpki::Issued denied_server;   // Its fingerprint is in the deny list.

  // Generate issues them all; fails the current test on error.
  static TestPki Generate();
  // Write puts the PEM files the configuration names under `dir`/pki.
  void Write(const TempDir& dir) const;
};

// kBrokerConfig is the configuration the fixture runs, paths relative to it,
// with placeholders for values of the generated PKI; BrokerConfigFor fills
// them in.
extern const char kBrokerConfig[];
std::string BrokerConfigFor(const TestPki& pki);

// ChainOf returns the DER of `certificates`, in order.
std::vector<std::string> ChainOf(
    std::initializer_list<const devpki::Issued*> certificates);

// MakeStub connects to a ready-file address ("127.0.0.1:PORT", "unix:PATH").
std::unique_ptr<v1::CertificateBroker::Stub> MakeStub(
    const std::string& address);

// Context returns a client context with a 10 s deadline.
std::unique_ptr<grpc::ClientContext> Context();

class BrokerFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();

  static TempDir* dir_;
  static TestPki* pki_;
  static std::unique_ptr<BrokerProcess> broker_;
  static std::unique_ptr<v1::CertificateBroker::Stub> tcp_;
  static std::unique_ptr<v1::CertificateBroker::Stub> unix_;
};

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_INTEGRATION_BROKER_FIXTURE_H_

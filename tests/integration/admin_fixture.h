// StoreBroker: a real certbrokerd keeping its policy in a store (--data_dir,
// --kek_file, --enable_admin, no --config) in a temporary directory, with
// admin and broker stubs, restartable with other flags; plus helpers that
// build admin requests from test certificates.
#ifndef CERTBROKER_TESTS_INTEGRATION_ADMIN_FIXTURE_H_
#define CERTBROKER_TESTS_INTEGRATION_ADMIN_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "broker/devpki/pki.h"
#include "certbroker/v1/admin.grpc.pb.h"
#include "certbroker/v1/broker.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tests/support/broker_process.h"
#include "tests/support/temp_dir.h"

namespace certbroker::testing {

namespace v1 = ::certbroker::v1;

// kPayPolicy is a policy document using the stored certificate
// "pay-client" for pay.example.test and the stored trust bundle "corp".
extern const char kPayPolicy[];

// Pkcs8 is `key` as PKCS#8 DER, the form GetClientCertificate returns.
std::string Pkcs8(const EVP_PKEY* key);

// WriteKek writes a fresh random KEK (64 hex digits, mode 0600) to
// dir/name and returns its path.
std::string WriteKek(const TempDir& dir, const std::string& name);

// AdminStub connects to a ready-file address.
std::unique_ptr<v1::CertificateAdmin::Stub> AdminStub(
    const std::string& address);

// PemImport is an ImportCertificateRequest for `leaf` (chain `leaf` then
// `issuers`) with `key`'s PEM.
v1::ImportCertificateRequest PemImport(
    const std::string& id, const devpki::Issued& leaf,
    const std::vector<const devpki::Issued*>& issuers, const EVP_PKEY* key);

class StoreBroker {
 public:
  // The directory holds data/ (the store), kek (the KEK) and b.sock.
  StoreBroker();
  ~StoreBroker();

  // Start runs certbrokerd with the store flags plus `extra`; fails the
  // test (and returns false) when it does not come up.
  bool Start(const std::vector<std::string>& extra = {});
  // StartWith runs it with `arguments` only (plus --listen).
  bool StartWith(const std::vector<std::string>& arguments);
  // Stop stops it gracefully and returns the exit code.
  int Stop();
  // Kill kills it with SIGKILL.
  void Kill();

  // ClientCertificate asks the broker which certificate `host` gets.
  grpc::Status ClientCertificate(const std::string& host,
                                 v1::GetClientCertificateResponse* response);

  const TempDir& dir() const { return dir_; }
  std::string data_dir() const { return dir_.Path("data"); }
  std::string kek() const { return kek_; }
  BrokerProcess& process() { return *process_; }
  v1::CertificateAdmin::Stub& admin() { return *admin_; }
  v1::CertificateBroker::Stub& broker() { return *broker_; }

 private:
  TempDir dir_;
  std::string kek_;
  std::unique_ptr<BrokerProcess> process_;
  std::unique_ptr<v1::CertificateAdmin::Stub> admin_;
  std::unique_ptr<v1::CertificateBroker::Stub> broker_;
};

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_INTEGRATION_ADMIN_FIXTURE_H_

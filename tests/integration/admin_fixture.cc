// The store-backed broker the admin API tests run against.
#include "tests/integration/admin_fixture.h"

#include <signal.h>
#include <sys/stat.h>

#include "absl/strings/escaping.h"
#include "broker/x509/boringssl.h"
#include "broker/x509/keys.h"
#include "gtest/gtest.h"
#include "tests/integration/broker_fixture.h"

namespace certbroker::testing {

const char kPayPolicy[] =
    "rules:\n"
    "  - name: payments\n"
    "    match: { hosts: [pay.example.test] }\n"
    "    client_certificate: pay-client\n"
    "    server_validation: { trust_bundles: [corp] }\n";

std::string Pkcs8(const EVP_PKEY* key) {
  auto der = x509::PrivateKeyToPkcs8Der(key);
  return der.ok() ? *der : std::string();
}

std::string WriteKek(const TempDir& dir, const std::string& name) {
  uint8_t raw[32];
  RAND_bytes(raw, sizeof(raw));
  std::string path =
      dir.Write(name, absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(raw), sizeof(raw))) +
                          "\n");
  ::chmod(path.c_str(), 0600);
  return path;
}

std::unique_ptr<v1::CertificateAdmin::Stub> AdminStub(
    const std::string& address) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxSendMessageSize(32 << 20);
  return v1::CertificateAdmin::NewStub(grpc::CreateCustomChannel(
      address, grpc::InsecureChannelCredentials(), arguments));
}

v1::ImportCertificateRequest PemImport(
    const std::string& id, const devpki::Issued& leaf,
    const std::vector<const devpki::Issued*>& issuers, const EVP_PKEY* key) {
  v1::ImportCertificateRequest request;
  request.set_certificate_id(id);
  std::string chain = leaf.CertificatePem();
  for (const devpki::Issued* issuer : issuers) {
    chain += issuer->CertificatePem();
  }
  request.mutable_pem()->set_chain_pem(chain);
  devpki::Issued holder;
  holder.key = bssl::UpRef(const_cast<EVP_PKEY*>(key));
  request.mutable_pem()->set_key_pem(holder.KeyPem());
  return request;
}

StoreBroker::StoreBroker() { kek_ = WriteKek(dir_, "kek"); }

StoreBroker::~StoreBroker() {
  if (process_ != nullptr) Stop();
}

bool StoreBroker::Start(const std::vector<std::string>& extra) {
  std::vector<std::string> arguments = {"--data_dir=" + data_dir(),
                                        "--kek_file=" + kek_, "--enable_admin"};
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  return StartWith(arguments);
}

bool StoreBroker::StartWith(const std::vector<std::string>& arguments) {
  std::vector<std::string> all = arguments;
  all.push_back("--listen=unix:" + dir_.Path("b.sock"));
  auto started = BrokerProcess::Start(all, dir_.path());
  EXPECT_TRUE(started.ok()) << started.status();
  if (!started.ok()) return false;
  process_ = std::move(started).value();
  admin_ = AdminStub(process_->addresses()[0]);
  broker_ = MakeStub(process_->addresses()[0]);
  return true;
}

grpc::Status StoreBroker::ClientCertificate(
    const std::string& host, v1::GetClientCertificateResponse* response) {
  v1::GetClientCertificateRequest request;
  request.mutable_target()->set_host(host);
  return broker_->GetClientCertificate(Context().get(), request, response);
}

int StoreBroker::Stop() {
  int code = process_->Stop();
  process_.reset();
  return code;
}

void StoreBroker::Kill() {
  process_->Signal(SIGKILL);
  process_->Stop();
  process_.reset();
}

}  // namespace certbroker::testing

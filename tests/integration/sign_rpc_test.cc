// Keyless signing against a real certbrokerd: a non-exportable certificate
// comes with a key handle and no key bytes; Sign's ECDSA P-256 and RSA-PSS
// signatures verify under the leaf's public key; and a handle stops working
// when it should: used by another caller (two TLS identities), after a
// broker restart, after the certificate rotates (a Kubernetes-style secret
// directory), for an algorithm the key cannot do or an input of the wrong
// length. The signature_algorithms filter of GetClientCertificate answers
// NOT_FOUND when the key can do none of the server's algorithms.
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "broker/keyless/signature_scheme.h"
#include "broker/x509/boringssl.h"
#include "broker/x509/certificate.h"
// After boringssl.h, which checks the include order.
#include <openssl/bn.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/access_fixture.h"
#include "tests/integration/admin_fixture.h"
#include "tests/integration/broker_fixture.h"
#include "tests/support/kubernetes_volume.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Sha(const EVP_MD* md, const std::string& message) {
  std::string digest(EVP_MD_size(md), '\0');
  unsigned length = 0;
  EXPECT_TRUE(EVP_Digest(message.data(), message.size(),
                         reinterpret_cast<uint8_t*>(digest.data()), &length, md,
                         nullptr));
  return digest;
}

bssl::UniquePtr<EVP_PKEY> LeafKey(const std::string& leaf_der) {
  const auto* data = reinterpret_cast<const uint8_t*>(leaf_der.data());
  bssl::UniquePtr<X509> leaf(d2i_X509(nullptr, &data, leaf_der.size()));
  EXPECT_NE(leaf, nullptr);
  return bssl::UniquePtr<EVP_PKEY>(leaf ? X509_get_pubkey(leaf.get())
                                        : nullptr);
}

bool EcdsaVerifies(const EVP_PKEY* key, const std::string& digest,
                   const std::string& signature) {
  return key != nullptr &&
         ECDSA_verify(0, reinterpret_cast<const uint8_t*>(digest.data()),
                      digest.size(),
                      reinterpret_cast<const uint8_t*>(signature.data()),
                      signature.size(), EVP_PKEY_get0_EC_KEY(key)) == 1;
}

v1::GetClientCertificateRequest CertificateRequest(
    const std::string& host, std::vector<uint32_t> algorithms = {}) {
  v1::GetClientCertificateRequest request;
  request.mutable_target()->set_host(host);
  for (uint32_t algorithm : algorithms)
    request.add_signature_algorithms(algorithm);
  return request;
}

grpc::Status CallSign(v1::CertificateBroker::Stub& stub,
                      const std::string& handle, uint32_t algorithm,
                      const std::string& input, std::string* signature) {
  v1::SignRequest request;
  request.set_key_handle(handle);
  request.set_algorithm(algorithm);
  request.set_input(input);
  v1::SignResponse response;
  grpc::Status status = stub.Sign(Context().get(), request, &response);
  if (signature != nullptr) *signature = response.signature();
  return status;
}

// SignRpcTest runs a broker with a store (for the audit log and restarts)
// and a policy file: an EC P-256 certificate from a secret directory, an
// RSA one from files, and an exportable one, for three hosts.
class SignRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MustIssue(devpki::RootSpec("Keyless Root"), nullptr);
    for (const char* name : {"ec-first", "ec-second"}) {
      ec_clients_.push_back(MustIssue(devpki::ClientSpec(name), &root_));
    }
    devpki::CertificateSpec rsa = devpki::ClientSpec("rsa-client");
    rsa.key_type = devpki::KeyType::kRsa2048;
    rsa_client_ = MustIssue(rsa, &root_);
    const TempDir& dir = broker_.dir();
    dir.Write("pki/root.pem", root_.CertificatePem());
    dir.Write("pki/rsa.pem", rsa_client_.CertificatePem());
    dir.Write("pki/rsa.key", rsa_client_.KeyPem());
    secret_dir_ = dir.Path("mounts/ec");
    volume_ = std::make_unique<KubernetesVolume>(secret_dir_);
    volume_->Publish(Files(ec_clients_[0]));
    config_ = dir.Write(
        "config.yaml",
        absl::StrCat(
            "trust_bundles: [{name: roots, pem_file: pki/root.pem}]\n"
            "certificates:\n"
            "  - {id: ec-key, secret_dir: ",
            secret_dir_,
            "}\n"
            "  - {id: rsa-key, chain_pem_file: pki/rsa.pem, key_pem_file: "
            "pki/rsa.key}\n"
            "  - {id: open-key, chain_pem_file: pki/rsa.pem, key_pem_file: "
            "pki/rsa.key, exportable: true}\n"
            "rules:\n"
            "  - {name: ec, match: {hosts: [ec.example.test]}, "
            "client_certificate: ec-key, server_validation: {trust_bundles: "
            "[roots]}}\n"
            "  - {name: rsa, match: {hosts: [rsa.example.test]}, "
            "client_certificate: rsa-key, server_validation: {trust_bundles: "
            "[roots]}}\n"
            "  - {name: open, match: {hosts: [open.example.test]}, "
            "client_certificate: open-key, server_validation: {trust_bundles: "
            "[roots]}}\n"));
    ASSERT_TRUE(Start());
  }

  bool Start() {
    return broker_.StartWith({"--config=" + config_,
                              "--data_dir=" + broker_.data_dir(),
                              "--enable_admin"});
  }

  std::map<std::string, std::string> Files(const devpki::Issued& client) {
    return {{"tls.crt", client.CertificatePem()}, {"tls.key", client.KeyPem()}};
  }

  // Given asks for the certificate of `host`, expecting success.
  v1::GetClientCertificateResponse Given(const std::string& host) {
    v1::GetClientCertificateResponse response;
    grpc::Status status = broker_.broker().GetClientCertificate(
        Context().get(), CertificateRequest(host), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  devpki::Issued root_;
  std::vector<devpki::Issued> ec_clients_;
  devpki::Issued rsa_client_;
  std::string secret_dir_;
  std::unique_ptr<KubernetesVolume> volume_;
  std::string config_;
  StoreBroker broker_;
};

TEST_F(SignRpcTest, NonExportableCertificateComesWithAHandleAndNoKey) {
  const absl::Time asked = absl::Now();
  v1::GetClientCertificateResponse response = Given("ec.example.test");
  EXPECT_EQ(response.certificate_id(), "ec-key");
  EXPECT_EQ(response.private_key(), "");
  ASSERT_TRUE(response.has_key_handle());
  EXPECT_FALSE(response.key_handle().handle().empty());
  EXPECT_THAT(response.key_handle().signature_algorithms(),
              ElementsAre(keyless::kEcdsaSecp256r1Sha256));
  const int64_t expires = response.key_handle().expires().seconds();
  EXPECT_GE(expires, absl::ToUnixSeconds(asked + absl::Minutes(15)) - 1);
  EXPECT_LE(expires, absl::ToUnixSeconds(absl::Now() + absl::Minutes(15)));
  ASSERT_EQ(response.certificate_chain_size(), 1);
  EXPECT_EQ(response.certificate_chain(0), ec_clients_[0].Der());
  // No byte of the private key travels, in any encoding.
  std::string scalar(32, '\0');
  ASSERT_TRUE(BN_bn2bin_padded(
      reinterpret_cast<uint8_t*>(scalar.data()), scalar.size(),
      EC_KEY_get0_private_key(EVP_PKEY_get0_EC_KEY(ec_clients_[0].key.get()))));
  EXPECT_EQ(response.SerializeAsString().find(scalar), std::string::npos);

  // The exportable one still comes with its key and no handle.
  v1::GetClientCertificateResponse open = Given("open.example.test");
  EXPECT_EQ(open.private_key(), Pkcs8(rsa_client_.key.get()));
  EXPECT_FALSE(open.has_key_handle());
}

TEST_F(SignRpcTest, EcdsaP256SignatureVerifiesUnderTheLeafKey) {
  v1::GetClientCertificateResponse given = Given("ec.example.test");
  const std::string digest = Sha(EVP_sha256(), "client CertificateVerify");
  std::string signature;
  grpc::Status status =
      CallSign(broker_.broker(), given.key_handle().handle(),
               keyless::kEcdsaSecp256r1Sha256, digest, &signature);
  ASSERT_TRUE(status.ok()) << status.error_message();
  bssl::UniquePtr<EVP_PKEY> leaf_key = LeafKey(given.certificate_chain(0));
  EXPECT_TRUE(EcdsaVerifies(leaf_key.get(), digest, signature));
  EXPECT_FALSE(
      EcdsaVerifies(leaf_key.get(), Sha(EVP_sha256(), "other"), signature));

  // Recorded: the certificate, the leaf and the algorithm, no bytes.
  v1::ListAuditRecordsRequest request;
  request.set_verdict("sign");
  v1::ListAuditRecordsResponse records;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {  // The audit log is written behind the answer.
    ASSERT_TRUE(broker_.admin()
                    .ListAuditRecords(Context().get(), request, &records)
                    .ok());
    if (records.records_size() > 0) break;
    absl::SleepFor(absl::Milliseconds(20));
  } while (absl::Now() < deadline);
  ASSERT_EQ(records.records_size(), 1);
  const v1::AuditRecord& record = records.records(0);
  EXPECT_EQ(record.rpc(), "Sign");
  EXPECT_EQ(record.target(), "certificates/ec-key");
  EXPECT_EQ(record.reason(), "ecdsa_secp256r1_sha256");
  EXPECT_EQ(record.rule(), "ec");
  EXPECT_EQ(record.agent(), "dev:insecure-loopback");
  EXPECT_EQ(record.leaf_fingerprint(), x509::Sha256Hex(ec_clients_[0].Der()));
  EXPECT_EQ(record.detail(), "");
}

TEST_F(SignRpcTest, RsaPssAndPkcs1SignaturesVerifyUnderTheLeafKey) {
  v1::GetClientCertificateResponse given = Given("rsa.example.test");
  EXPECT_EQ(given.private_key(), "");
  EXPECT_THAT(given.key_handle().signature_algorithms(),
              ElementsAre(0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601));
  bssl::UniquePtr<EVP_PKEY> leaf_key = LeafKey(given.certificate_chain(0));
  ASSERT_NE(leaf_key, nullptr);
  const std::string digest = Sha(EVP_sha256(), "transcript");
  std::string signature;
  grpc::Status pss = CallSign(broker_.broker(), given.key_handle().handle(),
                              keyless::kRsaPssRsaeSha256, digest, &signature);
  ASSERT_TRUE(pss.ok()) << pss.error_message();
  EXPECT_EQ(
      RSA_verify_pss_mgf1(EVP_PKEY_get0_RSA(leaf_key.get()),
                          reinterpret_cast<const uint8_t*>(digest.data()),
                          digest.size(), EVP_sha256(), EVP_sha256(), 32,
                          reinterpret_cast<const uint8_t*>(signature.data()),
                          signature.size()),
      1);
  const std::string digest512 = Sha(EVP_sha512(), "transcript");
  grpc::Status pkcs1 =
      CallSign(broker_.broker(), given.key_handle().handle(),
               keyless::kRsaPkcs1Sha512, digest512, &signature);
  ASSERT_TRUE(pkcs1.ok()) << pkcs1.error_message();
  EXPECT_EQ(
      RSA_verify(NID_sha512, reinterpret_cast<const uint8_t*>(digest512.data()),
                 digest512.size(),
                 reinterpret_cast<const uint8_t*>(signature.data()),
                 signature.size(), EVP_PKEY_get0_RSA(leaf_key.get())),
      1);
}

TEST_F(SignRpcTest, WrongAlgorithmOrInputLengthIsInvalidArgument) {
  const std::string handle = Given("ec.example.test").key_handle().handle();
  grpc::Status short_input =
      CallSign(broker_.broker(), handle, keyless::kEcdsaSecp256r1Sha256,
               std::string(31, 'd'), nullptr);
  EXPECT_EQ(short_input.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(short_input.error_message(),
            "certificate 'ec-key': input is 31 bytes; ecdsa_secp256r1_sha256 "
            "signs a SHA-256 digest of 32 bytes");
  grpc::Status wrong_key =
      CallSign(broker_.broker(), handle, keyless::kRsaPssRsaeSha256,
               std::string(32, 'd'), nullptr);
  EXPECT_EQ(wrong_key.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(wrong_key.error_message(),
            "certificate 'ec-key': algorithm rsa_pss_rsae_sha256 cannot sign "
            "with the EC P-256 key (it can: ecdsa_secp256r1_sha256)");
  grpc::Status unknown =
      CallSign(broker_.broker(), handle, 0x0203, std::string(20, 'd'), nullptr);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(unknown.error_message(),
            "certificate 'ec-key': algorithm 0x0203 is not a signature "
            "scheme the broker signs with");
  grpc::Status garbled =
      CallSign(broker_.broker(), handle.substr(1),
               keyless::kEcdsaSecp256r1Sha256, std::string(32, 'd'), nullptr);
  EXPECT_EQ(garbled.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(garbled.error_message(), StartsWith("malformed key handle"));
  grpc::Status missing =
      CallSign(broker_.broker(), "", keyless::kEcdsaSecp256r1Sha256,
               std::string(32, 'd'), nullptr);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(missing.error_message(), "key_handle is required");
}

TEST_F(SignRpcTest, SignatureAlgorithmsTheKeyCannotDoAreNotFound) {
  v1::GetClientCertificateResponse response;
  grpc::Status none = broker_.broker().GetClientCertificate(
      Context().get(),
      CertificateRequest("ec.example.test", {0x0804, 0x0401, 0x0807}),
      &response);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(none.error_message(),
            "certificate 'ec-key' (rule 'ec') has an EC P-256 key, which can "
            "sign with none of the 3 signature algorithms the server accepts "
            "(it can: ecdsa_secp256r1_sha256)");
  EXPECT_FALSE(response.has_key_handle());
  grpc::Status one = broker_.broker().GetClientCertificate(
      Context().get(), CertificateRequest("ec.example.test", {0x0804, 0x0403}),
      &response);
  EXPECT_TRUE(one.ok()) << one.error_message();
  // The filter holds for exportable certificates too.
  grpc::Status open = broker_.broker().GetClientCertificate(
      Context().get(), CertificateRequest("open.example.test", {0x0403}),
      &response);
  EXPECT_EQ(open.error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::Status too_wide = broker_.broker().GetClientCertificate(
      Context().get(), CertificateRequest("ec.example.test", {0x10403}),
      &response);
  EXPECT_EQ(too_wide.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(too_wide.error_message(),
            "signature_algorithms[0]: 0x10403 is not a TLS SignatureScheme (16 "
            "bits)");
}

TEST_F(SignRpcTest, RotationInvalidatesTheHandle) {
  const std::string old_handle = Given("ec.example.test").key_handle().handle();
  volume_->Publish(Files(ec_clients_[1]));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  v1::GetClientCertificateResponse rotated;
  while (absl::Now() < deadline) {
    rotated = Given("ec.example.test");
    if (rotated.certificate_chain_size() > 0 &&
        rotated.certificate_chain(0) == ec_clients_[1].Der()) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(rotated.certificate_chain(0), ec_clients_[1].Der())
      << broker_.process().Log();
  const std::string digest = Sha(EVP_sha256(), "after rotation");
  grpc::Status stale =
      CallSign(broker_.broker(), old_handle, keyless::kEcdsaSecp256r1Sha256,
               digest, nullptr);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(stale.error_message(),
            "certificate 'ec-key' was rotated since the handle was given out; "
            "call GetClientCertificate again");
  std::string signature;
  grpc::Status fresh =
      CallSign(broker_.broker(), rotated.key_handle().handle(),
               keyless::kEcdsaSecp256r1Sha256, digest, &signature);
  ASSERT_TRUE(fresh.ok()) << fresh.error_message();
  bssl::UniquePtr<EVP_PKEY> new_key = LeafKey(ec_clients_[1].Der());
  EXPECT_TRUE(EcdsaVerifies(new_key.get(), digest, signature));
}

TEST_F(SignRpcTest, RestartInvalidatesTheHandle) {
  const std::string handle = Given("ec.example.test").key_handle().handle();
  ASSERT_EQ(broker_.Stop(), 0);
  ASSERT_TRUE(Start());
  grpc::Status status =
      CallSign(broker_.broker(), handle, keyless::kEcdsaSecp256r1Sha256,
               Sha(EVP_sha256(), "m"), nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(),
            "key handle was given out by another broker process: the broker "
            "restarted since it gave out this handle; call "
            "GetClientCertificate again");
  // A new handle works.
  grpc::Status fresh =
      CallSign(broker_.broker(), Given("ec.example.test").key_handle().handle(),
               keyless::kEcdsaSecp256r1Sha256, Sha(EVP_sha256(), "m"), nullptr);
  EXPECT_TRUE(fresh.ok()) << fresh.error_message();
}

// A certificate held in the broker's store, taken away from the target by a
// policy change and then deleted through the admin API: its handles stop
// working at once, each time with the reason.
TEST(SignStoreTest, PolicyChangeAndRemovalInvalidateTheHandle) {
  devpki::Issued root = MustIssue(devpki::RootSpec("Store Root"), nullptr);
  devpki::Issued client = MustIssue(devpki::ClientSpec("pay-client"), &root);
  StoreBroker broker;
  ASSERT_TRUE(broker.Start());
  v1::Certificate certificate;
  grpc::Status imported = broker.admin().ImportCertificate(
      Context().get(), PemImport("pay-client", client, {}, client.key.get()),
      &certificate);
  ASSERT_TRUE(imported.ok()) << imported.error_message();
  EXPECT_FALSE(certificate.exportable());
  v1::UpdateTrustBundleRequest bundle;
  bundle.mutable_trust_bundle()->set_name("trustBundles/corp");
  bundle.mutable_trust_bundle()->set_certificates_pem(root.CertificatePem());
  bundle.set_allow_missing(true);
  v1::TrustBundle stored;
  ASSERT_TRUE(
      broker.admin().UpdateTrustBundle(Context().get(), bundle, &stored).ok());
  auto put_policy = [&](const std::string& document) {
    v1::UpdatePolicyRequest request;
    request.mutable_policy()->set_document(document);
    v1::Policy policy;
    grpc::Status status =
        broker.admin().UpdatePolicy(Context().get(), request, &policy);
    EXPECT_TRUE(status.ok()) << status.error_message();
  };
  put_policy(kPayPolicy);

  v1::GetClientCertificateResponse given;
  grpc::Status status = broker.ClientCertificate("pay.example.test", &given);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::string handle = given.key_handle().handle();
  ASSERT_FALSE(handle.empty());
  const std::string digest = Sha(EVP_sha256(), "before removal");
  grpc::Status before = CallSign(
      broker.broker(), handle, keyless::kEcdsaSecp256r1Sha256, digest, nullptr);
  EXPECT_TRUE(before.ok()) << before.error_message();

  // The rule goes first (a certificate in use cannot be deleted).
  put_policy("rules: []\n");
  grpc::Status no_rule = CallSign(
      broker.broker(), handle, keyless::kEcdsaSecp256r1Sha256, digest, nullptr);
  EXPECT_EQ(no_rule.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(no_rule.error_message(),
            "the policy no longer gives certificate 'pay-client' to this "
            "caller for https://pay.example.test:443; call "
            "GetClientCertificate again");
  v1::DeleteCertificateRequest remove;
  remove.set_name("certificates/pay-client");
  v1::DeleteCertificateResponse removed;
  grpc::Status deleted =
      broker.admin().DeleteCertificate(Context().get(), remove, &removed);
  ASSERT_TRUE(deleted.ok()) << deleted.error_message();
  grpc::Status after = CallSign(
      broker.broker(), handle, keyless::kEcdsaSecp256r1Sha256, digest, nullptr);
  EXPECT_EQ(after.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(after.error_message(),
            "certificate 'pay-client' was removed since the handle was given "
            "out; call GetClientCertificate again");
}

// kKeylessAccessConfig gives agent A a non-exportable certificate, with
// callers authenticated by TLS client certificates.
constexpr char kKeylessAccessConfig[] = R"(
trust_bundles:
  - {name: agents-ca, pem_file: pki/agents-ca.pem}
  - {name: upstream, pem_file: pki/upstream.pem}
certificates:
  - {id: cert-a, chain_pem_file: pki/client-a.pem, key_pem_file: pki/client-a.key}
rules:
  - name: for-a
    match: {hosts: [a.example.test], agents: ['spiffe://corp.test/ns/a/*']}
    client_certificate: cert-a
    server_validation: {trust_bundles: [upstream]}
access:
  tls:
    chain_pem_file: pki/broker.pem
    key_pem_file: pki/broker.key
    client_ca_bundles: [agents-ca]
  identity: {spiffe_trust_domains: [corp.test]}
  roles:
    - {identities: ['spiffe://corp.test/ns/*/sa/*'], roles: [AGENT]}
)";

TEST(SignAccessTest, HandleOfAnotherCallerIsPermissionDenied) {
  TempDir dir;
  AccessPki pki = AccessPki::Generate();
  pki.Write(dir);
  std::string config = dir.Write("config.yaml", kKeylessAccessConfig);
  auto broker = BrokerProcess::Start(
      {"--config=" + config, "--listen=127.0.0.1:0"}, dir.path(),
      absl::Seconds(20), BrokerAccess::kAsConfigured);
  ASSERT_TRUE(broker.ok()) << broker.status();
  const std::string address = (*broker)->addresses()[0];
  const std::string ca = pki.broker_ca.CertificatePem();
  auto agent_a =
      v1::CertificateBroker::NewStub(TlsChannel(address, ca, &pki.agent_a));
  auto agent_b =
      v1::CertificateBroker::NewStub(TlsChannel(address, ca, &pki.agent_b));

  v1::GetClientCertificateResponse given;
  grpc::Status status = agent_a->GetClientCertificate(
      Context().get(), CertificateRequest("a.example.test"), &given);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(given.private_key(), "");
  const std::string handle = given.key_handle().handle();
  ASSERT_FALSE(handle.empty());
  const std::string digest = Sha(EVP_sha256(), "handshake of A");

  grpc::Status stolen = CallSign(
      *agent_b, handle, keyless::kEcdsaSecp256r1Sha256, digest, nullptr);
  EXPECT_EQ(stolen.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stolen.error_message(), "key handle was issued to another caller");

  std::string signature;
  grpc::Status own = CallSign(*agent_a, handle, keyless::kEcdsaSecp256r1Sha256,
                              digest, &signature);
  ASSERT_TRUE(own.ok()) << own.error_message();
  bssl::UniquePtr<EVP_PKEY> leaf_key = LeafKey(pki.client_a.Der());
  EXPECT_TRUE(EcdsaVerifies(leaf_key.get(), digest, signature));
  EXPECT_EQ((*broker)->Stop(), 0) << (*broker)->Log();
}

}  // namespace
}  // namespace certbroker::testing

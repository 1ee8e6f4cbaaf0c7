// make_corpus writes the fuzz targets' fixed PKI (tests/fuzz/data) and their
// seed corpora (tests/fuzz/corpus/<target>/), all made with the project's
// own PKI factory (broker/devpki). Run it from the repository root after a
// change of the targets' input formats, and commit what it writes:
//   build-fuzz/tests/fuzz/make_corpus tests/fuzz
// Keys are random, so every run writes different bytes; the certificates
// are valid from 2026 to 2036 and the targets validate at a fixed time in
// 2027 (fuzz_support.h), so the seeds do not expire.
#include <openssl/pkcs8.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "broker/common/file.h"
#include "broker/devpki/ocsp_builder.h"
#include "broker/devpki/pki.h"
#include "broker/service/verdict_cache.h"
#include "broker/x509/boringssl.h"
#include "broker/x509/pem.h"
#include "certbroker/config/v1/config.pb.h"
#include "certbroker/v1/admin.pb.h"
#include "certbroker/v1/broker.pb.h"
#include "tests/fuzz/fuzz_support.h"

namespace certbroker::fuzz {
namespace {

namespace v1 = ::certbroker::v1;
using devpki::Issued;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "make_corpus: %s\n", message.c_str());
  std::exit(1);
}

template <typename T>
T Must(absl::StatusOr<T> value, const std::string& what) {
  if (!value.ok()) Die(absl::StrCat(what, ": ", value.status().message()));
  return *std::move(value);
}

devpki::CertificateSpec Fixed(devpki::CertificateSpec spec) {
  spec.not_before = FixedPkiValidFrom();
  spec.not_after = FixedPkiValidUntil();
  return spec;
}

Issued MustIssue(const devpki::CertificateSpec& spec, const Issued* issuer) {
  return Must(devpki::Issue(spec, issuer), spec.common_name);
}

class Writer {
 public:
  explicit Writer(std::string root) : root_(std::move(root)) {}

  void Write(const std::string& directory, const std::string& name,
             const std::string& contents) {
    std::string dir = absl::StrCat(root_, "/", directory);
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) Die(absl::StrCat("cannot create ", dir, ": ", error.message()));
    absl::Status written =
        WriteFileAtomically(absl::StrCat(dir, "/", name), contents);
    if (!written.ok()) Die(std::string(written.message()));
    std::printf("%s/%s (%zu bytes)\n", directory.c_str(), name.c_str(),
                contents.size());
  }

 private:
  std::string root_;
};

std::string CrlPem(const devpki::CrlSpec& spec, const Issued& issuer) {
  return x509::CrlToPem(Must(devpki::IssueCrl(spec, issuer), "CRL").get());
}

// Pkcs12 is BoringSSL's PKCS12_create with `password`; nids as there (0:
// the default, -1: unencrypted). Iteration counts are kept low so that the
// target spends its time parsing rather than deriving keys.
std::string Pkcs12(const Issued& leaf, const std::vector<const Issued*>& others,
                   int key_nid, int cert_nid, int iterations) {
  bssl::UniquePtr<STACK_OF(X509)> stack(sk_X509_new_null());
  for (const Issued* other : others) {
    if (!sk_X509_push(stack.get(), other->certificate.get())) Die("push");
    X509_up_ref(other->certificate.get());
  }
  bssl::UniquePtr<PKCS12> pkcs12(PKCS12_create(
      kPkcs12Password, /*name=*/nullptr, leaf.key.get(), leaf.certificate.get(),
      stack.get(), key_nid, cert_nid, iterations, iterations, /*key_type=*/0));
  if (pkcs12 == nullptr) Die("PKCS12_create: " + x509::DrainErrorQueue());
  uint8_t* der = nullptr;
  int length = i2d_PKCS12(pkcs12.get(), &der);
  if (length <= 0) Die("i2d_PKCS12");
  bssl::UniquePtr<uint8_t> owned(der);
  return std::string(reinterpret_cast<const char*>(der), length);
}

std::string TraditionalKeyPem(const EVP_PKEY* key) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  int ok = 0;
  if (EVP_PKEY_id(key) == EVP_PKEY_RSA) {
    ok = PEM_write_bio_RSAPrivateKey(bio.get(), EVP_PKEY_get0_RSA(key), nullptr,
                                     nullptr, 0, nullptr, nullptr);
  } else {
    ok = PEM_write_bio_ECPrivateKey(bio.get(), EVP_PKEY_get0_EC_KEY(key),
                                    nullptr, nullptr, 0, nullptr, nullptr);
  }
  if (!ok) Die("PEM_write_bio");
  const uint8_t* data = nullptr;
  size_t length = 0;
  BIO_mem_contents(bio.get(), &data, &length);
  return std::string(reinterpret_cast<const char*>(data), length);
}

// AddNames adds the field names (as YAML and JSON spell them) and enum value
// names of `type` and the messages it holds to `names`.
void AddNames(const google::protobuf::Descriptor& type,
              std::set<std::string>& names,
              std::set<const google::protobuf::Descriptor*>& seen) {
  if (!seen.insert(&type).second) return;
  for (int i = 0; i < type.field_count(); ++i) {
    const google::protobuf::FieldDescriptor& field = *type.field(i);
    names.insert(field.name());
    names.insert(field.json_name());
    if (field.enum_type() != nullptr) {
      for (int v = 0; v < field.enum_type()->value_count(); ++v) {
        names.insert(field.enum_type()->value(v)->name());
      }
    }
    if (field.message_type() != nullptr) {
      AddNames(*field.message_type(), names, seen);
    }
  }
}

// ConfigDictionary is a libFuzzer dictionary of the configuration schema's
// names: protobuf (not instrumented) matches them, so the fuzzer cannot
// learn them from comparisons.
std::string ConfigDictionary() {
  std::set<std::string> names;
  std::set<const google::protobuf::Descriptor*> seen;
  AddNames(*config::v1::BrokerConfig::descriptor(), names, seen);
  std::string dictionary =
      "# Field and enum value names of certbroker.config.v1.BrokerConfig,\n"
      "# written by make_corpus.\n";
  for (const std::string& name : names) {
    absl::StrAppend(&dictionary, "\"", name, "\"\n");
  }
  return dictionary;
}

void SetTarget(const std::string& host, v1::Target* target) {
  target->set_url(absl::StrCat("https://", host, "/v1/items"));
}

int Main(const std::string& out) {
  Writer writer(out);

  // The fixed PKI: a root and an intermediate with a CRL each, servers and
  // a client under the intermediate, and an unrelated root.
  devpki::CertificateSpec root_spec =
      Fixed(devpki::RootSpec("Certbroker Fuzz Root"));
  Issued root = MustIssue(root_spec, nullptr);
  Issued intermediate = MustIssue(
      Fixed(devpki::IntermediateSpec("Certbroker Fuzz Intermediate")), &root);
  Issued server = MustIssue(
      Fixed(devpki::ServerSpec("api.example.test",
                               {"api.example.test", "*.svc.example.test"},
                               {"127.0.0.1", "::1"})),
      &intermediate);
  devpki::CertificateSpec rsa_spec = Fixed(devpki::ServerSpec(
      "rsa.example.test", {"api.example.test"}, {"127.0.0.1"}));
  rsa_spec.key_type = devpki::KeyType::kRsa2048;
  Issued rsa_server = MustIssue(rsa_spec, &intermediate);
  Issued revoked = MustIssue(
      Fixed(devpki::ServerSpec("api.example.test", {"api.example.test"})),
      &intermediate);
  devpki::CertificateSpec expired_spec =
      Fixed(devpki::ServerSpec("api.example.test", {"api.example.test"}));
  expired_spec.not_after = FixedNow() - absl::Hours(24 * 30);
  Issued expired = MustIssue(expired_spec, &intermediate);
  Issued client =
      MustIssue(Fixed(devpki::ClientSpec("fuzz-client")), &intermediate);
  Issued other_client =
      MustIssue(Fixed(devpki::ClientSpec("other-client")), &intermediate);
  Issued unrelated_root =
      MustIssue(Fixed(devpki::RootSpec("Unrelated Fuzz Root")), nullptr);
  Issued unrelated_server = MustIssue(
      Fixed(devpki::ServerSpec("api.example.test", {"api.example.test"})),
      &unrelated_root);

  devpki::CrlSpec intermediate_crl;
  intermediate_crl.revoked = {revoked.certificate.get()};
  intermediate_crl.this_update = FixedPkiValidFrom();
  intermediate_crl.next_update = FixedPkiValidUntil();
  devpki::CrlSpec root_crl = intermediate_crl;
  root_crl.revoked = {};
  std::string crls =
      CrlPem(intermediate_crl, intermediate) + CrlPem(root_crl, root);

  std::string client_chain =
      client.CertificatePem() + intermediate.CertificatePem();
  writer.Write("data", "roots.pem", root.CertificatePem());
  writer.Write("data", "crls.pem", crls);
  writer.Write("data", "client-chain.pem", client_chain);
  writer.Write("data", "client.key", client.KeyPem());

  // chain_validator: a flags byte (see chain_validator_fuzzer.cc), then
  // frames of DER certificates, the last one an OCSP response with flag 1.
  devpki::OcspResponseSpec ocsp;
  ocsp.produced_at = FixedNow() - absl::Hours(1);
  ocsp.this_update = FixedNow() - absl::Hours(2);
  ocsp.next_update = FixedNow() + absl::Hours(24);
  std::string good_ocsp =
      Must(devpki::BuildOcspResponse(ocsp, server, intermediate, intermediate),
           "OCSP");
  auto chain = [](uint8_t flags, std::vector<std::string> frames) {
    return std::string(1, static_cast<char>(flags)) + WriteFrames(frames);
  };
  writer.Write("corpus/chain_validator", "good",
               chain(0x20, {server.Der(), intermediate.Der()}));
  writer.Write("corpus/chain_validator", "good-ocsp-hard-fail",
               chain(0x09, {server.Der(), intermediate.Der(), good_ocsp}));
  writer.Write("corpus/chain_validator", "rsa-ip-pinned",
               chain(0x42, {rsa_server.Der(), intermediate.Der(), root.Der()}));
  writer.Write("corpus/chain_validator", "revoked",
               chain(0x00, {revoked.Der(), intermediate.Der()}));
  writer.Write("corpus/chain_validator", "expired-relaxed",
               chain(0x90, {expired.Der(), intermediate.Der()}));
  writer.Write("corpus/chain_validator", "unrelated",
               chain(0x00, {unrelated_server.Der(), unrelated_root.Der()}));

  // pem: certificates, keys in every form read, CRLs.
  writer.Write("corpus/pem", "chain.pem",
               server.CertificatePem() + intermediate.CertificatePem());
  writer.Write("corpus/pem", "pkcs8.key", client.KeyPem());
  writer.Write("corpus/pem", "rsa.key",
               TraditionalKeyPem(rsa_server.key.get()));
  writer.Write("corpus/pem", "ec.key", TraditionalKeyPem(server.key.get()));
  writer.Write("corpus/pem", "crls.pem", crls);

  // pkcs12: PKCS12_create's default algorithms (3DES key, RC2 certificates,
  // SHA-1 MAC; this BoringSSL's PKCS12_create writes no PBES2), unencrypted
  // bags, an RSA key.
  writer.Write("corpus/pkcs12", "default.p12",
               Pkcs12(client, {&intermediate, &root}, 0, 0, 1));
  writer.Write("corpus/pkcs12", "plain.p12",
               Pkcs12(server, {&intermediate}, -1, -1, 1));
  writer.Write("corpus/pkcs12", "rsa.p12",
               Pkcs12(rsa_server, {&root, &intermediate}, 0, -1, 1));

  // config: YAML and JSON documents with inline PEM, so that they compile
  // all the way; one names files (which fail: the target has none).
  std::string indented_root = "      " + root.CertificatePem();
  for (size_t at = indented_root.find('\n');
       at != std::string::npos && at + 1 < indented_root.size();
       at = indented_root.find('\n', at + 1)) {
    indented_root.insert(at + 1, "      ");
  }
  writer.Write("corpus/config", "full.yaml",
               absl::StrCat(R"(# every section
trust_bundles:
  - name: corp-roots
    pem: |
)",
                            indented_root, R"(rules:
  - name: api
    match: { hosts: ["*.example.test", api.example.test, 127.0.0.1, "::1"], ports: [443, 8443], schemes: [https] }
    server_validation:
      trust_bundles: [corp-roots]
      mode: BOTH
      max_depth: 5
      clock_skew: 90s
      allow_common_name_fallback: true
      key_strength: { min_rsa_bits: 3072, allowed_curves: [P-256, P-384], allow_sha1_signatures: false }
      spki_pins: ["sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]
      revocation: { mode: HARD_FAIL }
      allowed_errors: [EXPIRED, HOSTNAME_MISMATCH]
    cache_ttl: 60s
  - name: deny-all
    match: { hosts: ["*.bad.example"] }
    action: DENY
limits: { max_chain_length: 8, max_message_bytes: 65536 }
default_cache_ttl: 300s
deny:
  spki_pins: ["sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]
  certificate_fingerprints: ["e3:b0:c4:42:98:fc:1c:14:9a:fb:f4:c8:99:6f:b9:24:27:ae:41:e4:64:9b:93:4c:a4:95:99:1b:78:52:b8:55"]
verdict_cache: { max_entries: 16, max_bytes: 65536 }
)"));
  writer.Write("data", "config.dict", ConfigDictionary());
  writer.Write("corpus/config", "files.yaml", R"(trust_bundles:
  - name: dev-roots
    pem_file: pki/ca.pem
certificates:
  - id: dev-client
    chain_pem_file: pki/client-chain.pem
    key_pem_file: pki/client.key
    exportable: true
crls:
  - name: dev-crl
    file: pki/ca.crl
rules:
  - name: example-test
    match: { hosts: ["*.example.test", localhost] }
    client_certificate: dev-client
    server_validation: { trust_bundles: [dev-roots], mode: BROKER }
    cache_ttl: 300s
)");
  writer.Write(
      "corpus/config", "inline.json",
      absl::StrCat(
          R"({"trustBundles": [{"name": "r", "pem": ")",
          absl::StrReplaceAll(root.CertificatePem(), {{"\n", "\\n"}}),
          R"("}], "rules": [{"name": "a", "match": {"hosts": ["a.example.test"]}, "serverValidation": {"trustBundles": ["r"], "mode": "AGENT"}}], "crls": [{"name": "c", "pem": ")",
          absl::StrReplaceAll(crls, {{"\n", "\\n"}}), R"("}]})"));

  // broker_service: calls (method byte: 0 GetCertificatePolicy, 1
  // GetClientCertificate, 2 OnServerCertificate, 3 GetNegotiationPolicy,
  // 4 OnClientCertificate, 5 Sign; see broker_service_fuzzer.cc), each a
  // frame with the request.
  v1::GetCertificatePolicyRequest policy_request;
  SetTarget("api.example.test", policy_request.mutable_target());
  v1::GetClientCertificateRequest client_request;
  client_request.mutable_target()->set_host("api.example.test");
  client_request.mutable_target()->set_port(8443);
  client_request.add_acceptable_issuers(
      x509::NameToDer(X509_get_subject_name(intermediate.certificate.get())));
  v1::OnServerCertificateRequest server_request;
  SetTarget("api.example.test", server_request.mutable_target());
  server_request.add_certificate_chain(server.Der());
  server_request.add_certificate_chain(intermediate.Der());
  server_request.set_ocsp_response(good_ocsp);
  v1::OnServerCertificateRequest again;
  SetTarget("api.example.test", again.mutable_target());
  again.set_certificate_chain_sha256(
      service::VerdictCache::ChainDigest(server_request.certificate_chain()));
  again.set_ocsp_response(good_ocsp);
  v1::OnServerCertificateRequest both;
  both.mutable_target()->set_url("https://10.1.2.3:8443/");
  both.mutable_target()->set_sni("api.example.test");
  both.add_certificate_chain(revoked.Der());
  both.add_certificate_chain(intermediate.Der());
  both.mutable_agent_verification()->set_accepted(true);
  writer.Write("corpus/broker_service", "policy",
               WriteCall(0, policy_request.SerializeAsString()));
  writer.Write("corpus/broker_service", "client-certificate",
               WriteCall(1, client_request.SerializeAsString()));
  writer.Write("corpus/broker_service", "server-chain-then-digest",
               WriteCall(2, server_request.SerializeAsString()) +
                   WriteCall(2, again.SerializeAsString()));
  writer.Write("corpus/broker_service", "server-both",
               WriteCall(2, both.SerializeAsString()));
  v1::GetNegotiationPolicyRequest negotiation;
  negotiation.mutable_listener()->set_name("sidecar-in");
  negotiation.mutable_listener()->set_sni("api.example.test");
  v1::OnClientCertificateRequest inbound_chain;
  inbound_chain.mutable_listener()->set_name("sidecar-in");
  inbound_chain.add_certificate_chain(client.Der());
  inbound_chain.add_certificate_chain(intermediate.Der());
  writer.Write("corpus/broker_service", "inbound",
               WriteCall(3, negotiation.SerializeAsString()) +
                   WriteCall(4, inbound_chain.SerializeAsString()));
  v1::SignRequest sign;
  sign.set_key_handle("not-a-handle");
  sign.set_algorithm(0x0403);
  sign.set_input(std::string(32, 'd'));
  writer.Write("corpus/broker_service", "client-then-sign",
               WriteCall(1, client_request.SerializeAsString()) +
                   WriteCall(5, sign.SerializeAsString()));

  // admin_service: calls by method byte (the order of kAdminMethods in
  // admin_service_fuzzer.cc).
  v1::ImportCertificateRequest import_pem;
  import_pem.set_certificate_id("imported");
  import_pem.mutable_pem()->set_chain_pem(other_client.CertificatePem() +
                                          intermediate.CertificatePem());
  import_pem.mutable_pem()->set_key_pem(other_client.KeyPem());
  (*import_pem.mutable_labels())["env"] = "fuzz";
  import_pem.set_exportable(true);
  v1::ImportCertificateRequest import_p12;
  import_p12.set_certificate_id("from-p12");
  import_p12.mutable_pkcs12()->set_pkcs12(
      Pkcs12(other_client, {&intermediate}, -1, -1, 1));
  import_p12.mutable_pkcs12()->set_password(kPkcs12Password);
  v1::GetCertificateRequest get_certificate;
  get_certificate.set_name("certificates/imported");
  v1::ListCertificatesRequest list_certificates;
  list_certificates.set_page_size(1);
  list_certificates.set_label_selector("env=fuzz");
  v1::DeleteCertificateRequest delete_certificate;
  delete_certificate.set_name("certificates/imported");
  v1::UpdateTrustBundleRequest update_bundle;
  update_bundle.mutable_trust_bundle()->set_name("trustBundles/partner");
  update_bundle.mutable_trust_bundle()->set_certificates_pem(
      unrelated_root.CertificatePem());
  update_bundle.set_allow_missing(true);
  v1::UpdateCrlRequest update_crl;
  update_crl.mutable_crl()->set_name("crls/intermediate");
  update_crl.mutable_crl()->set_crl_pem(CrlPem(intermediate_crl, intermediate));
  update_crl.set_allow_missing(true);
  v1::UpdatePolicyRequest update_policy;
  update_policy.mutable_policy()->set_document(R"(rules:
  - name: api
    match: { hosts: ["*.example.test"], ports: [443] }
    server_validation: { trust_bundles: [partner], mode: BROKER }
)");
  update_policy.set_validate_only(true);
  // Once committed, the imported certificate is in use: deleting it fails.
  v1::UpdatePolicyRequest use_imported;
  use_imported.mutable_policy()->set_document(R"(rules:
  - name: api
    match: { hosts: ["*.example.test"] }
    client_certificate: imported
    server_validation: { mode: AGENT }
)");
  v1::SimulateServerCertificateRequest simulate;
  SetTarget("api.example.test", simulate.mutable_target());
  simulate.add_certificate_chain(server.Der());
  simulate.add_certificate_chain(intermediate.Der());
  simulate.mutable_validation_time()->set_seconds(
      absl::ToUnixSeconds(FixedNow()));
  v1::SimulateServerCertificateRequest simulate_yaml = simulate;
  simulate_yaml.set_policy_yaml(R"(trust_bundles:
  - name: fixed
    pem_file: roots.pem
rules:
  - name: all
    match: { hosts: ["*.example.test"] }
    server_validation: { trust_bundles: [fixed], revocation: { mode: OFF } }
)");
  v1::ListAuditRecordsRequest list_audit;
  list_audit.set_page_size(5);
  list_audit.set_verdict("accept");
  v1::GetStatusRequest status;
  status.mutable_expiring_within()->set_seconds(86400 * 365 * 20);
  writer.Write("corpus/admin_service", "import-use-delete",
               WriteCall(1, import_pem.SerializeAsString()) +
                   WriteCall(2, get_certificate.SerializeAsString()) +
                   WriteCall(3, list_certificates.SerializeAsString()) +
                   WriteCall(14, use_imported.SerializeAsString()) +
                   WriteCall(4, delete_certificate.SerializeAsString()));
  writer.Write("corpus/admin_service", "import-p12-status-rotate",
               WriteCall(1, import_p12.SerializeAsString()) +
                   WriteCall(16, status.SerializeAsString()) +
                   WriteCall(17, ""));
  writer.Write("corpus/admin_service", "bundle-crl-policy",
               WriteCall(5, update_bundle.SerializeAsString()) +
                   WriteCall(9, update_crl.SerializeAsString()) +
                   WriteCall(13, "") +
                   WriteCall(14, update_policy.SerializeAsString()));
  writer.Write("corpus/admin_service", "simulate",
               WriteCall(0, simulate.SerializeAsString()) +
                   WriteCall(0, simulate_yaml.SerializeAsString()) +
                   WriteCall(15, list_audit.SerializeAsString()));
  return 0;
}

}  // namespace
}  // namespace certbroker::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR (tests/fuzz)\n");
    return 2;
  }
  return certbroker::fuzz::Main(argv[1]);
}

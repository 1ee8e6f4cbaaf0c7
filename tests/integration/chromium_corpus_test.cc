// Runs every case of Chromium's certificate-chain corpus through the real
// certbrokerd's SimulateServerCertificate, each with an inline policy that
// says what the case says (the trust anchor, the time, the key purpose), and
// asserts that certbrokerd accepts exactly what Chromium accepts, except for
// the cases docs/chromium-corpus-differences.md lists with a reason, which
// must really differ.
#include "tests/integration/chromium_corpus.h"

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/x509/certificate.h"
#include "certbroker/v1/admin.grpc.pb.h"
#include "gmock/gmock.h"
#include "tests/integration/broker_fixture.h"

namespace certbroker::testing {
namespace {

// PemBlock wraps DER in a PEM CERTIFICATE block, indented for a YAML block
// scalar.
std::string IndentedPem(const std::string& der, absl::string_view indent) {
  std::string base64 = absl::Base64Escape(der);
  std::string pem = absl::StrCat(indent, "-----BEGIN CERTIFICATE-----\n");
  for (size_t i = 0; i < base64.size(); i += 64) {
    absl::StrAppend(&pem, indent, base64.substr(i, 64), "\n");
  }
  absl::StrAppend(&pem, indent, "-----END CERTIFICATE-----\n");
  return pem;
}

// PolicyFor is the inline policy that judges `test` as Chromium's test
// harness does: the last certificate trusted as the case says (its
// constraints only for the *_WITH_CONSTRAINTS kinds), any host and no name,
// Chromium's smallest RSA key (1024 bits), SHA-1 unless the case asks for a
// STRONG digest policy, no revocation data.
std::string PolicyFor(const CorpusCase& test) {
  const std::string& last = test.chain.back();
  bool trusted = absl::StartsWith(test.last_cert_trust, "TRUSTED_");
  std::string policy = "trust_bundles:\n";
  if (trusted) {
    absl::StrAppend(&policy, "  - name: anchor\n    pem: |\n",
                    IndentedPem(last, "      "));
  } else {
    // UNSPECIFIED and DISTRUSTED: the rule trusts an unrelated root.
    absl::StrAppend(&policy, "  - name: anchor\n    pem_file: pki/ca.pem\n");
  }
  // The corpus names no server: its targets have no subject alternative
  // names to check, so the name check is tolerated.
  std::vector<std::string> allowed_errors = {"HOSTNAME_MISMATCH"};
  // certbrokerd expresses "any key purpose" by tolerating a wrong one.
  if (test.key_purpose == "ANY_EKU") {
    allowed_errors.push_back("BAD_EXTENDED_KEY_USAGE");
  }
  bool anchor_constraints =
      absl::StrContains(test.last_cert_trust, "CONSTRAINTS");
  absl::StrAppend(
      &policy,
      "rules:\n"
      "  - name: corpus\n"
      "    match: { hosts: ['*'] }\n"
      "    server_validation:\n"
      "      trust_bundles: [anchor]\n"
      "      ignore_trust_anchor_constraints: ",
      anchor_constraints ? "false" : "true",
      "\n"
      "      key_strength: { min_rsa_bits: 1024, allow_sha1_signatures: ",
      test.digest_policy == "STRONG" ? "false" : "true",
      " }\n"
      "      revocation: { mode: OFF }\n"
      "      allowed_errors: [",
      absl::StrJoin(allowed_errors, ", "), "]\n");
  if (test.last_cert_trust == "DISTRUSTED") {
    absl::StrAppend(&policy, "deny: { certificate_fingerprints: ['",
                    x509::Sha256Hex(last), "'] }\n");
  }
  return policy;
}

// Outcome is what certbrokerd made of one case.
struct Outcome {
  bool accepted = false;
  std::string explanation;  // The reason and detail, or the policy error.
};

class ChromiumCorpusTest : public BrokerFixture {
 protected:
  void SetUp() override {
    admin_ = v1::CertificateAdmin::NewStub(grpc::CreateChannel(
        broker_->addresses()[1], grpc::InsecureChannelCredentials()));
  }

  Outcome Judge(const CorpusCase& test) {
    v1::SimulateServerCertificateRequest request;
    request.mutable_target()->set_host("corpus.example.test");
    for (const std::string& der : test.chain)
      request.add_certificate_chain(der);
    request.mutable_validation_time()->set_seconds(
        absl::ToUnixSeconds(test.time));
    request.set_policy_yaml(PolicyFor(test));
    v1::SimulateServerCertificateResponse response;
    grpc::Status status =
        admin_->SimulateServerCertificate(Context().get(), request, &response);
    if (!status.ok()) {
      // A policy certbrokerd refuses to load (an anchor it will not trust)
      // decides nothing: the chain is not accepted.
      return Outcome{false,
                     absl::StrCat("policy refused: ", status.error_message())};
    }
    return Outcome{response.accepted(),
                   absl::StrCat(v1::Reason_Name(response.reason()), ": ",
                                response.detail())};
  }

  std::unique_ptr<v1::CertificateAdmin::Stub> admin_;
};

TEST_F(ChromiumCorpusTest, AgreesWithChromiumExceptWhereDocumented) {
  auto corpus = ReadCorpus(CERTBROKER_CHROMIUM_CORPUS_DIR);
  ASSERT_TRUE(corpus.ok()) << corpus.status();
  ASSERT_GE(corpus->size(), 190u);
  auto differences = ReadDifferences(CERTBROKER_CHROMIUM_DIFFERENCES);
  ASSERT_TRUE(differences.ok()) << differences.status();

  std::map<std::string, int> unmatched_differences;
  for (const auto& [name, unused] : *differences) unmatched_differences[name];
  int agreed = 0;
  for (const CorpusCase& test : *corpus) {
    SCOPED_TRACE(test.name);
    Outcome ours = Judge(test);
    auto listed = differences->find(test.name);
    bool chromium = test.chromium_accepts();
    if (listed == differences->end()) {
      EXPECT_EQ(ours.accepted, chromium)
          << test.name << ": Chromium " << (chromium ? "accepts" : "rejects")
          << ", certbrokerd " << (ours.accepted ? "accepts" : "rejects") << " ("
          << ours.explanation << "); Chromium expected:\n"
          << test.expected_errors;
      agreed += ours.accepted == chromium;
      continue;
    }
    unmatched_differences.erase(test.name);
    EXPECT_NE(listed->second.certbroker_accepts, chromium)
        << test.name << " is listed as a difference but both outcomes are "
        << (chromium ? "accept" : "reject");
    EXPECT_EQ(ours.accepted, listed->second.certbroker_accepts)
        << test.name << ": listed as certbrokerd "
        << (listed->second.certbroker_accepts ? "accepting" : "rejecting")
        << " but it " << (ours.accepted ? "accepts" : "rejects") << " ("
        << ours.explanation << ")";
  }
  for (const auto& [name, unused] : unmatched_differences) {
    ADD_FAILURE() << name << " is listed as a difference but is not a case of "
                  << "the corpus";
  }
  std::cout << agreed << " of " << corpus->size()
            << " corpus cases agree with Chromium; " << differences->size()
            << " documented differences\n";
}

}  // namespace
}  // namespace certbroker::testing

// Feeds a DER certificate chain (and optionally a stapled OCSP response) to
// ValidateServerChain against a fixed trust store and CRLs (tests/fuzz/data,
// written by make_corpus), at a fixed time. Input: one flags byte, then
// frames (fuzz_support.h): DER certificates, leaf first; with flag 0x01 the
// last frame is the OCSP response. Frames that are not certificates are
// left out, as a chain's parse would reject them before validation.
// Flags: 0x06 server name (api.example.test, 127.0.0.1, ::1, none), 0x08
// revocation HARD_FAIL, 0x10 a relaxed rule (CN fallback, clock skew,
// tolerated errors, no EKU or anchor constraints, SHA-1, any purpose), 0x20
// describe the path, 0x40 pin the root's key, 0x80 revocation OFF.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "broker/validation/path_checks.h"
#include "broker/validation/server_chain_validator.h"
#include "broker/x509/certificate.h"
#include "broker/x509/pem.h"
#include "tests/fuzz/fuzz_support.h"

namespace certbroker::fuzz {
namespace {

namespace v1 = ::certbroker::v1;
using validation::ChainPolicy;

constexpr size_t kMaxFrames = 16;

struct Fixture {
  std::shared_ptr<const validation::TrustStore> trust;
  std::vector<bssl::UniquePtr<X509_CRL>> crls;
  std::string root_pin;
};

const Fixture& GetFixture() {
  static const Fixture* fixture = [] {
    auto* built = new Fixture;
    auto roots = x509::ParsePemCertificates(DataFile("roots.pem"), "roots");
    if (!roots.ok()) std::abort();
    built->root_pin = validation::SpkiSha256((*roots)[0].get());
    auto trust = validation::TrustStore::Create(*roots, {"fuzz-roots"});
    auto crls = x509::ParseCrls(DataFile("crls.pem"), "crls");
    if (!trust.ok() || !crls.ok()) std::abort();
    built->trust = *std::move(trust);
    built->crls = *std::move(crls);
    return built;
  }();
  return *fixture;
}

int Run(absl::string_view input) {
  if (input.empty()) return 0;
  const Fixture& fixture = GetFixture();
  uint8_t flags = static_cast<uint8_t>(input[0]);
  std::vector<absl::string_view> frames =
      ReadFrames(input.substr(1), kMaxFrames);
  validation::ServerChainCheck check;
  check.now = FixedNow();
  if ((flags & 0x01) && !frames.empty()) {
    check.ocsp_response = frames.back();
    frames.pop_back();
  }
  static const char* const kNames[] = {"api.example.test", "127.0.0.1", "::1",
                                       ""};
  check.server_name = kNames[(flags >> 1) & 3];
  check.describe_path = (flags & 0x20) != 0;

  ChainPolicy policy;
  if (flags & 0x80) policy.revocation = validation::RevocationMode::kOff;
  if (flags & 0x08) policy.revocation = validation::RevocationMode::kHardFail;
  if (flags & 0x10) {
    policy.clock_skew = absl::Hours(1);
    policy.purpose = validation::KeyPurpose::kAny;
    policy.require_extended_key_usage = false;
    policy.allow_common_name_fallback = true;
    policy.enforce_anchor_constraints = false;
    policy.allow_sha1_signatures = true;
    policy.min_rsa_bits = 1024;
    for (auto reason : {v1::EXPIRED, v1::NOT_YET_VALID, v1::HOSTNAME_MISMATCH,
                        v1::UNTRUSTED_ROOT, v1::INCOMPLETE_CHAIN, v1::WEAK_KEY,
                        v1::REVOCATION_UNKNOWN}) {
      policy.allowed_errors.insert(reason);
    }
  }
  if (flags & 0x40) {
    policy.spki_pins = {fixture.root_pin};
    policy.denied_fingerprints = {std::string(32, '\x5a')};
  }

  x509::CertificateList chain;
  for (absl::string_view frame : frames) {
    auto certificate = x509::ParseDerCertificate(frame);
    if (certificate.ok()) chain.push_back(*std::move(certificate));
  }
  validation::ChainVerdict verdict = validation::ValidateServerChain(
      *fixture.trust, chain, check, policy, fixture.crls);
  // Fails closed: an acceptance needs a chain and a recorded reason.
  if (verdict.accepted() && chain.empty()) std::abort();
  if (verdict.reason == v1::REASON_UNSPECIFIED) std::abort();
  return 0;
}

}  // namespace
}  // namespace certbroker::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return certbroker::fuzz::Run(
      absl::string_view(reinterpret_cast<const char*>(data), size));
}

// OCSP responses (RFC 6960) for tests, built with CBB: good, revoked and
// unknown answers, stale or future validity, SHA-1 or SHA-256 CertIDs,
// responses signed by the issuer, by a delegated responder, by the wrong key
// or with a weak algorithm, and unsuccessful response statuses. Also issues
// delegated OCSP responder certificates. Not for production responders.
#ifndef CERTBROKER_BROKER_DEVPKI_OCSP_BUILDER_H_
#define CERTBROKER_BROKER_DEVPKI_OCSP_BUILDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "broker/devpki/pki.h"
#include "broker/x509/boringssl.h"

namespace certbroker::devpki {

// OcspCertStatus is the certStatus the response gives.
enum class OcspCertStatus { kGood, kRevoked, kUnknown };

// OcspSignatureAlgorithm is how the response is signed: ECDSA or RSA PKCS#1
// v1.5 (whichever fits the signing key) with the named hash, or RSA-PSS
// with SHA-256, MGF1-SHA-256 and a 32-byte salt (RSA keys only).
enum class OcspSignatureAlgorithm {
  kSha256,
  kSha384,
  kSha512,
  kSha1,
  kRsaPssSha256,
};

// OcspResponseSpec describes the response to build. Times are written with
// whole seconds (sub-seconds are dropped).
struct OcspResponseSpec {
  OcspCertStatus status = OcspCertStatus::kGood;
  absl::Time produced_at = absl::Now();
  absl::Time this_update = absl::Now() - absl::Hours(1);
  // next_update is left out of the response when nullopt.
  absl::optional<absl::Time> next_update = absl::Now() + absl::Hours(24);
  // revocation_time and revocation_reason (a CRLReason, left out when
  // nullopt) are used when status is kRevoked.
  absl::Time revocation_time = absl::Now() - absl::Hours(2);
  absl::optional<int> revocation_reason;
  // sha256_cert_id hashes the CertID with SHA-256 instead of SHA-1.
  bool sha256_cert_id = false;
  // response_status other than 0 (successful) builds an OCSPResponse with
  // that status and no responseBytes; nothing else in the spec is used.
  int response_status = 0;
  // include_responder_certificate puts the responder's certificate in certs.
  bool include_responder_certificate = false;
  // responder_id_by_key identifies the responder by the SHA-1 of its public
  // key rather than by its name.
  bool responder_id_by_key = false;
  OcspSignatureAlgorithm signature_algorithm = OcspSignatureAlgorithm::kSha256;
  // signer, when set, signs instead of the responder (whose name or key
  // still identifies the responder): a response with a bad signature.
  const Issued* signer = nullptr;
  // add_nonce adds a non-critical nonce response extension.
  bool add_nonce = false;
  // add_critical_extension adds a critical response extension of a private,
  // unknown type.
  bool add_critical_extension = false;
};

// BuildOcspResponse returns a DER OCSPResponse about `certificate`, which
// `issuer` issued, signed by `responder` (which may be `issuer` itself).
// Fails with INTERNAL only if BoringSSL cannot encode or sign.
absl::StatusOr<std::string> BuildOcspResponse(const OcspResponseSpec& spec,
                                              const Issued& certificate,
                                              const Issued& issuer,
                                              const Issued& responder);

// OcspResponderSpec is the usual shape of a delegated responder: a leaf
// named `common_name`, valid from an hour ago for 90 days, with no EKU of
// its own (IssueOcspResponder adds id-kp-OCSPSigning).
CertificateSpec OcspResponderSpec(std::string common_name);

// IssueOcspResponder issues a delegated OCSP responder certificate for
// `spec`, signed by `issuer`, with the EKU id-kp-OCSPSigning when
// `ocsp_signing` is true and no EKU otherwise. Fails with INVALID_ARGUMENT
// when `spec` asks for an EKU itself.
absl::StatusOr<Issued> IssueOcspResponder(const CertificateSpec& spec,
                                          const Issued& issuer,
                                          bool ocsp_signing = true);

}  // namespace certbroker::devpki

#endif  // CERTBROKER_BROKER_DEVPKI_OCSP_BUILDER_H_

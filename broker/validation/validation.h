// Validation: the state and steps of one ValidateServerChain call, shared
// by validation_run.cc (BoringSSL's verification and the verdict) and
// validation_checks.cc (the checks made on the built path). Internal to the
// validation component.
#ifndef CERTBROKER_BROKER_VALIDATION_VALIDATION_H_
#define CERTBROKER_BROKER_VALIDATION_VALIDATION_H_

#include <string>
#include <vector>

#include "broker/validation/failure_text.h"
#include "broker/validation/server_chain_validator.h"

namespace certbroker::validation::internal {

using ::certbroker::v1::Reason;

// Validation is the state of one ValidateServerChain call.
class Validation {
 public:
  Validation(const TrustStore& trust, const x509::CertificateList& chain,
             const ServerChainCheck& check, const ChainPolicy& policy)
      : trust_(trust),
        chain_(chain),
        check_(check),
        policy_(policy),
        text_(trust, chain, policy.purpose) {}

  // Run validates; with `skip_self_signed`, the self-signed certificates
  // the agent sent are not offered to the path builder.
  ChainVerdict Run(const std::vector<bssl::UniquePtr<X509_CRL>>& crls,
                   bool skip_self_signed);

 private:
  static int StateIndex();
  static int Callback(int ok, X509_STORE_CTX* context);

  void Record(Reason reason, std::string detail, bool tolerated = false,
              int path_index = -1);
  void RecordRevocationUnknown(std::string detail, int path_index);
  void CheckStapledOcsp();
  void OnVerifyError(int error, const X509* certificate, int depth);
  bool ConfigureContext(X509_STORE_CTX* context, STACK_OF(X509) * crls);
  void CheckDenied(const X509* certificate);
  void CheckPath();
  void CheckAnchorConstraints();
  void CheckLeafUsage();
  void CheckPins();
  ChainVerdict Verdict();

  const TrustStore& trust_;
  const x509::CertificateList& chain_;
  const ServerChainCheck& check_;
  const ChainPolicy& policy_;
  FailureText text_;
  std::vector<CheckFailure> failures_;
  std::vector<const X509*> path_;  // Owned by the X509_STORE_CTX.
  std::vector<std::string> notes_;
  absl::Time expires_ = absl::InfiniteFuture();
  bool recheck_name_constraints_ = false;
  // check_crls_: BoringSSL consults CRLs. Soft-fail with no CRL held has
  // nothing to find and would ignore the absence anyway.
  bool check_crls_ = false;
};

}  // namespace certbroker::validation::internal

#endif  // CERTBROKER_BROKER_VALIDATION_VALIDATION_H_

// FailureText words verification failures for people: it names a
// certificate by its index in the chain the agent sent (or as a trusted
// root) and says which check failed and why.
#ifndef CERTBROKER_BROKER_VALIDATION_FAILURE_TEXT_H_
#define CERTBROKER_BROKER_VALIDATION_FAILURE_TEXT_H_

#include <string>

#include "broker/validation/chain_policy.h"
#include "broker/validation/trust_store.h"
#include "broker/x509/certificate.h"

namespace certbroker::validation {

struct ServerChainCheck;

class FailureText {
 public:
  // `trust` and `chain` must outlive this object. `purpose` is the key
  // purpose checked.
  FailureText(const TrustStore& trust, const x509::CertificateList& chain,
              KeyPurpose purpose)
      : trust_(trust), chain_(chain), purpose_(purpose) {}

  // ChainIndex is `certificate`'s index in the chain sent, or -1.
  int ChainIndex(const X509* certificate) const;

  // Describe names `certificate`: "certificate_chain[1] (CN=...)" or
  // "trusted root (CN=...)".
  std::string Describe(const X509* certificate) const;

  // Explain says what X509_V_ERR_ code `error` means for `certificate`.
  std::string Explain(int error, const X509* certificate,
                      const ServerChainCheck& check) const;

 private:
  std::string ExplainMissingIssuer(const std::string& subject,
                                   const X509* certificate) const;

  const TrustStore& trust_;
  const x509::CertificateList& chain_;
  KeyPurpose purpose_;
};

}  // namespace certbroker::validation

#endif  // CERTBROKER_BROKER_VALIDATION_FAILURE_TEXT_H_

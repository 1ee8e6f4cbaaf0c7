// The X509_V_ERR_* to Reason table.
#include "broker/validation/verify_error_reason.h"

#include "broker/x509/boringssl.h"

namespace certbroker::validation {

using ::certbroker::v1::Reason;

Reason ReasonForVerifyError(int error) {
  switch (error) {
    case X509_V_OK:
      return Reason::ACCEPTED;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return Reason::UNTRUSTED_ROOT;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return Reason::INCOMPLETE_CHAIN;
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return Reason::EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return Reason::NOT_YET_VALID;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return Reason::HOSTNAME_MISMATCH;
    case X509_V_ERR_INVALID_PURPOSE:
      return Reason::BAD_EXTENDED_KEY_USAGE;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return Reason::BAD_SIGNATURE;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
      return Reason::INVALID_CA;
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      return Reason::CHAIN_TOO_LONG;
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
    case X509_V_ERR_INVALID_EXTENSION:
    case X509_V_ERR_INVALID_NON_CA:
      return Reason::MALFORMED_CHAIN;
    default:
      return Reason::VERIFICATION_FAILED;
  }
}

}  // namespace certbroker::validation

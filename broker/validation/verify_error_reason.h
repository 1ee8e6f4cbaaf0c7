// Maps BoringSSL's X509_V_ERR_* verification errors to the API's stable
// Reason codes.
#ifndef CERTBROKER_BROKER_VALIDATION_VERIFY_ERROR_REASON_H_
#define CERTBROKER_BROKER_VALIDATION_VERIFY_ERROR_REASON_H_

#include "certbroker/v1/broker.pb.h"

namespace certbroker::validation {

// ReasonForVerifyError returns the Reason for X509_V_ERR_ code `error`;
// VERIFICATION_FAILED for codes without a more specific reason.
::certbroker::v1::Reason ReasonForVerifyError(int error);

}  // namespace certbroker::validation

#endif  // CERTBROKER_BROKER_VALIDATION_VERIFY_ERROR_REASON_H_

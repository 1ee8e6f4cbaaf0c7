// Test helpers over devpki that record a failure in the current GoogleTest
// test instead of returning a status: issuing certificates and CRLs, and
// collecting certificates into a chain.
#ifndef CERTBROKER_TESTS_SUPPORT_TEST_PKI_H_
#define CERTBROKER_TESTS_SUPPORT_TEST_PKI_H_

#include <initializer_list>

#include "broker/devpki/pki.h"
#include "broker/x509/certificate.h"

namespace certbroker::testing {

// MustIssue issues `spec` under `issuer` (self-signed when null); on error
// it fails the current test and returns an empty Issued.
devpki::Issued MustIssue(const devpki::CertificateSpec& spec,
                         const devpki::Issued* issuer);

// MustCrl issues a CRL under `issuer`; on error it fails the current test
// and returns null.
bssl::UniquePtr<X509_CRL> MustCrl(const devpki::CrlSpec& spec,
                                  const devpki::Issued& issuer);

// Chain collects new references to the certificates, in order.
x509::CertificateList Chain(
    std::initializer_list<const devpki::Issued*> certificates);

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_SUPPORT_TEST_PKI_H_

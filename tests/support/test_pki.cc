// devpki helpers that fail the current test on error.
#include "tests/support/test_pki.h"

#include "gtest/gtest.h"

namespace certbroker::testing {

devpki::Issued MustIssue(const devpki::CertificateSpec& spec,
                         const devpki::Issued* issuer) {
  auto issued = devpki::Issue(spec, issuer);
  EXPECT_TRUE(issued.ok()) << issued.status();
  return issued.ok() ? std::move(issued).value() : devpki::Issued();
}

bssl::UniquePtr<X509_CRL> MustCrl(const devpki::CrlSpec& spec,
                                  const devpki::Issued& issuer) {
  auto crl = devpki::IssueCrl(spec, issuer);
  EXPECT_TRUE(crl.ok()) << crl.status();
  return crl.ok() ? std::move(crl).value() : nullptr;
}

x509::CertificateList Chain(
    std::initializer_list<const devpki::Issued*> certificates) {
  x509::CertificateList chain;
  for (const devpki::Issued* issued : certificates) {
    chain.push_back(bssl::UpRef(issued->certificate));
  }
  return chain;
}

}  // namespace certbroker::testing

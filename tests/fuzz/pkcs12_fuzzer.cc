// Feeds the input, as a PKCS#12 file, to ParsePkcs12 with the fixed password
// of the seeds ("fuzz"), as ImportCertificate does with an uploaded .p12.
// What it returns must be a key with a leaf that matches it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "broker/x509/pkcs12.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view der(reinterpret_cast<const char*>(data), size);
  auto contents = certbroker::x509::ParsePkcs12(
      der, certbroker::fuzz::kPkcs12Password, "fuzz.p12");
  if (contents.ok()) {
    if (contents->key == nullptr || contents->chain.empty() ||
        X509_check_private_key(contents->chain[0].get(), contents->key.get()) !=
            1) {
      std::abort();
    }
  }
  return 0;
}

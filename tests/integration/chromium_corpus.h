// Reads Chromium's certificate-chain test corpus (tests/testdata/
// chromium-verify-chain, format in its README): the `.test` files with their
// chains, and the list of cases where certbrokerd deliberately decides
// otherwise (docs/chromium-corpus-differences.md).
#ifndef CERTBROKER_TESTS_INTEGRATION_CHROMIUM_CORPUS_H_
#define CERTBROKER_TESTS_INTEGRATION_CHROMIUM_CORPUS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace certbroker::testing {

// CorpusCase is one `.test` file.
struct CorpusCase {
  std::string name;  // "<directory>/<file without .test>".
  // chain is the DER of every CERTIFICATE block of the chain file, target
  // first and the certificate `last_cert_trust` speaks of last. Blocks are
  // not parsed: some are deliberately malformed.
  std::vector<std::string> chain;
  std::string last_cert_trust;  // TRUSTED_ANCHOR, DISTRUSTED, ...
  absl::Time time;              // utc_time; DEFAULT is 2021-10-05 12:00 UTC.
  std::string key_purpose;      // SERVER_AUTH, ANY_EKU, CLIENT_AUTH, ...
  std::string digest_policy;    // STRONG forbids SHA-1; empty allows it.
  std::string expected_errors;  // Chromium's error text; empty when none.

  // chromium_accepts is Chromium's outcome: no "ERROR:" line expected.
  bool chromium_accepts() const;
};

// ReadCorpus reads every `.test` file under `dir`, sorted by name.
absl::StatusOr<std::vector<CorpusCase>> ReadCorpus(const std::string& dir);

// Difference is one row of the differences file.
struct Difference {
  bool certbroker_accepts = false;
  std::string reason;
};

// ReadDifferences reads the table rows of the differences file, keyed by
// case name. Rows are "| case | chromium | certbrokerd | reason |" with
// outcomes "accept" or "reject".
absl::StatusOr<std::map<std::string, Difference>> ReadDifferences(
    const std::string& path);

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_INTEGRATION_CHROMIUM_CORPUS_H_

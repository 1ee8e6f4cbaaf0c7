// What the transfer tests share besides the TLS fixtures and
// tests/support/file_probes.h: the nginx locations they download from.
#ifndef CERTBROKER_TESTS_AGENTS_TRANSFER_TRANSFER_TEST_SUPPORT_H_
#define CERTBROKER_TESTS_AGENTS_TRANSFER_TRANSFER_TEST_SUPPORT_H_

#include <string>

namespace certbroker::testing {

// TransferLocations are nginx location blocks over `files_dir` (the
// document root's files/, with a trailing slash): /files/ serves it; /slow/
// too, rate-limited to 256 KiB/s unless the request has a Range (a first
// run can be stopped part-way, the resume is fast); /old/data.bin
// redirects (302, relative) to /files/data.bin; /chunked/ serves it chunked
// (sub_filter replaces FOO with BAR, so the length is unknown).
std::string TransferLocations(const std::string& files_dir);

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_AGENTS_TRANSFER_TRANSFER_TEST_SUPPORT_H_

// What the transfer tests share besides the TLS fixtures: test data, its
// SHA-256, and looks at the files a download leaves.
#ifndef CERTBROKER_TESTS_AGENTS_TRANSFER_TRANSFER_TEST_SUPPORT_H_
#define CERTBROKER_TESTS_AGENTS_TRANSFER_TRANSFER_TEST_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace certbroker::testing {

// Sha256Hex returns the SHA-256 of `data` in lowercase hex.
std::string Sha256Hex(const std::string& data);

// MakeData returns `size` pseudo-random bytes, different for each seed.
std::string MakeData(size_t size, uint32_t seed);

// ReadFile returns the file's bytes (empty when it cannot be read).
std::string ReadFile(const std::string& path);

// TransferLocations are nginx location blocks over `files_dir` (the
// document root's files/, with a trailing slash): /files/ serves it; /slow/
// too, rate-limited to 256 KiB/s unless the request has a Range (a first
// run can be stopped part-way, the resume is fast); /old/data.bin
// redirects (302, relative) to /files/data.bin; /chunked/ serves it chunked
// (sub_filter replaces FOO with BAR, so the length is unknown).
std::string TransferLocations(const std::string& files_dir);

// FileSize returns the file's size, -1 when it does not exist.
int64_t FileSize(const std::string& path);

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_AGENTS_TRANSFER_TRANSFER_TEST_SUPPORT_H_

// file_probes.h: what download tests ask of files: generated contents,
// the bytes of a file, whether it exists and its size.
#ifndef CERTBROKER_TESTS_SUPPORT_FILE_PROBES_H_
#define CERTBROKER_TESTS_SUPPORT_FILE_PROBES_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace certbroker::testing {

// MakeData returns `size` pseudo-random bytes, different for each seed.
std::string MakeData(size_t size, uint32_t seed);

// ReadFile returns the file's bytes ("" when it cannot be read).
std::string ReadFile(const std::string& path);

// Exists is true when `path` names a file (of any type).
bool Exists(const std::string& path);

// FileSize is the file's size, -1 when it does not exist.
int64_t FileSize(const std::string& path);

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_SUPPORT_FILE_PROBES_H_

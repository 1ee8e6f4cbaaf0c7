// Test data and file probes for download tests.
#include "tests/support/file_probes.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace certbroker::testing {

std::string MakeData(size_t size, uint32_t seed) {
  std::string data(size, '\0');
  uint32_t state = seed * 2654435761u + 1;
  for (char& c : data) {
    state = state * 1664525u + 1013904223u;
    c = static_cast<char>(state >> 24);
  }
  return data;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

}  // namespace certbroker::testing

// The transfer tests' data and file helpers.
#include "tests/agents/transfer/transfer_test_support.h"

#include <openssl/sha.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace certbroker::testing {

std::string Sha256Hex(const std::string& data) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

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

std::string TransferLocations(const std::string& files_dir) {
  return absl::StrCat(R"(
    location /files/ { }
    location /slow/ {
      alias )",
                      files_dir, R"(;
      if ($http_range = "") { set $limit_rate 256k; }
    }
    location = /old/data.bin {
      absolute_redirect off;
      return 302 /files/data.bin;
    }
    location /chunked/ {
      alias )",
                      files_dir, R"(;
      default_type text/plain;
      sub_filter_types *;
      sub_filter_once off;
      sub_filter "FOO" "BAR";
    })");
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

}  // namespace certbroker::testing

// The nginx locations of the transfer tests.
#include "tests/agents/transfer/transfer_test_support.h"

#include "absl/strings/str_cat.h"

namespace certbroker::testing {

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

}  // namespace certbroker::testing

// certbroker-devpki: writes the development PKI (see dev_pki_layout.h) into a
// directory. deploy/dev.sh calls it once, the first time it sets up var/.
#include <sys/stat.h>

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "broker/devpki/dev_pki_layout.h"

ABSL_FLAG(std::string, out, "",
          "Directory to write the PKI into (created if missing).");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Writes a development PKI for certbrokerd: a root CA, an intermediate, "
      "a\n"
      "server chain (localhost, api.example.test, 127.0.0.1, ::1), a client\n"
      "chain, and a server chain from an unrelated root.\n"
      "Usage: certbroker-devpki --out DIR");
  absl::ParseCommandLine(argc, argv);
  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    std::fprintf(stderr, "certbroker-devpki: --out DIR is required\n");
    return 2;
  }
  ::mkdir(out.c_str(), 0755);
  auto written = certbroker::devpki::WriteDevPki(out);
  if (!written.ok()) {
    std::fprintf(stderr, "certbroker-devpki: %s\n",
                 std::string(written.status().message()).c_str());
    return 1;
  }
  for (const std::string& name : *written) {
    std::printf("%s/%s\n", out.c_str(), name.c_str());
  }
  return 0;
}

// Feeds the input, as a configuration document (YAML, or JSON when it
// starts with '{'), through what loading a policy does: ParseConfigDocument,
// ValidateConfig, then CompilePolicy, which validates it again and builds
// the snapshot (trust stores, rule index, chain policies). No files: absolute
// paths are made relative, and relative paths fail as there is no base
// directory.
#include <cstddef>
#include <cstdint>

#include "broker/config/config_loader.h"
#include "broker/policy/policy_snapshot.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = certbroker::config::ParseConfigDocument(text, "fuzz.yaml");
  if (!config.ok()) return 0;
  (void)certbroker::config::ValidateConfig(*config, "fuzz.yaml");
  certbroker::fuzz::RelativizePaths(*config);
  (void)certbroker::policy::CompilePolicy(*config, /*base_dir=*/"",
                                          "fuzz.yaml");
  return 0;
}

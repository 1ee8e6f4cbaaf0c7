// certbrokerctl policy: read the live policy document, replace it (with an
// optimistic version check), and compare it with a file.
#include "broker/ctl/policy_commands.h"

#include <cstdint>
#include <cstdio>
#include <limits>

#include "absl/strings/str_cat.h"
#include "broker/common/file.h"
#include "broker/ctl/line_diff.h"
#include "broker/ctl/output.h"
#include "broker/ctl/values.h"

namespace certbroker::ctl {
namespace {

namespace v1 = ::certbroker::v1;

grpc::Status GetPolicy(const CtlContext& context, v1::Policy& policy) {
  AdminClient client(context);
  v1::GetPolicyRequest request;
  return client.Call([&](auto& stub, auto* call) {
    return stub.GetPolicy(call, request, &policy);
  });
}

int RunGet(const CtlContext& context, const Invocation& invocation) {
  v1::Policy policy;
  grpc::Status status = GetPolicy(context, policy);
  if (!status.ok()) return ReportRpcError(status);
  if (invocation.options.Has("output-file")) {
    const std::string path = invocation.options.Get("output-file");
    absl::Status written = WriteFileAtomically(path, policy.document());
    if (!written.ok()) {
      return invocation.UsageError(
          absl::StrCat("--output-file: ", written.message()));
    }
    if (context.output != OutputFormat::kJson) {
      std::printf("wrote policy version %lld (%s) to %s\n",
                  static_cast<long long>(policy.version()),
                  policy.source().c_str(), path.c_str());
      return kExitOk;
    }
  }
  if (context.output == OutputFormat::kJson) {
    PrintJson(policy);
  } else {
    PrintText(policy.document());
  }
  return kExitOk;
}

int RunPut(const CtlContext& context, const Invocation& invocation) {
  const Options& options = invocation.options;
  const std::string& path = invocation.positionals[0];
  const bool validate_only = options.Has("validate-only");
  if (options.Has("expected-version") && options.Has("force")) {
    return invocation.UsageError(
        "give only one of --expected-version and --force");
  }
  if (!validate_only && !options.Has("expected-version") &&
      !options.Has("force")) {
    return invocation.UsageError(
        "give --expected-version N (see `certbrokerctl status`) or --force");
  }
  v1::UpdatePolicyRequest request;
  if (options.Has("expected-version")) {
    auto version =
        ParseCount("--expected-version", options.Get("expected-version"), 0,
                   std::numeric_limits<int64_t>::max());
    if (!version.ok()) {
      return invocation.UsageError(std::string(version.status().message()));
    }
    request.set_expected_version(*version);
  }
  auto document = ReadInputFile("FILE", path);
  if (!document.ok()) {
    return invocation.UsageError(std::string(document.status().message()));
  }
  request.mutable_policy()->set_document(*std::move(document));
  request.set_validate_only(validate_only);
  AdminClient client(context);
  v1::Policy policy;
  grpc::Status status = client.Call([&](auto& stub, auto* call) {
    return stub.UpdatePolicy(call, request, &policy);
  });
  if (!status.ok()) {
    ReportRpcError(status);
    if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      return kExitRejected;
    }
    if (status.error_code() == grpc::StatusCode::ABORTED) return kExitConflict;
    return kExitRpcError;
  }
  if (context.output == OutputFormat::kJson) {
    PrintJson(policy);
  } else if (validate_only) {
    std::printf("%s: valid (not stored; policy version %lld in force)\n",
                path.c_str(), static_cast<long long>(policy.version()));
  } else {
    std::printf("stored policy version %lld\n",
                static_cast<long long>(policy.version()));
  }
  return kExitOk;
}

int RunDiff(const CtlContext& context, const Invocation& invocation) {
  const std::string& path = invocation.positionals[0];
  auto document = ReadInputFile("FILE", path);
  if (!document.ok()) {
    return invocation.UsageError(std::string(document.status().message()));
  }
  v1::Policy policy;
  grpc::Status status = GetPolicy(context, policy);
  if (!status.ok()) return ReportRpcError(status);
  auto diff = UnifiedDiff(
      policy.document(), *document,
      absl::StrCat("live policy (version ", policy.version(), ")"), path);
  if (!diff.ok()) {
    return invocation.UsageError(std::string(diff.status().message()));
  }
  PrintText(*diff);
  return diff->empty() ? kExitOk : kExitDifferent;
}

}  // namespace

const CommandGroup& PolicyCommands() {
  static const auto* group = new CommandGroup{
      "policy",
      "The policy document: the broker's configuration schema (trust "
      "bundles, certificates,\nrules...) as YAML or JSON, kept in the store. "
      "Rules may name stored certificates,\ntrust bundles and CRLs by ID.",
      {
          {"get",
           "[--output-file FILE]",
           "print the live policy document",
           "Prints the live policy document as last written, comments "
           "included (-o json:\nthe Policy message, with its version and "
           "source).\n",
           {},
           {{"output-file", "FILE",
             "write the document to FILE instead of printing it"}},
           RunGet},
          {"put",
           "FILE (--expected-version N | --force) [--validate-only]",
           "replace the policy document",
           "Replaces the policy document with FILE. The broker parses, "
           "validates and compiles\nit against the stored certificates, "
           "bundles and CRLs first; a bad document\nchanges nothing. "
           "--expected-version N refuses the change when the policy is no\n"
           "longer at version N (someone else changed it); --force replaces "
           "whatever is there.\nExit codes: 0 stored (or valid), 3 the broker "
           "rejected the document, 5 the\npolicy is no longer at --expected-"
           "version, 1 other errors, 2 usage error.\n",
           {"FILE"},
           {{"expected-version", "N",
             "replace only if the policy version in force is N"},
            {"force", "", "replace without checking the version"},
            {"validate-only", "",
             "check the document without storing it (needs neither of the "
             "above)"}},
           RunPut},
          {"diff",
           "FILE",
           "compare the live policy document with FILE",
           "Prints a unified diff from the live policy document to FILE.\n"
           "Exit codes: 0 identical (nothing printed), 4 different, 1 RPC "
           "error, 2 usage error.\nThe output is a diff whatever -o says.\n",
           {"FILE"},
           {},
           RunDiff},
      }};
  return *group;
}

}  // namespace certbroker::ctl

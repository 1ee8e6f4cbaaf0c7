// certbrokerctl status and kek rotate.
#include "broker/ctl/status_commands.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "broker/ctl/output.h"
#include "broker/ctl/table.h"
#include "broker/ctl/values.h"
#include "google/protobuf/duration.pb.h"

namespace certbroker::ctl {
namespace {

namespace v1 = ::certbroker::v1;

std::string StoreField(const v1::Status& status) {
  if (status.store_path().empty()) return "none (no --data_dir)";
  std::string health =
      status.store_healthy()
          ? absl::StrCat("healthy, revision ", status.store_revision())
          : absl::StrCat("UNHEALTHY: ", status.store_detail());
  return absl::StrCat(status.store_path(), " (", health, ")");
}

void PrintStatus(const v1::Status& status, const std::string& window) {
  std::string reloads = absl::StrCat(status.reload_errors());
  if (!status.last_reload_error().empty()) {
    absl::StrAppend(&reloads, " (last: ", status.last_reload_error(), ")");
  }
  PrintText(RenderFields({
      {"broker version", status.broker_version()},
      {"policy version", status.policy_version()},
      {"policy source", status.policy_source()},
      {"rules", absl::StrCat(status.rule_count())},
      {"store", StoreField(status)},
      {"certificates", absl::StrCat(status.certificate_count())},
      {"trust bundles", absl::StrCat(status.trust_bundle_count())},
      {"crls", absl::StrCat(status.crl_count())},
      {"kek", status.kek_id().empty() ? "none loaded" : status.kek_id()},
      {"reload errors", reloads},
  }));
  if (status.expiring_certificates_size() == 0) {
    std::printf("\nno certificate expires within %s\n", window.c_str());
    return;
  }
  std::printf("\ncertificates expiring within %s:\n", window.c_str());
  Table table({"ID", "NOT AFTER", "SOURCE"});
  for (const v1::ExpiringCertificate& certificate :
       status.expiring_certificates()) {
    table.AddRow({certificate.id(), FormatTimestamp(certificate.not_after()),
                  certificate.stored() ? "store" : "config"});
  }
  PrintText(table.Render());
}

int RunStatus(const CtlContext& context, const Invocation& invocation) {
  v1::GetStatusRequest request;
  std::string window = "30d";
  if (invocation.options.Has("expiring-within")) {
    window = invocation.options.Get("expiring-within");
    auto within = ParseDuration("--expiring-within", window);
    if (!within.ok()) {
      return invocation.UsageError(std::string(within.status().message()));
    }
    request.mutable_expiring_within()->set_seconds(
        absl::ToInt64Seconds(*within));
  }
  AdminClient client(context);
  v1::Status status;
  grpc::Status called = client.Call([&](auto& stub, auto* call) {
    return stub.GetStatus(call, request, &status);
  });
  if (!called.ok()) return ReportRpcError(called);
  if (context.output == OutputFormat::kJson) {
    PrintJson(status);
  } else {
    PrintStatus(status, window);
  }
  return kExitOk;
}

int RunRotate(const CtlContext& context, const Invocation& invocation) {
  AdminClient client(context);
  v1::RotateKekRequest request;
  v1::RotateKekResponse response;
  grpc::Status status = client.Call([&](auto& stub, auto* call) {
    return stub.RotateKek(call, request, &response);
  });
  if (!status.ok()) return ReportRpcError(status);
  if (context.output == OutputFormat::kJson) {
    PrintJson(response);
  } else {
    std::printf(
        "every stored key is sealed under KEK %s: %d rewrapped, %d already "
        "current (policy version %s)\n",
        response.kek_id().c_str(), response.rewrapped(),
        response.already_current(), response.policy_version().c_str());
  }
  return kExitOk;
}

}  // namespace

const Command& StatusCommand() {
  static const auto* command = new Command{
      "status",
      "[--expiring-within DURATION]",
      "show the broker's version, policy, store, KEK and expiring "
      "certificates",
      "Shows the broker's version, the policy in force, the store's health, "
      "the current KEK,\nfailed reloads, and the client certificates "
      "(stored or from the configuration)\nthat expire within "
      "--expiring-within (default 30d).\n",
      {},
      {{"expiring-within", "DURATION",
        "list certificates expiring within DURATION (default 30d)"}},
      RunStatus};
  return *command;
}

const CommandGroup& KekCommands() {
  static const auto* group = new CommandGroup{
      "kek",
      "The key-encryption key (KEK) that seals the private keys of stored "
      "certificates.",
      {
          {"rotate",
           "",
           "re-seal every stored key under the current KEK",
           "Re-wraps, in one transaction, every stored key not sealed under "
           "the current KEK\n(certbrokerd --kek_file) with it; the previous "
           "KEKs must be loaded\n(--previous_kek_files). Idempotent: run it "
           "after restarting the broker with a\nnew KEK, then retire the old "
           "KEK files.\n",
           {},
           {},
           RunRotate},
      }};
  return *group;
}

}  // namespace certbroker::ctl

// certbrokerctl bundle: create or replace, show, list and delete stored
// trust bundles.
#include "broker/ctl/bundle_commands.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/ctl/output.h"
#include "broker/ctl/paging.h"
#include "broker/ctl/resource_calls.h"
#include "broker/ctl/table.h"
#include "broker/ctl/values.h"
#include "broker/x509/pem.h"

namespace certbroker::ctl {
namespace {

namespace v1 = ::certbroker::v1;

void PrintBundle(const CtlContext& context, const v1::TrustBundle& bundle) {
  if (context.output == OutputFormat::kJson) {
    PrintJson(bundle);
    return;
  }
  std::vector<Field> fields = {
      {"name", bundle.name()},
      {"roots", absl::StrCat(bundle.subjects_size())},
  };
  for (int i = 0; i < bundle.subjects_size(); ++i) {
    std::string fingerprint = i < bundle.sha256_fingerprints_size()
                                  ? bundle.sha256_fingerprints(i)
                                  : std::string();
    fields.push_back(
        {absl::StrCat("root ", i + 1),
         absl::StrCat(bundle.subjects(i), "  sha256:", fingerprint)});
  }
  fields.push_back({"updated", FormatTimestamp(bundle.update_time())});
  PrintText(RenderFields(fields));
}

int RunPut(const CtlContext& context, const Invocation& invocation) {
  const Options& options = invocation.options;
  auto name = ResourceName("trustBundles", invocation.positionals[0]);
  if (!name.ok()) {
    return invocation.UsageError(std::string(name.status().message()));
  }
  if (!options.Has("pem")) {
    return invocation.UsageError("--pem FILE is required");
  }
  auto pem = ReadInputFile("--pem", options.Get("pem"));
  if (!pem.ok()) {
    return invocation.UsageError(std::string(pem.status().message()));
  }
  if (auto parsed = x509::ParsePemCertificates(*pem, options.Get("pem"));
      !parsed.ok()) {
    return invocation.UsageError(
        absl::StrCat("--pem: ", parsed.status().message()));
  }
  v1::UpdateTrustBundleRequest request;
  request.mutable_trust_bundle()->set_name(*name);
  request.mutable_trust_bundle()->set_certificates_pem(*std::move(pem));
  request.set_allow_missing(!options.Has("must-exist"));
  AdminClient client(context);
  v1::TrustBundle bundle;
  grpc::Status status = client.Call([&](auto& stub, auto* call) {
    return stub.UpdateTrustBundle(call, request, &bundle);
  });
  if (!status.ok()) return ReportRpcError(status);
  PrintBundle(context, bundle);
  return kExitOk;
}

int RunGet(const CtlContext& context, const Invocation& invocation) {
  auto name = ResourceName("trustBundles", invocation.positionals[0]);
  if (!name.ok()) {
    return invocation.UsageError(std::string(name.status().message()));
  }
  v1::GetTrustBundleRequest request;
  request.set_name(*name);
  AdminClient client(context);
  v1::TrustBundle bundle;
  grpc::Status status = client.Call([&](auto& stub, auto* call) {
    return stub.GetTrustBundle(call, request, &bundle);
  });
  if (!status.ok()) return ReportRpcError(status);
  if (invocation.options.Has("pem") && context.output != OutputFormat::kJson) {
    PrintText(bundle.certificates_pem());
  } else {
    PrintBundle(context, bundle);
  }
  return kExitOk;
}

int RunList(const CtlContext& context, const Invocation& invocation) {
  return ListResources<v1::ListTrustBundlesRequest,
                       v1::ListTrustBundlesResponse>(
      context, invocation, &AdminClient::Stub::ListTrustBundles, {},
      [](v1::ListTrustBundlesResponse& page,
         v1::ListTrustBundlesResponse& all) {
        for (auto& bundle : *page.mutable_trust_bundles()) {
          *all.add_trust_bundles() = std::move(bundle);
        }
      },
      [](const v1::ListTrustBundlesResponse& all) {
        Table table({"ID", "ROOTS", "UPDATED", "SUBJECTS"});
        for (const v1::TrustBundle& bundle : all.trust_bundles()) {
          table.AddRow({ResourceId(bundle.name()),
                        absl::StrCat(bundle.subjects_size()),
                        FormatTimestamp(bundle.update_time()),
                        absl::StrJoin(bundle.subjects(), "; ")});
        }
        PrintText(table.Render());
      });
}

int RunDelete(const CtlContext& context, const Invocation& invocation) {
  return DeleteResource(context, invocation, "trustBundles",
                        &AdminClient::Stub::DeleteTrustBundle);
}

}  // namespace

const CommandGroup& BundleCommands() {
  static const auto* group = new CommandGroup{
      "bundle",
      "Trust bundles stored in the broker: sets of root certificates that "
      "rules trust by ID\n(server_validation: {trust_bundles: [ID]}).",
      {
          {"put",
           "ID --pem FILE [--must-exist]",
           "create or replace a trust bundle",
           "Stores the root certificates of FILE as trust bundle ID, "
           "creating it when it does\nnot exist (unless --must-exist) and "
           "replacing it when it does.\n",
           {"ID"},
           {{"pem", "FILE", "PEM file of one or more root certificates"},
            {"must-exist", "",
             "only replace; fail with NOT_FOUND when "
             "there is no such bundle"}},
           RunPut},
          {"get",
           "ID [--pem]",
           "show a trust bundle",
           "Shows a trust bundle's roots; --pem prints them as PEM.\n",
           {"ID"},
           {{"pem", "", "print only the certificates, PEM"}},
           RunGet},
          {"list",
           "[options]",
           "list trust bundles",
           "Lists stored trust bundles in ID order. Every page is fetched "
           "unless --page-size\nis given.\n",
           {},
           PagingOptions(),
           RunList},
          {"delete",
           "ID",
           "delete a trust bundle",
           "Deletes a trust bundle. Refused (FAILED_PRECONDITION) while a "
           "rule uses it.\n",
           {"ID"},
           {},
           RunDelete},
      }};
  return *group;
}

}  // namespace certbroker::ctl

// certbrokerctl crl: create or replace, show, list and delete stored CRLs.
// A DER CRL file is converted to PEM here, since the API carries PEM.
#include "broker/ctl/crl_commands.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "broker/ctl/output.h"
#include "broker/ctl/paging.h"
#include "broker/ctl/resource_calls.h"
#include "broker/ctl/table.h"
#include "broker/ctl/values.h"
#include "broker/x509/pem.h"

namespace certbroker::ctl {
namespace {

namespace v1 = ::certbroker::v1;

// CrlPem reads the one CRL of `path`, PEM or DER, as PEM: a PEM file as
// written, a DER one converted.
absl::StatusOr<std::string> CrlPem(const std::string& path) {
  auto data = ReadInputFile("--file", path);
  if (!data.ok()) return data.status();
  auto crls = x509::ParseCrls(*data, path);
  if (!crls.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--file: ", crls.status().message()));
  }
  if (crls->size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--file: ", path, " holds ", crls->size(), " CRLs; give one"));
  }
  if (data->find("-----BEGIN") != std::string::npos) return data;
  return x509::CrlToPem(crls->front().get());
}

void PrintCrl(const CtlContext& context, const v1::Crl& crl) {
  if (context.output == OutputFormat::kJson) {
    PrintJson(crl);
    return;
  }
  PrintText(RenderFields({
      {"name", crl.name()},
      {"issuer", crl.issuer()},
      {"this update", FormatTimestamp(crl.this_update())},
      {"next update", FormatTimestamp(crl.next_update())},
      {"revoked", absl::StrCat(crl.revoked_count())},
      {"updated", FormatTimestamp(crl.update_time())},
  }));
}

int RunPut(const CtlContext& context, const Invocation& invocation) {
  const Options& options = invocation.options;
  auto name = ResourceName("crls", invocation.positionals[0]);
  if (!name.ok()) {
    return invocation.UsageError(std::string(name.status().message()));
  }
  if (!options.Has("file")) {
    return invocation.UsageError("--file FILE is required");
  }
  auto pem = CrlPem(options.Get("file"));
  if (!pem.ok()) {
    return invocation.UsageError(std::string(pem.status().message()));
  }
  v1::UpdateCrlRequest request;
  request.mutable_crl()->set_name(*name);
  request.mutable_crl()->set_crl_pem(*std::move(pem));
  request.set_allow_missing(!options.Has("must-exist"));
  AdminClient client(context);
  v1::Crl crl;
  grpc::Status status = client.Call([&](auto& stub, auto* call) {
    return stub.UpdateCrl(call, request, &crl);
  });
  if (!status.ok()) return ReportRpcError(status);
  PrintCrl(context, crl);
  return kExitOk;
}

int RunGet(const CtlContext& context, const Invocation& invocation) {
  auto name = ResourceName("crls", invocation.positionals[0]);
  if (!name.ok()) {
    return invocation.UsageError(std::string(name.status().message()));
  }
  v1::GetCrlRequest request;
  request.set_name(*name);
  AdminClient client(context);
  v1::Crl crl;
  grpc::Status status = client.Call(
      [&](auto& stub, auto* call) { return stub.GetCrl(call, request, &crl); });
  if (!status.ok()) return ReportRpcError(status);
  if (invocation.options.Has("pem") && context.output != OutputFormat::kJson) {
    PrintText(crl.crl_pem());
  } else {
    PrintCrl(context, crl);
  }
  return kExitOk;
}

int RunList(const CtlContext& context, const Invocation& invocation) {
  return ListResources<v1::ListCrlsRequest, v1::ListCrlsResponse>(
      context, invocation, &AdminClient::Stub::ListCrls, {},
      [](v1::ListCrlsResponse& page, v1::ListCrlsResponse& all) {
        for (auto& crl : *page.mutable_crls()) *all.add_crls() = std::move(crl);
      },
      [](const v1::ListCrlsResponse& all) {
        Table table({"ID", "THIS UPDATE", "NEXT UPDATE", "REVOKED", "ISSUER"});
        for (const v1::Crl& crl : all.crls()) {
          table.AddRow({ResourceId(crl.name()),
                        FormatTimestamp(crl.this_update()),
                        FormatTimestamp(crl.next_update()),
                        absl::StrCat(crl.revoked_count()), crl.issuer()});
        }
        PrintText(table.Render());
      });
}

int RunDelete(const CtlContext& context, const Invocation& invocation) {
  return DeleteResource(context, invocation, "crls",
                        &AdminClient::Stub::DeleteCrl);
}

}  // namespace

const CommandGroup& CrlCommands() {
  static const auto* group = new CommandGroup{
      "crl",
      "Certificate revocation lists stored in the broker. Rules whose "
      "revocation mode is\nnot OFF check every certificate of a path against "
      "its issuer's CRL.",
      {
          {"put",
           "ID --file FILE [--must-exist]",
           "create or replace a CRL",
           "Stores the CRL of FILE (PEM or DER; DER is sent as PEM) as ID, "
           "creating it when\nit does not exist (unless --must-exist) and "
           "replacing it when it does.\n",
           {"ID"},
           {{"file", "FILE", "the CRL, PEM (\"X509 CRL\") or DER"},
            {"must-exist", "",
             "only replace; fail with NOT_FOUND when there is no such CRL"}},
           RunPut},
          {"get",
           "ID [--pem]",
           "show a CRL",
           "Shows a stored CRL; --pem prints it as PEM.\n",
           {"ID"},
           {{"pem", "", "print only the CRL, PEM"}},
           RunGet},
          {"list",
           "[options]",
           "list CRLs",
           "Lists stored CRLs in ID order. Every page is fetched unless "
           "--page-size is given.\n",
           {},
           PagingOptions(),
           RunList},
          {"delete",
           "ID",
           "delete a CRL",
           "Deletes a stored CRL.\n",
           {"ID"},
           {},
           RunDelete},
      }};
  return *group;
}

}  // namespace certbroker::ctl

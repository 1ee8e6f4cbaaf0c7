// certbrokerctl cert: import, get, list and delete stored client
// certificates. Key material and passwords are read from files (or the
// environment) and sent to the broker; they are never printed.
#include "broker/ctl/cert_commands.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "broker/ctl/output.h"
#include "broker/ctl/paging.h"
#include "broker/ctl/resource_calls.h"
#include "broker/ctl/table.h"
#include "broker/ctl/values.h"
#include "broker/x509/pem.h"

namespace certbroker::ctl {
namespace {

namespace v1 = ::certbroker::v1;

// SetPemMaterial reads --chain and --key, checking that they parse.
absl::Status SetPemMaterial(const Options& options,
                            v1::ImportCertificateRequest& request) {
  if (!options.Has("chain")) {
    return absl::InvalidArgumentError("--chain FILE is required with --key");
  }
  if (!options.Has("key")) {
    return absl::InvalidArgumentError("--key FILE is required with --chain");
  }
  if (options.Has("password-file") || options.Has("password-env")) {
    return absl::InvalidArgumentError(
        "--password-file and --password-env go with --pkcs12 only");
  }
  auto chain = ReadInputFile("--chain", options.Get("chain"));
  if (!chain.ok()) return chain.status();
  if (auto parsed = x509::ParsePemCertificates(*chain, options.Get("chain"));
      !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--chain: ", parsed.status().message()));
  }
  auto key = ReadInputFile("--key", options.Get("key"));
  if (!key.ok()) return key.status();
  if (auto parsed = x509::ParsePemPrivateKey(*key, options.Get("key"));
      !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--key: ", parsed.status().message()));
  }
  request.mutable_pem()->set_chain_pem(*std::move(chain));
  request.mutable_pem()->set_key_pem(*std::move(key));
  return absl::OkStatus();
}

// Password reads the PKCS#12 password from --password-file (without a
// final line break) or --password-env; empty when neither is given.
absl::StatusOr<std::string> Password(const Options& options) {
  if (options.Has("password-file") && options.Has("password-env")) {
    return absl::InvalidArgumentError(
        "give only one of --password-file and --password-env");
  }
  if (options.Has("password-env")) {
    const char* value = std::getenv(options.Get("password-env").c_str());
    if (value == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--password-env: ", options.Get("password-env"), " is not set"));
    }
    return std::string(value);
  }
  if (!options.Has("password-file")) return std::string();
  auto password =
      ReadInputFile("--password-file", options.Get("password-file"));
  if (!password.ok()) return password.status();
  // Editors end the file with a line break; it is not part of the password.
  if (absl::EndsWith(*password, "\n")) password->pop_back();
  if (absl::EndsWith(*password, "\r")) password->pop_back();
  return password;
}

absl::StatusOr<v1::ImportCertificateRequest> BuildImport(
    const Invocation& invocation) {
  const Options& options = invocation.options;
  v1::ImportCertificateRequest request;
  auto name = ResourceName("certificates", invocation.positionals[0]);
  if (!name.ok()) return name.status();
  request.set_certificate_id(ResourceId(*name));
  const bool pem = options.Has("chain") || options.Has("key");
  if (pem && options.Has("pkcs12")) {
    return absl::InvalidArgumentError(
        "give either --chain and --key, or --pkcs12, not both");
  }
  if (pem) {
    if (absl::Status set = SetPemMaterial(options, request); !set.ok()) {
      return set;
    }
  } else if (options.Has("pkcs12")) {
    auto pkcs12 = ReadInputFile("--pkcs12", options.Get("pkcs12"));
    if (!pkcs12.ok()) return pkcs12.status();
    auto password = Password(options);
    if (!password.ok()) return password.status();
    request.mutable_pkcs12()->set_pkcs12(*std::move(pkcs12));
    request.mutable_pkcs12()->set_password(*std::move(password));
  } else {
    return absl::InvalidArgumentError(
        "give --chain FILE and --key FILE, or --pkcs12 FILE");
  }
  auto labels = ParseLabels(options.GetAll("label"));
  if (!labels.ok()) return labels.status();
  request.mutable_labels()->insert(labels->begin(), labels->end());
  request.set_exportable(options.Has("exportable"));
  request.set_allow_expired(options.Has("allow-expired"));
  request.set_allow_replace(options.Has("replace"));
  return request;
}

std::string CertificateFields(const v1::Certificate& certificate) {
  size_t chain_length = 0;
  for (size_t at = certificate.chain_pem().find("-----BEGIN CERTIFICATE");
       at != std::string::npos;
       at = certificate.chain_pem().find("-----BEGIN CERTIFICATE", at + 1)) {
    ++chain_length;
  }
  return RenderFields({
      {"name", certificate.name()},
      {"subject", certificate.subject()},
      {"issuer", certificate.issuer()},
      {"serial", certificate.serial_number()},
      {"dns names", absl::StrJoin(certificate.dns_names(), ", ")},
      {"sha256", certificate.sha256_fingerprint()},
      {"not before", FormatTimestamp(certificate.not_before())},
      {"not after", FormatTimestamp(certificate.not_after())},
      {"key type", certificate.key_type()},
      {"kek", certificate.kek_id()},
      {"exportable", YesNo(certificate.exportable())},
      {"labels", FormatLabels(certificate.labels())},
      {"chain", absl::StrCat(chain_length, " certificate",
                             chain_length == 1 ? "" : "s")},
      {"created", FormatTimestamp(certificate.create_time())},
      {"updated", FormatTimestamp(certificate.update_time())},
  });
}

void PrintCertificate(const CtlContext& context,
                      const v1::Certificate& certificate) {
  if (context.output == OutputFormat::kJson) {
    PrintJson(certificate);
  } else {
    PrintText(CertificateFields(certificate));
  }
}

int RunImport(const CtlContext& context, const Invocation& invocation) {
  auto request = BuildImport(invocation);
  if (!request.ok()) {
    return invocation.UsageError(std::string(request.status().message()));
  }
  AdminClient client(context);
  v1::Certificate certificate;
  grpc::Status status = client.Call([&](auto& stub, auto* call) {
    return stub.ImportCertificate(call, *request, &certificate);
  });
  if (!status.ok()) return ReportRpcError(status);
  PrintCertificate(context, certificate);
  return kExitOk;
}

int RunGet(const CtlContext& context, const Invocation& invocation) {
  v1::GetCertificateRequest request;
  auto name = ResourceName("certificates", invocation.positionals[0]);
  if (!name.ok()) {
    return invocation.UsageError(std::string(name.status().message()));
  }
  request.set_name(*name);
  AdminClient client(context);
  v1::Certificate certificate;
  grpc::Status status = client.Call([&](auto& stub, auto* call) {
    return stub.GetCertificate(call, request, &certificate);
  });
  if (!status.ok()) return ReportRpcError(status);
  if (invocation.options.Has("pem") && context.output != OutputFormat::kJson) {
    PrintText(certificate.chain_pem());
  } else {
    PrintCertificate(context, certificate);
  }
  return kExitOk;
}

int RunList(const CtlContext& context, const Invocation& invocation) {
  const Options& options = invocation.options;
  v1::ListCertificatesRequest request;
  if (options.Has("label-selector")) {
    absl::Status checked =
        CheckLabelSelector("--label-selector", options.Get("label-selector"));
    if (!checked.ok())
      return invocation.UsageError(std::string(checked.message()));
    request.set_label_selector(options.Get("label-selector"));
  }
  if (options.Has("expiring-within")) {
    auto within =
        ParseDuration("--expiring-within", options.Get("expiring-within"));
    if (!within.ok()) {
      return invocation.UsageError(std::string(within.status().message()));
    }
    request.mutable_expire_before()->set_seconds(
        absl::ToUnixSeconds(absl::Now() + *within));
  }
  return ListResources<v1::ListCertificatesRequest,
                       v1::ListCertificatesResponse>(
      context, invocation, &AdminClient::Stub::ListCertificates, request,
      [](v1::ListCertificatesResponse& page,
         v1::ListCertificatesResponse& all) {
        for (auto& certificate : *page.mutable_certificates()) {
          *all.add_certificates() = std::move(certificate);
        }
      },
      [](const v1::ListCertificatesResponse& all) {
        Table table({"ID", "SUBJECT", "NOT AFTER", "KEY", "KEK", "EXPORTABLE",
                     "LABELS"});
        for (const v1::Certificate& certificate : all.certificates()) {
          table.AddRow({ResourceId(certificate.name()), certificate.subject(),
                        FormatTimestamp(certificate.not_after()),
                        certificate.key_type(), certificate.kek_id(),
                        YesNo(certificate.exportable()),
                        FormatLabels(certificate.labels())});
        }
        PrintText(table.Render());
      });
}

int RunDelete(const CtlContext& context, const Invocation& invocation) {
  return DeleteResource(context, invocation, "certificates",
                        &AdminClient::Stub::DeleteCertificate);
}

std::vector<OptionSpec> ListOptions() {
  std::vector<OptionSpec> options = {
      {"label-selector", "K=V,...", "only certificates having every label"},
      {"expiring-within", "DURATION",
       "only certificates expiring within DURATION (30d, 12h)"},
  };
  for (OptionSpec& spec : PagingOptions()) options.push_back(std::move(spec));
  return options;
}

}  // namespace

const CommandGroup& CertCommands() {
  static const auto* group = new CommandGroup{
      "cert",
      "Client certificates stored in the broker, with their private keys "
      "sealed under the KEK.\nRules use them by ID "
      "(client_certificate: ID). Keys are never shown.",
      {
          {"import",
           "ID (--chain FILE --key FILE | --pkcs12 FILE [--password-file FILE "
           "| --password-env VAR]) [options]",
           "store a certificate chain and its private key",
           "Stores a client certificate chain (leaf first) with its private "
           "key, sealed under\nthe broker's KEK. The key must match the leaf, "
           "the leaf must allow clientAuth,\nand the chain must be valid now "
           "unless --allow-expired. An existing ID is refused\nunless "
           "--replace. Prints the stored certificate.\n",
           {"ID"},
           {
               {"chain", "FILE", "PEM certificate chain, leaf first"},
               {"key", "FILE", "PEM private key of the leaf (unencrypted)"},
               {"pkcs12", "FILE",
                "PKCS#12 (.p12/.pfx) file instead of "
                "--chain and --key"},
               {"password-file", "FILE",
                "the PKCS#12 password: this file (without a final line break)"},
               {"password-env", "VAR",
                "the PKCS#12 password: environment variable VAR"},
               {"label", "K=V", "label the certificate (repeatable)"},
               {"exportable", "",
                "let GetClientCertificate return the private key"},
               {"allow-expired", "",
                "accept a chain outside its validity period"},
               {"replace", "", "replace a stored certificate with this ID"},
           },
           RunImport},
          {"get",
           "ID [--pem]",
           "show a stored certificate",
           "Shows a stored certificate (never its key); --pem prints the "
           "chain as PEM.\n",
           {"ID"},
           {{"pem", "", "print only the chain, PEM"}},
           RunGet},
          {"list",
           "[options]",
           "list stored certificates",
           "Lists stored certificates in ID order. Every page is fetched "
           "unless "
           "--page-size\nis given.\n",
           {},
           ListOptions(),
           RunList},
          {"delete",
           "ID",
           "delete a stored certificate and its key",
           "Deletes a stored certificate and its sealed key. Refused "
           "(FAILED_PRECONDITION)\nwhile a rule of the policy uses it.\n",
           {"ID"},
           {},
           RunDelete},
      }};
  return *group;
}

}  // namespace certbroker::ctl

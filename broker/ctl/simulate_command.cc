// certbrokerctl simulate.
#include "broker/ctl/simulate_command.h"

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "broker/common/file.h"
#include "broker/ctl/command_line.h"
#include "broker/x509/pem.h"
#include "certbroker/v1/admin.grpc.pb.h"
#include "google/protobuf/util/json_util.h"

namespace certbroker::ctl {
namespace {

namespace v1 = ::certbroker::v1;

const std::vector<OptionSpec>& SimulateOptions() {
  static const auto* options = new std::vector<OptionSpec>{
      {"host", "HOST", "server DNS name or IP address (or give --url)"},
      {"url", "URL",
       "the URL the agent fetches, e.g. https://api.example.com:8443/x"},
      {"port", "PORT", "server port (default: the URL's, else 443)"},
      {"sni", "NAME", "TLS server name, when it differs from the host"},
      {"chain", "FILE",
       "PEM file with the server's chain, leaf first (required)"},
      {"server-name", "NAME", "name to verify (default: --sni, else the host)"},
      {"at", "TIME",
       "validation time, RFC 3339 (2027-01-31T12:00:00Z); default now"},
      {"policy", "FILE",
       "evaluate this configuration file instead of the live policy"},
      {"ocsp", "FILE", "DER OCSP response stapled for the leaf"},
      {"agent-accepted", "",
       "the agent's own verification passed (modes BOTH/AGENT)"},
      {"agent-rejected", "DETAIL",
       "the agent's own verification failed, with its error"},
      {"help", "", "show this help"},
  };
  return *options;
}

// BuildRequest turns the options into a request; errors are usage errors.
absl::StatusOr<v1::SimulateServerCertificateRequest> BuildRequest(
    const Options& options) {
  v1::SimulateServerCertificateRequest request;
  if (!options.Has("host") && !options.Has("url")) {
    return absl::InvalidArgumentError("give --host or --url");
  }
  if (!options.Has("chain"))
    return absl::InvalidArgumentError("--chain FILE is required");
  request.mutable_target()->set_host(options.Get("host"));
  request.mutable_target()->set_url(options.Get("url"));
  request.mutable_target()->set_sni(options.Get("sni"));
  if (options.Has("port")) {
    uint32_t port = 0;
    if (!absl::SimpleAtoi(options.Get("port"), &port) || port == 0 ||
        port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--port: '", options.Get("port"), "' is not a port (1-65535)"));
    }
    request.mutable_target()->set_port(port);
  }
  request.set_server_name(options.Get("server-name"));
  auto pem = ReadFile(options.Get("chain"));
  if (!pem.ok()) return pem.status();
  auto chain = x509::ParsePemCertificates(*pem, options.Get("chain"));
  if (!chain.ok()) return chain.status();
  for (const auto& certificate : *chain) {
    request.add_certificate_chain(x509::CertificateToDer(certificate.get()));
  }
  if (options.Has("at")) {
    absl::Time when;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, options.Get("at"), &when,
                         &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--at: '", options.Get("at"),
                       "' is not an RFC 3339 time (", error, ")"));
    }
    request.mutable_validation_time()->set_seconds(absl::ToUnixSeconds(when));
  }
  if (options.Has("policy")) {
    auto policy = ReadFile(options.Get("policy"));
    if (!policy.ok()) return policy.status();
    request.set_policy_yaml(*policy);
  }
  if (options.Has("ocsp")) {
    auto ocsp = ReadFile(options.Get("ocsp"));
    if (!ocsp.ok()) return ocsp.status();
    request.set_ocsp_response(*ocsp);
  }
  if (options.Has("agent-accepted") && options.Has("agent-rejected")) {
    return absl::InvalidArgumentError(
        "give only one of --agent-accepted and --agent-rejected");
  }
  if (options.Has("agent-accepted"))
    request.mutable_agent_verification()->set_accepted(true);
  if (options.Has("agent-rejected")) {
    request.mutable_agent_verification()->set_accepted(false);
    request.mutable_agent_verification()->set_detail(
        options.Get("agent-rejected"));
  }
  return request;
}

void PrintTable(const v1::SimulateServerCertificateResponse& response,
                bool inline_policy) {
  std::printf("verdict:  %s (%s)\n",
              response.accepted() ? "ACCEPTED" : "REJECTED",
              v1::Reason_Name(response.reason()).c_str());
  std::printf("rule:     %s\n", response.rule_name().empty()
                                    ? "(none)"
                                    : response.rule_name().c_str());
  std::printf("policy:   %s (%s)\n", response.policy_version().c_str(),
              inline_policy ? "from --policy" : "live");
  std::printf("time:     %s\n",
              absl::FormatTime(
                  absl::RFC3339_sec,
                  absl::FromUnixSeconds(response.validation_time().seconds()),
                  absl::UTCTimeZone())
                  .c_str());
  std::printf("detail:   %s\n", response.detail().c_str());
  if (response.failures_size() > 0) {
    std::printf("checks that failed:\n");
    for (const auto& failure : response.failures()) {
      std::string reason = v1::Reason_Name(failure.reason());
      if (failure.tolerated()) reason += " (tolerated)";
      std::printf("  %-38s %s\n", reason.c_str(), failure.detail().c_str());
    }
  }
  if (response.path_size() > 0) {
    std::printf("path built:\n");
    for (const auto& certificate : response.path()) {
      std::string where =
          certificate.chain_index() < 0
              ? "trust"
              : absl::StrCat("[", certificate.chain_index(), "]");
      std::printf("  %-6s %s  sha256:%s\n", where.c_str(),
                  certificate.subject().c_str(),
                  certificate.sha256_fingerprint().c_str());
    }
  }
}

}  // namespace

std::string SimulateHelp() {
  return absl::StrCat(
      "Usage: certbrokerctl [global options] simulate --host HOST --chain FILE "
      "[options]\n\n"
      "Evaluates a server chain exactly as OnServerCertificate would, against "
      "the live\n"
      "policy or --policy FILE, at --at TIME, and lists every failed check and "
      "the path\n"
      "built. Nothing is cached or changed. certbrokerd must run with "
      "--enable_simulation.\n"
      "Exit codes: 0 accepted, 3 rejected, 1 RPC error, 2 usage "
      "error.\n\nOptions:\n",
      Usage(SimulateOptions()));
}

int RunSimulate(const CtlContext& context, std::vector<std::string> args) {
  auto options =
      ParseOptions(SimulateOptions(), args, /*stop_at_positional=*/false);
  if (!options.ok())
    return ReportUsageError(std::string(options.status().message()),
                            "simulate");
  if (options->Has("help")) {
    std::printf("%s", SimulateHelp().c_str());
    return kExitOk;
  }
  auto request = BuildRequest(*options);
  if (!request.ok())
    return ReportUsageError(std::string(request.status().message()),
                            "simulate");

  auto stub = v1::CertificateAdmin::NewStub(context.Channel());
  grpc::ClientContext call;
  context.Deadline(call);
  v1::SimulateServerCertificateResponse response;
  grpc::Status status =
      stub->SimulateServerCertificate(&call, *request, &response);
  if (!status.ok()) return ReportRpcError(status);
  if (context.output == OutputFormat::kJson) {
    std::string json;
    google::protobuf::util::JsonPrintOptions print;
    print.preserve_proto_field_names = true;
    print.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(response, &json, print);
    std::printf("%s\n", json.c_str());
  } else {
    PrintTable(response, options->Has("policy"));
  }
  return response.accepted() ? kExitOk : kExitRejected;
}

}  // namespace certbroker::ctl

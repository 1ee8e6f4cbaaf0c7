// The fetch command: argument parsing, the broker client and TLS binding,
// one Fetcher run, and the report of its result.
#include "agents/agent/fetch_command.h"

#include "absl/strings/str_cat.h"
#include "agents/agent/broker_flags.h"
#include "agents/agent/flag_parser.h"
#include "agents/agent/progress.h"
#include "agents/transfer/fetcher.h"
#include "agents/transfer/https_url.h"
#include "broker/common/status_macros.h"
#include "certbroker/agent/broker_client.h"
#include "certbroker/agent/tls_binding.h"

namespace certbroker::agent_cli {
namespace {

// FetchArgs are the parsed arguments.
struct FetchArgs {
  bool help = false;
  transfer::FetchOptions options;
  BrokerFlags broker = DefaultBrokerFlags();
};

// Parse reads the arguments; the error says which one is wrong.
absl::StatusOr<FetchArgs> Parse(const std::vector<std::string>& args) {
  std::vector<std::string> valued = {"o",
                                     "output",
                                     "sha256",
                                     "expected_size",
                                     "resolve",
                                     "max_redirects",
                                     "connect_timeout",
                                     "idle_timeout",
                                     "ignore_local_error"};
  valued.insert(valued.end(), kBrokerFlagNames.begin(), kBrokerFlagNames.end());
  auto split = ParseArgs(args, valued);
  if (!split.ok()) return split.status();
  FetchArgs parsed;
  parsed.help = split->help;
  for (const auto& [name, value] : split->flags) {
    if (ApplyBrokerFlag(name, value, parsed.broker)) continue;
    if (name == "o" || name == "output") {
      parsed.options.output_path = value;
    } else if (name == "sha256") {
      CB_ASSIGN_OR_RETURN(parsed.options.sha256_hex, ParseSha256(value));
    } else if (name == "expected_size") {
      CB_ASSIGN_OR_RETURN(parsed.options.expected_size,
                          ParseByteCount(name, value));
    } else if (name == "resolve") {
      CB_RETURN_IF_ERROR(ParseResolve(value, parsed.options.resolve));
    } else if (name == "max_redirects") {
      CB_ASSIGN_OR_RETURN(parsed.options.max_redirects,
                          ParseInt(name, value, 0, 50));
    } else if (name == "connect_timeout") {
      CB_ASSIGN_OR_RETURN(parsed.options.connect_timeout,
                          ParseSeconds(name, value));
    } else if (name == "idle_timeout") {
      CB_ASSIGN_OR_RETURN(parsed.options.idle_timeout,
                          ParseSeconds(name, value));
    } else if (name == "ignore_local_error") {
      CB_ASSIGN_OR_RETURN(v1::Reason reason, ParseLocalError(value));
      parsed.options.ignore_local_errors.push_back(reason);
    }
  }
  if (parsed.help) return parsed;
  const std::vector<std::string>& positional = split->positional;
  if (positional.size() != 1) {
    return absl::InvalidArgumentError(
        positional.empty() ? "fetch needs a URL"
                           : absl::StrCat("fetch takes one URL, got ",
                                          positional.size(), " arguments"));
  }
  auto url = transfer::ParseHttpsUrl(positional[0]);
  if (!url.ok()) return url.status();
  parsed.options.url = positional[0];
  if (parsed.options.output_path.empty()) {
    return absl::InvalidArgumentError("fetch needs -o FILE");
  }
  return parsed;
}

}  // namespace

std::string FetchUsage() {
  return absl::StrCat(
      R"(usage: certbroker-agent fetch URL -o FILE [flags]

Downloads an https URL into FILE. The broker judges every server
certificate (redirects included) before any request is sent and supplies
the client certificate. The file is written to FILE.certbroker-part and
renamed to FILE when complete (after the --sha256 / --expected_size
checks); an interrupted download resumes from the part file with a Range
request guarded by If-Range.

flags:
  -o, --output FILE            the file to create (required)
)",
      kBrokerFlagsUsage,
      R"(  --sha256 HEX                 expected SHA-256 of the file
  --expected_size N            expected size in bytes
  --resolve HOST:ADDRESS       connect to ADDRESS for HOST (repeatable)
  --max_redirects N            redirects to follow (default 5)
  --connect_timeout SECONDS    connect + TLS handshake (default 30)
  --idle_timeout SECONDS       no-progress timeout (default 60)
  --ignore_local_error REASON  tolerate this local check error (rules in
                               mode AGENT or BOTH) where the broker's rule
                               allows it (repeatable; HOSTNAME_MISMATCH,
                               EXPIRED, NOT_YET_VALID, UNTRUSTED_ROOT,
                               INCOMPLETE_CHAIN)

exit codes:
  0  the file is complete
  1  usage error (bad flag, malformed URL)
  2  LOCAL_FILE: the destination could not be written
  3  REMOTE_FILE: HTTP error status, bad redirect, size or SHA-256 mismatch
  4  TRANSPORT: resolution, connection, TLS, timeout, broken transfer
  5  SERVER_CERTIFICATE: the broker rejected the server's certificate
  6  BROKER_UNAVAILABLE: the broker could not be asked
  7  CLIENT_CERTIFICATE: no usable client certificate from the broker
On failure stderr says "context: NAME" and, when they apply,
"http_status:", "broker_reason:", "broker_decision_id:".
)");
}

int RunFetch(const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err, bool terminal) {
  auto parsed = Parse(args);
  if (!parsed.ok()) {
    err << "certbroker-agent fetch: " << parsed.status().message()
        << "\n(see certbroker-agent fetch --help)\n";
    return kExitUsage;
  }
  if (parsed->help) {
    out << FetchUsage();
    return kExitOk;
  }
  auto client = agent::BrokerClient::Create(parsed->broker.client);
  if (!client.ok()) {
    err << "certbroker-agent fetch: " << client.status().message() << "\n";
    return kExitUsage;
  }
  agent::TlsBindingOptions binding_options;
  binding_options.trust_store_pem_file = parsed->broker.trust_store;
  auto binding = agent::TlsBinding::Create(**client, binding_options);
  if (!binding.ok()) {
    err << "certbroker-agent fetch: " << binding.status().message() << "\n";
    return kExitUsage;
  }
  auto fetcher = transfer::Fetcher::Create(**binding);
  if (!fetcher.ok()) {
    err << "certbroker-agent fetch: " << fetcher.status().message() << "\n";
    return kExitTransport;
  }
  Progress progress(err, terminal);
  transfer::FetchOptions options = parsed->options;
  options.on_progress = [&](uint64_t bytes, int64_t total) {
    progress.Update(bytes, total);
  };
  options.on_notice = [&](const std::string& text) { progress.Notice(text); };
  transfer::FetchResult result = (*fetcher)->Fetch(options);
  progress.Finish();
  if (result.error.has_value()) {
    err << "certbroker-agent: fetch failed: " << result.error->ToString()
        << "\n";
    WriteErrorDetails(*result.error, err);
    return ExitCodeFor(result.error->context);
  }
  out << "fetched " << result.final_url << " -> " << options.output_path << " ("
      << result.size << " bytes";
  if (!result.sha256_hex.empty()) out << ", sha256 " << result.sha256_hex;
  if (result.resumed_from > 0)
    out << ", resumed at byte " << result.resumed_from;
  if (!result.restarted.empty()) out << ", restarted from zero";
  out << ")\n";
  return kExitOk;
}

}  // namespace certbroker::agent_cli

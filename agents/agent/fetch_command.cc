// The fetch command: argument parsing, the broker client and TLS binding,
// one Fetcher run, and the report of its result.
#include "agents/agent/fetch_command.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agents/agent/progress.h"
#include "agents/transfer/fetcher.h"
#include "agents/transfer/https_url.h"
#include "certbroker/agent/broker_client.h"
#include "certbroker/agent/tls_binding.h"

namespace certbroker::agent_cli {
namespace {

using transfer::ErrorContext;

// FetchArgs are the parsed arguments.
struct FetchArgs {
  bool help = false;
  transfer::FetchOptions options;
  agent::BrokerClientOptions broker;
  std::string trust_store;
};

// Parse reads the arguments; the error says which one is wrong.
absl::StatusOr<FetchArgs> Parse(const std::vector<std::string>& args) {
  FetchArgs parsed;
  parsed.broker.address = "unix:var/certbrokerd.sock";
  std::vector<std::string> positional;
  const std::vector<std::string> kValued = {"o",
                                            "output",
                                            "broker",
                                            "broker_tls_ca",
                                            "broker_tls_cert",
                                            "broker_tls_key",
                                            "broker_tls_server_name",
                                            "trust_store",
                                            "sha256",
                                            "expected_size",
                                            "resolve",
                                            "max_redirects",
                                            "connect_timeout",
                                            "idle_timeout",
                                            "ignore_local_error"};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional.insert(positional.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
    std::optional<std::string> value;
    size_t equals = name.find('=');
    if (equals != std::string::npos) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
    }
    if (name == "help" || name == "h") {
      parsed.help = true;
      continue;
    }
    if (std::find(kValued.begin(), kValued.end(), name) == kValued.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag \"", arg, "\""));
    }
    if (!value.has_value()) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag \"", arg, "\" needs a value"));
      }
      value = args[++i];
    }
    auto seconds = [&](absl::Duration& into) -> absl::Status {
      double number = 0;
      if (!absl::SimpleAtod(*value, &number) || number <= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--", name, " must be a positive number of seconds, not \"", *value,
            "\""));
      }
      into = absl::Seconds(number);
      return absl::OkStatus();
    };
    if (name == "o" || name == "output") {
      parsed.options.output_path = *value;
    } else if (name == "broker") {
      parsed.broker.address = *value;
    } else if (name == "broker_tls_ca") {
      parsed.broker.tls_ca_file = *value;
    } else if (name == "broker_tls_cert") {
      parsed.broker.tls_cert_file = *value;
    } else if (name == "broker_tls_key") {
      parsed.broker.tls_key_file = *value;
    } else if (name == "broker_tls_server_name") {
      parsed.broker.tls_server_name = *value;
    } else if (name == "trust_store") {
      parsed.trust_store = *value;
    } else if (name == "sha256") {
      bool hex = value->size() == 64;
      for (char c : *value) {
        hex = hex && absl::ascii_isxdigit(static_cast<unsigned char>(c));
      }
      if (!hex) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--sha256 must be 64 hex digits, not \"", *value, "\""));
      }
      parsed.options.sha256_hex = absl::AsciiStrToLower(*value);
    } else if (name == "expected_size") {
      uint64_t size = 0;
      if (!absl::SimpleAtoi(*value, &size) ||
          !absl::ascii_isdigit(static_cast<unsigned char>((*value)[0]))) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--expected_size must be a number of bytes, not \"", *value, "\""));
      }
      parsed.options.expected_size = size;
    } else if (name == "resolve") {
      size_t colon = value->find(':');
      if (colon == std::string::npos || colon == 0 ||
          colon + 1 == value->size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--resolve must be HOST:ADDRESS, not \"", *value, "\""));
      }
      parsed.options.resolve[absl::AsciiStrToLower(value->substr(0, colon))] =
          value->substr(colon + 1);
    } else if (name == "max_redirects") {
      int redirects = 0;
      if (!absl::SimpleAtoi(*value, &redirects) || redirects < 0 ||
          redirects > 50) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--max_redirects must be 0..50, not \"", *value, "\""));
      }
      parsed.options.max_redirects = redirects;
    } else if (name == "connect_timeout") {
      absl::Status ok = seconds(parsed.options.connect_timeout);
      if (!ok.ok()) return ok;
    } else if (name == "idle_timeout") {
      absl::Status ok = seconds(parsed.options.idle_timeout);
      if (!ok.ok()) return ok;
    } else if (name == "ignore_local_error") {
      v1::Reason reason = v1::REASON_UNSPECIFIED;
      if (!v1::Reason_Parse(absl::AsciiStrToUpper(*value), &reason) ||
          reason == v1::REASON_UNSPECIFIED || reason == v1::ACCEPTED) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--ignore_local_error must name a reason (HOSTNAME_MISMATCH, "
            "EXPIRED, ...), not \"",
            *value, "\""));
      }
      parsed.options.ignore_local_errors.push_back(reason);
    }
  }
  if (parsed.help) return parsed;
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

void ReportError(const transfer::TransferError& error, std::ostream& err) {
  err << "certbroker-agent: fetch failed: " << error.ToString() << "\n";
  err << "context: " << transfer::ErrorContextName(error.context) << "\n";
  if (error.http_status != 0)
    err << "http_status: " << error.http_status << "\n";
  if (error.reason != v1::REASON_UNSPECIFIED) {
    err << "broker_reason: " << v1::Reason_Name(error.reason) << "\n";
  }
  if (!error.decision_id.empty()) {
    err << "broker_decision_id: " << error.decision_id << "\n";
  }
  if (!error.rule_name.empty())
    err << "broker_rule: " << error.rule_name << "\n";
  if (!error.url.empty()) err << "url: " << error.url << "\n";
}

}  // namespace

int ExitCodeFor(ErrorContext context) {
  switch (context) {
    case ErrorContext::kLocalFile:
      return kExitLocalFile;
    case ErrorContext::kRemoteFile:
      return kExitRemoteFile;
    case ErrorContext::kTransport:
      return kExitTransport;
    case ErrorContext::kServerCertificate:
      return kExitServerCertificate;
    case ErrorContext::kBrokerUnavailable:
      return kExitBrokerUnavailable;
    case ErrorContext::kClientCertificate:
      return kExitClientCertificate;
  }
  return kExitTransport;
}

std::string FetchUsage() {
  return R"(usage: certbroker-agent fetch URL -o FILE [flags]

Downloads an https URL into FILE. The broker judges every server
certificate (redirects included) before any request is sent and supplies
the client certificate. The file is written to FILE.certbroker-part and
renamed to FILE when complete (after the --sha256 / --expected_size
checks); an interrupted download resumes from the part file with a Range
request guarded by If-Range.

flags:
  -o, --output FILE            the file to create (required)
  --broker ADDR                certbrokerd's address (default
                               unix:var/certbrokerd.sock)
  --broker_tls_ca PEM          CA of the broker's certificate (TLS to the
                               broker; plaintext without it)
  --broker_tls_cert PEM        this agent's certificate for the broker
  --broker_tls_key PEM         its key
  --broker_tls_server_name N   name to check the broker's certificate for
  --trust_store PEM            roots for the local check (rules in mode
                               AGENT or BOTH)
  --sha256 HEX                 expected SHA-256 of the file
  --expected_size N            expected size in bytes
  --resolve HOST:ADDRESS       connect to ADDRESS for HOST (repeatable)
  --max_redirects N            redirects to follow (default 5)
  --connect_timeout SECONDS    connect + TLS handshake (default 30)
  --idle_timeout SECONDS       no-progress timeout (default 60)
  --ignore_local_error REASON  tolerate this local check error (rules in
                               mode AGENT or BOTH), where the broker's
                               rule allows it (repeatable; for instance
                               HOSTNAME_MISMATCH, EXPIRED, UNTRUSTED_ROOT)

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
)";
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
  auto client = agent::BrokerClient::Create(parsed->broker);
  if (!client.ok()) {
    err << "certbroker-agent fetch: " << client.status().message() << "\n";
    return kExitUsage;
  }
  agent::TlsBindingOptions binding_options;
  binding_options.trust_store_pem_file = parsed->trust_store;
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
    ReportError(*result.error, err);
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

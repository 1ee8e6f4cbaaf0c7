// The TLS binding tests' shared PKI, broker, peers and client runner.
#include "tests/agents/tls/tls_test_env.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<std::string> storage = argv;
  std::vector<char*> raw;
  for (std::string& argument : storage) raw.push_back(argument.data());
  raw.push_back(nullptr);
  int log =
      ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log < 0) return absl::InternalError("cannot open " + log_path);
  pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::execvp(raw[0], raw.data());
    ::_exit(127);
  }
  ::close(log);
  auto child = std::unique_ptr<ChildProcess>(new ChildProcess());
  child->pid_ = pid;
  child->log_path_ = log_path;
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0 || exited_) return;
  ::kill(pid_, SIGTERM);
  if (Wait(absl::Seconds(5)) < 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::string ChildProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool ChildProcess::WaitForLog(const std::string& text,
                              absl::Duration timeout) const {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (absl::StrContains(Log(), text)) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

int ChildProcess::Wait(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exited_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (absl::Now() >= deadline) return -1;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    return -1;
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

bool WaitForPort(int port, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    int connected =
        ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::close(fd);
    if (connected == 0) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

SdkPki SdkPki::Generate() {
  SdkPki pki;
  pki.server_root = MustIssue(devpki::RootSpec("SDK Server Root"), nullptr);
  pki.server = MustIssue(
      devpki::ServerSpec(
          "server.test",
          {"exportable.test", "keyless.test", "both.test", "untrusted.test",
           "server.test", "nginx.test", "nocert.test", "brief.test"},
          {"127.0.0.1"}),
      &pki.server_root);
  pki.other_root = MustIssue(devpki::RootSpec("SDK Other Root"), nullptr);
  pki.client_root = MustIssue(devpki::RootSpec("SDK Client Root"), nullptr);
  devpki::CertificateSpec client = devpki::ClientSpec("sdk-client");
  client.uris = {"spiffe://test.example/sdk"};
  pki.client = MustIssue(client, &pki.client_root);
  devpki::CertificateSpec stranger = devpki::ClientSpec("stranger-client");
  stranger.uris = {"spiffe://test.example/stranger"};
  pki.stranger_client = MustIssue(stranger, &pki.other_root);
  return pki;
}

void SdkPki::Write(const TempDir& dir) const {
  dir.Write("pki/server-chain.pem",
            server.CertificatePem() + server_root.CertificatePem());
  dir.Write("pki/server.pem", server.CertificatePem());
  dir.Write("pki/server.key", server.KeyPem());
  dir.Write("pki/server-root.pem", server_root.CertificatePem());
  dir.Write("pki/other-root.pem", other_root.CertificatePem());
  dir.Write("pki/client-root.pem", client_root.CertificatePem());
  dir.Write("pki/client-chain.pem", client.CertificatePem());
  dir.Write("pki/client.key", client.KeyPem());
  dir.Write("pki/stranger-client.pem", stranger_client.CertificatePem());
  dir.Write("pki/stranger-client.key", stranger_client.KeyPem());
}

std::string BrokerConfig() {
  return R"(
trust_bundles:
  - name: server-roots
    pem_file: pki/server-root.pem
  - name: other-roots
    pem_file: pki/other-root.pem
  - name: client-roots
    pem_file: pki/client-root.pem
certificates:
  - id: exportable-client
    chain_pem_file: pki/client-chain.pem
    key_pem_file: pki/client.key
    exportable: true
  - id: keyless-client
    chain_pem_file: pki/client-chain.pem
    key_pem_file: pki/client.key
rules:
  - name: exportable
    match: { hosts: [exportable.test, nginx.test] }
    client_certificate: exportable-client
    server_validation: { trust_bundles: [server-roots], mode: BROKER }
    cache_ttl: 300s
  - name: keyless
    match: { hosts: [keyless.test] }
    client_certificate: keyless-client
    server_validation: { trust_bundles: [server-roots], mode: BROKER }
    cache_ttl: 300s
  - name: both
    match: { hosts: [both.test] }
    client_certificate: exportable-client
    server_validation: { trust_bundles: [server-roots], mode: BOTH }
  - name: untrusted
    match: { hosts: [untrusted.test] }
    client_certificate: exportable-client
    server_validation: { trust_bundles: [other-roots], mode: BROKER }
  - name: mismatch
    match: { hosts: [mismatch.test] }
    client_certificate: exportable-client
    server_validation: { trust_bundles: [server-roots], mode: BROKER }
  - name: lenient
    match: { hosts: [lenient.test] }
    client_certificate: exportable-client
    server_validation:
      trust_bundles: [server-roots]
      mode: BOTH
      allowed_errors: [HOSTNAME_MISMATCH]
  - name: strict
    match: { hosts: [strict.test] }
    client_certificate: exportable-client
    server_validation: { trust_bundles: [server-roots], mode: BOTH }
  - name: brief
    match: { hosts: [brief.test] }
    client_certificate: exportable-client
    server_validation: { trust_bundles: [server-roots], mode: BROKER }
    cache_ttl: 1s
  - name: nocert
    match: { hosts: [nocert.test] }
    server_validation: { trust_bundles: [server-roots], mode: BROKER }
inbound_rules:
  - name: ignore
    match: { listeners: [sdk-ignore], server_names: ["*"] }
    client_certificate: IGNORE
  - name: request
    match: { listeners: [sdk-request], server_names: ["*"] }
    client_certificate: REQUEST
    peer_validation: { trust_bundles: [client-roots] }
    allowed_peers: ["*"]
  - name: require
    match: { listeners: [sdk-require], server_names: ["*"] }
    client_certificate: REQUIRE
    peer_validation: { trust_bundles: [client-roots] }
    allowed_peers: ["spiffe://test.example/sdk"]
)";
}

absl::StatusOr<std::unique_ptr<BrokerProcess>> StartBroker(
    const TempDir& dir, const std::vector<std::string>& extra) {
  std::string config = dir.Write("config.yaml", BrokerConfig());
  std::vector<std::string> arguments = {"--config=" + config,
                                        "--listen=127.0.0.1:0"};
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  return BrokerProcess::Start(arguments, dir.path());
}

std::unique_ptr<agent::BrokerClient> MakeClient(const std::string& address,
                                                size_t cache_entries) {
  agent::BrokerClientOptions options;
  options.address = address;
  options.deadline = absl::Seconds(10);
  options.max_attempts = 2;
  options.initial_backoff = absl::Milliseconds(50);
  options.max_backoff = absl::Milliseconds(200);
  options.cache_max_entries = cache_entries;
  auto client = agent::BrokerClient::Create(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(client).value() : nullptr;
}

bssl::UniquePtr<SSL_CTX> NewClientContext(agent::TlsBinding& binding) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  EXPECT_NE(ctx, nullptr);
  absl::Status configured = binding.ConfigureClient(ctx.get());
  EXPECT_TRUE(configured.ok()) << configured;
  return ctx;
}

v1::Target MakeTarget(const std::string& host, int port) {
  v1::Target target;
  target.set_host(host);
  target.set_port(port);
  return target;
}

ClientResult RunClient(agent::TlsBinding& binding, SSL_CTX* ctx,
                       const v1::Target& target, int port,
                       const std::string& request,
                       const agent::TlsConnectionOptions& options) {
  namespace asio = boost::asio;
  ClientResult result;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect(
      {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)},
      ec);
  if (ec) {
    result.error = ec;
    return result;
  }
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx));
  absl::Status attached = binding.AttachClient(ssl.get(), target, options);
  EXPECT_TRUE(attached.ok()) << attached;
  agent::AsioTlsStream stream(std::move(socket), std::move(ssl));
  std::string buffer(64 * 1024, '\0');
  bool done = false;
  stream.async_handshake([&](boost::system::error_code handshake_error) {
    result.error = handshake_error;
    if (handshake_error || request.empty()) {
      done = true;
      return;
    }
    asio::async_write(
        stream, asio::buffer(request),
        [&](boost::system::error_code write_error, size_t) {
          if (write_error) {
            result.error = write_error;
            done = true;
            return;
          }
          asio::async_read(stream, asio::buffer(buffer),
                           [&](boost::system::error_code read_error, size_t n) {
                             result.response = buffer.substr(0, n);
                             if (read_error != asio::error::eof) {
                               result.error = read_error;
                             }
                             done = true;
                           });
        });
  });
  io.run_for(std::chrono::seconds(30));
  EXPECT_TRUE(done) << "the client did not finish within 30 s";
  result.last_error = stream.last_error();
  result.verdict = agent::TlsBinding::ServerVerdict(stream.native_handle());
  result.certificate =
      agent::TlsBinding::ClientCertificate(stream.native_handle());
  return result;
}

namespace {

std::string NginxConfig(const TempDir& dir, const NginxOptions& options,
                        int port) {
  std::string access_log =
      options.access_log.empty()
          ? "access_log off;"
          : absl::StrCat(
                "log_format transfer '$request $status range=\"$http_range\" "
                "if_range=\"$http_if_range\" client=\"$ssl_client_s_dn\" "
                "te=\"$sent_http_transfer_encoding\"",
                options.log_connection ? " conn=$connection" : "",
                "';\n  access_log ", options.access_log, " transfer;");
  return absl::StrCat(R"(
user root;
worker_processes 1;
events { worker_connections 64; }
http {
  )",
                      access_log, R"(
  client_body_temp_path )",
                      dir.Path("nginx/body"), R"(;
  proxy_temp_path )",
                      dir.Path("nginx/proxy"), R"(;
  fastcgi_temp_path )",
                      dir.Path("nginx/fastcgi"), R"(;
  uwsgi_temp_path )",
                      dir.Path("nginx/uwsgi"), R"(;
  scgi_temp_path )",
                      dir.Path("nginx/scgi"), R"(;
  server {
    listen 127.0.0.1:)",
                      port, R"( ssl;
    root )",
                      options.root.empty() ? dir.Path("www") : options.root,
                      R"(;
    ssl_certificate )",
                      dir.Path("pki/server-chain.pem"), R"(;
    ssl_certificate_key )",
                      dir.Path("pki/server.key"), R"(;
    ssl_client_certificate )",
                      dir.Path("pki/client-root.pem"), R"(;
    ssl_verify_client on;
)",
                      options.locations, R"(
  }
}
)");
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> StartNginx(
    const TempDir& dir, const NginxOptions& options, int& port) {
  for (const char* sub : {"nginx/body", "nginx/proxy", "nginx/fastcgi",
                          "nginx/uwsgi", "nginx/scgi", "nginx/logs", "www"}) {
    dir.Write(absl::StrCat(sub, "/.keep"), "");
  }
  // Another process may take the free port before nginx binds it: then
  // nginx exits, and another port is tried.
  std::string log;
  for (int attempt = 0; attempt < 5; ++attempt) {
    port = FreePort();
    std::string config =
        dir.Write("nginx/nginx.conf", NginxConfig(dir, options, port));
    auto nginx = ChildProcess::Start(
        {"nginx", "-p", dir.Path("nginx"), "-c", config, "-g",
         absl::StrCat("daemon off; pid ", dir.Path("nginx/nginx.pid"),
                      "; error_log stderr;")},
        dir.Path(absl::StrCat("nginx-", attempt, ".log")));
    if (!nginx.ok()) return nginx.status();
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      if (WaitForPort(port, absl::Milliseconds(100))) return nginx;
      if ((*nginx)->Wait(absl::ZeroDuration()) >= 0) break;
    }
    log = (*nginx)->Log();
  }
  return absl::UnavailableError("nginx did not start: " + log);
}

absl::StatusOr<std::unique_ptr<ChildProcess>> StartSServer(const TempDir& dir,
                                                           int& port) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    port = FreePort();
    auto server = ChildProcess::Start(
        {"openssl", "s_server", "-accept", absl::StrCat("127.0.0.1:", port),
         "-www", "-Verify", "1", "-CAfile", dir.Path("pki/client-root.pem"),
         "-cert", dir.Path("pki/server.pem"), "-cert_chain",
         dir.Path("pki/server-root.pem"), "-key", dir.Path("pki/server.key")},
        dir.Path(absl::StrCat("s_server-", port, ".log")));
    if (!server.ok()) return server.status();
    if ((*server)->WaitForLog("ACCEPT", absl::Seconds(20))) return server;
    if ((*server)->Wait(absl::Seconds(1)) < 0) {
      return absl::DeadlineExceededError("s_server did not start: " +
                                         (*server)->Log());
    }
  }
  return absl::UnavailableError("s_server found no free port");
}

}  // namespace certbroker::testing

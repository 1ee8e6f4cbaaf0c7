// What the TLS binding's tests share: a PKI written to files, a broker
// configuration using it, a running certbrokerd, peer processes (openssl,
// nginx) started and stopped by the test, and a client handshake run to
// completion on an io_context.
#ifndef CERTBROKER_TESTS_AGENTS_TLS_TLS_TEST_ENV_H_
#define CERTBROKER_TESTS_AGENTS_TLS_TLS_TEST_ENV_H_

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/devpki/pki.h"
#include "certbroker/agent/asio_tls_stream.h"
#include "certbroker/agent/broker_client.h"
#include "certbroker/agent/tls_binding.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"
#include "tests/support/temp_dir.h"

namespace certbroker::testing {

// ChildProcess runs a peer program (openssl, nginx) with stdin from
// /dev/null and stdout and stderr into a log file; the destructor stops it
// (SIGTERM, then SIGKILL after 5 s).
class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const std::vector<std::string>& argv, const std::string& log_path);
  ~ChildProcess();

  // Log returns what the program wrote so far.
  std::string Log() const;
  // WaitForLog waits up to `timeout` for `text` in the log.
  bool WaitForLog(const std::string& text, absl::Duration timeout) const;
  // Wait waits up to `timeout` for the program to exit and returns its exit
  // code (128+N for signal N); -1 on timeout.
  int Wait(absl::Duration timeout);
  pid_t pid() const { return pid_; }

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string log_path_;
};

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// WaitForPort waits up to `timeout` until 127.0.0.1:port accepts a TCP
// connection.
bool WaitForPort(int port, absl::Duration timeout);

// SdkPki is every certificate the tests use.
struct SdkPki {
  devpki::Issued server_root;  // Issues the peers' server certificates.
  devpki::Issued server;       // SANs: *.test names of the rules, 127.0.0.1.
  devpki::Issued other_root;   // Trusted by the "untrusted" rule only.
  devpki::Issued client_root;  // Issues client certificates.
  devpki::Issued client;       // CN sdk-client, SPIFFE ID, clientAuth.
  devpki::Issued stranger_client;  // Under other_root.

  static SdkPki Generate();
  // Write puts the files below under dir/pki: server-chain.pem (leaf and
  // root), server.pem (leaf), server.key, server-root.pem, other-root.pem,
  // client-root.pem, client-chain.pem, client.key, client-with-root.pem,
  // stranger-client.pem, stranger-client.key.
  void Write(const TempDir& dir) const;
};

// kServerNames are the names SdkPki's server certificate covers.
// Rules (see BrokerConfig): exportable.test and keyless.test give a client
// certificate (exportable / not) and trust server-root in mode BROKER;
// both.test is mode BOTH; untrusted.test trusts other-root only;
// mismatch.test trusts server-root but the certificate does not name it;
// lenient.test and strict.test are mode BOTH for names the certificate
// does not cover, lenient.test allowing HOSTNAME_MISMATCH.
std::string BrokerConfig();

// StartBroker writes the configuration into `dir` and starts certbrokerd
// on a loopback port with `extra` arguments.
absl::StatusOr<std::unique_ptr<BrokerProcess>> StartBroker(
    const TempDir& dir, const std::vector<std::string>& extra = {});

// MakeClient returns a BrokerClient for `address` with short deadlines.
std::unique_ptr<agent::BrokerClient> MakeClient(const std::string& address,
                                                size_t cache_entries = 10000);

// BrokerBackedTest starts, for each test, a certbrokerd over a fresh SdkPki
// (StartBroker) and a BrokerClient for it.
class BrokerBackedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = SdkPki::Generate();
    pki_.Write(dir_);
    auto broker = StartBroker(dir_);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(broker).value();
    client_ = MakeClient(broker_->addresses()[0]);
    ASSERT_NE(client_, nullptr);
  }

  TempDir dir_;
  SdkPki pki_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<agent::BrokerClient> client_;
};

// NewClientContext returns a TLS client context configured by `binding`.
bssl::UniquePtr<SSL_CTX> NewClientContext(agent::TlsBinding& binding);

// ClientResult is a client handshake's result.
struct ClientResult {
  boost::system::error_code error;
  std::string last_error;
  agent::TlsOutcome verdict;
  agent::ClientCertificateInfo certificate;
  std::string response;  // What the server answered the request, if sent.
};

// RunClient connects to 127.0.0.1:port, handshakes as `target` through
// `binding` (attached with `options`), and when `request` is non-empty
// sends it and reads until the server closes; all on a fresh io_context,
// for at most 30 s.
ClientResult RunClient(agent::TlsBinding& binding, SSL_CTX* ctx,
                       const v1::Target& target, int port,
                       const std::string& request = "",
                       const agent::TlsConnectionOptions& options = {});

// MakeTarget returns a Target for `host`:`port`.
v1::Target MakeTarget(const std::string& host, int port);

// NginxOptions shape the nginx StartNginx runs.
struct NginxOptions {
  // locations is inserted in the server block (location blocks).
  std::string locations;
  // access_log, when not empty, is the path of an access log with the
  // request line, status, Range, If-Range, client DN and Transfer-Encoding of
  // each request ("off" otherwise).
  std::string access_log;
  // log_connection adds nginx's connection serial number
  // (" conn=$connection") to each access log line.
  bool log_connection = false;
  // root is the server's document root (default: dir/www).
  std::string root;
};

// StartNginx runs nginx in the foreground on a free loopback port with
// prefix dir/nginx, serving HTTPS with SdkPki's server chain and
// `ssl_verify_client on` for client-root; `port` receives its port.
absl::StatusOr<std::unique_ptr<ChildProcess>> StartNginx(
    const TempDir& dir, const NginxOptions& options, int& port);

// StartSServer runs `openssl s_server -www` on a free port requiring a
// client certificate from client-root; `port` receives its port.
absl::StatusOr<std::unique_ptr<ChildProcess>> StartSServer(const TempDir& dir,
                                                           int& port);

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_AGENTS_TLS_TLS_TEST_ENV_H_

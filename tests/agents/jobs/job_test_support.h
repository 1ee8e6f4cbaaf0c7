// What the transfer agent's job tests share: JobPeersTest, a fixture with
// the real peers a job talks to: certbrokerd on a fixed loopback port (so that
// a test can stop it and start it again where the agent expects it), a
// BrokerClient and TlsBinding for it, and nginx serving test files over
// HTTPS with ssl_verify_client on and an access log.
#ifndef CERTBROKER_TESTS_AGENTS_JOBS_JOB_TEST_SUPPORT_H_
#define CERTBROKER_TESTS_AGENTS_JOBS_JOB_TEST_SUPPORT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "certbroker/agent/v1/agent.pb.h"
#include "gtest/gtest.h"
#include "tests/agents/tls/tls_test_env.h"
#include "tests/support/file_probes.h"

namespace certbroker::testing {

// JobPeersTest starts, for each test: an SdkPki, certbrokerd with
// BrokerConfig() on a fixed loopback port, a BrokerClient and a TlsBinding
// (trust store: server-root), and nginx serving dir/www/files/ as
// /files/ (data.bin: 4 MiB, small.bin: 1 MiB), at 256 KiB/s as /slow/ and
// at 10 MiB/s as /paced/, with an access log.
class JobPeersTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Url is https://HOST:PORT/PATH on nginx.
  std::string Url(const std::string& host, const std::string& path) const;
  // Out is the path of `name` in the test's output directory.
  std::string Out(const std::string& name) const;
  // File is a FileSpec.
  static agent::v1::FileSpec File(const std::string& url,
                                  const std::string& local_path,
                                  const std::string& sha256 = "");
  // AccessLog returns nginx's access log lines (see NginxOptions).
  std::vector<std::string> AccessLog() const;
  // ReplaceServedFile writes new contents for www/files/NAME with a new
  // mtime (so a new ETag and Last-Modified).
  void ReplaceServedFile(const std::string& name, const std::string& data);

  // StopBroker stops certbrokerd; StartBrokerOnSamePort starts it again on
  // its port; ReloadBroker writes `config` and waits for the reload.
  void StopBroker();
  void StartBrokerOnSamePort();
  void ReloadBroker(const std::string& config);

  TempDir dir_;
  SdkPki pki_;
  int broker_port_ = 0;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<agent::BrokerClient> client_;
  std::unique_ptr<agent::TlsBinding> binding_;
  std::unique_ptr<ChildProcess> nginx_;
  int port_ = 0;
  std::string data_;   // www/files/data.bin
  std::string small_;  // www/files/small.bin
};

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_AGENTS_JOBS_JOB_TEST_SUPPORT_H_

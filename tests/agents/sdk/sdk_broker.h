// SdkBrokerTest: a fresh PKI, a configuration and a real certbrokerd per
// test (plaintext on loopback TCP and a Unix socket, every caller an
// agent), for the BrokerClient tests; and helpers to reload its policy, to
// wait for an asynchronous answer, and to run a silent TCP peer.
#ifndef CERTBROKER_TESTS_AGENTS_SDK_SDK_BROKER_H_
#define CERTBROKER_TESTS_AGENTS_SDK_SDK_BROKER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "broker/devpki/pki.h"
#include "certbroker/agent/broker_client.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"
#include "tests/support/temp_dir.h"

namespace certbroker::testing {

// SdkPki holds the certificates the SDK tests use: an upstream PKI (root,
// intermediate, server for api.example.test, client), and for TLS to the
// broker its serving certificate and an agent's client certificate.
struct SdkPki {
  devpki::Issued root, intermediate, server, client, other_server;
  devpki::Issued broker_ca, broker, agents_ca, agent;

  static SdkPki Generate();
  void Write(const TempDir& dir) const;
  std::vector<std::string> ServerChain() const;
};

// kSdkAgentId is the SPIFFE ID of SdkPki::agent.
extern const char kSdkAgentId[];

// SdkConfig is the broker's configuration; `extra_rules` are YAML list
// items appended to its rules, `tls` adds access.tls with agents' roles.
std::string SdkConfig(const std::string& extra_rules = "", bool tls = false);

class SdkBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // StartBroker starts certbrokerd with the current config.yaml, listening
  // on 127.0.0.1:0 and unix:<dir>/broker.sock (`access` as given), with
  // `extra_arguments` (e.g. --test_only_response_delay=1s).
  void StartBroker(BrokerAccess access = BrokerAccess::kDevLoopback,
                   const std::vector<std::string>& extra_arguments = {});

  // Reload writes `config` and has the broker reload it (SIGHUP), waiting
  // for its log to say so.
  void Reload(const std::string& config);

  // Options are client options for `address` with short, test-friendly
  // backoffs.
  agent::BrokerClientOptions Options(const std::string& address) const;

  std::string TcpAddress() const { return broker_->addresses()[0]; }
  std::string UnixAddress() const { return broker_->addresses()[1]; }

  TempDir dir_;
  SdkPki pki_;
  std::unique_ptr<BrokerProcess> broker_;
};

// Answer receives one asynchronous answer and the thread it came on.
template <typename Response>
struct Answer {
  absl::Notification done;
  absl::StatusOr<Response> result;
  std::thread::id thread;

  agent::Callback<Response> Callback() {
    return [this](absl::StatusOr<Response> answer) {
      result = std::move(answer);
      thread = std::this_thread::get_id();
      done.Notify();
    };
  }
  // Wait waits up to 30 s; false if no answer came.
  bool Wait() { return done.WaitForNotificationWithTimeout(absl::Seconds(30)); }
};

// SilentPeer listens on 127.0.0.1 and never accepts: connections complete
// in the kernel's backlog and no byte is ever answered, so calls to it run
// into their deadline.
class SilentPeer {
 public:
  SilentPeer();
  ~SilentPeer();
  std::string address() const;

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_AGENTS_SDK_SDK_BROKER_H_

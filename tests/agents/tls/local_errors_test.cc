// Per-connection ignore_local_errors (TlsConnectionOptions) against openssl
// s_server and a real certbrokerd: a local check error is tolerated only
// when the connection asks to ignore it and the broker's rule allows it.
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agents/tls/tls_test_env.h"

namespace certbroker::testing {
namespace {

using agent::TlsBinding;
using agent::TlsBindingOptions;
using agent::TlsConnectionOptions;
using agent::TlsErrc;
using ::testing::HasSubstr;

constexpr char kGet[] = "GET / HTTP/1.0\r\n\r\n";

class LocalErrorsTest : public BrokerBackedTest {
 protected:
  void SetUp() override {
    BrokerBackedTest::SetUp();
    if (HasFatalFailure()) return;
    TlsBindingOptions options;
    options.trust_store_pem_file = dir_.Path("pki/server-root.pem");
    auto binding = TlsBinding::Create(*client_, options);
    ASSERT_TRUE(binding.ok()) << binding.status();
    binding_ = std::move(binding).value();
    ctx_ = NewClientContext(*binding_);
    auto server = StartSServer(dir_, port_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    ignore_mismatch_.ignore_local_errors = {v1::HOSTNAME_MISMATCH};
  }

  std::unique_ptr<TlsBinding> binding_;
  bssl::UniquePtr<SSL_CTX> ctx_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> server_;
  TlsConnectionOptions ignore_mismatch_;
};

TEST_F(LocalErrorsTest, AskedAndAllowedByTheRuleIsTolerated) {
  ClientResult result =
      RunClient(*binding_, ctx_.get(), MakeTarget("lenient.test", port_), port_,
                kGet, ignore_mismatch_);
  ASSERT_FALSE(result.error)
      << result.error.message() << ": " << result.last_error;
  EXPECT_TRUE(result.verdict.accepted);
  EXPECT_EQ(result.verdict.rule_name, "lenient");
  EXPECT_EQ(result.verdict.local_check,
            "Hostname mismatch (tolerated: the rule allows "
            "HOSTNAME_MISMATCH)");
  EXPECT_THAT(result.response, HasSubstr("Subject: CN=sdk-client"));
}

TEST_F(LocalErrorsTest, AllowedByTheRuleButNotAskedFails) {
  ClientResult result = RunClient(*binding_, ctx_.get(),
                                  MakeTarget("lenient.test", port_), port_);
  EXPECT_EQ(result.error, make_error_code(TlsErrc::kBrokerRejected))
      << result.error.message();
  EXPECT_EQ(result.verdict.reason, v1::AGENT_REJECTED);
  EXPECT_EQ(result.verdict.local_check, "Hostname mismatch");
  EXPECT_THAT(result.verdict.detail,
              HasSubstr("the agent's own verification failed: Hostname "
                        "mismatch"));
}

TEST_F(LocalErrorsTest, AskedButNotAllowedByTheRuleFails) {
  ClientResult result =
      RunClient(*binding_, ctx_.get(), MakeTarget("strict.test", port_), port_,
                "", ignore_mismatch_);
  EXPECT_EQ(result.error, make_error_code(TlsErrc::kBrokerRejected))
      << result.error.message();
  EXPECT_EQ(result.verdict.reason, v1::AGENT_REJECTED);
  EXPECT_EQ(result.verdict.rule_name, "strict");
  EXPECT_EQ(result.verdict.local_check,
            "Hostname mismatch (not ignored: the rule does not allow "
            "HOSTNAME_MISMATCH)");
}

TEST_F(LocalErrorsTest, IgnoringAnotherErrorDoesNotTolerateAMismatch) {
  TlsConnectionOptions options;
  options.ignore_local_errors = {v1::EXPIRED};
  ClientResult result =
      RunClient(*binding_, ctx_.get(), MakeTarget("lenient.test", port_), port_,
                "", options);
  EXPECT_EQ(result.error, make_error_code(TlsErrc::kBrokerRejected));
  EXPECT_EQ(result.verdict.reason, v1::AGENT_REJECTED);
  EXPECT_EQ(result.verdict.local_check, "Hostname mismatch");
}

}  // namespace
}  // namespace certbroker::testing

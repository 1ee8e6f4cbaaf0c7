// BrokerClient retries: a broker that is not running, one that never
// answers, one restarted between attempts, backoff bounds, and a client
// destroyed with calls in flight.
#include <atomic>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "agents/sdk/client_core.h"
#include "agents/sdk/retrying_call.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agents/sdk/sdk_broker.h"

namespace certbroker::testing {
namespace {

using ::testing::EndsWith;
using ::testing::StartsWith;

v1::GetCertificatePolicyRequest PolicyRequest(const std::string& host) {
  v1::GetCertificatePolicyRequest request;
  request.mutable_target()->set_host(host);
  return request;
}

class RetryTest : public SdkBrokerTest {
 protected:
  std::unique_ptr<agent::BrokerClient> Client(
      const agent::BrokerClientOptions& options) {
    auto client = agent::CreateBrokerClient(
        options, [this](int) { attempts_.fetch_add(1); });
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  std::atomic<int> attempts_{0};
};

TEST(BackoffTest, CeilingDoublesUpToTheMaximum) {
  agent::RetryOptions options;
  options.initial_backoff = absl::Milliseconds(100);
  options.max_backoff = absl::Milliseconds(500);
  EXPECT_EQ(agent::BackoffCeiling(options, 1), absl::Milliseconds(100));
  EXPECT_EQ(agent::BackoffCeiling(options, 2), absl::Milliseconds(200));
  EXPECT_EQ(agent::BackoffCeiling(options, 3), absl::Milliseconds(400));
  EXPECT_EQ(agent::BackoffCeiling(options, 4), absl::Milliseconds(500));
  EXPECT_EQ(agent::BackoffCeiling(options, 60), absl::Milliseconds(500));
  for (int i = 0; i < 1000; ++i) {
    absl::Duration wait = agent::FullJitterBackoff(options, 2);
    EXPECT_GE(wait, absl::ZeroDuration());
    EXPECT_LE(wait, absl::Milliseconds(200));
  }
}

TEST_F(RetryTest, BrokerNotRunningIsUnavailableAfterEveryAttempt) {
  agent::BrokerClientOptions options =
      Options("unix:" + dir_.Path("nobody.sock"));
  options.max_attempts = 4;
  options.initial_backoff = absl::Milliseconds(100);
  options.max_backoff = absl::Milliseconds(400);
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  absl::Time start = absl::Now();
  auto policy = client->GetCertificatePolicy(PolicyRequest("api.example.test"));
  absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(agent::IsBrokerUnavailable(policy.status())) << policy.status();
  EXPECT_THAT(std::string(policy.status().message()),
              StartsWith("broker unavailable: UNAVAILABLE: "));
  EXPECT_THAT(std::string(policy.status().message()),
              EndsWith(" (4 attempts)"));
  EXPECT_EQ(attempts_.load(), 4);
  // Full jitter waits at most 100 + 200 + 400 ms in all; connection
  // failures on a Unix socket are immediate. Generous for a loaded machine.
  EXPECT_LT(elapsed, absl::Milliseconds(700) + absl::Seconds(5));

  // The asynchronous form says the same on a client thread.
  Answer<v1::GetCertificatePolicyResponse> answer;
  client->GetCertificatePolicyAsync(PolicyRequest("api.example.test"),
                                    answer.Callback());
  ASSERT_TRUE(answer.Wait());
  EXPECT_TRUE(agent::IsBrokerUnavailable(answer.result.status()));
  EXPECT_NE(answer.thread, std::this_thread::get_id());
  EXPECT_EQ(attempts_.load(), 8);
}

TEST_F(RetryTest, OneAttemptSaysSo) {
  agent::BrokerClientOptions options =
      Options("unix:" + dir_.Path("nobody.sock"));
  options.max_attempts = 1;
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  auto policy = client->GetCertificatePolicy(PolicyRequest("api.example.test"));
  EXPECT_TRUE(agent::IsBrokerUnavailable(policy.status()));
  EXPECT_THAT(std::string(policy.status().message()), EndsWith(" (1 attempt)"));
}

TEST_F(RetryTest, SilentBrokerRunsIntoTheDeadlineOnceAndIsUnavailable) {
  SilentPeer silent;
  agent::BrokerClientOptions options = Options(silent.address());
  options.deadline = absl::Milliseconds(300);
  options.max_attempts = 2;
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  absl::Time start = absl::Now();
  auto policy = client->GetCertificatePolicy(PolicyRequest("api.example.test"));
  absl::Duration elapsed = absl::Now() - start;
  EXPECT_TRUE(agent::IsBrokerUnavailable(policy.status())) << policy.status();
  EXPECT_THAT(std::string(policy.status().message()),
              StartsWith("broker unavailable: DEADLINE_EXCEEDED: "));
  EXPECT_THAT(std::string(policy.status().message()),
              EndsWith(" (1 attempt)"));
  EXPECT_EQ(attempts_.load(), 1);
  EXPECT_GE(elapsed, absl::Milliseconds(300));
  EXPECT_LT(elapsed, absl::Seconds(6));
}

TEST_F(RetryTest, RetrySucceedsAfterTheBrokerRestarts) {
  StartBroker();
  std::string address = UnixAddress();
  EXPECT_EQ(broker_->Stop(), 0);
  broker_.reset();
  agent::BrokerClientOptions options = Options(address);
  options.max_attempts = 1000;  // Bounded by the broker starting again.
  options.initial_backoff = absl::Milliseconds(20);
  options.max_backoff = absl::Milliseconds(100);
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  Answer<v1::GetCertificatePolicyResponse> answer;
  client->GetCertificatePolicyAsync(PolicyRequest("api.example.test"),
                                    answer.Callback());
  StartBroker();  // On the same Unix socket.
  ASSERT_EQ(UnixAddress(), address);
  ASSERT_TRUE(answer.Wait());
  ASSERT_TRUE(answer.result.ok()) << answer.result.status();
  EXPECT_EQ(answer.result->rule_name(), "example-test");
  EXPECT_GT(attempts_.load(), 1);
}

TEST_F(RetryTest, DestroyingTheClientCancelsCallsInFlight) {
  SilentPeer silent;
  agent::BrokerClientOptions options = Options(silent.address());
  options.deadline = absl::Seconds(60);
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  std::atomic<int> answered{0};
  absl::StatusCode code = absl::StatusCode::kOk;
  client->GetCertificatePolicyAsync(
      PolicyRequest("api.example.test"),
      [&](absl::StatusOr<v1::GetCertificatePolicyResponse> answer) {
        code = answer.status().code();
        answered.fetch_add(1);
      });
  absl::Time start = absl::Now();
  client.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(answered.load(), 1);  // Before the destructor returned.
  EXPECT_EQ(code, absl::StatusCode::kCancelled);
}

TEST_F(RetryTest, DestroyingTheClientEndsRetriesWaitingForTheirBackoff) {
  agent::BrokerClientOptions options =
      Options("unix:" + dir_.Path("nobody.sock"));
  options.max_attempts = 5;
  options.initial_backoff = absl::Seconds(100);
  options.max_backoff = absl::Seconds(100);
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  Answer<v1::GetCertificatePolicyResponse> answer;
  client->GetCertificatePolicyAsync(PolicyRequest("api.example.test"),
                                    answer.Callback());
  while (attempts_.load() < 1) absl::SleepFor(absl::Milliseconds(5));
  absl::Time start = absl::Now();
  client.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  ASSERT_TRUE(answer.done.HasBeenNotified());
  // Either the first attempt was still failing (CANCELLED by the
  // destructor) or its retry was waiting (ended as CANCELLED too).
  EXPECT_EQ(answer.result.status().code(), absl::StatusCode::kCancelled)
      << answer.result.status();
}

TEST_F(RetryTest, SlowBrokerWithinTheDeadlineAnswersAtTheFirstAttempt) {
  StartBroker(BrokerAccess::kDevLoopback, {"--test_only_response_delay=300ms"});
  auto client = Client(Options(TcpAddress()));
  ASSERT_NE(client, nullptr);
  absl::Time start = absl::Now();
  auto policy = client->GetCertificatePolicy(PolicyRequest("api.example.test"));
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->rule_name(), "example-test");
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_EQ(attempts_.load(), 1);
}

TEST_F(RetryTest, SlowBrokerPastTheDeadlineIsUnavailableWithoutRetry) {
  StartBroker(BrokerAccess::kDevLoopback, {"--test_only_response_delay=2s"});
  agent::BrokerClientOptions options = Options(TcpAddress());
  options.deadline = absl::Milliseconds(400);
  options.max_attempts = 3;
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  absl::Time start = absl::Now();
  auto policy = client->GetCertificatePolicy(PolicyRequest("api.example.test"));
  absl::Duration elapsed = absl::Now() - start;
  EXPECT_TRUE(agent::IsBrokerUnavailable(policy.status())) << policy.status();
  EXPECT_EQ(policy.status().message(),
            "broker unavailable: DEADLINE_EXCEEDED: Deadline Exceeded "
            "(1 attempt)");
  EXPECT_EQ(attempts_.load(), 1);
  EXPECT_GE(elapsed, absl::Milliseconds(400));
  EXPECT_LT(elapsed, absl::Milliseconds(400) + absl::Seconds(5));
}

// Asynchronous calls hold no thread while they wait: many calls to a slow
// broker are all issued at once and all answer about one delay later.
TEST_F(RetryTest, ManyAsyncCallsToASlowBrokerWaitTogether) {
  StartBroker(BrokerAccess::kDevLoopback, {"--test_only_response_delay=1s"});
  auto client = Client(Options(TcpAddress()));
  ASSERT_NE(client, nullptr);
  constexpr int kCalls = 64;
  std::vector<Answer<v1::GetClientCertificateResponse>> answers(kCalls);
  absl::Time start = absl::Now();
  for (auto& answer : answers) {
    v1::GetClientCertificateRequest request;
    request.mutable_target()->set_host("api.example.test");
    client->GetClientCertificateAsync(request, answer.Callback());
  }
  absl::Duration issuing = absl::Now() - start;
  EXPECT_LT(issuing, absl::Milliseconds(900));  // None waited for the broker.
  for (auto& answer : answers) {
    ASSERT_TRUE(answer.Wait());
    ASSERT_TRUE(answer.result.ok()) << answer.result.status();
    EXPECT_EQ(answer.result->certificate_id(), "exportable-client");
  }
  absl::Duration elapsed = absl::Now() - start;
  EXPECT_GE(elapsed, absl::Seconds(1));
  EXPECT_LT(elapsed, absl::Seconds(8));  // Not 64 s: the waits overlapped.
  EXPECT_EQ(attempts_.load(), kCalls);
}

}  // namespace
}  // namespace certbroker::testing

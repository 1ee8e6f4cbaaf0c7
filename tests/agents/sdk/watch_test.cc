// BrokerClient::WatchClientCertificate against a real certbrokerd: the
// first message, a refusal ending the watch, reconnection while the broker
// is away, stopping (no callback after the destructor), and rotation.
//
// Tests marked "needs server-side WatchClientCertificate" skip while the
// broker answers the stream with UNIMPLEMENTED.
#include <atomic>
#include <csignal>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agents/sdk/sdk_broker.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {
namespace {

constexpr char kNeedsServer[] = "needs server-side WatchClientCertificate";

// Events records what a watch heard.
class Events {
 public:
  std::function<void(const v1::WatchClientCertificateResponse&)> Update() {
    return [this](const v1::WatchClientCertificateResponse& update) {
      absl::MutexLock lock(&mu_);
      updates_.push_back(update);
    };
  }
  std::function<void(const absl::Status&)> Error() {
    return [this](const absl::Status& status) {
      absl::MutexLock lock(&mu_);
      errors_.push_back(status);
    };
  }
  // Seen is what the watch heard so far.
  struct Seen {
    const std::vector<v1::WatchClientCertificateResponse>& updates;
    const std::vector<absl::Status>& errors;
  };
  // WaitUntil waits up to `timeout` until `done` is true of what the watch
  // heard; false on timeout.
  bool WaitUntil(std::function<bool(const Seen&)> done,
                 absl::Duration timeout = absl::Seconds(20)) {
    absl::MutexLock lock(&mu_);
    auto condition = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return done(Seen{updates_, errors_});
    };
    return mu_.AwaitWithTimeout(absl::Condition(&condition), timeout);
  }
  // WaitFor waits up to `timeout` until there are `updates` updates or
  // `errors` errors; false on timeout.
  bool WaitFor(size_t updates, size_t errors,
               absl::Duration timeout = absl::Seconds(20)) {
    return WaitUntil(
        [&](const Seen& seen) {
          return seen.updates.size() >= updates || seen.errors.size() >= errors;
        },
        timeout);
  }
  std::vector<v1::WatchClientCertificateResponse> updates() {
    absl::MutexLock lock(&mu_);
    return updates_;
  }
  std::vector<absl::Status> errors() {
    absl::MutexLock lock(&mu_);
    return errors_;
  }
  size_t count() {
    absl::MutexLock lock(&mu_);
    return updates_.size() + errors_.size();
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::WatchClientCertificateResponse> updates_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Status> errors_ ABSL_GUARDED_BY(mu_);
};

v1::WatchClientCertificateRequest WatchRequest(const std::string& host) {
  v1::WatchClientCertificateRequest request;
  request.mutable_target()->set_host(host);
  return request;
}

class WatchTest : public SdkBrokerTest {
 protected:
  std::unique_ptr<agent::BrokerClient> Client(const std::string& address) {
    auto client = agent::BrokerClient::Create(Options(address));
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  // SkipIfUnimplemented is true (and skips) when the watch ended with
  // UNIMPLEMENTED.
  bool Unimplemented(Events& events) {
    auto errors = events.errors();
    return !errors.empty() &&
           errors[0].code() == absl::StatusCode::kUnimplemented;
  }
};

TEST_F(WatchTest, GivesTheCurrentCertificateAtOnce) {
  StartBroker();
  auto client = Client(TcpAddress());
  ASSERT_NE(client, nullptr);
  Events events;
  auto watch = client->WatchClientCertificate(WatchRequest("api.example.test"),
                                              events.Update(), events.Error());
  ASSERT_TRUE(events.WaitFor(1, 1));
  if (Unimplemented(events)) GTEST_SKIP() << kNeedsServer;
  auto updates = events.updates();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].certificate().certificate_id(), "exportable-client");
  EXPECT_EQ(updates[0].certificate().certificate_chain(0), pki_.client.Der());
  EXPECT_EQ(updates[0].policy_version().size(), 16u);
  EXPECT_TRUE(events.errors().empty());
}

// A refused stream (PERMISSION_DENIED for a target no rule gives the caller,
// or UNIMPLEMENTED from a broker without the method) ends the watch: one
// error, the broker's own, and no reconnection.
TEST_F(WatchTest, RefusalEndsTheWatchWithTheBrokersStatus) {
  StartBroker();
  auto client = Client(TcpAddress());
  ASSERT_NE(client, nullptr);
  Events events;
  auto watch = client->WatchClientCertificate(WatchRequest("nowhere.invalid"),
                                              events.Update(), events.Error());
  ASSERT_TRUE(events.WaitFor(1, 1));
  auto errors = events.errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(errors[0].code() == absl::StatusCode::kPermissionDenied ||
              errors[0].code() == absl::StatusCode::kUnimplemented)
      << errors[0];
  EXPECT_FALSE(agent::IsBrokerUnavailable(errors[0]));
  EXPECT_TRUE(events.updates().empty());
  // No retry: with 50-200 ms backoffs a reconnection would have shown.
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(events.count(), 1u);
}

TEST_F(WatchTest, ReconnectsWhileTheBrokerIsAwayAndStopsWhenDestroyed) {
  auto client = Client("unix:" + dir_.Path("broker.sock"));
  ASSERT_NE(client, nullptr);
  Events events;
  auto watch = client->WatchClientCertificate(WatchRequest("api.example.test"),
                                              events.Update(), events.Error());
  ASSERT_TRUE(events.WaitFor(100, 3));
  for (const absl::Status& error : events.errors()) {
    EXPECT_TRUE(agent::IsBrokerUnavailable(error)) << error;
    EXPECT_THAT(std::string(error.message()),
                ::testing::EndsWith("(watch reconnecting)"));
  }
  // The broker comes up on the socket the watch keeps trying; wait for its
  // first answer: an update, or a refusal (UNIMPLEMENTED).
  StartBroker();
  ASSERT_TRUE(events.WaitUntil([](const Events::Seen& seen) {
    return !seen.updates.empty() ||
           !agent::IsBrokerUnavailable(seen.errors.back());
  }));
  if (events.errors().back().code() == absl::StatusCode::kUnimplemented) {
    watch.reset();
    GTEST_SKIP() << kNeedsServer;
  }
  ASSERT_FALSE(events.updates().empty());
  EXPECT_EQ(events.updates()[0].certificate().certificate_id(),
            "exportable-client");
  watch.reset();
  size_t after = events.count();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(events.count(), after);  // Nothing after the destructor.
}

TEST_F(WatchTest, DestructorDoesNotWaitForTheBackoff) {
  agent::BrokerClientOptions options =
      Options("unix:" + dir_.Path("nobody.sock"));
  options.initial_backoff = absl::Seconds(100);
  options.max_backoff = absl::Seconds(100);
  auto client = agent::BrokerClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  Events events;
  auto watch = (*client)->WatchClientCertificate(
      WatchRequest("api.example.test"), events.Update(), events.Error());
  ASSERT_TRUE(events.WaitFor(1, 1));
  absl::Time start = absl::Now();
  watch.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(events.count(), 1u);
}

TEST_F(WatchTest, WatchMayOutliveItsClient) {
  auto client = Client("unix:" + dir_.Path("nobody.sock"));
  ASSERT_NE(client, nullptr);
  Events events;
  auto watch = client->WatchClientCertificate(WatchRequest("api.example.test"),
                                              events.Update(), events.Error());
  client.reset();
  ASSERT_TRUE(events.WaitFor(100, 2));  // Still reconnecting.
  watch.reset();
}

TEST_F(WatchTest, BrokerShutdownIsABreakNotTheEnd) {
  StartBroker();
  auto client = Client(UnixAddress());
  ASSERT_NE(client, nullptr);
  Events events;
  auto watch = client->WatchClientCertificate(WatchRequest("api.example.test"),
                                              events.Update(), events.Error());
  ASSERT_TRUE(events.WaitFor(1, 1));
  if (Unimplemented(events)) GTEST_SKIP() << kNeedsServer;
  EXPECT_EQ(broker_->Stop(), 0);
  broker_.reset();
  ASSERT_TRUE(events.WaitFor(100, 1));
  EXPECT_TRUE(agent::IsBrokerUnavailable(events.errors()[0]))
      << events.errors()[0];
  StartBroker();
  ASSERT_TRUE(events.WaitFor(2, 1000));
  EXPECT_EQ(events.updates()[1].certificate().certificate_id(),
            "exportable-client");
}

TEST_F(WatchTest, SeesARotatedCertificateWithinASecond) {
  StartBroker();
  auto client = Client(TcpAddress());
  ASSERT_NE(client, nullptr);
  Events events;
  auto watch = client->WatchClientCertificate(WatchRequest("api.example.test"),
                                              events.Update(), events.Error());
  ASSERT_TRUE(events.WaitFor(1, 1));
  if (Unimplemented(events)) GTEST_SKIP() << kNeedsServer;
  devpki::Issued rotated =
      MustIssue(devpki::ClientSpec("sdk-client-rotated"), &pki_.intermediate);
  dir_.Write("pki/client-chain.pem",
             rotated.CertificatePem() + pki_.intermediate.CertificatePem());
  dir_.Write("pki/client.key", rotated.KeyPem());
  absl::Time rotated_at = absl::Now();
  broker_->Signal(SIGHUP);
  ASSERT_TRUE(events.WaitFor(2, 100));
  EXPECT_LT(absl::Now() - rotated_at, absl::Seconds(1) + absl::Seconds(2))
      << "slack for a loaded machine";
  auto updates = events.updates();
  ASSERT_GE(updates.size(), 2u);
  EXPECT_EQ(updates.back().certificate().certificate_chain(0), rotated.Der());
}

}  // namespace
}  // namespace certbroker::testing

// BrokerClient's cache of GetClientCertificate answers against a real
// certbrokerd: hits, the policy-version rule, certificate_cache_ttl 0, a
// key handle refused by Sign (the broker restarted) dropping the cached
// answer, and a handle too near its expiry never cached.
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "agents/sdk/client_core.h"
#include "broker/x509/boringssl.h"
#include "broker/x509/certificate.h"
#include "certbroker/agent/broker_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agents/sdk/sdk_broker.h"
#include "tests/support/test_pki.h"

namespace certbroker::testing {
namespace {

using ::testing::HasSubstr;

constexpr uint32_t kEcdsaP256Sha256 = 0x0403;

// The SDK configuration with two more certificates: keyless-client (the
// SDK client certificate, not exportable) for keyless.example.net, and
// short-lived (a keyless certificate expiring within a minute) for
// short.example.net.
std::string CacheConfig(const std::string& extra_rules = "") {
  return absl::StrReplaceAll(
      SdkConfig(R"(  - name: keyless
    match: { hosts: [keyless.example.net] }
    client_certificate: keyless-client
    server_validation: { trust_bundles: [test-roots] }
  - name: short
    match: { hosts: [short.example.net] }
    client_certificate: short-lived
    server_validation: { trust_bundles: [test-roots] }
)" + extra_rules),
      {{"certificates:\n",
        "certificates:\n"
        "  - {id: keyless-client, chain_pem_file: pki/client-chain.pem, "
        "key_pem_file: pki/client.key}\n"
        "  - {id: short-lived, chain_pem_file: pki/short-chain.pem, "
        "key_pem_file: pki/short.key}\n"}});
}

v1::GetClientCertificateRequest CertificateRequest(const std::string& host) {
  v1::GetClientCertificateRequest request;
  request.mutable_target()->set_host(host);
  return request;
}

v1::SignRequest SignRequest(const std::string& handle) {
  v1::SignRequest request;
  request.set_key_handle(handle);
  request.set_algorithm(kEcdsaP256Sha256);
  request.set_input(std::string(32, 'd'));  // A SHA-256 digest's length.
  return request;
}

class CertificateCacheTest : public SdkBrokerTest {
 protected:
  void SetUp() override {
    SdkBrokerTest::SetUp();
    // The short-lived leaf: its key handle expires with it, in 55 s, which
    // is less than the client's margin (at least a minute); its
    // refresh_after, two thirds into its validity, is 33 s away.
    devpki::CertificateSpec spec = devpki::ClientSpec("short-lived");
    spec.not_before = absl::Now() - absl::Seconds(10);
    spec.not_after = absl::Now() + absl::Seconds(55);
    devpki::Issued short_lived = MustIssue(spec, &pki_.intermediate);
    dir_.Write("pki/short-chain.pem", short_lived.CertificatePem() +
                                          pki_.intermediate.CertificatePem());
    dir_.Write("pki/short.key", short_lived.KeyPem());
    dir_.Write("config.yaml", CacheConfig());
    StartBroker();
  }

  // Client makes a client counting its attempts in attempts_. Key handles
  // are cached as long as certificates, unless `cache_key_handles` is false.
  std::unique_ptr<agent::BrokerClient> Client(
      agent::BrokerClientOptions options, bool cache_key_handles = true) {
    if (cache_key_handles) {
      options.key_handle_cache_ttl = options.certificate_cache_ttl;
    }
    auto client = agent::CreateBrokerClient(
        options, [this](int) { attempts_.fetch_add(1); });
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  std::atomic<int> attempts_{0};
};

TEST_F(CertificateCacheTest, KeyHandlesAreNotCachedByDefault) {
  auto client = Client(Options(TcpAddress()), /*cache_key_handles=*/false);
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 2; ++i) {
    auto keyless =
        client->GetClientCertificate(CertificateRequest("keyless.example.net"));
    ASSERT_TRUE(keyless.ok()) << keyless.status();
    ASSERT_FALSE(keyless->key_handle().handle().empty());
  }
  EXPECT_EQ(attempts_.load(), 2);
  auto exportable =
      client->GetClientCertificate(CertificateRequest("api.example.test"));
  ASSERT_TRUE(exportable.ok()) << exportable.status();
  ASSERT_TRUE(
      client->GetClientCertificate(CertificateRequest("api.example.test"))
          .ok());
  EXPECT_EQ(attempts_.load(), 3);
}

TEST_F(CertificateCacheTest, SecondAnswerIsACacheHit) {
  auto client = Client(Options(TcpAddress()));
  ASSERT_NE(client, nullptr);
  auto first =
      client->GetClientCertificate(CertificateRequest("api.example.test"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->certificate_id(), "exportable-client");
  // The same target as the broker matches it.
  auto second =
      client->GetClientCertificate(CertificateRequest("API.Example.Test."));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->SerializeAsString(), first->SerializeAsString());
  EXPECT_EQ(attempts_.load(), 1);
  agent::CacheStats stats = client->cache_stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.entries, 1u);

  // Asynchronously, a hit still answers on a client thread.
  Answer<v1::GetClientCertificateResponse> third;
  client->GetClientCertificateAsync(CertificateRequest("api.example.test"),
                                    third.Callback());
  ASSERT_TRUE(third.Wait());
  ASSERT_TRUE(third.result.ok()) << third.result.status();
  EXPECT_EQ(third.result->certificate_chain(0), pki_.client.Der());
  EXPECT_NE(third.thread, std::this_thread::get_id());
  EXPECT_EQ(attempts_.load(), 1);

  // Other acceptable issuers or signature algorithms are another question.
  auto with_algorithms = CertificateRequest("api.example.test");
  with_algorithms.add_signature_algorithms(kEcdsaP256Sha256);
  ASSERT_TRUE(client->GetClientCertificate(with_algorithms).ok());
  auto with_issuers = CertificateRequest("api.example.test");
  with_issuers.add_acceptable_issuers(x509::NameToDer(
      X509_get_subject_name(pki_.intermediate.certificate.get())));
  ASSERT_TRUE(client->GetClientCertificate(with_issuers).ok());
  EXPECT_EQ(attempts_.load(), 3);
  EXPECT_EQ(client->cache_stats().entries, 3u);

  // A key handle is cached with its answer: the same handle comes back,
  // and it signs.
  auto keyless =
      client->GetClientCertificate(CertificateRequest("keyless.example.net"));
  ASSERT_TRUE(keyless.ok()) << keyless.status();
  EXPECT_TRUE(keyless->private_key().empty());
  ASSERT_FALSE(keyless->key_handle().handle().empty());
  auto keyless_again =
      client->GetClientCertificate(CertificateRequest("keyless.example.net"));
  ASSERT_TRUE(keyless_again.ok()) << keyless_again.status();
  EXPECT_EQ(keyless_again->key_handle().handle(),
            keyless->key_handle().handle());
  EXPECT_EQ(attempts_.load(), 4);
  auto signature = client->Sign(SignRequest(keyless->key_handle().handle()));
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_FALSE(signature->signature().empty());
}

TEST_F(CertificateCacheTest, ErrorsAreNotCached) {
  auto client = Client(Options(TcpAddress()));
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 2; ++i) {
    auto denied =
        client->GetClientCertificate(CertificateRequest("nowhere.invalid"));
    EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  }
  EXPECT_EQ(attempts_.load(), 2);
  EXPECT_EQ(client->cache_stats().entries, 0u);
}

TEST_F(CertificateCacheTest, ChangedPolicyVersionDropsCachedCertificate) {
  auto client = Client(Options(TcpAddress()));
  ASSERT_NE(client, nullptr);
  auto first =
      client->GetClientCertificate(CertificateRequest("keyless.example.net"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(client->cache_stats().entries, 1u);

  Reload(CacheConfig(R"(  - name: added
    match: { hosts: [new.example.org] }
    server_validation: { trust_bundles: [test-roots] }
)"));
  // Until an answer shows the new version, the cached answer is served.
  auto cached =
      client->GetClientCertificate(CertificateRequest("keyless.example.net"));
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(cached->key_handle().handle(), first->key_handle().handle());
  EXPECT_EQ(attempts_.load(), 1);
  // Any answer of the new version drops it.
  v1::GetCertificatePolicyRequest policy_request;
  policy_request.mutable_target()->set_host("new.example.org");
  auto policy = client->GetCertificatePolicy(policy_request);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_NE(policy->policy_version(), first->policy_version());
  EXPECT_EQ(client->cache_stats().entries, 1u);  // Only the new policy.
  auto again =
      client->GetClientCertificate(CertificateRequest("keyless.example.net"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->policy_version(), policy->policy_version());
  EXPECT_EQ(attempts_.load(), 3);
  EXPECT_EQ(client->cache_stats().entries, 2u);
}

TEST_F(CertificateCacheTest, ZeroCertificateCacheTtlAsksEveryTime) {
  auto options = Options(TcpAddress());
  options.certificate_cache_ttl = absl::ZeroDuration();
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 2; ++i) {
    auto certificate =
        client->GetClientCertificate(CertificateRequest("api.example.test"));
    ASSERT_TRUE(certificate.ok()) << certificate.status();
  }
  EXPECT_EQ(attempts_.load(), 2);
  agent::CacheStats stats = client->cache_stats();
  EXPECT_EQ(stats.hits, 0u);
  EXPECT_EQ(stats.misses, 0u);  // Not looked up at all.
  EXPECT_EQ(stats.entries, 0u);
  // The other answers are still cached.
  v1::GetCertificatePolicyRequest policy_request;
  policy_request.mutable_target()->set_host("api.example.test");
  ASSERT_TRUE(client->GetCertificatePolicy(policy_request).ok());
  ASSERT_TRUE(client->GetCertificatePolicy(policy_request).ok());
  EXPECT_EQ(attempts_.load(), 3);

  options.certificate_cache_ttl = absl::Seconds(-1);
  auto negative = agent::BrokerClient::Create(options);
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(negative.status().message(),
            "BrokerClientOptions.certificate_cache_ttl must not be negative, "
            "not -1s");
}

TEST_F(CertificateCacheTest, SignRefusalAfterRestartDropsCachedAnswer) {
  std::string address = UnixAddress();
  auto options = Options(address);
  options.max_attempts = 100;  // Bounded by the broker starting again.
  options.initial_backoff = absl::Milliseconds(20);
  options.max_backoff = absl::Milliseconds(100);
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  auto request = CertificateRequest("keyless.example.net");
  auto first = client->GetClientCertificate(request);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string old_handle = first->key_handle().handle();
  ASSERT_TRUE(client->Sign(SignRequest(old_handle)).ok());

  EXPECT_EQ(broker_->Stop(), 0);
  broker_.reset();
  StartBroker();  // On the same Unix socket, with a new handle epoch.
  ASSERT_EQ(UnixAddress(), address);

  // The cache still serves the old answer: the client cannot know yet.
  auto cached = client->GetClientCertificate(request);
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(cached->key_handle().handle(), old_handle);
  EXPECT_EQ(client->cache_stats().entries, 1u);
  // Sign refuses the handle, and that drops the cached answer.
  auto refused = client->Sign(SignRequest(old_handle));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("the broker restarted since it gave out this handle"));
  EXPECT_FALSE(agent::IsBrokerUnavailable(refused.status()));
  EXPECT_EQ(client->cache_stats().entries, 0u);

  // So the next GetClientCertificate asks the broker, for a working handle.
  int attempts_before = attempts_.load();
  auto fresh = client->GetClientCertificate(request);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(attempts_.load(), attempts_before + 1);
  EXPECT_NE(fresh->key_handle().handle(), old_handle);
  auto signature = client->Sign(SignRequest(fresh->key_handle().handle()));
  ASSERT_TRUE(signature.ok()) << signature.status();
  // And that answer is cached again.
  auto hit = client->GetClientCertificate(request);
  ASSERT_TRUE(hit.ok()) << hit.status();
  EXPECT_EQ(hit->key_handle().handle(), fresh->key_handle().handle());
  EXPECT_EQ(attempts_.load(), attempts_before + 2);  // The Sign only.
}

TEST_F(CertificateCacheTest, HandleNearItsExpiryIsNotCached) {
  auto client = Client(Options(TcpAddress()));
  ASSERT_NE(client, nullptr);
  auto request = CertificateRequest("short.example.net");
  auto first = client->GetClientCertificate(request);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_FALSE(first->key_handle().handle().empty());
  // The handle lasts no longer than the leaf: under a minute from now.
  absl::Time expires =
      absl::FromUnixSeconds(first->key_handle().expires().seconds());
  EXPECT_LT(expires - absl::Now(), absl::Minutes(1));
  // refresh_after is still ahead, so only the handle's expiry keeps the
  // answer out of the cache.
  EXPECT_GT(absl::FromUnixSeconds(first->refresh_after().seconds()),
            absl::Now());
  auto second = client->GetClientCertificate(request);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(attempts_.load(), 2);
  EXPECT_EQ(client->cache_stats().entries, 0u);
  EXPECT_EQ(client->cache_stats().hits, 0u);
}

}  // namespace
}  // namespace certbroker::testing

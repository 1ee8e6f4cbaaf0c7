// JobPeersTest: the job tests' peers.
#include "tests/agents/jobs/job_test_support.h"

#include <signal.h>
#include <sys/time.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace certbroker::testing {

void JobPeersTest::SetUp() {
  pki_ = SdkPki::Generate();
  pki_.Write(dir_);
  dir_.Write("config.yaml", BrokerConfig());
  // The port must be the same after a restart: another process may take it
  // in between, so a start is tried on a few ports.
  for (int attempt = 0; attempt < 5 && broker_ == nullptr; ++attempt) {
    broker_port_ = FreePort();
    StartBrokerOnSamePort();
  }
  ASSERT_NE(broker_, nullptr);
  client_ = MakeClient(absl::StrCat("127.0.0.1:", broker_port_));
  ASSERT_NE(client_, nullptr);
  agent::TlsBindingOptions options;
  options.trust_store_pem_file = dir_.Path("pki/server-root.pem");
  auto binding = agent::TlsBinding::Create(*client_, options);
  ASSERT_TRUE(binding.ok()) << binding.status();
  binding_ = std::move(binding).value();

  data_ = MakeData(4 << 20, 1);
  small_ = MakeData(1 << 20, 2);
  dir_.Write("www/files/data.bin", data_);
  dir_.Write("www/files/small.bin", small_);
  dir_.Write("out/.keep", "");
  NginxOptions nginx;
  nginx.access_log = dir_.Path("nginx/access.log");
  nginx.locations = absl::StrCat(R"(
    location /files/ { }
    location /slow/ {
      alias )",
                                 dir_.Path("www/files/"), R"(;
      limit_rate 256k;
    }
    location /paced/ {
      alias )",
                                 dir_.Path("www/files/"), R"(;
      limit_rate 10m;
    })");
  auto started = StartNginx(dir_, nginx, port_);
  ASSERT_TRUE(started.ok()) << started.status();
  nginx_ = std::move(started).value();
}

void JobPeersTest::TearDown() {
  if (HasFailure() && broker_ != nullptr) {
    std::cerr << "certbrokerd's log:\n" << broker_->Log() << "\n";
  }
}

std::string JobPeersTest::Url(const std::string& host,
                              const std::string& path) const {
  return absl::StrCat("https://", host, ":", port_, path);
}

std::string JobPeersTest::Out(const std::string& name) const {
  return dir_.Path("out/" + name);
}

agent::v1::FileSpec JobPeersTest::File(const std::string& url,
                                       const std::string& local_path,
                                       const std::string& sha256) {
  agent::v1::FileSpec spec;
  spec.set_url(url);
  spec.set_local_path(local_path);
  spec.set_sha256(sha256);
  return spec;
}

std::vector<std::string> JobPeersTest::AccessLog() const {
  std::string text = ReadFile(dir_.Path("nginx/access.log"));
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

void JobPeersTest::ReplaceServedFile(const std::string& name,
                                     const std::string& data) {
  std::string path = dir_.Write("www/files/" + name, data);
  struct timeval times[2];
  ::gettimeofday(&times[0], nullptr);
  times[0].tv_sec += 100;
  times[1] = times[0];
  ASSERT_EQ(::utimes(path.c_str(), times), 0);
}

void JobPeersTest::StopBroker() {
  ASSERT_NE(broker_, nullptr);
  EXPECT_EQ(broker_->Stop(), 0) << broker_->Log();
  broker_.reset();
}

void JobPeersTest::StartBrokerOnSamePort() {
  auto broker =
      BrokerProcess::Start({"--config=" + dir_.Path("config.yaml"),
                            absl::StrCat("--listen=127.0.0.1:", broker_port_)},
                           dir_.path());
  if (broker.ok()) broker_ = std::move(broker).value();
}

void JobPeersTest::ReloadBroker(const std::string& config) {
  dir_.Write("config.yaml", config);
  absl::Status reloaded = broker_->Reload();
  ASSERT_TRUE(reloaded.ok()) << reloaded;
}

}  // namespace certbroker::testing

// Tests of ReadSecretDir on real directories: the Kubernetes `..data`
// layout is read from one generation even while it is swapped repeatedly;
// plain directories work; every failure has its code and names the file.
#include "broker/watch/secret_dir.h"

#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/kubernetes_volume.h"
#include "tests/support/temp_dir.h"

namespace certbroker::watch {
namespace {

using ::certbroker::testing::KubernetesVolume;
using ::certbroker::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(ReadSecretDirTest, ReadsTheCurrentKubernetesGeneration) {
  TempDir dir;
  KubernetesVolume volume(dir.path());
  volume.Publish({{"tls.crt", "cert-1"}, {"tls.key", "key-1"}});
  std::string generation = volume.Publish(
      {{"tls.crt", "cert-2"}, {"tls.key", "key-2"}, {"ca.crt", "ca-2"}});

  auto files = ReadSecretDir(dir.path(), {"tls.crt", "tls.key"}, {"ca.crt"});
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->generation, generation);
  EXPECT_THAT(files->files,
              ElementsAre(Pair("ca.crt", "ca-2"), Pair("tls.crt", "cert-2"),
                          Pair("tls.key", "key-2")));
}

TEST(ReadSecretDirTest, ReadsFromTheGenerationNotTheTopLevelLinks) {
  TempDir dir;
  KubernetesVolume volume(dir.path());
  volume.Publish({{"tls.crt", "cert-1"}});
  std::filesystem::remove(dir.Path("tls.crt"));
  dir.Write("tls.crt", "not from the generation");

  auto files = ReadSecretDir(dir.path(), {"tls.crt"}, {});
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_THAT(files->files, ElementsAre(Pair("tls.crt", "cert-1")));
}

TEST(ReadSecretDirTest, ReadsAPlainDirectory) {
  TempDir dir;
  dir.Write("tls.crt", "cert");
  dir.Write("tls.key", "key");

  auto files = ReadSecretDir(dir.path(), {"tls.crt", "tls.key"}, {"ca.crt"});
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->generation, "");
  EXPECT_THAT(files->files,
              ElementsAre(Pair("tls.crt", "cert"), Pair("tls.key", "key")));
}

TEST(ReadSecretDirTest, MissingRequiredFileIsNotFoundAndNamed) {
  TempDir kubernetes;
  KubernetesVolume volume(kubernetes.path());
  volume.Publish({{"tls.crt", "cert"}});
  TempDir plain;
  plain.Write("tls.crt", "cert");

  for (const TempDir* dir : {&kubernetes, &plain}) {
    auto files = ReadSecretDir(dir->path(), {"tls.crt", "tls.key"}, {});
    EXPECT_EQ(files.status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(files.status().message(),
              absl::StrCat("secret directory ", dir->path(),
                           ": required file tls.key is missing"));
  }
}

TEST(ReadSecretDirTest, MissingOptionalFileIsLeftOut) {
  TempDir dir;
  KubernetesVolume volume(dir.path());
  volume.Publish({{"tls.crt", "cert"}});

  auto files = ReadSecretDir(dir.path(), {}, {"tls.crt", "ca.crt"});
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_THAT(files->files, ElementsAre(Pair("tls.crt", "cert")));
}

TEST(ReadSecretDirTest, EmptyFileIsFailedPrecondition) {
  TempDir dir;
  KubernetesVolume volume(dir.path());
  volume.Publish({{"tls.crt", "cert"}, {"ca.crt", ""}});

  auto files = ReadSecretDir(dir.path(), {"tls.crt"}, {"ca.crt"});
  EXPECT_EQ(files.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      files.status().message(),
      absl::StrCat("secret directory ", dir.path(), ": file ca.crt is empty"));
}

TEST(ReadSecretDirTest, FileOverTheLimitIsInvalidArgument) {
  TempDir dir;
  dir.Write("tls.crt", "123456789");

  auto files = ReadSecretDir(dir.path(), {"tls.crt"}, {}, 8);
  EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(files.status().message(),
              HasSubstr(absl::StrCat("secret directory ", dir.path(),
                                     ": file tls.crt: ")));
  EXPECT_THAT(files.status().message(),
              HasSubstr("larger than the limit of 8 bytes"));
  EXPECT_TRUE(ReadSecretDir(dir.path(), {"tls.crt"}, {}, 9).ok());
}

TEST(ReadSecretDirTest, MissingDirectoryIsNotFound) {
  TempDir root;
  std::string dir = root.Path("absent");

  auto files = ReadSecretDir(dir, {"tls.crt"}, {});
  EXPECT_EQ(files.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(files.status().message(),
              HasSubstr(absl::StrCat("secret directory ", dir, ": ")));
}

TEST(ReadSecretDirTest, NamesOutsideTheDirectoryAreInvalidArgument) {
  TempDir dir;
  dir.Write("tls.crt", "cert");
  for (const std::string name : {"../tls.crt", "..data", "a/b", "", "."}) {
    auto files = ReadSecretDir(dir.path(), {"tls.crt"}, {name});
    EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument)
        << name;
    EXPECT_THAT(files.status().message(),
                HasSubstr(absl::StrCat("\"", name, "\" is not a plain file")));
  }
}

TEST(ReadSecretDirTest, DataThatIsNotASymlinkIsFailedPrecondition) {
  TempDir dir;
  dir.Write("..data/tls.crt", "cert");

  auto files = ReadSecretDir(dir.path(), {"tls.crt"}, {});
  EXPECT_EQ(files.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(files.status().message(), HasSubstr("..data is not a symlink"));
}

// The kubelet swaps generations while the broker reads: every successful
// read must pair the certificate and key of one generation, and the only
// acceptable failure is UNAVAILABLE (the volume kept changing).
TEST(ReadSecretDirTest, ConcurrentSwapsNeverMixGenerations) {
  TempDir dir;
  KubernetesVolume volume(dir.path());
  volume.Publish({{"tls.crt", "cert-0"}, {"tls.key", "key-0"}});
  std::atomic<bool> done{false};
  std::atomic<int> published{0};
  std::thread publisher([&] {
    absl::Time end = absl::Now() + absl::Seconds(1);
    for (int i = 1; i <= 300 && absl::Now() < end; ++i) {
      std::string n = absl::StrCat(i);
      volume.Publish({{"tls.crt", "cert-" + n}, {"tls.key", "key-" + n}});
      published = i;
      absl::SleepFor(absl::Microseconds(200));
    }
    done = true;
  });

  int reads = 0;
  int consistent = 0;
  std::set<std::string> generations;
  while (!done) {
    auto files = ReadSecretDir(dir.path(), {"tls.crt", "tls.key"}, {});
    ++reads;
    if (!files.ok()) {
      EXPECT_EQ(files.status().code(), absl::StatusCode::kUnavailable)
          << files.status();
      continue;
    }
    const std::string& cert = files->files["tls.crt"];
    const std::string& key = files->files["tls.key"];
    ASSERT_TRUE(absl::StartsWith(cert, "cert-")) << cert;
    EXPECT_EQ(key, "key-" + cert.substr(5)) << files->generation;
    generations.insert(files->generation);
    ++consistent;
  }
  publisher.join();
  EXPECT_GE(published.load(), 50);
  EXPECT_GT(consistent, reads / 2) << consistent << " of " << reads;
  EXPECT_GT(generations.size(), 10u);
}

}  // namespace
}  // namespace certbroker::watch

// Tests of DirectoryWatcher on real directories: a Kubernetes `..data` swap
// and a burst of writes each give one debounced callback; a deleted,
// recreated or late directory is watched again; SetDirectories replaces
// the set; nothing is reported when nothing changes.
#include "broker/watch/directory_watcher.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "broker/watch/secret_dir.h"
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
using ::testing::IsEmpty;
using ::testing::Pair;

using Calls = std::vector<std::vector<std::string>>;

// Recorder collects callbacks; it must outlive the watcher it is given to.
class Recorder {
 public:
  DirectoryWatcher::Callback Callback() {
    return [this](const std::vector<std::string>& dirs) {
      absl::MutexLock lock(&mu_);
      calls_.push_back(dirs);
    };
  }

  // WaitForCalls returns the calls so far once there are at least `count`,
  // or when `timeout` has passed.
  Calls WaitForCalls(size_t count, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return calls_.size() >= count;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return calls_;
  }

  // WaitForReport is whether a callback has named `dir` within `timeout`.
  bool WaitForReport(const std::string& dir, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto reported = [this, &dir]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (const auto& call : calls_) {
        if (std::find(call.begin(), call.end(), dir) != call.end()) {
          return true;
        }
      }
      return false;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&reported), timeout);
  }

 private:
  absl::Mutex mu_;
  Calls calls_ ABSL_GUARDED_BY(mu_);
};

DirectoryWatcherOptions FastRetry() {
  DirectoryWatcherOptions options;
  options.retry_interval = absl::Milliseconds(100);
  return options;
}

std::unique_ptr<DirectoryWatcher> Start(Recorder& recorder,
                                        DirectoryWatcherOptions options = {}) {
  auto watcher = DirectoryWatcher::Create(recorder.Callback(), options);
  EXPECT_TRUE(watcher.ok()) << watcher.status();
  return watcher.ok() ? *std::move(watcher) : nullptr;
}

std::vector<std::string> Sorted(std::vector<std::string> dirs) {
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

TEST(DirectoryWatcherTest, KubernetesSwapGivesOneCallbackAndNewContents) {
  TempDir dir;
  KubernetesVolume volume(dir.path());
  volume.Publish({{"tls.crt", "cert-1"}, {"tls.key", "key-1"}});
  Recorder recorder;
  auto watcher = Start(recorder);
  ASSERT_NE(watcher, nullptr);
  ASSERT_TRUE(watcher->SetDirectories({dir.path()}).ok());

  std::string generation =
      volume.Publish({{"tls.crt", "cert-2"}, {"tls.key", "key-2"}});
  Calls calls = recorder.WaitForCalls(1, absl::Seconds(1));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_THAT(calls[0], ElementsAre(dir.path()));
  auto files = ReadSecretDir(dir.path(), {"tls.crt", "tls.key"}, {});
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->generation, generation);
  EXPECT_THAT(files->files,
              ElementsAre(Pair("tls.crt", "cert-2"), Pair("tls.key", "key-2")));

  // The swap's five steps were one change, not several.
  EXPECT_EQ(recorder.WaitForCalls(2, absl::Milliseconds(300)).size(), 1u);
  EXPECT_GE(watcher->stats().events, 4u);
  EXPECT_EQ(watcher->stats().callbacks, 1u);
}

TEST(DirectoryWatcherTest, PlainFileRewriteGivesACallback) {
  TempDir dir;
  dir.Write("tls.crt", "cert-1");
  Recorder recorder;
  auto watcher = Start(recorder);
  ASSERT_NE(watcher, nullptr);
  ASSERT_TRUE(watcher->SetDirectories({dir.path()}).ok());

  dir.Write("tls.crt", "cert-2");
  Calls calls = recorder.WaitForCalls(1, absl::Seconds(1));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_THAT(calls[0], ElementsAre(dir.path()));
}

TEST(DirectoryWatcherTest, BurstInTwoDirectoriesGivesOneCallback) {
  TempDir a;
  TempDir b;
  Recorder recorder;
  auto watcher = Start(recorder);
  ASSERT_NE(watcher, nullptr);
  ASSERT_TRUE(watcher->SetDirectories({a.path(), b.path(), a.path()}).ok());

  for (int i = 0; i < 20; ++i) a.Write(absl::StrCat("file-", i), "x");
  b.Write("tls.crt", "cert");
  Calls calls = recorder.WaitForCalls(1, absl::Seconds(1));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], Sorted({a.path(), b.path()}));
  EXPECT_EQ(recorder.WaitForCalls(2, absl::Milliseconds(300)).size(), 1u);
  EXPECT_GE(watcher->stats().events, 21u);
}

TEST(DirectoryWatcherTest, NoCallbackWhenNothingChanges) {
  TempDir dir;
  dir.Write("tls.crt", "cert");
  Recorder recorder;
  auto watcher = Start(recorder);
  ASSERT_NE(watcher, nullptr);
  ASSERT_TRUE(watcher->SetDirectories({dir.path()}).ok());

  // Reading is not a change.
  ASSERT_TRUE(ReadSecretDir(dir.path(), {"tls.crt"}, {}).ok());
  EXPECT_THAT(recorder.WaitForCalls(1, absl::Milliseconds(300)), IsEmpty());
  EXPECT_EQ(watcher->stats().events, 0u);
}

TEST(DirectoryWatcherTest, DeletedAndRecreatedDirectoryIsWatchedAgain) {
  TempDir root;
  std::string dir = root.Path("secret");
  root.Write("secret/tls.crt", "cert-1");
  Recorder recorder;
  auto watcher = Start(recorder, FastRetry());
  ASSERT_NE(watcher, nullptr);
  ASSERT_TRUE(watcher->SetDirectories({dir}).ok());

  std::filesystem::remove_all(dir);
  Calls calls = recorder.WaitForCalls(1, absl::Seconds(1));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_THAT(calls[0], ElementsAre(dir));
  EXPECT_THAT(watcher->UnwatchedDirectories(), ElementsAre(dir));

  // Back within a retry interval, and reported: its contents are new.
  root.Write("secret/tls.crt", "cert-2");
  calls = recorder.WaitForCalls(2, absl::Seconds(2));
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_THAT(calls[1], ElementsAre(dir));
  EXPECT_THAT(watcher->UnwatchedDirectories(), IsEmpty());
  EXPECT_EQ(watcher->stats().rewatches, 1u);

  // And changes in the new directory are seen.
  root.Write("secret/tls.crt", "cert-3");
  calls = recorder.WaitForCalls(3, absl::Seconds(1));
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_THAT(calls[2], ElementsAre(dir));
}

TEST(DirectoryWatcherTest, SetDirectoriesReportsALostDirectoryThatIsBack) {
  TempDir root;
  std::string dir = root.Path("secret");
  root.Write("secret/tls.crt", "cert-1");
  Recorder recorder;
  DirectoryWatcherOptions options;
  options.retry_interval = absl::Seconds(10);  // SetDirectories, not retry
  auto watcher = Start(recorder, options);
  ASSERT_NE(watcher, nullptr);
  ASSERT_TRUE(watcher->SetDirectories({dir}).ok());
  std::filesystem::remove_all(dir);
  ASSERT_EQ(recorder.WaitForCalls(1, absl::Seconds(1)).size(), 1u);

  root.Write("secret/tls.crt", "cert-2");
  ASSERT_TRUE(watcher->SetDirectories({dir}).ok());
  Calls calls = recorder.WaitForCalls(2, absl::Seconds(1));
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_THAT(calls[1], ElementsAre(dir));
  EXPECT_THAT(watcher->UnwatchedDirectories(), IsEmpty());
}

TEST(DirectoryWatcherTest, MissingDirectoryIsReportedAndWatchedOnceCreated) {
  TempDir root;
  std::string dir = root.Path("later");
  Recorder recorder;
  auto watcher = Start(recorder, FastRetry());
  ASSERT_NE(watcher, nullptr);

  absl::Status status = watcher->SetDirectories({root.path(), dir});
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("cannot watch ", dir)));
  EXPECT_THAT(status.message(), HasSubstr("retrying every 100ms"));
  EXPECT_THAT(watcher->UnwatchedDirectories(), ElementsAre(dir));

  std::filesystem::create_directory(dir);
  // The root sees `later` created; `later` is reported once it is watched.
  EXPECT_TRUE(recorder.WaitForReport(dir, absl::Seconds(1)));
  EXPECT_TRUE(recorder.WaitForReport(root.path(), absl::Seconds(1)));
  EXPECT_THAT(watcher->UnwatchedDirectories(), IsEmpty());
  EXPECT_EQ(watcher->stats().rewatches, 1u);
}

TEST(DirectoryWatcherTest, SetDirectoriesReplacesTheWatchedSet) {
  TempDir old_dir;
  TempDir new_dir;
  Recorder recorder;
  auto watcher = Start(recorder);
  ASSERT_NE(watcher, nullptr);
  ASSERT_TRUE(watcher->SetDirectories({old_dir.path()}).ok());
  ASSERT_TRUE(watcher->SetDirectories({new_dir.path()}).ok());

  old_dir.Write("tls.crt", "ignored");
  new_dir.Write("tls.crt", "seen");
  Calls calls = recorder.WaitForCalls(1, absl::Seconds(1));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_THAT(calls[0], ElementsAre(new_dir.path()));

  old_dir.Write("tls.key", "ignored");
  EXPECT_EQ(recorder.WaitForCalls(2, absl::Milliseconds(300)).size(), 1u);
}

TEST(DirectoryWatcherTest, StopEndsTheWatcher) {
  TempDir dir;
  Recorder recorder;
  auto watcher = Start(recorder);
  ASSERT_NE(watcher, nullptr);
  ASSERT_TRUE(watcher->SetDirectories({dir.path()}).ok());

  watcher->Stop();
  watcher->Stop();
  dir.Write("tls.crt", "cert");
  EXPECT_EQ(watcher->SetDirectories({dir.path()}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(recorder.WaitForCalls(1, absl::Milliseconds(200)), IsEmpty());
}

TEST(DirectoryWatcherTest, CreateRefusesBadArguments) {
  EXPECT_EQ(DirectoryWatcher::Create(nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  Recorder recorder;
  DirectoryWatcherOptions options;
  options.retry_interval = absl::ZeroDuration();
  EXPECT_EQ(
      DirectoryWatcher::Create(recorder.Callback(), options).status().code(),
      absl::StatusCode::kInvalidArgument);
  auto watcher = Start(recorder);
  ASSERT_NE(watcher, nullptr);
  EXPECT_EQ(watcher->SetDirectories({""}).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace certbroker::watch

// The job system's rules without peers: request validation, which errors
// are transient, error conversion and job ids.
#include "agents/jobs/job_rules.h"

#include "absl/strings/str_cat.h"
#include "broker/common/proto_duration.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace certbroker::jobs {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

agent::v1::FileSpec Spec(const std::string& url, const std::string& path) {
  agent::v1::FileSpec spec;
  spec.set_url(url);
  spec.set_local_path(path);
  return spec;
}

TEST(ValidateFileSpecTest, AcceptsAnHttpsUrlAndAnAbsolutePathInADirectory) {
  testing::TempDir dir;
  agent::v1::FileSpec spec = Spec("https://example.test/a", dir.Path("a"));
  spec.set_sha256(std::string(64, 'A'));
  EXPECT_TRUE(ValidateFileSpec(spec, "f").ok());
}

TEST(ValidateFileSpecTest, NamesWhatIsWrong) {
  testing::TempDir dir;
  std::string ok_path = dir.Path("a");
  auto message = [](const agent::v1::FileSpec& spec) {
    absl::Status status = ValidateFileSpec(spec, "files[2]");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    return std::string(status.message());
  };
  EXPECT_THAT(message(Spec("http://example.test/a", ok_path)),
              HasSubstr("files[2].url: "));
  EXPECT_THAT(message(Spec("", ok_path)), HasSubstr("files[2].url: "));
  EXPECT_EQ(message(Spec("https://example.test/a", "")),
            "files[2].local_path is required");
  EXPECT_EQ(message(Spec("https://example.test/a", "a/b")),
            "files[2].local_path must be an absolute path, not \"a/b\"");
  EXPECT_EQ(message(Spec("https://example.test/a", dir.Path("x/"))),
            absl::StrCat("files[2].local_path \"", dir.Path("x/"),
                         "\" names a directory, not a file"));
  EXPECT_EQ(
      message(Spec("https://example.test/a", dir.path() + "/../a")),
      absl::StrCat("files[2].local_path \"", dir.path(),
                   "/../a\" must not contain \".\" or \"..\" components"));
  EXPECT_EQ(
      message(Spec("https://example.test/a", dir.path())),
      absl::StrCat("files[2].local_path \"", dir.path(), "\" is a directory"));
  agent::v1::FileSpec bad_hash = Spec("https://example.test/a", ok_path);
  bad_hash.set_sha256(std::string(63, 'a') + "g");
  EXPECT_THAT(message(bad_hash), HasSubstr("files[2].sha256 must be 64 hex"));
}

TEST(ValidateOptionsTest, ChecksEachOption) {
  agent::v1::JobOptions options;
  EXPECT_TRUE(ValidateOptions(options).ok());
  options.mutable_min_retry_delay()->set_nanos(500000000);
  EXPECT_EQ(ValidateOptions(options).message(),
            "options.min_retry_delay must be at least 1s, not 500ms");
  options.clear_min_retry_delay();
  options.mutable_no_progress_timeout()->set_seconds(-1);
  EXPECT_EQ(ValidateOptions(options).message(),
            "options.no_progress_timeout must be positive");
  options.clear_no_progress_timeout();
  options.add_ignore_local_errors(v1::HOSTNAME_MISMATCH);
  EXPECT_TRUE(ValidateOptions(options).ok());
  options.add_ignore_local_errors(v1::REVOKED);
  EXPECT_THAT(ValidateOptions(options).message(),
              HasSubstr("REVOKED is not a local verification error"));
  options.clear_ignore_local_errors();
  (*options.mutable_resolve())["host"] = "";
  EXPECT_THAT(ValidateOptions(options).message(),
              HasSubstr("host and address must be non-empty"));
}

TEST(IsTransientTest, RetriesWhatMayPassAndStopsForTheRest) {
  transfer::TransferError error;
  for (auto context : {transfer::ErrorContext::kTransport,
                       transfer::ErrorContext::kBrokerUnavailable,
                       transfer::ErrorContext::kServerCertificate,
                       transfer::ErrorContext::kClientCertificate}) {
    error.context = context;
    EXPECT_TRUE(IsTransient(error)) << transfer::ErrorContextName(context);
  }
  error.context = transfer::ErrorContext::kLocalFile;
  EXPECT_FALSE(IsTransient(error));
  error.context = transfer::ErrorContext::kRemoteFile;
  for (int status : {408, 429, 500, 503}) {
    error.http_status = status;
    EXPECT_TRUE(IsTransient(error)) << status;
  }
  for (int status : {0, 200, 301, 403, 404, 416}) {
    error.http_status = status;
    EXPECT_FALSE(IsTransient(error)) << status;
  }
}

TEST(ToJobErrorTest, CarriesTheBrokersVerdict) {
  transfer::TransferError error;
  error.context = transfer::ErrorContext::kServerCertificate;
  error.message = "rejected";
  error.reason = v1::UNTRUSTED_ROOT;
  error.decision_id = "d-1";
  error.rule_name = "r";
  error.url = "https://a.test/x";
  absl::Time now = absl::FromUnixSeconds(1700000000);
  agent::v1::JobError out = ToJobError(error, 3, now);
  EXPECT_EQ(out.context(), agent::v1::SERVER_CERTIFICATE);
  EXPECT_EQ(out.message(), "rejected");
  EXPECT_TRUE(out.transient());
  EXPECT_EQ(out.file_index(), 3);
  EXPECT_EQ(out.broker_reason(), v1::UNTRUSTED_ROOT);
  EXPECT_EQ(out.decision_id(), "d-1");
  EXPECT_EQ(out.rule_name(), "r");
  EXPECT_EQ(out.url(), "https://a.test/x");
  EXPECT_EQ(FromTimestamp(out.time()), now);
}

TEST(NewJobIdTest, IsARandomVersion4Uuid) {
  std::string a = NewJobId(), b = NewJobId();
  EXPECT_NE(a, b);
  EXPECT_THAT(a, MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-"
                              "9a-f]{3}-[0-9a-f]{12}"));
}

}  // namespace
}  // namespace certbroker::jobs

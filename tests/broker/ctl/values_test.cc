// Argument values of certbrokerctl: ids, durations, times, labels, and the
// parser of mixed options and positional arguments.
#include "broker/ctl/values.h"

#include "broker/ctl/command_line.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace certbroker::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ResourceNameTest, AcceptsAnIdOrAFullName) {
  EXPECT_EQ(*ResourceName("certificates", "pay-1.x_y"),
            "certificates/pay-1.x_y");
  EXPECT_EQ(*ResourceName("certificates", "certificates/pay"),
            "certificates/pay");
  EXPECT_EQ(ResourceId("trustBundles/corp"), "corp");
}

TEST(ResourceNameTest, RefusesIdsWithOtherCharactersNamingTheArgument) {
  for (const char* bad :
       {"", "a/b", "trustBundles/x", "sp ace", "certificates/"}) {
    auto name = ResourceName("certificates", bad);
    EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(name.status().message(), HasSubstr(std::string("ID '") + bad));
  }
  EXPECT_FALSE(ResourceName("crls", std::string(129, 'a')).ok());
  EXPECT_TRUE(ResourceName("crls", std::string(128, 'a')).ok());
}

TEST(ParseDurationTest, AcceptsDaysAndGoDurations) {
  EXPECT_EQ(*ParseDuration("--x", "30d"), absl::Hours(24 * 30));
  EXPECT_EQ(*ParseDuration("--x", "1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseDuration("--x", "45s"), absl::Seconds(45));
}

TEST(ParseDurationTest, RefusesZeroNegativeAndJunkNamingTheOption) {
  for (const char* bad : {"0", "0d", "-1h", "d", "1x", "tomorrow", "inf", ""}) {
    auto duration = ParseDuration("--expiring-within", bad);
    EXPECT_FALSE(duration.ok()) << bad;
    EXPECT_THAT(duration.status().message(),
                HasSubstr(std::string("--expiring-within: '") + bad + "'"));
  }
}

TEST(ParseTimeOrAgoTest, AcceptsRfc3339OrADurationAgo) {
  absl::Time now = absl::FromUnixSeconds(1000000);
  EXPECT_EQ(*ParseTimeOrAgo("--since", "1970-01-01T00:01:00Z", now),
            absl::FromUnixSeconds(60));
  EXPECT_EQ(*ParseTimeOrAgo("--since", "1h", now),
            absl::FromUnixSeconds(1000000 - 3600));
  EXPECT_THAT(ParseTimeOrAgo("--since", "yesterday", now).status().message(),
              HasSubstr("--since: 'yesterday' is neither"));
}

TEST(ParseCountTest, BoundsAreInclusive) {
  EXPECT_EQ(*ParseCount("--n", "1", 1, 10), 1);
  EXPECT_EQ(*ParseCount("--n", "10", 1, 10), 10);
  EXPECT_THAT(ParseCount("--n", "11", 1, 10).status().message(),
              HasSubstr("--n: '11' is not a number from 1 to 10"));
  EXPECT_FALSE(ParseCount("--n", "x", 1, 10).ok());
}

TEST(ParseLabelsTest, KeyValuePairsWithEmptyValuesAllowed) {
  auto labels = ParseLabels({"team=pay", "env=", "a=b=c"});
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(labels->at("team"), "pay");
  EXPECT_EQ(labels->at("env"), "");
  EXPECT_EQ(labels->at("a"), "b=c");
}

TEST(ParseLabelsTest, RefusesMissingKeyAndDuplicates) {
  EXPECT_THAT(ParseLabels({"team"}).status().message(),
              HasSubstr("--label: 'team' is not KEY=VALUE"));
  EXPECT_THAT(ParseLabels({"=x"}).status().message(),
              HasSubstr("'=x' is not KEY=VALUE"));
  EXPECT_THAT(ParseLabels({"a=1", "a=2"}).status().message(),
              HasSubstr("key 'a' given twice"));
  EXPECT_TRUE(CheckLabelSelector("--s", "a=1,b=2").ok());
  EXPECT_THAT(CheckLabelSelector("--s", "a=1,b").message(),
              HasSubstr("--s: 'b' is not KEY=VALUE"));
}

TEST(ParseArgumentsTest, MixesOptionsAndPositionalsAndKeepsRepeats) {
  std::vector<OptionSpec> specs = {{"label", "K=V", ""}, {"replace", "", ""}};
  std::vector<std::string> positionals;
  auto options = ParseArguments(
      specs, {"--label", "a=1", "id", "--replace", "--label=b=2", "--", "--x"},
      positionals);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_THAT(positionals, ElementsAre("id", "--x"));
  EXPECT_THAT(options->GetAll("label"), ElementsAre("a=1", "b=2"));
  EXPECT_EQ(options->Get("label"), "b=2");
  EXPECT_TRUE(options->Has("replace"));
}

TEST(ParseArgumentsTest, UnknownOptionAndMissingValueAreNamed) {
  std::vector<OptionSpec> specs = {{"chain", "FILE", ""}};
  std::vector<std::string> positionals;
  EXPECT_EQ(ParseArguments(specs, {"id", "--chian", "x"}, positionals)
                .status()
                .message(),
            "unknown option --chian");
  EXPECT_EQ(ParseArguments(specs, {"--chain"}, positionals).status().message(),
            "--chain needs a value (FILE)");
}

}  // namespace
}  // namespace certbroker::ctl

// Tests of the descriptor-guided YAML to JSON conversion: types come from
// the schema, and every error carries a line, column and field path.
#include "broker/config/yaml_to_json.h"

#include "certbroker/config/v1/config.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace certbroker::config {
namespace {

using ::certbroker::config::v1::BrokerConfig;
using ::testing::HasSubstr;

absl::StatusOr<std::string> Convert(const std::string& yaml) {
  return YamlToJson(yaml, *BrokerConfig::descriptor(), "test.yaml");
}

TEST(YamlToJsonTest, TypesScalarsBySchema) {
  auto json = Convert(
      "certificates:\n"
      "  - id: 2024\n"
      "    exportable: TRUE\n"
      "limits: { max_chain_length: 5 }\n"
      "default_cache_ttl: 30s\n");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json,
            "{\"certificates\":[{\"id\":\"2024\",\"exportable\":true}],"
            "\"limits\":{\"maxChainLength\":5},\"defaultCacheTtl\":\"30s\"}");
}

TEST(YamlToJsonTest, EmptyDocumentIsEmptyObject) {
  auto json = Convert("");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, "{}");
}

TEST(YamlToJsonTest, AcceptsLowerCamelCaseNames) {
  auto json = Convert("defaultCacheTtl: 1s\n");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, "{\"defaultCacheTtl\":\"1s\"}");
}

TEST(YamlToJsonTest, EscapesStrings) {
  auto json = Convert("trust_bundles: [{name: \"a\\\"b\\\\c\\n\"}]\n");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, "{\"trustBundles\":[{\"name\":\"a\\\"b\\\\c\\n\"}]}");
}

struct BadCase {
  const char* yaml;
  const char* message;
};

class YamlToJsonErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(YamlToJsonErrorTest, NamesPositionAndPath) {
  auto json = Convert(GetParam().yaml);
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(json.status().message()),
              HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, YamlToJsonErrorTest,
    ::testing::Values(
        BadCase{
            "rules:\n  - name: a\n    colour: red\n",
            "test.yaml:3:5: rules[0].colour: unknown field; Rule has: name"},
        BadCase{"rules: {name: a}\n",
                "test.yaml:1:8: rules: expected a list, found a mapping"},
        BadCase{"limits:\n  max_chain_length: -3\n",
                "test.yaml:2:21: limits.max_chain_length: '-3' is not a "
                "non-negative integer"},
        BadCase{"limits: {max_chain_length: 99999999999}\n",
                "limits.max_chain_length: '99999999999' is not a non-negative "
                "integer in range"},
        BadCase{"certificates: [{id: a, exportable: yes}]\n",
                "certificates[0].exportable: 'yes' is not true or false"},
        BadCase{"rules: [{name: a, server_validation: {mode: SOMETIMES}}]\n",
                "rules[0].server_validation.mode: 'SOMETIMES' is not one of "
                "AGENT, BROKER, BOTH"},
        BadCase{"default_cache_ttl: 5 minutes\n",
                "default_cache_ttl: '5 minutes' is not a duration"},
        BadCase{
            "trust_bundles: [{name: a, pem_file: x, pem: y}]\n",
            "trust_bundles[0].pem: only one of pem_file and pem may be given"},
        BadCase{"rules: [{name: a, name: b}]\n",
                "rules[0].name: field given twice"},
        BadCase{"rules: [{name: [a, b]}]\n",
                "rules[0].name: expected a single value, found a list"},
        BadCase{"rules: [\n", "test.yaml:2:1: not valid YAML"},
        BadCase{"- just\n- a list\n",
                "(top level): expected a mapping (BrokerConfig)"}));

TEST(YamlToJsonTest, StopsAliasExpansion) {
  // 1,001 rules sharing one aliased list of 1,000 hosts: a 30 kB document
  // that expands to a million values.
  std::string yaml = "rules:\n  - match: {hosts: &h [";
  for (int i = 0; i < 1000; ++i) yaml += i ? ",x" : "x";
  yaml += "]}\n";
  for (int i = 0; i < 1000; ++i) yaml += "  - match: {hosts: *h}\n";
  auto json = Convert(yaml);
  ASSERT_FALSE(json.ok());
  EXPECT_THAT(std::string(json.status().message()),
              HasSubstr("expands to more than 1000000 values"));
}

}  // namespace
}  // namespace certbroker::config

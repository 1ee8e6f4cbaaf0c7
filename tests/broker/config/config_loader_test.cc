// Tests of ParseConfig / LoadConfigFile: a good file, and each kind of bad
// one with the exact message it must produce.
#include "broker/config/config_loader.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace certbroker::config {
namespace {

using ::testing::HasSubstr;

constexpr char kGoodConfig[] = R"(# A complete configuration.
trust_bundles:
  - name: corp-roots
    pem_file: pki/ca.pem
  - name: inline-roots
    pem: |
      -----BEGIN CERTIFICATE-----
      ...
certificates:
  - id: payments-client
    chain_pem_file: pki/client.pem
    key_pem_file: pki/client.key
    exportable: true
rules:
  - name: payments
    match: { hosts: ["payments.example.com", "*.pay.example.com"], ports: [443, 8443], schemes: [https] }
    client_certificate: payments-client
    server_validation: { trust_bundles: [corp-roots, inline-roots], mode: BOTH }
    cache_ttl: 60s
  - name: legacy
    match: { hosts: ["10.0.0.7"] }
    server_validation: { mode: AGENT }
limits: { max_chain_length: 8, max_message_bytes: 65536 }
default_cache_ttl: 120s
)";

TEST(ConfigLoaderTest, ParsesCompleteConfig) {
  auto config = ParseConfig(kGoodConfig, "good.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->trust_bundles_size(), 2);
  EXPECT_EQ(config->trust_bundles(0).pem_file(), "pki/ca.pem");
  ASSERT_EQ(config->certificates_size(), 1);
  EXPECT_TRUE(config->certificates(0).exportable());
  ASSERT_EQ(config->rules_size(), 2);
  const auto& rule = config->rules(0);
  EXPECT_EQ(rule.name(), "payments");
  EXPECT_THAT(
      rule.match().hosts(),
      ::testing::ElementsAre("payments.example.com", "*.pay.example.com"));
  EXPECT_THAT(rule.match().ports(), ::testing::ElementsAre(443, 8443));
  EXPECT_EQ(rule.server_validation().mode(), v1::ServerValidation::BOTH);
  EXPECT_EQ(rule.cache_ttl().seconds(), 60);
  EXPECT_EQ(MaxChainLength(*config), 8u);
  EXPECT_EQ(MaxMessageBytes(*config), 65536u);
  EXPECT_EQ(config->default_cache_ttl().seconds(), 120);
}

TEST(ConfigLoaderTest, AcceptsEveryServerValidationSetting) {
  auto config = ParseConfig(
      "trust_bundles: [{name: roots, pem: x}]\n"
      "crls: [{name: corp, file: corp.crl}]\n"
      "deny:\n"
      "  spki_pins: ['sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=']\n"
      "  certificate_fingerprints:\n"
      "    - "
      "'E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:"
      "4C:A4:95:99:1B:"
      "78:52:B8:55'\n"
      "verdict_cache: {max_entries: 1000, max_bytes: 1048576}\n"
      "rules:\n"
      "  - name: strict\n"
      "    match: {hosts: [a.example]}\n"
      "    server_validation:\n"
      "      trust_bundles: [roots]\n"
      "      max_depth: 4\n"
      "      clock_skew: 30s\n"
      "      allow_common_name_fallback: true\n"
      "      key_strength: {min_rsa_bits: 3072, allowed_curves: [P-384], "
      "allow_sha1_signatures: false}\n"
      "      spki_pins: "
      "['sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=']\n"
      "      revocation: {mode: HARD_FAIL}\n"
      "      allowed_errors: [HOSTNAME_MISMATCH, EXPIRED]\n"
      "  - {name: blocked, match: {hosts: ['*.bad.example']}, action: DENY}\n",
      "full.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  const auto& validation = config->rules(0).server_validation();
  EXPECT_EQ(validation.max_depth(), 4u);
  EXPECT_EQ(validation.clock_skew().seconds(), 30);
  EXPECT_EQ(validation.revocation().mode(), v1::Revocation::HARD_FAIL);
  ASSERT_EQ(validation.allowed_errors_size(), 2);
  EXPECT_EQ(validation.allowed_errors(0), ::certbroker::v1::HOSTNAME_MISMATCH);
  EXPECT_EQ(config->rules(1).action(), v1::Rule::DENY);
  EXPECT_EQ(config->verdict_cache().max_entries(), 1000u);
}

TEST(ConfigLoaderTest, ReadsJsonDocumentsDirectlyWithTheSameMeaning) {
  const char* yaml =
      "rules:\n"
      "  - name: r\n"
      "    match: {hosts: [a.example], ports: [8443]}\n"
      "    server_validation: {mode: AGENT, clock_skew: 30s}\n";
  const char* json =
      "  {\"rules\": [{\"name\": \"r\", \"match\": {\"hosts\": "
      "[\"a.example\"], "
      "\"ports\": [8443]}, \"serverValidation\": {\"mode\": \"AGENT\", "
      "\"clock_skew\": "
      "\"30s\"}}]}";
  auto from_yaml = ParseConfig(yaml, "c.yaml");
  auto from_json = ParseConfig(json, "c.json");
  ASSERT_TRUE(from_yaml.ok()) << from_yaml.status();
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_EQ(from_yaml->SerializeAsString(), from_json->SerializeAsString());
}

TEST(ConfigLoaderTest, JsonErrorsNameTheFieldOnOneLine) {
  auto unknown = ParseConfig(
      "{\"rules\": [{\"name\": \"r\", \"colour\": \"red\"}]}", "c.json");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr("c.json: (rules[0]) colour: Cannot find field."));
  auto truncated = ParseConfig("{\"rules\": [{\"name\": ", "c.json");
  ASSERT_FALSE(truncated.ok());
  EXPECT_THAT(std::string(truncated.status().message()), HasSubstr("c.json: "));
  EXPECT_EQ(std::string(truncated.status().message()).find('\n'),
            std::string::npos);
  // Validation applies to JSON as to YAML.
  auto invalid = ParseConfig("{\"rules\": [{\"name\": \"r\"}]}", "c.json");
  EXPECT_THAT(std::string(invalid.status().message()),
              HasSubstr("c.json: rules[0].match.hosts: required"));
}

TEST(ConfigLoaderTest, AppliesDefaultLimits) {
  auto config = ParseConfig("{}", "empty.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(MaxChainLength(*config), 10u);
  EXPECT_EQ(MaxMessageBytes(*config), 1048576u);
  EXPECT_EQ(config->default_action(), v1::REJECT);
}

TEST(ConfigLoaderTest, LoadsFileAndNamesIt) {
  testing::TempDir dir;
  std::string path =
      dir.Write("broker.yaml", "rules: [{name: x, colour: red}]\n");
  auto config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr(path + ":1:19: rules[0].colour: unknown field"));
}

TEST(ConfigLoaderTest, MissingFileIsNotFoundNamingPath) {
  auto config = LoadConfigFile("/nonexistent/certbroker.yaml");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("cannot open /nonexistent/certbroker.yaml"));
}

TEST(ConfigLoaderTest, DirectoryIsRejected) {
  testing::TempDir dir;
  auto config = LoadConfigFile(dir.path());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("is not a regular file"));
}

struct BadConfig {
  const char* yaml;
  const char* message;
};

class ConfigValidationTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ConfigValidationTest, RejectsWithFieldPath) {
  auto config = ParseConfig(GetParam().yaml, "bad.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigValidationTest,
    ::testing::Values(
        BadConfig{"trust_bundles: [{pem_file: a.pem}]",
                  "bad.yaml: trust_bundles[0].name: required"},
        BadConfig{
            "trust_bundles: [{name: a}]",
            "bad.yaml: trust_bundles[0]: one of pem_file, pem or secret_dir is "
            "required"},
        BadConfig{"trust_bundles: [{name: a, pem: x}, {name: a, pem: y}]",
                  "trust_bundles[1].name: 'a' is used twice"},
        BadConfig{"trust_bundles: [{name: 'has space', pem: x}]",
                  "trust_bundles[0].name: 'has space' is not a valid name"},
        BadConfig{"certificates: [{id: c, key_pem_file: k}]",
                  "certificates[0].chain_pem_file: required"},
        BadConfig{"certificates: [{id: c, chain_pem_file: k}]",
                  "certificates[0].key_pem_file: required"},
        BadConfig{"certificates: [{id: c, chain_pem_file: a, key_pem_file: b, "
                  "secret_dir: /run/secrets/c}]",
                  "certificates[0].secret_dir: give either secret_dir or "
                  "chain_pem_file and key_pem_file, not both"},
        BadConfig{"rules: [{name: r}]",
                  "rules[0].match.hosts: required: at least one host"},
        BadConfig{
            "rules: [{name: r, match: {hosts: ['a.*.example.com']}, "
            "server_validation: {mode: AGENT}}]",
            "rules[0].match.hosts[0]: 'a.*.example.com': '*' may only be"},
        BadConfig{"rules: [{name: r, match: {hosts: ['bad host']}, "
                  "server_validation: {mode: AGENT}}]",
                  "rules[0].match.hosts[0]: 'bad host' is not a DNS name or IP "
                  "address"},
        BadConfig{"rules: [{name: r, match: {hosts: ['bücher.example']}, "
                  "server_validation: {mode: AGENT}}]",
                  "A-label form"},
        BadConfig{
            "rules: [{name: r, match: {hosts: [a.example], ports: [70000]}, "
            "server_validation: {mode: AGENT}}]",
            "rules[0].match.ports[0]: 70000 is not a port"},
        BadConfig{"rules: [{name: r, match: {hosts: [a.example]}, "
                  "client_certificate: nope, "
                  "server_validation: {mode: AGENT}}]",
                  "rules[0].client_certificate: no certificate has id 'nope'"},
        BadConfig{"rules: [{name: r, match: {hosts: [a.example]}, "
                  "server_validation: {trust_bundles: [nope]}}]",
                  "rules[0].server_validation.trust_bundles[0]: no trust "
                  "bundle is named 'nope'"},
        BadConfig{"rules: [{name: r, match: {hosts: [a.example]}}]",
                  "rules[0].server_validation.trust_bundles: required unless "
                  "mode is AGENT"},
        BadConfig{"rules: [{name: r, match: {hosts: [a.example]}, cache_ttl: "
                  "100000s, "
                  "server_validation: {mode: AGENT}}]",
                  "rules[0].cache_ttl: must be at most 86400s"},
        BadConfig{"limits: {max_chain_length: 101}",
                  "limits.max_chain_length: must be at most 100"},
        BadConfig{"limits: {max_certificate_bytes: 10}",
                  "limits.max_certificate_bytes: must be between 1024"},
        BadConfig{"inbound_rules: [{name: i, match: {listeners: [l]}}]",
                  "inbound_rules[0].match.server_names: required"},
        BadConfig{"inbound_rules: [{name: i, match: {server_names: ['*'], "
                  "listeners: ['a b']}}]",
                  "inbound_rules[0].match.listeners[0]: 'a b' is not a "
                  "listener name"},
        BadConfig{"inbound_rules: [{name: i, match: {server_names: ['*']}}]",
                  "inbound_rules[0].peer_validation.trust_bundles: required "
                  "unless client_certificate is IGNORE"},
        BadConfig{"trust_bundles: [{name: b, pem: x}]\n"
                  "inbound_rules: [{name: i, match: {server_names: ['*']}, "
                  "peer_validation: {trust_bundles: [b]}}]",
                  "inbound_rules[0].allowed_peers: required unless "
                  "client_certificate is IGNORE: an empty list would allow "
                  "no one"},
        BadConfig{"inbound_rules: [{name: i, match: {server_names: ['*']}, "
                  "peer_validation: {trust_bundles: [nope]}}]",
                  "inbound_rules[0].peer_validation.trust_bundles[0]: no "
                  "trust bundle is named 'nope'"},
        BadConfig{"inbound_rules: [{name: i, match: {server_names: ['*']}, "
                  "client_certificate: IGNORE, peer_validation: {mode: "
                  "BROKER}}]",
                  "inbound_rules[0].peer_validation.mode: does not apply"},
        BadConfig{"inbound_rules: [{name: i, match: {server_names: ['*']}, "
                  "client_certificate: IGNORE}, {name: i, match: "
                  "{server_names: [a.example]}, client_certificate: IGNORE}]",
                  "inbound_rules[1].name: 'i' is used twice"},
        BadConfig{"inbound_rules: [{name: i, match: {server_names: ['*'], "
                  "agents: ['x*y/z']}, client_certificate: IGNORE}]",
                  "inbound_rules[0].match.agents[0]: 'x*y/z' is not an "
                  "identity selector"},
        BadConfig{"access: {tls: {chain_pem_file: a, key_pem_file: b}}",
                  "access.tls.client_ca_bundles: required"},
        BadConfig{"access: {tls: {chain_pem_file: a, key_pem_file: b, "
                  "client_ca_bundles: [nope]}}",
                  "access.tls.client_ca_bundles[0]: no trust bundle is named "
                  "'nope'"},
        BadConfig{"access: {tls: {secret_dir: s, key_pem_file: b}}",
                  "access.tls.secret_dir: give either secret_dir"},
        BadConfig{"access: {identity: {spiffe_trust_domains: ['spiffe://x']}}",
                  "access.identity.spiffe_trust_domains[0]: 'spiffe://x' is "
                  "not a trust domain"},
        BadConfig{"access: {unix_peers: [{identity: a}]}",
                  "access.unix_peers[0]: uid or gid is required"},
        BadConfig{"access: {unix_peers: [{uid: 1, identity: 'a*'}]}",
                  "access.unix_peers[0].identity: an identity, not a selector"},
        BadConfig{"access: {roles: [{identities: ['x*y/z'], roles: [AGENT]}]}",
                  "access.roles[0].identities[0]: '*' stands for a whole path"},
        BadConfig{"access: {roles: [{identities: [a]}]}",
                  "access.roles[0].roles: AGENT, ADMIN and/or AUDITOR"},
        BadConfig{"access: {per_caller: {requests_per_second: -1}}",
                  "access.per_caller.requests_per_second: must be between 0"},
        BadConfig{
            "rules: [{name: r, match: {hosts: [a.example]}, "
            "server_validation: {mode: AGENT, max_depth: 1}}]",
            "rules[0].server_validation.max_depth: must be between 2 and 20"},
        BadConfig{
            "rules: [{name: r, match: {hosts: [a.example]}, "
            "server_validation: {mode: AGENT, clock_skew: 90000s}}]",
            "rules[0].server_validation.clock_skew: must be at most 86400s"},
        BadConfig{"rules: [{name: r, match: {hosts: [a.example]}, "
                  "server_validation: {mode: AGENT, key_strength: "
                  "{min_rsa_bits: 512}}}]",
                  "rules[0].server_validation.key_strength.min_rsa_bits: must "
                  "be between 1024"},
        BadConfig{"rules: [{name: r, match: {hosts: [a.example]}, "
                  "server_validation: {mode: AGENT, key_strength: "
                  "{allowed_curves: [P-256, "
                  "secp256k1]}}}]",
                  "rules[0].server_validation.key_strength.allowed_curves[1]: "
                  "'secp256k1' is "
                  "not one of P-224, P-256, P-384, P-521"},
        BadConfig{
            "rules: [{name: r, match: {hosts: [a.example]}, "
            "server_validation: {mode: AGENT, spki_pins: ['sha1/AAAA']}}]",
            "rules[0].server_validation.spki_pins[0]: 'sha1/AAAA' is not a "
            "pin"},
        BadConfig{
            "rules: [{name: r, match: {hosts: [a.example]}, "
            "server_validation: {mode: AGENT, spki_pins: ['sha256/AAAA']}}]",
            "the base64 after sha256/ must encode 32 bytes"},
        BadConfig{"rules: [{name: r, match: {hosts: [a.example]}, "
                  "server_validation: {mode: AGENT, allowed_errors: "
                  "[NOT_A_REASON]}}]",
                  "rules[0].server_validation.allowed_errors[0]: "
                  "'NOT_A_REASON' is not one of"},
        BadConfig{
            "rules: [{name: r, match: {hosts: [a.example]}, "
            "server_validation: {mode: AGENT, revocation: {mode: SOMETIMES}}}]",
            "rules[0].server_validation.revocation.mode: 'SOMETIMES' is not "
            "one of "
            "SOFT_FAIL, OFF, HARD_FAIL"},
        BadConfig{
            "certificates: [{id: c, chain_pem_file: c, key_pem_file: k}]\n"
            "rules: [{name: r, match: {hosts: [a.example]}, action: DENY, "
            "client_certificate: c}]",
            "rules[0].client_certificate: a DENY rule gives no client "
            "certificate"},
        BadConfig{"rules: [{name: r, match: {hosts: [a.example], agents: "
                  "['spiffe://x/a*/y']}, "
                  "server_validation: {mode: AGENT}}]",
                  "rules[0].match.agents[0]: 'spiffe://x/a*/y' is not an identity "
                  "selector: '*' stands for a whole path segment"},
        BadConfig{"crls: [{name: c}]",
                  "crls[0]: one of file or pem is required"},
        BadConfig{"crls: [{name: c, file: a}, {name: c, file: b}]",
                  "crls[1].name: 'c' is used twice"},
        BadConfig{"deny: {spki_pins: [nope]}",
                  "deny.spki_pins[0]: 'nope' is not a pin"},
        BadConfig{"deny: {certificate_fingerprints: ['AB:CD']}",
                  "deny.certificate_fingerprints[0]: 'AB:CD' is not a SHA-256 "
                  "fingerprint"},
        BadConfig{
            "limits: {max_message_bytes: 100}",
            "limits.max_message_bytes: must be between 4096 and 67108864"}));

}  // namespace
}  // namespace certbroker::config

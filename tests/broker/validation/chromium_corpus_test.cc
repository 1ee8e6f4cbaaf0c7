// Runs Chromium's certificate-chain verification corpus (BoringSSL's
// pki/testdata/verify_certificate_chain_unittest, copied as data to
// CHROMIUM_CORPUS_DIR) through ValidateServerChain and checks that the broker
// accepts or rejects each case as the corpus expects, except for the
// deliberate differences listed, with their reasons, in
// CHROMIUM_CORPUS_DIFFERENCES (chromium_corpus_differences.txt). A listed
// case that starts agreeing fails too, so the list stays true.
//
// How a .test file maps onto the validator (the list's header repeats it):
//  * chain: every certificate of the named PEM file, leaf first, is sent as
//    the chain; a file that does not parse is a rejection (the service
//    answers INVALID_ARGUMENT to malformed DER).
//  * last_cert_trust: every TRUSTED_* value puts the last certificate in the
//    trust store, the broker's only kind of trust (it has no leaf-only or
//    constraint-enforcing anchors). UNSPECIFIED and DISTRUSTED trust an
//    unrelated root generated here instead.
//  * utc_time: UTCTime or GeneralizedTime, parsed strictly; DEFAULT is the
//    upstream harness's 211005120000Z.
//  * key_purpose: SERVER_AUTH and CLIENT_AUTH check the purpose without
//    requiring an EKU extension on the leaf; *_STRICT and *_STRICT_LEAF
//    require one (require_extended_key_usage); ANY_EKU and the purposes the
//    broker does not know (MLS_CLIENT_AUTH, C2PA_*) check no purpose.
//  * digest_policy: STRONG forbids SHA-1 (our default), ALLOW_SHA_1 allows it.
//  * expected_user_constrained_policy_set is not compared: the validator
//    reports no policy set.
//  * expected_errors: the case must fail when it holds an "ERROR: " line;
//    warnings alone (or nothing) mean it must verify, as upstream.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "broker/devpki/pki.h"
#include "broker/validation/chain_policy.h"
#include "broker/validation/server_chain_validator.h"
#include "broker/validation/trust_store.h"
#include "broker/x509/pem.h"
#include "gtest/gtest.h"

#ifndef CHROMIUM_CORPUS_DIR
#error "CHROMIUM_CORPUS_DIR must name the chromium-verify-chain directory"
#endif
#ifndef CHROMIUM_CORPUS_DIFFERENCES
#error "CHROMIUM_CORPUS_DIFFERENCES must name chromium_corpus_differences.txt"
#endif

namespace certbroker::validation {
namespace {

namespace fs = std::filesystem;

// kMinimumCases is how many .test files the corpus holds; fewer means the
// discovery or the copy of the corpus is broken.
constexpr size_t kMinimumCases = 197;

// kDefaultTime is what upstream's harness substitutes for "utc_time:
// DEFAULT" (October 5th, 2021, 12:00 UTC).
constexpr absl::string_view kDefaultTime = "211005120000Z";

// ReadText returns the contents of `path`.
absl::StatusOr<std::string> ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("cannot read ", path.string()));
  }
  return contents.str();
}

// DiscoverCases lists every .test file under the corpus directory, relative
// to it ("expired-root/not-after.test"), sorted. Empty when the directory
// is missing, which ChromiumCorpusSummaryTest.CorpusIsPresentAndComplete
// reports.
std::vector<std::string> DiscoverCases() {
  std::vector<std::string> cases;
  const fs::path root(CHROMIUM_CORPUS_DIR);
  std::error_code error;
  if (!fs::is_directory(root, error)) return cases;
  fs::recursive_directory_iterator it(root, error), end;
  for (; !error && it != end; it.increment(error)) {
    if (it->is_regular_file(error) && it->path().extension() == ".test") {
      cases.push_back(it->path().lexically_relative(root).generic_string());
    }
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

const std::vector<std::string>& Cases() {
  static const auto* const cases =
      new std::vector<std::string>(DiscoverCases());
  return *cases;
}

// TestName turns "dir-name/file.test" into "dir_name_file".
std::string TestName(absl::string_view relative_path) {
  absl::ConsumeSuffix(&relative_path, ".test");
  std::string name(relative_path);
  for (char& c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

// ---------------------------------------------------------------------------
// The .test format.

struct CorpusCase {
  std::string chain_file;  // Relative to the .test file's directory.
  std::string last_cert_trust;
  std::string utc_time;
  std::string key_purpose;
  std::optional<std::string> digest_policy;
  std::string expected_errors;

  // ExpectsFailure: upstream fails a case exactly when its expected errors
  // hold a high-severity ("ERROR: ") line; warnings alone still verify.
  bool ExpectsFailure() const {
    for (absl::string_view line : absl::StrSplit(expected_errors, '\n')) {
      if (absl::StartsWith(line, "ERROR: ")) return true;
    }
    return false;
  }
};

// ParseCase reads one .test file: "key: value" lines in any order, "#"
// comments, blank lines, and a final "expected_errors:" line after which
// the rest of the file is the expected error text. Unknown, repeated or
// missing keys are errors.
absl::StatusOr<CorpusCase> ParseCase(absl::string_view text) {
  CorpusCase parsed;
  std::map<std::string, std::string> values;
  bool has_errors = false;
  size_t position = 0;
  while (position < text.size()) {
    size_t newline = text.find('\n', position);
    size_t next =
        newline == absl::string_view::npos ? text.size() : newline + 1;
    absl::string_view line =
        absl::StripAsciiWhitespace(text.substr(position, next - position));
    position = next;
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    if (line == "expected_errors:") {
      parsed.expected_errors = std::string(text.substr(position));
      has_errors = true;
      break;
    }
    size_t colon = line.find(": ");
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("not a 'key: value' line: '", line, "'"));
    }
    std::string key(line.substr(0, colon));
    std::string value(absl::StripAsciiWhitespace(line.substr(colon + 2)));
    static const auto* const kKnownKeys = new std::set<std::string>{
        "chain",         "last_cert_trust",
        "utc_time",      "key_purpose",
        "digest_policy", "expected_user_constrained_policy_set"};
    if (kKnownKeys->count(key) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown key '", key, "'"));
    }
    if (!values.emplace(key, value).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("key '", key, "' given twice"));
    }
  }
  for (const char* required :
       {"chain", "last_cert_trust", "utc_time", "key_purpose"}) {
    if (values.count(required) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing key '", required, "'"));
    }
  }
  if (!has_errors)
    return absl::InvalidArgumentError("missing 'expected_errors:'");
  parsed.chain_file = values["chain"];
  parsed.last_cert_trust = values["last_cert_trust"];
  parsed.utc_time = values["utc_time"];
  parsed.key_purpose = values["key_purpose"];
  if (values.count("digest_policy") > 0)
    parsed.digest_policy = values["digest_policy"];
  return parsed;
}

// ParseDigits reads `text` as an unsigned decimal of exactly its length.
std::optional<int> ParseDigits(absl::string_view text) {
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)))
      return std::nullopt;
  }
  int value = 0;
  if (!absl::SimpleAtoi(text, &value)) return std::nullopt;
  return value;
}

// ParseCorpusTime parses UTCTime (YYMMDDHHMMSSZ; years 50-99 are 19xx, as
// RFC 5280 says) or GeneralizedTime (YYYYMMDDHHMMSSZ), UTC only, no
// fractions, every field in range; or DEFAULT.
absl::StatusOr<absl::Time> ParseCorpusTime(absl::string_view text) {
  if (text == "DEFAULT") text = kDefaultTime;
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("utc_time '", text, "': ", why));
  };
  if (text.size() != 13 && text.size() != 15)
    return bad("not 13 or 15 characters");
  if (text.back() != 'Z') return bad("does not end in Z");
  size_t year_digits = text.size() == 13 ? 2 : 4;
  std::optional<int> year = ParseDigits(text.substr(0, year_digits));
  absl::string_view rest = text.substr(year_digits);
  std::optional<int> month = ParseDigits(rest.substr(0, 2));
  std::optional<int> day = ParseDigits(rest.substr(2, 2));
  std::optional<int> hour = ParseDigits(rest.substr(4, 2));
  std::optional<int> minute = ParseDigits(rest.substr(6, 2));
  std::optional<int> second = ParseDigits(rest.substr(8, 2));
  if (!year || !month || !day || !hour || !minute || !second)
    return bad("not all digits");
  if (year_digits == 2) *year += *year >= 50 ? 1900 : 2000;
  absl::CivilSecond civil(*year, *month, *day, *hour, *minute, *second);
  // CivilSecond normalizes out-of-range fields; a strict parse refuses them.
  if (civil.year() != *year || civil.month() != *month || civil.day() != *day ||
      civil.hour() != *hour || civil.minute() != *minute ||
      civil.second() != *second) {
    return bad("a field is out of range");
  }
  return absl::FromCivil(civil, absl::UTCTimeZone());
}

// TrustsLastCertificate maps last_cert_trust onto the broker's one kind of
// trust: a certificate in the trust store.
absl::StatusOr<bool> TrustsLastCertificate(absl::string_view trust) {
  static const auto* const kTrusted = new std::set<std::string>{
      "TRUSTED_ANCHOR",
      "TRUSTED_ANCHOR_WITH_EXPIRATION",
      "TRUSTED_ANCHOR_WITH_CONSTRAINTS",
      "TRUSTED_ANCHOR_WITH_REQUIRE_BASIC_CONSTRAINTS",
      "TRUSTED_ANCHOR_WITH_CONSTRAINTS_REQUIRE_BASIC_CONSTRAINTS",
      "TRUSTED_ANCHOR_WITH_EXPIRATION_AND_CONSTRAINTS",
      "TRUSTED_ANCHOR_OR_LEAF",
      "TRUSTED_LEAF",
      "TRUSTED_LEAF_REQUIRE_SELF_SIGNED",
  };
  if (kTrusted->count(std::string(trust)) > 0) return true;
  if (trust == "UNSPECIFIED" || trust == "DISTRUSTED") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown last_cert_trust '", trust, "'"));
}

// ApplyKeyPurpose sets the purpose and whether the leaf needs an EKU
// extension, following Chromium: strict purposes require the extension
// (listing the purpose itself, not anyExtendedKeyUsage), the others do not.
absl::Status ApplyKeyPurpose(absl::string_view purpose, ChainPolicy& policy) {
  struct Mapping {
    KeyPurpose purpose;
    bool require_extended_key_usage;
  };
  static const auto* const kMappings = new std::map<std::string, Mapping>{
      {"SERVER_AUTH", {KeyPurpose::kServerAuth, false}},
      {"SERVER_AUTH_STRICT", {KeyPurpose::kServerAuth, true}},
      {"SERVER_AUTH_STRICT_LEAF", {KeyPurpose::kServerAuth, true}},
      {"CLIENT_AUTH", {KeyPurpose::kClientAuth, false}},
      {"CLIENT_AUTH_STRICT", {KeyPurpose::kClientAuth, true}},
      {"CLIENT_AUTH_STRICT_LEAF", {KeyPurpose::kClientAuth, true}},
      {"ANY_EKU", {KeyPurpose::kAny, false}},
      // Purposes the broker has no notion of: checked as any purpose.
      {"MLS_CLIENT_AUTH", {KeyPurpose::kAny, false}},
      {"C2PA_MANIFEST", {KeyPurpose::kAny, false}},
      {"C2PA_TIMESTAMPING", {KeyPurpose::kAny, false}},
  };
  auto it = kMappings->find(std::string(purpose));
  if (it == kMappings->end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown key_purpose '", purpose, "'"));
  }
  policy.purpose = it->second.purpose;
  policy.require_extended_key_usage = it->second.require_extended_key_usage;
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Running a case.

// UnrelatedTrustStore trusts one freshly generated root that signed nothing
// in the corpus: the store for cases whose last certificate is not trusted.
absl::StatusOr<std::shared_ptr<const TrustStore>> UnrelatedTrustStore() {
  static const auto* const store = [] {
    auto* result = new absl::StatusOr<std::shared_ptr<const TrustStore>>(
        absl::InternalError("not built"));
    auto root = devpki::Issue(
        devpki::RootSpec("Certbroker Corpus Unrelated Root"), nullptr);
    if (!root.ok()) {
      *result = root.status();
      return result;
    }
    x509::CertificateList roots;
    roots.push_back(bssl::UpRef(root->certificate));
    *result = TrustStore::Create(roots, {"unrelated-root"});
    return result;
  }();
  return *store;
}

// Outcome is the corpus's expectation and the broker's answer for a case.
struct Outcome {
  bool expect_accept = false;
  bool accepted = false;
  std::string reason;  // v1::Reason_Name of the verdict.
  std::string detail;

  bool Agrees() const { return expect_accept == accepted; }
};

absl::StatusOr<Outcome> RunCase(const std::string& relative_path) {
  const fs::path test_path = fs::path(CHROMIUM_CORPUS_DIR) / relative_path;
  absl::StatusOr<std::string> text = ReadText(test_path);
  if (!text.ok()) return text.status();
  absl::StatusOr<CorpusCase> parsed = ParseCase(*text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(test_path.string(), ": ", parsed.status().message()));
  }
  auto with_path = [&](const absl::Status& status) {
    return absl::Status(status.code(), absl::StrCat(test_path.string(), ": ",
                                                    status.message()));
  };

  ChainPolicy policy;
  policy.revocation = RevocationMode::kOff;
  policy.max_depth = 32;
  if (absl::Status status = ApplyKeyPurpose(parsed->key_purpose, policy);
      !status.ok()) {
    return with_path(status);
  }
  if (parsed->digest_policy.has_value()) {
    if (*parsed->digest_policy == "STRONG") {
      policy.allow_sha1_signatures = false;
    } else if (*parsed->digest_policy == "ALLOW_SHA_1") {
      policy.allow_sha1_signatures = true;
    } else {
      return with_path(absl::InvalidArgumentError(absl::StrCat(
          "unknown digest_policy '", *parsed->digest_policy, "'")));
    }
  }
  absl::StatusOr<bool> trusted = TrustsLastCertificate(parsed->last_cert_trust);
  if (!trusted.ok()) return with_path(trusted.status());
  ServerChainCheck check;  // No server_name: the corpus has no names to check.
  absl::StatusOr<absl::Time> now = ParseCorpusTime(parsed->utc_time);
  if (!now.ok()) return with_path(now.status());
  check.now = *now;

  Outcome outcome;
  outcome.expect_accept = !parsed->ExpectsFailure();
  const fs::path chain_path = test_path.parent_path() / parsed->chain_file;
  absl::StatusOr<std::string> pem = ReadText(chain_path);
  if (!pem.ok()) return with_path(pem.status());
  absl::StatusOr<x509::CertificateList> chain =
      x509::ParsePemCertificates(*pem, chain_path.filename().string());
  if (!chain.ok()) {
    // The service refuses a chain that does not parse (INVALID_ARGUMENT).
    outcome.accepted = false;
    outcome.reason = "(chain does not parse)";
    outcome.detail = std::string(chain.status().message());
    return outcome;
  }

  std::shared_ptr<const TrustStore> trust;
  if (*trusted) {
    x509::CertificateList roots;
    roots.push_back(bssl::UpRef(chain->back()));
    absl::StatusOr<std::shared_ptr<const TrustStore>> store =
        TrustStore::Create(roots, {"corpus-last-certificate"});
    if (!store.ok()) return with_path(store.status());
    trust = *store;
  } else {
    absl::StatusOr<std::shared_ptr<const TrustStore>> store =
        UnrelatedTrustStore();
    if (!store.ok()) return store.status();
    trust = *store;
  }
  ChainVerdict verdict = ValidateServerChain(*trust, *chain, check, policy);
  outcome.accepted = verdict.accepted();
  outcome.reason = ::certbroker::v1::Reason_Name(verdict.reason);
  outcome.detail = verdict.detail;
  return outcome;
}

// ---------------------------------------------------------------------------
// The differences list.

struct Difference {
  bool accepted = false;  // What the broker answers.
  std::string reason;
};

struct DifferenceList {
  std::map<std::string, Difference> entries;  // By "DIR/FILE.test".
  std::vector<std::string> errors;            // Malformed or repeated lines.
};

// LoadDifferences reads `DIR/FILE.test  accept|reject  reason` lines;
// blank lines and "#" comments are skipped.
DifferenceList LoadDifferences() {
  DifferenceList list;
  absl::StatusOr<std::string> text = ReadText(CHROMIUM_CORPUS_DIFFERENCES);
  if (!text.ok()) {
    list.errors.push_back(std::string(text.status().message()));
    return list;
  }
  int line_number = 0;
  for (absl::string_view raw : absl::StrSplit(*text, '\n')) {
    ++line_number;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    // Three fields: the case and the verdict are single words, the reason
    // is the rest of the line.
    std::vector<absl::string_view> fields;
    absl::string_view rest = line;
    for (int i = 0; i < 2 && !rest.empty(); ++i) {
      size_t space = rest.find_first_of(" \t");
      fields.push_back(rest.substr(0, space));
      rest = space == absl::string_view::npos
                 ? absl::string_view()
                 : absl::StripLeadingAsciiWhitespace(rest.substr(space));
    }
    fields.push_back(rest);
    std::string where = absl::StrCat("differences line ", line_number, ": ");
    if (fields.size() != 3 || fields[2].empty() ||
        (fields[1] != "accept" && fields[1] != "reject")) {
      list.errors.push_back(absl::StrCat(
          where, "expected 'DIR/FILE.test  accept|reject  reason', got '", line,
          "'"));
      continue;
    }
    Difference difference{fields[1] == "accept", std::string(fields[2])};
    if (!list.entries.emplace(std::string(fields[0]), std::move(difference))
             .second) {
      list.errors.push_back(absl::StrCat(where, fields[0], " is listed twice"));
    }
  }
  return list;
}

const DifferenceList& Differences() {
  static const auto* const list = new DifferenceList(LoadDifferences());
  return *list;
}

const char* VerdictText(bool accepted) {
  return accepted ? "accept" : "reject";
}

// Judge compares an outcome with the list; empty when all is as it should
// be, else what is wrong.
std::string Judge(const std::string& relative_path, const Outcome& outcome) {
  std::string facts = absl::StrCat(
      relative_path, ": corpus expects ", VerdictText(outcome.expect_accept),
      ", broker answers ", VerdictText(outcome.accepted), " (", outcome.reason,
      ": ", outcome.detail, ")");
  auto listed = Differences().entries.find(relative_path);
  if (listed == Differences().entries.end()) {
    if (outcome.Agrees()) return "";
    return absl::StrCat(
        "unexpected mismatch: ", facts,
        "; fix it or list it in chromium_corpus_differences.txt");
  }
  if (outcome.Agrees()) {
    return absl::StrCat("stale difference: ", facts,
                        ", which agrees now; remove its line from "
                        "chromium_corpus_differences.txt");
  }
  if (listed->second.accepted != outcome.accepted) {
    // Cannot happen while the list only holds disagreements, but a list
    // entry naming the wrong verdict is still wrong.
    return absl::StrCat(
        "chromium_corpus_differences.txt says the broker answers ",
        VerdictText(listed->second.accepted), ": ", facts);
  }
  return "";
}

// ---------------------------------------------------------------------------
// The tests.

class ChromiumCorpusTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ChromiumCorpusTest, AgreesOrIsAListedDifference) {
  absl::StatusOr<Outcome> outcome = RunCase(GetParam());
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  std::string problem = Judge(GetParam(), *outcome);
  EXPECT_TRUE(problem.empty()) << problem;
  auto listed = Differences().entries.find(GetParam());
  if (problem.empty() && listed != Differences().entries.end()) {
    RecordProperty("known_difference", listed->second.reason);
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, ChromiumCorpusTest,
                         ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return TestName(info.param);
                         });

TEST(ChromiumCorpusSummaryTest, CorpusIsPresentAndComplete) {
  ASSERT_TRUE(fs::is_directory(CHROMIUM_CORPUS_DIR))
      << "the corpus directory " << CHROMIUM_CORPUS_DIR
      << " is missing (expected ../shared/testdata/chromium-verify-chain)";
  EXPECT_GE(Cases().size(), kMinimumCases)
      << "fewer .test files than the corpus holds";
  std::set<std::string> names;
  for (const std::string& relative_path : Cases()) {
    EXPECT_TRUE(names.insert(TestName(relative_path)).second)
        << "two cases share the test name " << TestName(relative_path);
  }
}

TEST(ChromiumCorpusSummaryTest, DifferencesListIsWellFormedAndNamesRealCases) {
  for (const std::string& error : Differences().errors) ADD_FAILURE() << error;
  std::set<std::string> cases(Cases().begin(), Cases().end());
  for (const auto& [relative_path, difference] : Differences().entries) {
    EXPECT_EQ(cases.count(relative_path), 1u)
        << "chromium_corpus_differences.txt lists " << relative_path
        << ", which is not a case of the corpus";
    EXPECT_FALSE(difference.reason.empty())
        << relative_path << " is listed without a reason";
  }
}

// WholeCorpusAgreesExceptListedDifferences runs every case once more and
// tallies, so one test states how far the broker agrees with Chromium.
TEST(ChromiumCorpusSummaryTest, WholeCorpusAgreesExceptListedDifferences) {
  size_t ran = 0, agreements = 0, known_differences = 0;
  std::vector<std::string> problems;
  for (const std::string& relative_path : Cases()) {
    absl::StatusOr<Outcome> outcome = RunCase(relative_path);
    if (!outcome.ok()) {
      problems.push_back(std::string(outcome.status().message()));
      continue;
    }
    ++ran;
    std::string problem = Judge(relative_path, *outcome);
    if (!problem.empty()) {
      problems.push_back(std::move(problem));
    } else if (outcome->Agrees()) {
      ++agreements;
    } else {
      ++known_differences;
    }
  }
  std::string tally = absl::StrCat(ran, " cases ran: ", agreements, " agree, ",
                                   known_differences, " listed differences, ",
                                   problems.size(), " problems");
  RecordProperty("tally", tally);
  std::cout << "[ TALLY    ] " << tally << std::endl;
  EXPECT_GE(ran, kMinimumCases) << tally;
  EXPECT_TRUE(problems.empty()) << tally << ":\n"
                                << absl::StrJoin(problems, "\n");
}

}  // namespace
}  // namespace certbroker::validation

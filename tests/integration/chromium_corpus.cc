// Parsing of the Chromium corpus' `.test` files and chain PEM files, and of
// the table of deliberate differences.
#include "tests/integration/chromium_corpus.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "broker/common/file.h"
#include "broker/x509/pem.h"

namespace certbroker::testing {
namespace {

// kDefaultTime is what the corpus means by "utc_time: DEFAULT".
constexpr char kDefaultTime[] = "211005120000Z";

// CertificateBlocks returns the DER of every CERTIFICATE block of `pem`,
// without parsing it.
absl::StatusOr<std::vector<std::string>> CertificateBlocks(
    const std::string& pem, const std::string& source) {
  auto blocks = x509::ReadPemBlocks(pem, source);
  if (!blocks.ok()) return blocks.status();
  std::vector<std::string> certificates;
  for (x509::PemBlock& block : *blocks) {
    if (block.type == "CERTIFICATE")
      certificates.push_back(std::move(block.data));
  }
  if (certificates.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": no CERTIFICATE block"));
  }
  return certificates;
}

absl::StatusOr<absl::Time> ParseUtcTime(absl::string_view value,
                                        const std::string& source) {
  if (value == "DEFAULT") value = kDefaultTime;
  absl::Time time;
  std::string error;
  if (!absl::ParseTime("%y%m%d%H%M%SZ", std::string(value), absl::UTCTimeZone(),
                       &time, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": utc_time '", value, "': ", error));
  }
  return time;
}

absl::StatusOr<CorpusCase> ReadCase(const std::filesystem::path& file,
                                    const std::string& name) {
  auto text = ReadFile(file.string());
  if (!text.ok()) return text.status();
  CorpusCase result;
  result.name = name;
  std::string chain_file;
  absl::string_view rest = *text;
  while (!rest.empty()) {
    size_t end = rest.find('\n');
    absl::string_view line = rest.substr(0, end);
    rest = end == absl::string_view::npos ? "" : rest.substr(end + 1);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    std::pair<absl::string_view, absl::string_view> pair =
        absl::StrSplit(line, absl::MaxSplits(':', 1));
    absl::string_view key = pair.first;
    absl::string_view value = absl::StripAsciiWhitespace(pair.second);
    if (key == "expected_errors") {
      // The last key: everything after it is the error text.
      result.expected_errors = std::string(rest);
      break;
    }
    if (key == "chain") {
      chain_file = std::string(value);
    } else if (key == "last_cert_trust") {
      result.last_cert_trust = std::string(value);
    } else if (key == "key_purpose") {
      result.key_purpose = std::string(value);
    } else if (key == "digest_policy") {
      result.digest_policy = std::string(value);
    } else if (key == "utc_time") {
      auto time = ParseUtcTime(value, name);
      if (!time.ok()) return time.status();
      result.time = *time;
    }
    // Other keys (expected_user_constrained_policy_set, ...) are outcomes
    // certbrokerd does not report.
  }
  if (chain_file.empty() || result.last_cert_trust.empty() ||
      result.key_purpose.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name,
                     ": chain, last_cert_trust and key_purpose are "
                     "required"));
  }
  auto pem = ReadFile((file.parent_path() / chain_file).string());
  if (!pem.ok()) return pem.status();
  auto chain = CertificateBlocks(*pem, name);
  if (!chain.ok()) return chain.status();
  result.chain = std::move(*chain);
  return result;
}

}  // namespace

bool CorpusCase::chromium_accepts() const {
  for (absl::string_view line : absl::StrSplit(expected_errors, '\n')) {
    if (absl::StartsWith(line, "ERROR:")) return false;
  }
  return true;
}

absl::StatusOr<std::vector<CorpusCase>> ReadCorpus(const std::string& dir) {
  std::vector<CorpusCase> cases;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(dir, error)) {
    const std::filesystem::path& file = entry.path();
    if (file.extension() != ".test") continue;
    std::string name = absl::StrCat(file.parent_path().filename().string(), "/",
                                    file.stem().string());
    auto read = ReadCase(file, name);
    if (!read.ok()) return read.status();
    cases.push_back(std::move(*read));
  }
  if (error) {
    return absl::NotFoundError(
        absl::StrCat("cannot list ", dir, ": ", error.message()));
  }
  std::sort(
      cases.begin(), cases.end(),
      [](const CorpusCase& a, const CorpusCase& b) { return a.name < b.name; });
  return cases;
}

absl::StatusOr<std::map<std::string, Difference>> ReadDifferences(
    const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::map<std::string, Difference> differences;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (!absl::StartsWith(line, "| `")) continue;
    std::vector<std::string> cells =
        absl::StrSplit(line.substr(1), '|', absl::SkipEmpty());
    for (std::string& cell : cells) absl::StripAsciiWhitespace(&cell);
    if (cells.size() != 4) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": row '", line, "' does not have 4 cells"));
    }
    std::string name(absl::StripPrefix(absl::StripSuffix(cells[0], "`"), "`"));
    if (cells[2] != "accept" && cells[2] != "reject") {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": row ", name,
                       ": certbrokerd outcome must be accept or "
                       "reject, not '",
                       cells[2], "'"));
    }
    if (!differences.emplace(name, Difference{cells[2] == "accept", cells[3]})
             .second) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", name, " is listed twice"));
    }
  }
  return differences;
}

}  // namespace certbroker::testing

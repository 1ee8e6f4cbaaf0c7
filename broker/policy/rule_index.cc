// Building and querying the rule index.
#include "broker/policy/rule_index.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/identity_selector.h"

namespace certbroker::policy {
namespace {

// Specificity within one host pattern: naming agents outranks naming ports,
// which outranks naming schemes.
int Specificity(const CompiledRule& rule) {
  return (rule.agents.empty() ? 0 : 4) + (rule.ports.empty() ? 0 : 2) +
         (rule.schemes.empty() ? 0 : 1);
}

// SelectorsOverlap is true when some identity could match a selector of
// each list.
bool SelectorsOverlap(const std::vector<std::string>& a,
                      const std::vector<std::string>& b) {
  if (a.empty() || b.empty()) return true;
  for (const std::string& x : a) {
    for (const std::string& y : b) {
      if (SelectorsMayOverlap(x, y)) return true;
    }
  }
  return false;
}

template <typename T>
bool Overlap(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.empty() || b.empty()) return true;  // "Any" overlaps everything.
  for (const T& value : a) {
    if (std::find(b.begin(), b.end(), value) != b.end()) return true;
  }
  return false;
}

absl::Status CheckTies(const std::string& pattern,
                       const std::vector<const CompiledRule*>& bucket) {
  for (size_t i = 0; i < bucket.size(); ++i) {
    for (size_t j = i + 1; j < bucket.size(); ++j) {
      const CompiledRule& a = *bucket[i];
      const CompiledRule& b = *bucket[j];
      if (Specificity(a) == Specificity(b) && Overlap(a.ports, b.ports) &&
          Overlap(a.schemes, b.schemes) &&
          SelectorsOverlap(a.agents, b.agents)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "rules '", a.name, "' and '", b.name,
            "' are equally specific for host '", pattern, "' (ports ",
            a.ports.empty() ? "any" : absl::StrJoin(a.ports, ","), " / ",
            b.ports.empty() ? "any" : absl::StrJoin(b.ports, ","), ", schemes ",
            a.schemes.empty() ? "any" : absl::StrJoin(a.schemes, ","), " / ",
            b.schemes.empty() ? "any" : absl::StrJoin(b.schemes, ","),
            "): make one more specific or merge them"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool CompiledRule::Matches(const ResolvedTarget& target) const {
  if (!agents.empty() &&
      (target.agent.empty() || std::none_of(agents.begin(), agents.end(),
                                            [&](const std::string& selector) {
                                              return SelectorMatches(
                                                  selector, target.agent);
                                            }))) {
    return false;
  }
  if (!ports.empty() &&
      std::find(ports.begin(), ports.end(), target.port) == ports.end()) {
    return false;
  }
  if (!schemes.empty() && std::find(schemes.begin(), schemes.end(),
                                    target.scheme) == schemes.end()) {
    return false;
  }
  return true;
}

absl::StatusOr<RuleIndex> RuleIndex::Build(
    const std::vector<CompiledRule>& rules) {
  RuleIndex index;
  for (const CompiledRule& rule : rules) {
    for (const std::string& pattern : rule.hosts) {
      Bucket* bucket = nullptr;
      if (pattern == "*") {
        bucket = &index.any_;
      } else if (absl::StartsWith(pattern, "*.")) {
        bucket = &index.wildcard_[pattern.substr(2)];
      } else {
        bucket = &index.exact_[pattern];
      }
      if (std::find(bucket->begin(), bucket->end(), &rule) == bucket->end()) {
        bucket->push_back(&rule);
      }
    }
  }
  auto sort_and_check = [](const std::string& pattern, Bucket& bucket) {
    std::stable_sort(bucket.begin(), bucket.end(),
                     [](const CompiledRule* a, const CompiledRule* b) {
                       return Specificity(*a) > Specificity(*b);
                     });
    return CheckTies(pattern, bucket);
  };
  for (auto& [host, bucket] : index.exact_) {
    absl::Status status = sort_and_check(host, bucket);
    if (!status.ok()) return status;
  }
  for (auto& [suffix, bucket] : index.wildcard_) {
    absl::Status status = sort_and_check("*." + suffix, bucket);
    if (!status.ok()) return status;
  }
  absl::Status status = sort_and_check("*", index.any_);
  if (!status.ok()) return status;
  return index;
}

const CompiledRule* RuleIndex::FindInBucket(const Bucket& bucket,
                                            const ResolvedTarget& target) {
  for (const CompiledRule* rule : bucket) {
    if (rule->Matches(target)) return rule;
  }
  return nullptr;
}

const CompiledRule* RuleIndex::Find(const ResolvedTarget& target) const {
  if (auto exact = exact_.find(target.host); exact != exact_.end()) {
    if (const CompiledRule* rule = FindInBucket(exact->second, target))
      return rule;
  }
  if (!target.host_is_ip) {
    // Probe "b.example.com", "example.com", "com" for "a.b.example.com".
    for (size_t dot = target.host.find('.'); dot != std::string::npos;
         dot = target.host.find('.', dot + 1)) {
      auto wildcard =
          wildcard_.find(absl::string_view(target.host).substr(dot + 1));
      if (wildcard == wildcard_.end()) continue;
      if (const CompiledRule* rule = FindInBucket(wildcard->second, target)) {
        return rule;
      }
    }
  }
  return FindInBucket(any_, target);
}

}  // namespace certbroker::policy

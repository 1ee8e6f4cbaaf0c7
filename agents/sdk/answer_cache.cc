// AnswerCache: an LRU of broker answers honouring cache_ttl and the
// policy-version rule, the keys of the cached methods, and the TTL of a
// GetClientCertificate answer.
#include "agents/sdk/answer_cache.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/time/clock.h"
#include "broker/common/host_name.h"
#include "broker/x509/boringssl.h"

namespace certbroker::agent {
namespace {

void NormalizeTarget(v1::Target& target) {
  target.set_host(NormalizeHost(target.host()));
  target.set_sni(NormalizeHost(target.sni()));
  if (target.url().empty() && target.port() == 0) target.set_port(443);
}

// Digest prefixes the kind of request (so that two methods never share a
// key) to the SHA-256 of the normalized request's serialization. Our
// messages have no maps, so their serialization is canonical.
std::string Digest(char kind, const google::protobuf::Message& normalized) {
  std::string bytes = normalized.SerializeAsString();
  std::string key(1 + SHA256_DIGEST_LENGTH, kind);
  SHA256(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
         reinterpret_cast<uint8_t*>(&key[1]));
  return key;
}

}  // namespace

std::string KeyOf(const v1::GetCertificatePolicyRequest& request) {
  v1::GetCertificatePolicyRequest normalized = request;
  NormalizeTarget(*normalized.mutable_target());
  return Digest('P', normalized);
}

std::string KeyOf(const v1::OnServerCertificateRequest& request) {
  v1::OnServerCertificateRequest normalized = request;
  NormalizeTarget(*normalized.mutable_target());
  normalized.set_server_name(NormalizeHost(normalized.server_name()));
  return Digest('S', normalized);
}

std::string KeyOf(const v1::GetNegotiationPolicyRequest& request) {
  v1::GetNegotiationPolicyRequest normalized = request;
  normalized.mutable_listener()->set_sni(
      NormalizeHost(normalized.listener().sni()));
  return Digest('N', normalized);
}

std::string KeyOf(const v1::OnClientCertificateRequest& request) {
  v1::OnClientCertificateRequest normalized = request;
  normalized.mutable_listener()->set_sni(
      NormalizeHost(normalized.listener().sni()));
  return Digest('C', normalized);
}

std::string KeyOf(const v1::GetClientCertificateRequest& request) {
  v1::GetClientCertificateRequest normalized = request;
  NormalizeTarget(*normalized.mutable_target());
  return Digest('G', normalized);
}

absl::Duration ClientCertificateTtl(
    const v1::GetClientCertificateResponse& answer, absl::Duration limit,
    absl::Duration handle_margin, absl::Time now) {
  auto time_of = [](const google::protobuf::Timestamp& t) {
    return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
  };
  absl::Duration ttl = std::min(limit, time_of(answer.refresh_after()) - now);
  if (answer.has_key_handle()) {
    ttl = std::min(
        ttl, time_of(answer.key_handle().expires()) - handle_margin - now);
  }
  return ttl > absl::ZeroDuration() ? ttl : absl::ZeroDuration();
}

AnswerCache::AnswerCache(size_t max_entries) : max_entries_(max_entries) {}

std::shared_ptr<const google::protobuf::Message> AnswerCache::Lookup(
    const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto found = index_.find(key);
  if (found == index_.end()) {
    ++misses_;
    return nullptr;
  }
  if (found->second->expires <= absl::Now()) {
    EraseLocked(found->second);
    ++misses_;
    return nullptr;
  }
  entries_.splice(entries_.begin(), entries_, found->second);
  ++hits_;
  return found->second->answer;
}

void AnswerCache::ObserveVersion(const std::string& policy_version) {
  absl::MutexLock lock(&mu_);
  ObserveVersionLocked(policy_version);
}

void AnswerCache::ObserveVersionLocked(const std::string& policy_version) {
  if (policy_version.empty() || policy_version == policy_version_) return;
  policy_version_ = policy_version;
  ClearLocked();
}

void AnswerCache::EraseLocked(std::list<Entry>::iterator entry) {
  index_.erase(entry->key);
  if (!entry->key_handle.empty()) {
    auto [first, last] = by_handle_.equal_range(entry->key_handle);
    for (auto it = first; it != last; ++it) {
      if (it->second == entry) {
        by_handle_.erase(it);
        break;
      }
    }
  }
  entries_.erase(entry);
}

void AnswerCache::Insert(
    const std::string& key,
    std::shared_ptr<const google::protobuf::Message> answer,
    const std::string& policy_version, absl::Duration ttl,
    const std::string& key_handle) {
  absl::MutexLock lock(&mu_);
  ObserveVersionLocked(policy_version);
  if (max_entries_ == 0 || ttl <= absl::ZeroDuration()) return;
  auto found = index_.find(key);
  if (found != index_.end()) EraseLocked(found->second);
  entries_.push_front(
      Entry{key, std::move(answer), absl::Now() + ttl, key_handle});
  index_.emplace(key, entries_.begin());
  if (!key_handle.empty()) by_handle_.emplace(key_handle, entries_.begin());
  while (entries_.size() > max_entries_) EraseLocked(std::prev(entries_.end()));
}

bool AnswerCache::DropKeyHandle(const std::string& key_handle) {
  if (key_handle.empty()) return false;
  absl::MutexLock lock(&mu_);
  bool dropped = false;
  for (auto found = by_handle_.find(key_handle); found != by_handle_.end();
       found = by_handle_.find(key_handle)) {
    EraseLocked(found->second);
    dropped = true;
  }
  return dropped;
}

void AnswerCache::Clear() {
  absl::MutexLock lock(&mu_);
  ClearLocked();
}

void AnswerCache::ClearLocked() {
  entries_.clear();
  index_.clear();
  by_handle_.clear();
}

CacheStats AnswerCache::stats() const {
  absl::MutexLock lock(&mu_);
  CacheStats stats;
  stats.hits = hits_;
  stats.misses = misses_;
  stats.entries = entries_.size();
  return stats;
}

}  // namespace certbroker::agent

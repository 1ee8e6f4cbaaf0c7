// The sharded LRU verdict cache.
#include "broker/service/verdict_cache.h"

#include "broker/x509/boringssl.h"

namespace certbroker::service {
namespace {

// Entry overhead beyond key and detail: list node, map slot, strings.
constexpr size_t kEntryOverhead = 160;
constexpr int64_t kPromoteIntervalUs = 1000000;

// AddSize adds `size` as 8 little-endian bytes, whatever the host's order.
void AddSize(SHA256_CTX* context, uint64_t size) {
  uint8_t bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(size >> (8 * i));
  SHA256_Update(context, bytes, sizeof(bytes));
}

void AddField(SHA256_CTX* context, absl::string_view field) {
  AddSize(context, field.size());
  SHA256_Update(context, field.data(), field.size());
}

std::string Finish(SHA256_CTX* context) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, context);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

}  // namespace

std::string VerdictCache::ChainDigest(
    const google::protobuf::RepeatedPtrField<std::string>& chain) {
  SHA256_CTX context;
  SHA256_Init(&context);
  AddSize(&context, static_cast<uint64_t>(chain.size()));
  for (const std::string& der : chain) AddField(&context, der);
  return Finish(&context);
}

std::string VerdictCache::Key(
    absl::string_view policy_version, absl::string_view rule,
    absl::string_view server_name, absl::string_view chain_digest,
    const ::certbroker::v1::OnServerCertificateRequest& request) {
  SHA256_CTX context;
  SHA256_Init(&context);
  AddField(&context, policy_version);
  AddField(&context, rule);
  AddField(&context, server_name);
  AddField(&context, chain_digest);
  const auto& agent = request.agent_verification();
  AddField(&context, !request.has_agent_verification() ? "none"
                     : agent.accepted()                ? "accepted"
                                                       : "rejected");
  AddField(&context, agent.detail());
  AddField(&context, request.ocsp_response());
  return Finish(&context);
}

VerdictCache::VerdictCache(size_t max_entries, size_t max_bytes)
    : max_entries_per_shard_((max_entries + kShards - 1) / kShards),
      max_bytes_per_shard_((max_bytes + kShards - 1) / kShards) {}

VerdictCache::Shard& VerdictCache::ShardFor(const std::string& key) {
  // The key is a SHA-256 digest: its first byte is uniformly distributed.
  return shards_[static_cast<uint8_t>(key.empty() ? 0 : key[0]) % kShards];
}

std::optional<CachedVerdict> VerdictCache::Lookup(const std::string& key,
                                                  absl::Time now) {
  if (max_entries_per_shard_ == 0) return std::nullopt;
  Shard& shard = ShardFor(key);
  const int64_t now_us = absl::ToUnixMicros(now);
  {
    absl::ReaderMutexLock lock(&shard.mu);
    auto found = shard.index.find(key);
    if (found == shard.index.end()) {
      misses_.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    const Entry& entry = *found->second;
    if (now < entry.verdict.expires &&
        now_us - entry.promoted_us.load(std::memory_order_relaxed) <
            kPromoteIntervalUs) {
      hits_.fetch_add(1, std::memory_order_relaxed);
      return entry.verdict;
    }
  }
  return Promote(shard, key, now);
}

std::optional<CachedVerdict> VerdictCache::Promote(Shard& shard,
                                                   const std::string& key,
                                                   absl::Time now) {
  absl::MutexLock lock(&shard.mu);
  auto found = shard.index.find(key);
  if (found == shard.index.end()) {  // Evicted meanwhile.
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  auto entry = found->second;
  if (now >= entry->verdict.expires) {
    shard.bytes -= entry->bytes;
    shard.index.erase(found);
    shard.entries.erase(entry);
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  shard.entries.splice(shard.entries.begin(), shard.entries, entry);
  entry->promoted_us.store(absl::ToUnixMicros(now), std::memory_order_relaxed);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return entry->verdict;
}

void VerdictCache::Insert(const std::string& key, CachedVerdict verdict,
                          absl::Time now) {
  if (max_entries_per_shard_ == 0) return;
  size_t bytes = key.size() + verdict.detail.size() + kEntryOverhead;
  if (bytes > max_bytes_per_shard_) return;
  Shard& shard = ShardFor(key);
  absl::MutexLock lock(&shard.mu);
  if (auto found = shard.index.find(key); found != shard.index.end()) {
    shard.bytes -= found->second->bytes;
    shard.entries.erase(found->second);
    shard.index.erase(found);
  }
  shard.entries.emplace_front(key, std::move(verdict), bytes,
                              absl::ToUnixMicros(now));
  shard.index[key] = shard.entries.begin();
  shard.bytes += bytes;
  while (shard.entries.size() > max_entries_per_shard_ ||
         shard.bytes > max_bytes_per_shard_) {
    const Entry& oldest = shard.entries.back();
    shard.bytes -= oldest.bytes;
    shard.index.erase(oldest.key);
    shard.entries.pop_back();
  }
}

size_t VerdictCache::size() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    total += shard.entries.size();
  }
  return total;
}

}  // namespace certbroker::service

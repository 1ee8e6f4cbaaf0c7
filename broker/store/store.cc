// Key syntax and transaction-shape checks shared by every Store
// implementation, so each one rejects the same input with the same message.
#include "broker/store/store.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace certbroker::store {
namespace {

constexpr size_t kQuotedKeyBytes = 100;

bool IsKeyChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '/':
    case ':':
    case '@':
    case '%':
    case '+':
    case '=':
    case ',':
      return true;
    default:
      return false;
  }
}

absl::Status CheckChars(absl::string_view what, absl::string_view key) {
  if (key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", QuoteKey(key), " is ", key.size(),
                     " bytes long; the limit is ", kMaxKeyBytes));
  }
  for (size_t i = 0; i < key.size(); ++i) {
    if (!IsKeyChar(key[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " ", QuoteKey(key), " has the character '",
          absl::CHexEscape(key.substr(i, 1)), "' at offset ", i,
          "; keys may hold only ASCII letters, digits and - . _ ~ / : @ % + "
          "= ,"));
    }
  }
  return absl::OkStatus();
}

const char* OpName(Op::Type type) {
  switch (type) {
    case Op::Type::kPut:
      return "put";
    case Op::Type::kDelete:
      return "delete";
    case Op::Type::kCheck:
      return "check";
  }
  return "op";
}

}  // namespace

std::string QuoteKey(absl::string_view key) {
  if (key.size() <= kQuotedKeyBytes) {
    return absl::StrCat("\"", absl::CHexEscape(key), "\"");
  }
  return absl::StrCat("\"", absl::CHexEscape(key.substr(0, kQuotedKeyBytes)),
                      "...\"");
}

absl::Status ValidateKey(absl::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("key is empty");
  return CheckChars("key", key);
}

absl::Status ValidatePrefix(absl::string_view prefix) {
  return CheckChars("prefix", prefix);
}

Op Op::Put(std::string key, std::string value,
           std::optional<int64_t> expected_revision) {
  Op op;
  op.type = Type::kPut;
  op.key = std::move(key);
  op.value = std::move(value);
  op.expected_revision = expected_revision;
  return op;
}

Op Op::Delete(std::string key, std::optional<int64_t> expected_revision) {
  Op op;
  op.type = Type::kDelete;
  op.key = std::move(key);
  op.expected_revision = expected_revision;
  return op;
}

Op Op::Check(std::string key, int64_t expected_revision) {
  Op op;
  op.type = Type::kCheck;
  op.key = std::move(key);
  op.expected_revision = expected_revision;
  return op;
}

absl::StatusOr<int64_t> Store::Put(absl::string_view key,
                                   absl::string_view value,
                                   std::optional<int64_t> expected_revision) {
  const Op op =
      Op::Put(std::string(key), std::string(value), expected_revision);
  return Commit(absl::MakeConstSpan(&op, 1));
}

absl::StatusOr<int64_t> Store::Delete(
    absl::string_view key, std::optional<int64_t> expected_revision) {
  const Op op = Op::Delete(std::string(key), expected_revision);
  return Commit(absl::MakeConstSpan(&op, 1));
}

absl::Status ValidateOps(absl::Span<const Op> ops) {
  if (ops.empty()) {
    return absl::InvalidArgumentError("transaction has no operations");
  }
  if (ops.size() > kMaxTransactionOps) {
    return absl::InvalidArgumentError(
        absl::StrCat("transaction has ", ops.size(),
                     " operations; the limit is ", kMaxTransactionOps));
  }
  absl::flat_hash_set<absl::string_view> keys;
  size_t total_bytes = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    auto where = [&] {
      return absl::StrCat("operation ", i, " (", OpName(op.type), " ",
                          QuoteKey(op.key), ")");
    };
    absl::Status key_status = ValidateKey(op.key);
    if (!key_status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("operation ", i, ": ", key_status.message()));
    }
    if (!keys.insert(op.key).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), ": the key appears twice in the transaction"));
    }
    if (op.type != Op::Type::kPut && !op.value.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), ": only a put carries a value"));
    }
    if (op.value.size() > kMaxValueBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), ": value is ", op.value.size(),
                       " bytes; the limit is ", kMaxValueBytes, " (16 MiB)"));
    }
    if (op.expected_revision.has_value() && *op.expected_revision < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), ": expected revision ", *op.expected_revision,
                       " is negative"));
    }
    if (op.type == Op::Type::kCheck && !op.expected_revision.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), ": a check needs an expected revision"));
    }
    if (op.type == Op::Type::kDelete && op.expected_revision == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          where(), ": expected revision 0 (must not exist) can never delete"));
    }
    total_bytes += op.key.size() + op.value.size();
  }
  if (total_bytes > kMaxTransactionBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("transaction carries ", total_bytes,
                     " bytes of keys and values; the limit is ",
                     kMaxTransactionBytes, " (64 MiB)"));
  }
  return absl::OkStatus();
}

}  // namespace certbroker::store

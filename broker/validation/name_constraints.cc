// DNS and IP name-constraint checking over a built path.
#include "broker/validation/name_constraints.h"

#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace certbroker::validation {
namespace {

std::string AsString(const ASN1_STRING* value) {
  return std::string(
      reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
      static_cast<size_t>(ASN1_STRING_length(value)));
}

// DnsMatches applies RFC 5280's DNS subtree rule: "example.com" covers the
// name and every name below it; ".example.com" only names below it.
bool DnsMatches(std::string name, std::string base) {
  name = absl::AsciiStrToLower(name);
  base = absl::AsciiStrToLower(base);
  if (base.empty()) return true;
  if (base[0] == '.') return absl::EndsWith(name, base);
  return name == base || absl::EndsWith(name, "." + base);
}

// IpMatches is true when `address` (4 or 16 bytes) lies in `subtree`
// (address and mask, 8 or 32 bytes).
bool IpMatches(const std::string& address, const std::string& subtree) {
  if (subtree.size() != 2 * address.size()) return false;  // Other family.
  for (size_t i = 0; i < address.size(); ++i) {
    uint8_t mask = static_cast<uint8_t>(subtree[address.size() + i]);
    if ((static_cast<uint8_t>(address[i]) & mask) !=
        (static_cast<uint8_t>(subtree[i]) & mask)) {
      return false;
    }
  }
  return true;
}

std::string IpText(const std::string& address) {
  std::string text;
  if (address.size() == 4) {
    for (size_t i = 0; i < 4; ++i) {
      absl::StrAppend(&text, i ? "." : "", static_cast<uint8_t>(address[i]));
    }
    return text;
  }
  for (size_t i = 0; i < address.size(); i += 2) {
    absl::StrAppend(&text, i ? ":" : "",
                    absl::Hex((static_cast<uint8_t>(address[i]) << 8) |
                              static_cast<uint8_t>(address[i + 1])));
  }
  return text;
}

// Matches says whether `name` falls in `subtree` (same type assumed).
bool Matches(const GENERAL_NAME* name, const GENERAL_NAME* subtree) {
  if (name->type == GEN_DNS) {
    return DnsMatches(AsString(name->d.dNSName), AsString(subtree->d.dNSName));
  }
  return IpMatches(AsString(name->d.iPAddress), AsString(subtree->d.iPAddress));
}

std::string NameText(const GENERAL_NAME* name) {
  return name->type == GEN_DNS
             ? absl::StrCat("DNS name '", AsString(name->d.dNSName), "'")
             : absl::StrCat("IP address ", IpText(AsString(name->d.iPAddress)));
}

// Check applies `constraints` of `ca` to one subject alternative name.
std::optional<std::string> Check(const GENERAL_NAME* name,
                                 const NAME_CONSTRAINTS* constraints,
                                 const std::string& where) {
  bool has_permitted_of_type = false;
  bool permitted = false;
  for (size_t i = 0; i < sk_GENERAL_SUBTREE_num(constraints->permittedSubtrees);
       ++i) {
    const GENERAL_NAME* base =
        sk_GENERAL_SUBTREE_value(constraints->permittedSubtrees, i)->base;
    if (base->type != name->type) continue;
    has_permitted_of_type = true;
    permitted = permitted || Matches(name, base);
  }
  if (has_permitted_of_type && !permitted) {
    return absl::StrCat(NameText(name),
                        " is outside the permitted subtrees of ", where);
  }
  for (size_t i = 0; i < sk_GENERAL_SUBTREE_num(constraints->excludedSubtrees);
       ++i) {
    const GENERAL_NAME* base =
        sk_GENERAL_SUBTREE_value(constraints->excludedSubtrees, i)->base;
    if (base->type == name->type && Matches(name, base)) {
      return absl::StrCat(NameText(name), " is in the excluded subtrees of ",
                          where);
    }
  }
  return std::nullopt;
}

// UnsupportedType finds a subtree type this checker (and BoringSSL) cannot
// evaluate.
bool HasUnsupportedType(const NAME_CONSTRAINTS* constraints) {
  for (auto* subtrees :
       {constraints->permittedSubtrees, constraints->excludedSubtrees}) {
    for (size_t i = 0; i < sk_GENERAL_SUBTREE_num(subtrees); ++i) {
      int type = sk_GENERAL_SUBTREE_value(subtrees, i)->base->type;
      if (type != GEN_DNS && type != GEN_IPADD && type != GEN_EMAIL &&
          type != GEN_URI && type != GEN_DIRNAME) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> NameConstraintViolation(
    const std::vector<const X509*>& path,
    const std::function<std::string(const X509*)>& describe) {
  for (size_t ca_index = 1; ca_index < path.size(); ++ca_index) {
    X509* ca =
        const_cast<X509*>(path[ca_index]);  // X509_get_ext_d2i reads only.
    bssl::UniquePtr<NAME_CONSTRAINTS> constraints(
        static_cast<NAME_CONSTRAINTS*>(
            X509_get_ext_d2i(ca, NID_name_constraints, nullptr, nullptr)));
    if (constraints == nullptr) continue;
    std::string where = describe(ca);
    if (HasUnsupportedType(constraints.get())) {
      return absl::StrCat(where,
                          " has a name constraint of an unsupported type");
    }
    for (size_t below = 0; below < ca_index; ++below) {
      X509* subject = const_cast<X509*>(path[below]);
      bssl::UniquePtr<GENERAL_NAMES> names(static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(subject, NID_subject_alt_name, nullptr, nullptr)));
      for (size_t i = 0;
           names != nullptr && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
        if (name->type != GEN_DNS && name->type != GEN_IPADD) continue;
        if (auto violation = Check(name, constraints.get(), where)) {
          return absl::StrCat(describe(subject), ": ", *violation);
        }
      }
    }
  }
  ERR_clear_error();
  return std::nullopt;
}

}  // namespace certbroker::validation

// Naming callers and giving them roles.
#include "broker/auth/access_policy.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "broker/common/identity_selector.h"
#include "broker/x509/certificate.h"

namespace certbroker::auth {
namespace {

using Kind = config::v1::IdentitySource::Kind;

constexpr absl::string_view kSpiffeScheme = "spiffe://";

// Names is what a certificate's subject alternative names hold.
struct Names {
  std::vector<std::string> spiffe_ids;  // URI SANs with the spiffe scheme.
  std::vector<std::string> dns_names;
};

std::string Asn1String(const ASN1_STRING* value) {
  return std::string(
      reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
      ASN1_STRING_length(value));
}

Names SubjectAltNames(const X509* leaf) {
  Names names;
  bssl::UniquePtr<GENERAL_NAMES> sans(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr)));
  for (size_t i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans.get());
       ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans.get(), i);
    if (name->type == GEN_URI) {
      std::string uri = Asn1String(name->d.uniformResourceIdentifier);
      if (absl::StartsWithIgnoreCase(uri, kSpiffeScheme)) {
        names.spiffe_ids.push_back(std::move(uri));
      }
    } else if (name->type == GEN_DNS) {
      names.dns_names.push_back(
          absl::AsciiStrToLower(Asn1String(name->d.dNSName)));
    }
  }
  ERR_clear_error();
  return names;
}

bool IsSpiffeChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '-' || c == '_';
}

// SpiffeProblem says why `id` is not a workload SPIFFE ID
// (spiffe://<trust domain>/<path>), or nullopt.
std::optional<std::string> SpiffeProblem(absl::string_view id,
                                         std::string& trust_domain) {
  if (!absl::ConsumePrefix(&id, kSpiffeScheme)) return "not spiffe://";
  size_t slash = id.find('/');
  trust_domain = std::string(id.substr(0, slash));
  if (trust_domain.empty() ||
      !std::all_of(trust_domain.begin(), trust_domain.end(), [](char c) {
        return IsSpiffeChar(c) && !absl::ascii_isupper(c);
      })) {
    return "its trust domain is empty or not lowercase letters, digits, "
           "'.', '-', '_'";
  }
  if (slash == absl::string_view::npos) return "it has no path";
  for (absl::string_view segment : absl::StrSplit(id.substr(slash + 1), '/')) {
    if (segment.empty() || segment == "." || segment == ".." ||
        !std::all_of(segment.begin(), segment.end(), IsSpiffeChar)) {
      return "its path has an empty, '.' or '..' segment, or characters "
             "other than letters, digits, '.', '-', '_'";
    }
  }
  return std::nullopt;
}

std::string CommonName(const X509* leaf) {
  const X509_NAME* subject = X509_get_subject_name(leaf);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return "";
  return Asn1String(
      X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
}

}  // namespace

AccessPolicy::AccessPolicy(const config::v1::Access& access) {
  for (int kind : access.identity().order()) {
    order_.push_back(static_cast<Kind>(kind));
  }
  if (order_.empty()) {
    order_ = {config::v1::IdentitySource::SPIFFE_ID,
              config::v1::IdentitySource::DNS_NAME,
              config::v1::IdentitySource::COMMON_NAME};
  }
  trust_domains_.assign(access.identity().spiffe_trust_domains().begin(),
                        access.identity().spiffe_trust_domains().end());
  for (const config::v1::UnixPeer& peer : access.unix_peers()) {
    unix_peers_.push_back(
        UnixPeer{peer.has_uid(), peer.has_gid(), static_cast<uid_t>(peer.uid()),
                 static_cast<gid_t>(peer.gid()), peer.identity()});
  }
  for (const config::v1::RoleBinding& binding : access.roles()) {
    Binding compiled;
    compiled.selectors.assign(binding.identities().begin(),
                              binding.identities().end());
    for (int role : binding.roles()) {
      if (role == config::v1::RoleBinding::AGENT) compiled.roles |= kAgent;
      if (role == config::v1::RoleBinding::ADMIN) compiled.roles |= kAdmin;
      if (role == config::v1::RoleBinding::AUDITOR) compiled.roles |= kAuditor;
    }
    bindings_.push_back(std::move(compiled));
  }
  if (bindings_.empty()) bindings_.push_back(Binding{{"*"}, kAgent});
  const auto& limits = access.per_caller();
  if (limits.requests_per_second() > 0) {
    limits_.requests_per_second = limits.requests_per_second();
  }
  limits_.burst = limits.burst() > 0
                      ? limits.burst()
                      : std::max(1.0, limits_.requests_per_second);
  if (limits.max_concurrent_calls() > 0) {
    limits_.max_concurrent_calls = limits.max_concurrent_calls();
  }
}

absl::StatusOr<std::string> AccessPolicy::CertificateIdentity(
    const X509* leaf) const {
  Names names = SubjectAltNames(leaf);
  for (Kind kind : order_) {
    if (kind == config::v1::IdentitySource::SPIFFE_ID &&
        !names.spiffe_ids.empty()) {
      if (names.spiffe_ids.size() > 1) {
        return absl::UnauthenticatedError(
            "the client certificate has more than one SPIFFE ID");
      }
      const std::string& id = names.spiffe_ids[0];
      std::string domain;
      if (auto problem = SpiffeProblem(id, domain)) {
        return absl::UnauthenticatedError(
            absl::StrCat("the client certificate's SPIFFE ID '", id,
                         "' is malformed: ", *problem));
      }
      if (!trust_domains_.empty() &&
          std::find(trust_domains_.begin(), trust_domains_.end(), domain) ==
              trust_domains_.end()) {
        return absl::UnauthenticatedError(
            absl::StrCat("the client certificate's SPIFFE ID '", id,
                         "' is of trust domain '", domain,
                         "', which access.identity does not allow"));
      }
      return id;
    }
    if (kind == config::v1::IdentitySource::DNS_NAME &&
        !names.dns_names.empty()) {
      return names.dns_names[0];
    }
    if (kind == config::v1::IdentitySource::COMMON_NAME) {
      std::string name = CommonName(leaf);
      if (!name.empty()) return name;
    }
  }
  return absl::UnauthenticatedError(
      absl::StrCat("the client certificate (", x509::SubjectName(leaf),
                   ") has no name of the kinds access.identity.order accepts"));
}

std::string AccessPolicy::UnixIdentity(uid_t uid, gid_t gid) const {
  for (const UnixPeer& peer : unix_peers_) {
    if ((!peer.has_uid || peer.uid == uid) &&
        (!peer.has_gid || peer.gid == gid)) {
      return peer.identity;
    }
  }
  return "";
}

RoleSet AccessPolicy::RolesOf(absl::string_view identity) const {
  RoleSet roles = 0;
  for (const Binding& binding : bindings_) {
    for (const std::string& selector : binding.selectors) {
      if (SelectorMatches(selector, identity)) {
        roles |= binding.roles;
        break;
      }
    }
  }
  return roles;
}

}  // namespace certbroker::auth

// Naming the holder of a verified certificate: its SPIFFE ID, DNS name or
// subject CN, in a configured order.
#include "broker/auth/certificate_namer.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "broker/x509/certificate.h"

namespace certbroker::auth {
namespace {

using Kind = config::v1::IdentitySource::Kind;

constexpr absl::string_view kSpiffeScheme = "spiffe://";

std::string Asn1String(const ASN1_STRING* value) {
  return std::string(
      reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
      ASN1_STRING_length(value));
}

}  // namespace

CertificateNames CertificateNames::Of(const X509* leaf) {
  CertificateNames names;
  bssl::UniquePtr<GENERAL_NAMES> sans(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr)));
  for (size_t i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans.get());
       ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans.get(), i);
    if (name->type == GEN_URI) {
      std::string uri = Asn1String(name->d.uniformResourceIdentifier);
      if (absl::StartsWithIgnoreCase(uri, kSpiffeScheme)) {
        names.spiffe_ids.push_back(uri);
      }
      names.uris.push_back(std::move(uri));
    } else if (name->type == GEN_DNS) {
      names.dns_names.push_back(
          absl::AsciiStrToLower(Asn1String(name->d.dNSName)));
    }
  }
  ERR_clear_error();
  return names;
}

namespace {

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

CertificateNamer::CertificateNamer(const config::v1::IdentitySource& source) {
  for (int kind : source.order()) {
    order_.push_back(static_cast<Kind>(kind));
  }
  if (order_.empty()) {
    order_ = {config::v1::IdentitySource::SPIFFE_ID,
              config::v1::IdentitySource::DNS_NAME,
              config::v1::IdentitySource::COMMON_NAME};
  }
  trust_domains_.assign(source.spiffe_trust_domains().begin(),
                        source.spiffe_trust_domains().end());
}

absl::StatusOr<std::string> CertificateNamer::Name(
    const X509* leaf) const {
  CertificateNames names = CertificateNames::Of(leaf);
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
                   ") has no name of the kinds the identity order accepts"));
}

}  // namespace certbroker::auth

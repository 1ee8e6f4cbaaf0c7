// Resolving callers from gRPC's view of the connection.
#include "broker/auth/caller_resolver.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/x509/pem.h"

namespace certbroker::auth {
namespace {

// kMaxRemembered bounds the identities remembered per policy version.
constexpr size_t kMaxRemembered = 10000;

// Property is the first value of property `name`; it lives as long as
// `auth`.
absl::string_view Property(const grpc::AuthContext& auth, const char* name) {
  std::vector<grpc::string_ref> values = auth.FindPropertyValues(name);
  if (values.empty()) return "";
  return absl::string_view(values[0].data(), values[0].size());
}

}  // namespace

absl::StatusOr<std::string> CallerResolver::CertificateIdentity(
    absl::string_view pem, const AccessPolicy& access,
    const std::string& version) const {
  {
    absl::MutexLock lock(&mutex_);
    if (cached_version_ == version) {
      auto it = identities_.find(pem);
      if (it != identities_.end()) return it->second;
    }
  }
  absl::StatusOr<std::string> identity;
  auto certificates = x509::ParsePemCertificates(pem, "the client certificate");
  if (!certificates.ok()) {
    identity = absl::UnauthenticatedError(certificates.status().message());
  } else {
    identity = access.CertificateIdentity(certificates->front().get());
  }
  absl::MutexLock lock(&mutex_);
  if (cached_version_ != version || identities_.size() >= kMaxRemembered) {
    identities_.clear();
    cached_version_ = version;
  }
  identities_.emplace(std::string(pem), identity);
  return identity;
}

std::string Caller::Transport() const {
  if (tls) return absl::StrCat("tls ", peer);
  if (credentials) return absl::StrCat("unix ", credentials->ToString());
  return absl::StrCat("plaintext ", peer);
}

Caller CallerResolver::Resolve(const grpc::ServerContextBase& context,
                               const AccessPolicy& access,
                               const std::string& version) const {
  Caller caller;
  caller.peer = context.peer();
  const std::string& peer = caller.peer;
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  // Views into `auth`, which outlives their use here.
  absl::string_view security =
      auth ? Property(*auth, GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME) : "";
  caller.tls = security == GRPC_TLS_TRANSPORT_SECURITY_TYPE ||
               security == GRPC_SSL_TRANSPORT_SECURITY_TYPE;
  if (caller.tls) {
    absl::string_view pem = Property(*auth, GRPC_X509_PEM_CERT_PROPERTY_NAME);
    if (pem.empty()) {
      caller.refusal = absl::StrCat("the TLS connection from ", peer,
                                    " carries no client certificate");
      return caller;
    }
    auto identity = CertificateIdentity(pem, access, version);
    if (!identity.ok()) {
      caller.refusal = std::string(identity.status().message());
      return caller;
    }
    caller.identity = *identity;
  } else if (unix_peers_ != nullptr &&
             (caller.credentials = unix_peers_->Find(peer))) {
    const PeerCredentials* credentials = &*caller.credentials;
    caller.identity = access.UnixIdentity(credentials->uid, credentials->gid);
    if (caller.identity.empty()) {
      if (!dev_loopback_) {
        caller.refusal =
            absl::StrCat("the Unix-socket peer (", credentials->ToString(),
                         ") is not named by access.unix_peers");
        return caller;
      }
      caller.identity = kDevIdentity;
    }
  } else {
    if (!dev_loopback_) {
      caller.refusal = absl::StrCat("the connection from ", peer,
                                    " is neither TLS nor a Unix socket");
      return caller;
    }
    caller.identity = kDevIdentity;
  }
  caller.roles = caller.identity == kDevIdentity
                     ? kAgent | kAdmin | kAuditor
                     : access.RolesOf(caller.identity);
  return caller;
}

}  // namespace certbroker::auth

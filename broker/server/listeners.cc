// Setting up certbrokerd's listeners.
#include "broker/server/listeners.h"

#include "absl/strings/str_cat.h"

namespace certbroker::server {

absl::Status Listeners::Add(const std::vector<ListenAddress>& addresses,
                            const std::string& base_dir,
                            policy::CurrentPolicy& current, bool dev_loopback,
                            const HandshakeRefusal& on_refusal,
                            grpc::ServerBuilder& builder) {
  addresses_ = addresses;
  ports_.assign(addresses.size(), 0);
  std::shared_ptr<grpc::ServerCredentials> tls;
  const config::v1::Access& access = current.Get()->access_config();
  for (size_t i = 0; i < addresses.size(); ++i) {
    const ListenAddress& address = addresses[i];
    if (address.is_unix) {
      auto listener = UnixListener::Open(address.host);
      if (!listener.ok()) return listener.status();
      unix_.push_back(std::move(listener).value());
      modes_.push_back("unix socket, callers named by uid/gid");
      continue;
    }
    std::shared_ptr<grpc::ServerCredentials> credentials;
    if (access.has_tls()) {
      if (tls == nullptr) {
        auto made =
            MakeTlsCredentials(access.tls(), base_dir, current, on_refusal);
        if (!made.ok()) return made.status();
        tls = *made;
      }
      credentials = tls;
      modes_.push_back(access.tls().client_certificate() ==
                               config::v1::Tls::REQUEST
                           ? "TLS, client certificates requested"
                           : "TLS, client certificates required");
    } else if (dev_loopback && address.loopback) {
      credentials = grpc::InsecureServerCredentials();
      modes_.push_back(
          "PLAINTEXT for development (--insecure_dev_loopback): every "
          "caller holds every role");
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "listen address '", address.grpc_uri,
          "': a TCP listener needs access.tls in the policy",
          address.loopback ? " (or, for development only, "
                             "--insecure_dev_loopback)"
                           : " (plaintext is never served beyond loopback)"));
    }
    builder.AddListeningPort(address.grpc_uri, credentials, &ports_[i]);
  }
  return absl::OkStatus();
}

void Listeners::Start(grpc::Server* server) {
  for (auto& listener : unix_) listener->Start(server, &peers_);
}

absl::StatusOr<std::vector<std::string>> Listeners::Bound() const {
  std::vector<std::string> bound;
  for (size_t i = 0; i < addresses_.size(); ++i) {
    const ListenAddress& address = addresses_[i];
    if (address.is_unix) {
      bound.push_back(address.grpc_uri);
      continue;
    }
    if (ports_[i] == 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", address.grpc_uri));
    }
    bool bracket = address.host.find(':') != std::string::npos;
    bound.push_back(absl::StrCat(bracket ? "[" : "", address.host,
                                 bracket ? "]" : "", ":", ports_[i]));
  }
  return bound;
}

std::vector<std::string> Listeners::Describe() const {
  std::vector<std::string> lines;
  auto bound = Bound();
  for (size_t i = 0; bound.ok() && i < bound->size(); ++i) {
    lines.push_back(absl::StrCat((*bound)[i], " (", modes_[i], ")"));
  }
  return lines;
}

void Listeners::Stop() {
  for (auto& listener : unix_) listener->Stop();
}

}  // namespace certbroker::server

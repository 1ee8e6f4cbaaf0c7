// Compiling a configuration into a PolicySnapshot.
#include "broker/policy/policy_snapshot.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "broker/common/file.h"
#include "broker/common/host_name.h"
#include "broker/common/proto_duration.h"
#include "broker/common/status_macros.h"
#include "broker/policy/chain_policy_compiler.h"
#include "broker/watch/secret_dir.h"
#include "broker/x509/pem.h"

namespace certbroker::policy {
namespace {

using ::certbroker::config::v1::ServerValidation;

// Digest accumulates the configuration and file contents into the version.
class Digest {
 public:
  Digest() { SHA256_Init(&context_); }
  void Add(absl::string_view label, absl::string_view data) {
    uint64_t sizes[2] = {label.size(), data.size()};
    SHA256_Update(&context_, sizes, sizeof(sizes));
    SHA256_Update(&context_, label.data(), label.size());
    SHA256_Update(&context_, data.data(), data.size());
  }
  // Hex returns the digest in hex; call once.
  std::string Hex() {
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256_Final(digest, &context_);
    return absl::BytesToHexString(absl::string_view(
        reinterpret_cast<const char*>(digest), sizeof(digest)));
  }

 private:
  SHA256_CTX context_;
};

// Loader reads the files a configuration names, for one compilation.
class Loader {
 public:
  Loader(std::string base_dir, absl::string_view source, Digest& digest)
      : base_dir_(std::move(base_dir)), source_(source), digest_(digest) {}

  std::string Resolve(const std::string& path) const {
    return ResolvePath(base_dir_, path);
  }

  absl::StatusOr<std::string> Read(const std::string& field_path,
                                   const std::string& path) {
    if (base_dir_.empty() && !path.empty() && path[0] != '/') {
      return absl::InvalidArgumentError(absl::StrCat(
          source_, ": ", field_path, ": '", path,
          "' is a relative path; a policy stored through the admin API may "
          "only name absolute paths (or store the certificate, bundle or CRL "
          "itself through the admin API)"));
    }
    std::string resolved = Resolve(path);
    auto contents = ReadFile(resolved);
    if (!contents.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          source_, ": ", field_path, ": ", contents.status().message()));
    }
    digest_.Add(resolved, *contents);
    return contents;
  }

  // ReadSecret reads `names` from the secret directory `dir` (one
  // generation) and remembers the directory for watching.
  absl::StatusOr<std::vector<std::string>> ReadSecret(
      const std::string& field_path, const std::string& dir,
      const std::vector<std::string>& names) {
    if (base_dir_.empty() && !dir.empty() && dir[0] != '/') {
      return Read(field_path, dir).status();  // The relative-path error.
    }
    std::string resolved = Resolve(dir);
    watched_dirs_.insert(resolved);
    auto secret = watch::ReadSecretDir(resolved, names, {});
    if (!secret.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          source_, ": ", field_path, ": ", secret.status().message()));
    }
    std::vector<std::string> contents;
    for (const std::string& name : names) {
      digest_.Add(absl::StrCat(resolved, "/", name), secret->files[name]);
      contents.push_back(std::move(secret->files[name]));
    }
    return contents;
  }

  absl::string_view source() const { return source_; }
  const std::set<std::string>& watched_dirs() const { return watched_dirs_; }

 private:
  std::set<std::string> watched_dirs_;
  std::string base_dir_;
  absl::string_view source_;
  Digest& digest_;
};

absl::StatusOr<x509::CertificateList> LoadBundle(
    const config::v1::TrustBundle& bundle, size_t index, Loader& loader) {
  std::string path =
      absl::StrCat("trust_bundles[", index, "] (", bundle.name(), ")");
  std::string text = bundle.pem();
  std::string origin = path + ".pem";
  if (bundle.source_case() == config::v1::TrustBundle::kPemFile) {
    CB_ASSIGN_OR_RETURN(text,
                        loader.Read(path + ".pem_file", bundle.pem_file()));
    origin = loader.Resolve(bundle.pem_file());
  } else if (bundle.source_case() == config::v1::TrustBundle::kSecretDir) {
    CB_ASSIGN_OR_RETURN(
        auto files, loader.ReadSecret(path + ".secret_dir", bundle.secret_dir(),
                                      {"ca.crt"}));
    text = std::move(files[0]);
    origin = absl::StrCat(loader.Resolve(bundle.secret_dir()), "/ca.crt");
  }
  auto roots = x509::ParsePemCertificates(text, origin);
  if (!roots.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        loader.source(), ": ", path, ": ", roots.status().message()));
  }
  CB_RETURN_IF_ERROR(CheckTrustBundleRoots(
      *roots, absl::StrCat(loader.source(), ": ", path, ": ", origin)));
  return roots;
}

absl::StatusOr<std::shared_ptr<const ClientCertificate>> LoadCertificate(
    const config::v1::Certificate& certificate, size_t index, Loader& loader) {
  std::string path =
      absl::StrCat("certificates[", index, "] (", certificate.id(), ")");
  if (!certificate.secret_dir().empty()) {
    CB_ASSIGN_OR_RETURN(auto files, loader.ReadSecret(path + ".secret_dir",
                                                      certificate.secret_dir(),
                                                      {"tls.crt", "tls.key"}));
    std::string dir = loader.Resolve(certificate.secret_dir());
    return MakeClientCertificate(certificate.id(), files[0], dir + "/tls.crt",
                                 files[1], dir + "/tls.key",
                                 certificate.exportable(),
                                 absl::StrCat(loader.source(), ": ", path));
  }
  CB_ASSIGN_OR_RETURN(
      std::string chain,
      loader.Read(path + ".chain_pem_file", certificate.chain_pem_file()));
  CB_ASSIGN_OR_RETURN(std::string key, loader.Read(path + ".key_pem_file",
                                                   certificate.key_pem_file()));
  return MakeClientCertificate(
      certificate.id(), chain, loader.Resolve(certificate.chain_pem_file()),
      key, loader.Resolve(certificate.key_pem_file()), certificate.exportable(),
      absl::StrCat(loader.source(), ": ", path));
}

absl::Status LoadCrls(const config::v1::Crl& crl, size_t index, Loader& loader,
                      std::vector<bssl::UniquePtr<X509_CRL>>& out) {
  std::string path = absl::StrCat("crls[", index, "] (", crl.name(), ")");
  std::string data = crl.pem();
  std::string origin = path + ".pem";
  if (crl.source_case() == config::v1::Crl::kFile) {
    CB_ASSIGN_OR_RETURN(data, loader.Read(path + ".file", crl.file()));
    origin = loader.Resolve(crl.file());
  }
  auto parsed = x509::ParseCrls(data, origin);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        loader.source(), ": ", path, ": ", parsed.status().message()));
  }
  for (auto& one : *parsed) out.push_back(std::move(one));
  return absl::OkStatus();
}

::certbroker::v1::ValidationMode ApiMode(ServerValidation::Mode mode) {
  switch (mode) {
    case ServerValidation::AGENT:
      return ::certbroker::v1::AGENT;
    case ServerValidation::BOTH:
      return ::certbroker::v1::BOTH;
    default:
      return ::certbroker::v1::BROKER;
  }
}

}  // namespace

absl::Status CheckTrustBundleRoots(const x509::CertificateList& roots,
                                   absl::string_view where) {
  for (size_t i = 0; i < roots.size(); ++i) {
    X509* root = roots[i].get();
    bool self_signed = X509_check_issued(root, root) == X509_V_OK;
    // X509_check_ca is 1 only for basicConstraints cA=TRUE.
    if (!self_signed && X509_check_ca(root) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": certificate ", i + 1, " (", x509::SubjectName(root),
          ") is neither a self-signed root nor a CA certificate "
          "(basicConstraints cA=TRUE); trust bundles hold the CAs paths end "
          "at, and a server's own key is trusted with spki_pins instead"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<PolicySnapshot>> CompilePolicy(
    const config::BrokerConfig& config, const std::string& base_dir,
    absl::string_view source, const CompileOptions& options) {
  config::StoredNames stored_names;
  if (options.stored != nullptr) {
    for (const auto& [id, unused] : options.stored->certificates) {
      stored_names.certificates.insert(id);
    }
    for (const auto& [name, unused] : options.stored->trust_bundles) {
      stored_names.trust_bundles.insert(name);
    }
  }
  CB_RETURN_IF_ERROR(config::ValidateConfig(config, source, stored_names));
  Digest digest;
  std::string serialized;
  config.SerializeToString(&serialized);
  digest.Add("config", serialized);
  Loader loader(base_dir, source, digest);

  std::map<std::string, x509::CertificateList> bundles;
  for (int i = 0; i < config.trust_bundles_size(); ++i) {
    CB_ASSIGN_OR_RETURN(bundles[config.trust_bundles(i).name()],
                        LoadBundle(config.trust_bundles(i), i, loader));
  }
  std::shared_ptr<PolicySnapshot> snapshot(new PolicySnapshot());
  auto& certificates = snapshot->certificates_;
  for (int i = 0; i < config.certificates_size(); ++i) {
    CB_ASSIGN_OR_RETURN(certificates[config.certificates(i).id()],
                        LoadCertificate(config.certificates(i), i, loader));
  }
  for (int i = 0; i < config.crls_size(); ++i) {
    CB_RETURN_IF_ERROR(LoadCrls(config.crls(i), i, loader, snapshot->crls_));
  }
  if (options.stored != nullptr) {
    for (const auto& [id, certificate] : options.stored->certificates) {
      certificates[id] = certificate;
    }
    for (const auto& [name, roots] : options.stored->trust_bundles) {
      auto& copy = bundles[name];
      for (const auto& root : roots) copy.push_back(bssl::UpRef(root));
    }
    for (const auto& crl : options.stored->crls) {
      snapshot->crls_.push_back(bssl::UpRef(crl));
    }
  }
  snapshot->verdict_cache_ = config.verdict_cache();
  snapshot->max_chain_length_ = config::MaxChainLength(config);
  snapshot->max_message_bytes_ = config::MaxMessageBytes(config);
  snapshot->max_certificate_bytes_ = config::MaxCertificateBytes(config);
  snapshot->access_ = auth::AccessPolicy(config.access());
  snapshot->access_config_ = config.access();
  if (config.has_default_cache_ttl()) {
    snapshot->default_cache_ttl_ = ToDuration(config.default_cache_ttl());
  }
  // One trust store per distinct list of bundle names.
  std::map<std::vector<std::string>,
           std::shared_ptr<const validation::TrustStore>>
      stores;
  auto store_for = [&](const std::vector<std::string>& names)
      -> absl::StatusOr<std::shared_ptr<const validation::TrustStore>> {
    auto& store = stores[names];
    if (store == nullptr) {
      x509::CertificateList roots;
      for (const std::string& name : names) {
        for (const auto& root : bundles.at(name))
          roots.push_back(bssl::UpRef(root));
      }
      CB_ASSIGN_OR_RETURN(store, validation::TrustStore::Create(roots, names));
    }
    return store;
  };
  for (int i = 0; i < config.rules_size(); ++i) {
    const auto& rule = config.rules(i);
    CompiledRule compiled;
    compiled.name = rule.name();
    for (const std::string& host : rule.match().hosts()) {
      compiled.hosts.push_back(NormalizeHost(host));
    }
    compiled.ports.assign(rule.match().ports().begin(),
                          rule.match().ports().end());
    compiled.agents.assign(rule.match().agents().begin(),
                           rule.match().agents().end());
    for (const std::string& scheme : rule.match().schemes()) {
      compiled.schemes.push_back(absl::AsciiStrToLower(scheme));
    }
    if (!rule.client_certificate().empty()) {
      compiled.client_certificate = certificates.at(rule.client_certificate());
    }
    compiled.mode = ApiMode(rule.server_validation().mode());
    compiled.deny = rule.action() == config::v1::Rule::DENY;
    CB_ASSIGN_OR_RETURN(
        compiled.chain_policy,
        CompileChainPolicy(
            rule.server_validation(), config.deny(),
            absl::StrCat(source, ": rules[", i, "].server_validation")));
    std::vector<std::string> names(
        rule.server_validation().trust_bundles().begin(),
        rule.server_validation().trust_bundles().end());
    if (!names.empty()) {
      CB_ASSIGN_OR_RETURN(compiled.trust, store_for(names));
    }
    compiled.cache_ttl = rule.has_cache_ttl() ? ToDuration(rule.cache_ttl())
                                              : snapshot->default_cache_ttl_;
    snapshot->rules_.push_back(std::move(compiled));
  }
  if (config.access().has_tls()) {
    const auto& names = config.access().tls().client_ca_bundles();
    CB_ASSIGN_OR_RETURN(snapshot->client_ca_store_,
                        store_for({names.begin(), names.end()}));
  }
  auto index = RuleIndex::Build(snapshot->rules_);
  if (!index.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": rules: ", index.status().message()));
  }
  snapshot->index_ = std::move(index).value();
  CB_ASSIGN_OR_RETURN(snapshot->inbound_rules_,
                      InboundRules::Compile(config, source, bundles, store_for,
                                            snapshot->default_cache_ttl_));
  snapshot->files_digest_ = digest.Hex();
  snapshot->watched_dirs_.assign(loader.watched_dirs().begin(),
                                 loader.watched_dirs().end());
  snapshot->version_ = options.version.empty()
                           ? snapshot->files_digest_.substr(0, 16)
                           : options.version;
  return snapshot;
}

std::vector<std::string> PolicySnapshot::RulesUsingCertificate(
    absl::string_view id) const {
  std::vector<std::string> names;
  for (const CompiledRule& rule : rules_) {
    if (rule.client_certificate != nullptr && rule.client_certificate->id == id)
      names.push_back(rule.name);
  }
  return names;
}

std::vector<std::string> PolicySnapshot::RulesUsingBundle(
    absl::string_view name) const {
  std::vector<std::string> names;
  for (const CompiledRule& rule : rules_) {
    if (rule.trust == nullptr) continue;
    const auto& bundles = rule.trust->bundle_names();
    if (std::find(bundles.begin(), bundles.end(), name) != bundles.end()) {
      names.push_back(rule.name);
    }
  }
  return names;
}

absl::StatusOr<std::shared_ptr<const PolicySnapshot>> LoadPolicyFile(
    const std::string& path) {
  CB_ASSIGN_OR_RETURN(config::BrokerConfig config,
                      config::LoadConfigFile(path));
  size_t slash = path.rfind('/');
  std::string base_dir =
      slash == std::string::npos ? "." : path.substr(0, slash);
  if (base_dir.empty()) base_dir = "/";
  return CompilePolicy(config, base_dir, path);
}

void CurrentPolicy::Set(std::shared_ptr<const PolicySnapshot> next) {
  {
    absl::MutexLock lock(&mu_);
    snapshot_.swap(next);
  }
  // The old snapshot, if `next` now holds its last reference, is freed
  // outside the lock.
  next.reset();
  absl::MutexLock lock(&subscribers_mu_);
  for (const auto& [id, changed] : subscribers_) changed();
}

int64_t CurrentPolicy::Subscribe(std::function<void()> changed) const {
  absl::MutexLock lock(&subscribers_mu_);
  int64_t id = next_subscription_++;
  subscribers_.emplace(id, std::move(changed));
  return id;
}

void CurrentPolicy::Unsubscribe(int64_t subscription) const {
  absl::MutexLock lock(&subscribers_mu_);
  subscribers_.erase(subscription);
}

}  // namespace certbroker::policy

// CertificateBroker's TLS-server side: GetNegotiationPolicy (ask a
// connecting client for a certificate?) and OnClientCertificate (accept the
// one it sent?), judged by the policy's inbound rules with the validator
// that judges server chains (the leaf must allow clientAuth).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/common/host_name.h"
#include "broker/common/identity_selector.h"
#include "broker/common/proto_duration.h"
#include "broker/common/status_macros.h"
#include "broker/service/certificate_broker_service.h"
#include "broker/service/server_decision.h"
#include "broker/x509/certificate.h"

namespace certbroker::service {
namespace {

namespace v1 = ::certbroker::v1;

// Connection is a validated Listener: where a client connected.
struct Connection {
  std::string listener;
  std::string sni;  // Normalized; empty without SNI.
  bool sni_is_ip = false;

  std::string ToString() const {
    return absl::StrCat("listener ", listener,
                        sni.empty() ? " (no SNI)" : absl::StrCat(" sni ", sni));
  }
};

absl::StatusOr<Connection> ResolveListener(const v1::Listener& listener) {
  Connection connection;
  const std::string& name = listener.name();
  if (name.empty()) {
    return absl::InvalidArgumentError("listener.name: required");
  }
  if (!config::IsListenerName(name)) {
    return absl::InvalidArgumentError(
        "listener.name: not a listener name (1-128 letters, digits, '.', "
        "'_', ':', '-')");
  }
  connection.listener = name;
  if (!listener.sni().empty()) {
    connection.sni = NormalizeHost(listener.sni());
    connection.sni_is_ip = IsIpAddress(connection.sni);
    if (!connection.sni_is_ip && !IsDnsName(connection.sni)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "listener.sni: '", listener.sni(), "' is not a DNS name"));
    }
  }
  return connection;
}

// Reject fills a rejecting answer.
void Reject(v1::Reason reason, std::string detail,
            v1::OnClientCertificateResponse& response, Decision& decision) {
  response.set_accepted(false);
  response.set_reason(reason);
  response.set_detail(std::move(detail));
  decision.verdict = "reject";
  decision.reason = v1::Reason_Name(reason);
  decision.detail = response.detail();
}

// NamePeer fills `peer` from the accepted leaf, or says why the rule does
// not accept the identity it names.
absl::Status NamePeer(const policy::InboundRule& rule, const X509* leaf,
                      absl::string_view leaf_der, v1::PeerIdentity& peer) {
  absl::StatusOr<std::string> identity = rule.namer->Name(leaf);
  if (!identity.ok()) return identity.status();
  auth::CertificateNames names = auth::CertificateNames::Of(leaf);
  peer.set_identity(*identity);
  if (names.spiffe_ids.size() == 1) peer.set_spiffe_id(names.spiffe_ids[0]);
  for (const std::string& name : names.dns_names) peer.add_dns_names(name);
  for (const std::string& uri : names.uris) peer.add_uris(uri);
  peer.set_subject(x509::SubjectName(leaf));
  peer.set_certificate_sha256(x509::Sha256(leaf_der));
  const bool allowed =
      std::any_of(rule.allowed_peers.begin(), rule.allowed_peers.end(),
                  [&](const std::string& selector) {
                    return SelectorMatches(selector, *identity);
                  });
  if (!allowed) {
    return absl::PermissionDeniedError(
        absl::StrCat("the peer '", *identity, "' is not among inbound rule '",
                     rule.match->name, "''s allowed_peers"));
  }
  return absl::OkStatus();
}

absl::Status DecideNegotiation(const policy::PolicySnapshot& snapshot,
                               const v1::GetNegotiationPolicyRequest& request,
                               v1::GetNegotiationPolicyResponse& response,
                               Decision& decision) {
  CB_ASSIGN_OR_RETURN(Connection connection,
                      ResolveListener(request.listener()));
  decision.target = connection.ToString();
  decision.policy_version = snapshot.version();
  response.set_policy_version(snapshot.version());
  decision.verdict = "answer";
  const policy::InboundRule* rule =
      snapshot.inbound_rules().Find(connection.listener, connection.sni,
                                    connection.sni_is_ip, decision.agent);
  if (rule == nullptr) {
    // Fail closed: ask, and OnClientCertificate rejects whatever comes.
    response.set_mode(v1::REQUIRE);
    SetWholeSeconds(snapshot.default_cache_ttl(),
                    *response.mutable_cache_ttl());
    decision.reason = "NO_MATCHING_RULE";
    decision.detail = "REQUIRE, and every certificate will be rejected";
    return absl::OkStatus();
  }
  decision.rule = rule->match->name;
  response.set_rule_name(rule->match->name);
  response.set_mode(rule->mode);
  if (rule->mode != v1::IGNORE) {
    for (const std::string& name : rule->ca_names) {
      response.add_acceptable_ca_names(name);
    }
  }
  SetWholeSeconds(rule->match->cache_ttl, *response.mutable_cache_ttl());
  decision.reason = v1::ClientCertificateMode_Name(rule->mode);
  decision.detail =
      absl::StrCat(response.acceptable_ca_names_size(), " acceptable CA names");
  return absl::OkStatus();
}

absl::Status DecideClientChain(const policy::PolicySnapshot& snapshot,
                               absl::Time now,
                               const v1::OnClientCertificateRequest& request,
                               v1::OnClientCertificateResponse& response,
                               Decision& decision) {
  CB_ASSIGN_OR_RETURN(Connection connection,
                      ResolveListener(request.listener()));
  decision.target = connection.ToString();
  decision.policy_version = snapshot.version();
  decision.id = NewDecisionId();
  response.set_decision_id(decision.id);
  response.set_policy_version(snapshot.version());
  const bool sent = request.certificate_chain_size() > 0;
  x509::CertificateList chain;
  if (sent) {
    CB_RETURN_IF_ERROR(
        CheckChainSize(request.certificate_chain(), snapshot, ""));
    decision.leaf_fingerprint = x509::Sha256Hex(request.certificate_chain(0));
    CB_ASSIGN_OR_RETURN(chain, ParseServerChain(request.certificate_chain()));
  }
  const policy::InboundRule* rule =
      snapshot.inbound_rules().Find(connection.listener, connection.sni,
                                    connection.sni_is_ip, decision.agent);
  if (rule == nullptr) {
    SetWholeSeconds(snapshot.default_cache_ttl(),
                    *response.mutable_cache_ttl());
    Reject(v1::NO_MATCHING_RULE,
           absl::StrCat("no inbound rule matches ", decision.target,
                        "; the default action is to reject"),
           response, decision);
    return absl::OkStatus();
  }
  decision.rule = rule->match->name;
  response.set_rule_name(rule->match->name);
  SetWholeSeconds(rule->match->cache_ttl, *response.mutable_cache_ttl());
  if (rule->mode == v1::IGNORE || !sent) {
    if (rule->mode == v1::REQUIRE) {
      Reject(v1::CLIENT_CERTIFICATE_MISSING,
             absl::StrCat("inbound rule '", rule->match->name,
                          "' requires a client certificate and the client "
                          "sent none"),
             response, decision);
      return absl::OkStatus();
    }
    response.set_accepted(true);
    response.set_reason(v1::ACCEPTED);
    response.set_detail(
        rule->mode == v1::IGNORE
            ? absl::StrCat("inbound rule '", rule->match->name,
                           "' ignores client certificates: the peer is "
                           "anonymous",
                           sent ? " (the certificate sent was not judged)" : "")
            : "no client certificate: the peer is anonymous");
    decision.verdict = "accept";
    decision.reason = "ACCEPTED";
    decision.detail = response.detail();
    return absl::OkStatus();
  }
  validation::ServerChainCheck check{"", now};
  validation::ChainVerdict verdict = validation::ValidateServerChain(
      *rule->match->trust, chain, check, rule->match->chain_policy,
      snapshot.crls());
  if (!verdict.accepted()) {
    Reject(verdict.reason, verdict.detail, response, decision);
    return absl::OkStatus();
  }
  absl::Status named =
      NamePeer(*rule, chain.front().get(), request.certificate_chain(0),
               *response.mutable_peer());
  if (!named.ok()) {
    response.clear_peer();
    Reject(v1::PEER_NOT_ALLOWED, std::string(named.message()), response,
           decision);
    return absl::OkStatus();
  }
  response.set_accepted(true);
  response.set_reason(v1::ACCEPTED);
  response.set_detail(
      verdict.detail.empty()
          ? absl::StrCat("accepted as ", response.peer().identity())
          : verdict.detail);
  SetWholeSeconds(std::min(rule->match->cache_ttl, verdict.expires - now),
                  *response.mutable_cache_ttl());
  decision.verdict = "accept";
  decision.reason = "ACCEPTED";
  decision.detail = absl::StrCat("peer ", response.peer().identity());
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* CertificateBrokerService::GetNegotiationPolicy(
    grpc::CallbackServerContext* context,
    const v1::GetNegotiationPolicyRequest* request,
    v1::GetNegotiationPolicyResponse* response) {
  return ServeUnary(
      door_, audit_, context, "GetNegotiationPolicy", [&](Decision& decision) {
        return DecideNegotiation(*policy_.Get(), *request, *response, decision);
      });
}

grpc::ServerUnaryReactor* CertificateBrokerService::OnClientCertificate(
    grpc::CallbackServerContext* context,
    const v1::OnClientCertificateRequest* request,
    v1::OnClientCertificateResponse* response) {
  return ServeUnary(door_, audit_, context, "OnClientCertificate",
                    [&](Decision& decision) {
                      return DecideClientChain(*policy_.Get(), clock_(),
                                               *request, *response, decision);
                    });
}

}  // namespace certbroker::service

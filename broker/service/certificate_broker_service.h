// CertificateBrokerService: the agent-facing gRPC service. Each handler reads
// the policy snapshot in force (never waiting on a reload), decides, logs one
// decision line, and answers. Handlers do no I/O, so they run inline on the
// callback API's threads.
#ifndef CERTBROKER_BROKER_SERVICE_CERTIFICATE_BROKER_SERVICE_H_
#define CERTBROKER_BROKER_SERVICE_CERTIFICATE_BROKER_SERVICE_H_

#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/audit/audit_writer.h"
#include "broker/keyless/key_handles.h"
#include "broker/policy/policy_snapshot.h"
#include "broker/service/call_tracker.h"
#include "broker/service/client_certificate_watch.h"
#include "broker/service/decision_log.h"
#include "broker/service/unary_call.h"
#include "broker/service/verdict_cache.h"
#include "broker/validation/server_chain_validator.h"
#include "certbroker/v1/broker.grpc.pb.h"

namespace certbroker::service {

// Clock returns the current time; tests substitute a fixed one.
using Clock = std::function<absl::Time()>;

class CertificateBrokerService final
    : public ::certbroker::v1::CertificateBroker::CallbackService {
 public:
  // `policy` and `calls` must outlive the service.
  CertificateBrokerService(const policy::CurrentPolicy& policy,
                           CallTracker& calls, Clock clock = absl::Now);

  // set_audit makes every decision recorded through `audit` (which must
  // outlive the service); call it before serving.
  void set_audit(audit::AuditWriter* audit) {
    audit_ = audit;
    watches_->set_audit(audit);
  }

  // StopWatches ends every WatchClientCertificate stream with OK and
  // refuses new ones; call it when shutting down, before draining calls.
  void StopWatches() { watches_->StopAll(); }

  // set_admission makes every call pass `admission` (which must outlive
  // the service); call it before serving. Without it every call is
  // admitted with no identity.
  void set_admission(Admission* admission) { door_.admission = admission; }

  // set_delayed_answers makes every unary answer wait in `delayed` (which
  // must outlive the service); tests of slow brokers only.
  void set_delayed_answers(DelayedAnswers* delayed) {
    door_.delayed = delayed;
  }

  grpc::ServerUnaryReactor* GetCertificatePolicy(
      grpc::CallbackServerContext* context,
      const ::certbroker::v1::GetCertificatePolicyRequest* request,
      ::certbroker::v1::GetCertificatePolicyResponse* response) override;

  grpc::ServerUnaryReactor* GetClientCertificate(
      grpc::CallbackServerContext* context,
      const ::certbroker::v1::GetClientCertificateRequest* request,
      ::certbroker::v1::GetClientCertificateResponse* response) override;

  grpc::ServerUnaryReactor* OnServerCertificate(
      grpc::CallbackServerContext* context,
      const ::certbroker::v1::OnServerCertificateRequest* request,
      ::certbroker::v1::OnServerCertificateResponse* response) override;

  // Keyless signing (sign_call.cc).
  grpc::ServerUnaryReactor* Sign(
      grpc::CallbackServerContext* context,
      const ::certbroker::v1::SignRequest* request,
      ::certbroker::v1::SignResponse* response) override;

  // Rotation push (client_certificate_watch.cc).
  grpc::ServerWriteReactor<::certbroker::v1::WatchClientCertificateResponse>*
  WatchClientCertificate(
      grpc::CallbackServerContext* context,
      const ::certbroker::v1::WatchClientCertificateRequest* request) override;

  // The TLS-server side (inbound_decisions.cc).
  grpc::ServerUnaryReactor* GetNegotiationPolicy(
      grpc::CallbackServerContext* context,
      const ::certbroker::v1::GetNegotiationPolicyRequest* request,
      ::certbroker::v1::GetNegotiationPolicyResponse* response) override;
  grpc::ServerUnaryReactor* OnClientCertificate(
      grpc::CallbackServerContext* context,
      const ::certbroker::v1::OnClientCertificateRequest* request,
      ::certbroker::v1::OnClientCertificateResponse* response) override;

 private:
  absl::Status DecidePolicy(
      const policy::PolicySnapshot& snapshot,
      const ::certbroker::v1::GetCertificatePolicyRequest& request,
      ::certbroker::v1::GetCertificatePolicyResponse& response,
      Decision& decision) const;
  absl::Status DecideClientCertificate(
      const policy::PolicySnapshot& snapshot,
      const ::certbroker::v1::GetClientCertificateRequest& request,
      ::certbroker::v1::GetClientCertificateResponse& response,
      Decision& decision) const;
  absl::Status DecideServerCertificate(
      const policy::PolicySnapshot& snapshot,
      const ::certbroker::v1::OnServerCertificateRequest& request,
      ::certbroker::v1::OnServerCertificateResponse& response,
      Decision& decision) const;

  // Keyless signing (sign_call.cc). Handles are sealed by a secret of this
  // service instance: a restart invalidates them. A handle's scope is the
  // target it was given for (KeyHandleScope), so Sign can ask the policy
  // again.
  static std::string KeyHandleScope(const policy::ResolvedTarget& target);
  absl::Status DecideSign(const policy::PolicySnapshot& snapshot,
                          const ::certbroker::v1::SignRequest& request,
                          ::certbroker::v1::SignResponse& response,
                          Decision& decision) const;
  keyless::KeyHandles key_handles_;

  const policy::CurrentPolicy& policy_;
  Door door_;
  audit::AuditWriter* audit_ = nullptr;  // Null: no audit log.
  Clock clock_;
  // The cache outlives policy versions (they are part of its key); its
  // bounds come from the policy at start-up.
  std::unique_ptr<VerdictCache> cache_;
  // The open WatchClientCertificate streams; destroyed first.
  std::unique_ptr<ClientCertificateWatches> watches_;
};

}  // namespace certbroker::service

#endif  // CERTBROKER_BROKER_SERVICE_CERTIFICATE_BROKER_SERVICE_H_

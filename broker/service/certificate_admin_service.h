// CertificateAdminService: the administrative gRPC service. For now it
// offers SimulateServerCertificate, which evaluates a chain exactly as
// OnServerCertificate would, against the live policy or an inline one, at a
// chosen time, and reports every check. certbrokerd serves it only with
// --enable_simulation until callers are authenticated.
#ifndef CERTBROKER_BROKER_SERVICE_CERTIFICATE_ADMIN_SERVICE_H_
#define CERTBROKER_BROKER_SERVICE_CERTIFICATE_ADMIN_SERVICE_H_

#include <string>

#include "broker/audit/audit_writer.h"
#include "broker/policy/policy_snapshot.h"
#include "broker/service/call_tracker.h"
#include "broker/service/certificate_broker_service.h"
#include "broker/service/decision_log.h"
#include "certbroker/v1/admin.grpc.pb.h"

namespace certbroker::service {

class CertificateAdminService final
    : public ::certbroker::v1::CertificateAdmin::CallbackService {
 public:
  // `policy` and `calls` must outlive the service. Relative paths in inline
  // policies resolve against `config_dir`, the live configuration's.
  CertificateAdminService(const policy::CurrentPolicy& policy,
                          CallTracker& calls, std::string config_dir,
                          Clock clock = absl::Now);

  // set_audit makes every decision recorded through `audit` (which must
  // outlive the service); call it before serving.
  void set_audit(audit::AuditWriter* audit) { audit_ = audit; }

  grpc::ServerUnaryReactor* SimulateServerCertificate(
      grpc::CallbackServerContext* context,
      const ::certbroker::v1::SimulateServerCertificateRequest* request,
      ::certbroker::v1::SimulateServerCertificateResponse* response) override;

 private:
  absl::Status Simulate(
      const ::certbroker::v1::SimulateServerCertificateRequest& request,
      ::certbroker::v1::SimulateServerCertificateResponse& response,
      Decision& decision) const;

  const policy::CurrentPolicy& policy_;
  CallTracker& calls_;
  audit::AuditWriter* audit_ = nullptr;  // Null: no audit log.
  std::string config_dir_;
  Clock clock_;
};

}  // namespace certbroker::service

#endif  // CERTBROKER_BROKER_SERVICE_CERTIFICATE_ADMIN_SERVICE_H_

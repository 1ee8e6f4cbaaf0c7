// CertificateAdminService: the administrative gRPC service (admin.proto):
// stored certificates, trust bundles and CRLs, the policy document, the
// audit log, status, KEK rotation and policy simulation. Reads come from
// the catalog in force; changes go through the PolicyManager (validated
// completely, committed with the version bump, published) and are recorded
// in the audit log before they are answered. certbrokerd serves it only
// with --enable_admin (or --enable_simulation for simulation alone) until
// callers are authenticated.
#ifndef CERTBROKER_BROKER_SERVICE_CERTIFICATE_ADMIN_SERVICE_H_
#define CERTBROKER_BROKER_SERVICE_CERTIFICATE_ADMIN_SERVICE_H_

#include <string>

#include "broker/audit/audit_writer.h"
#include "broker/service/call_tracker.h"
#include "broker/service/certificate_broker_service.h"
#include "broker/service/decision_log.h"
#include "broker/state/policy_manager.h"
#include "certbroker/v1/admin.grpc.pb.h"

namespace certbroker::service {

namespace v1 = ::certbroker::v1;

class CertificateAdminService final
    : public v1::CertificateAdmin::CallbackService {
 public:
  // `manager` and `calls` must outlive the service. Relative paths in
  // inline simulation policies resolve against `config_dir`. With
  // `simulation_only`, every method but SimulateServerCertificate answers
  // PERMISSION_DENIED.
  CertificateAdminService(state::PolicyManager& manager, CallTracker& calls,
                          std::string config_dir, bool simulation_only,
                          Clock clock = absl::Now);

  // set_audit records every decision and change through `audit` (which
  // must outlive the service); call it before serving.
  void set_audit(audit::AuditWriter* audit) { audit_ = audit; }

  // set_admission makes every call pass `admission` (which must outlive
  // the service); call it before serving.
  void set_admission(Admission* admission) { door_.admission = admission; }

  // set_store_path names the database for GetStatus.
  void set_store_path(std::string path) { store_path_ = std::move(path); }

  using Context = grpc::CallbackServerContext;
  using Reactor = grpc::ServerUnaryReactor;

  Reactor* SimulateServerCertificate(
      Context* context, const v1::SimulateServerCertificateRequest* request,
      v1::SimulateServerCertificateResponse* response) override;

  Reactor* ImportCertificate(Context* context,
                             const v1::ImportCertificateRequest* request,
                             v1::Certificate* response) override;
  Reactor* GetCertificate(Context* context,
                          const v1::GetCertificateRequest* request,
                          v1::Certificate* response) override;
  Reactor* ListCertificates(Context* context,
                            const v1::ListCertificatesRequest* request,
                            v1::ListCertificatesResponse* response) override;
  Reactor* DeleteCertificate(Context* context,
                             const v1::DeleteCertificateRequest* request,
                             v1::DeleteCertificateResponse* response) override;

  Reactor* UpdateTrustBundle(Context* context,
                             const v1::UpdateTrustBundleRequest* request,
                             v1::TrustBundle* response) override;
  Reactor* GetTrustBundle(Context* context,
                          const v1::GetTrustBundleRequest* request,
                          v1::TrustBundle* response) override;
  Reactor* ListTrustBundles(Context* context,
                            const v1::ListTrustBundlesRequest* request,
                            v1::ListTrustBundlesResponse* response) override;
  Reactor* DeleteTrustBundle(Context* context,
                             const v1::DeleteTrustBundleRequest* request,
                             v1::DeleteTrustBundleResponse* response) override;

  Reactor* UpdateCrl(Context* context, const v1::UpdateCrlRequest* request,
                     v1::Crl* response) override;
  Reactor* GetCrl(Context* context, const v1::GetCrlRequest* request,
                  v1::Crl* response) override;
  Reactor* ListCrls(Context* context, const v1::ListCrlsRequest* request,
                    v1::ListCrlsResponse* response) override;
  Reactor* DeleteCrl(Context* context, const v1::DeleteCrlRequest* request,
                     v1::DeleteCrlResponse* response) override;

  Reactor* GetPolicy(Context* context, const v1::GetPolicyRequest* request,
                     v1::Policy* response) override;
  Reactor* UpdatePolicy(Context* context,
                        const v1::UpdatePolicyRequest* request,
                        v1::Policy* response) override;

  Reactor* ListAuditRecords(Context* context,
                            const v1::ListAuditRecordsRequest* request,
                            v1::ListAuditRecordsResponse* response) override;
  grpc::ServerWriteReactor<v1::AuditRecord>* WatchAuditRecords(
      Context* context, const v1::WatchAuditRecordsRequest* request) override;

  Reactor* GetStatus(Context* context, const v1::GetStatusRequest* request,
                     v1::Status* response) override;
  Reactor* RotateKek(Context* context, const v1::RotateKekRequest* request,
                     v1::RotateKekResponse* response) override;

 private:
  // Read serves a call that reads, Change one that changes stored state
  // (recorded durably in the audit log). Both refuse every call with
  // PERMISSION_DENIED when simulation_only.
  Reactor* Read(Context* context, absl::string_view rpc,
                const std::function<absl::Status(Decision&)>& decide);
  Reactor* Change(Context* context, absl::string_view rpc,
                  const std::function<absl::Status(Decision&)>& decide);

  // Applied fills `decision` for a change `manager_` applied.
  static void Applied(const state::ChangeResult& result,
                      absl::string_view resource, absl::string_view what,
                      Decision& decision);

  absl::Status Simulate(const v1::SimulateServerCertificateRequest& request,
                        v1::SimulateServerCertificateResponse& response,
                        Decision& decision) const;
  absl::Status Import(const v1::ImportCertificateRequest& request,
                      v1::Certificate& response, Decision& decision);
  absl::Status DeleteStored(absl::string_view name, absl::string_view prefix,
                            std::string& policy_version, Decision& decision);
  absl::Status PutPolicy(const v1::UpdatePolicyRequest& request,
                         v1::Policy& response, Decision& decision);
  absl::Status Status(const v1::GetStatusRequest& request,
                      v1::Status& response) const;
  absl::Status Rotate(v1::RotateKekResponse& response, Decision& decision);

  state::PolicyManager& manager_;
  Door door_;
  audit::AuditWriter* audit_ = nullptr;  // Null: no audit log.
  std::string config_dir_;
  bool simulation_only_;
  Clock clock_;
  std::string store_path_;
};

}  // namespace certbroker::service

#endif  // CERTBROKER_BROKER_SERVICE_CERTIFICATE_ADMIN_SERVICE_H_

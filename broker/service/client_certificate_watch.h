// ClientCertificateWatches: the open WatchClientCertificate streams of one
// service. Each stream holds the answer GetClientCertificate would give its
// caller for its target; the hub re-decides them when the policy changes
// (a certificate rotated, removed, or its rule changed) and once a second
// for time-driven changes (a key handle nearing expiry, a certificate
// expiring), writes the ones whose answer changed, and ends them all with
// OK when the broker shuts down.
#ifndef CERTBROKER_BROKER_SERVICE_CLIENT_CERTIFICATE_WATCH_H_
#define CERTBROKER_BROKER_SERVICE_CLIENT_CERTIFICATE_WATCH_H_

#include <cstdint>
#include <functional>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/audit/audit_writer.h"
#include "broker/policy/policy_snapshot.h"
#include "broker/service/admission.h"
#include "broker/service/decision_log.h"
#include "certbroker/v1/broker.grpc.pb.h"

namespace certbroker::service {

// DecideCertificate answers a GetClientCertificate request under a snapshot
// (the service's own decision), for the caller named in Decision::agent.
using DecideCertificate = std::function<absl::Status(
    const policy::PolicySnapshot&,
    const ::certbroker::v1::GetClientCertificateRequest&,
    ::certbroker::v1::GetClientCertificateResponse&, Decision&)>;

class ClientCertificateWatch;

class ClientCertificateWatches {
 public:
  // `policy` must outlive the hub.
  ClientCertificateWatches(const policy::CurrentPolicy& policy,
                           DecideCertificate decide,
                           std::function<absl::Time()> clock);
  ~ClientCertificateWatches();
  ClientCertificateWatches(const ClientCertificateWatches&) = delete;
  ClientCertificateWatches& operator=(const ClientCertificateWatches&) = delete;

  // Start opens the stream of an admitted call: the current answer at
  // once, or the call ends with the error GetClientCertificate would give
  // for a malformed request or a caller no rule selects.
  grpc::ServerWriteReactor<::certbroker::v1::WatchClientCertificateResponse>*
  Start(grpc::CallbackServerContext& context,
        const ::certbroker::v1::WatchClientCertificateRequest& request,
        std::string agent, Admission::Ticket ticket);

  // set_audit records every answer written through `audit` (which must
  // outlive the hub); call it before serving.
  void set_audit(audit::AuditWriter* audit) { audit_ = audit; }

  // StopAll ends every open stream with OK (the broker is shutting down)
  // and refuses new ones with UNAVAILABLE.
  void StopAll();

  // open is how many streams are open.
  size_t open() const;

 private:
  friend class ClientCertificateWatch;
  void Remove(ClientCertificateWatch* watch);
  void RefreshAll(bool policy_changed);
  void Tick();

  const policy::CurrentPolicy& policy_;
  DecideCertificate decide_;
  audit::AuditWriter* audit_ = nullptr;
  std::function<absl::Time()> clock_;
  mutable absl::Mutex mu_;
  std::set<ClientCertificateWatch*> watches_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t subscription_ = 0;
  std::thread ticker_;
};

}  // namespace certbroker::service

#endif  // CERTBROKER_BROKER_SERVICE_CLIENT_CERTIFICATE_WATCH_H_

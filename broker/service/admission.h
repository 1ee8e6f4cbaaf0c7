// Admission: the door every call of the broker's services passes. It names
// the caller (auth::CallerResolver), checks that one of its roles may call
// the method, and takes a slot of its per-identity limits (rate and calls
// in flight; unauthenticated callers are limited per address). A refused
// call gets UNAUTHENTICATED, PERMISSION_DENIED or RESOURCE_EXHAUSTED (with
// a "retry-after-ms" trailer) and says why; what is refused is audited,
// rate-limit refusals at most once a second per caller with their count,
// so a flood cannot fill the audit queue.
#ifndef CERTBROKER_BROKER_SERVICE_ADMISSION_H_
#define CERTBROKER_BROKER_SERVICE_ADMISSION_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "broker/audit/audit_writer.h"
#include "broker/auth/caller_limiter.h"
#include "broker/auth/caller_resolver.h"
#include "broker/auth/roles.h"
#include "broker/policy/policy_snapshot.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::service {

class Admission {
 public:
  // Ticket holds an admitted call's slot until it is destroyed.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept { *this = std::move(other); }
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket();

   private:
    friend class Admission;
    auth::CallerLimiter::Slot* slot_ = nullptr;
  };

  // `audit` (may be null) receives the refusals; `current`, `resolver`
  // and `audit` must outlive the admission.
  Admission(const policy::CurrentPolicy& current,
            const auth::CallerResolver& resolver, audit::AuditWriter* audit)
      : current_(current), resolver_(resolver), audit_(audit) {}

  // Admit decides the call behind `context` of `rpc` of `service`. It sets
  // `agent` to the caller's identity (empty when unauthenticated), and on
  // success fills `ticket` and returns nullopt; on refusal it logs and
  // audits it and returns why, after setting the retry trailer on
  // `context` for RESOURCE_EXHAUSTED. With `peer`, it also sets *peer to
  // gRPC's name for the other end, so that the caller need not ask again.
  std::optional<absl::Status> Admit(grpc::ServerContextBase& context,
                                    auth::Service service,
                                    absl::string_view rpc, std::string& agent,
                                    Ticket& ticket,
                                    std::string* peer = nullptr);

 private:
  // Decide is Admit without the record: the refusal, if any, and whether
  // it is to be recorded (rate refusals are, once a second per caller).
  std::optional<absl::Status> Decide(grpc::ServerContextBase& context,
                                     auth::Service service,
                                     absl::string_view rpc,
                                     const auth::Caller& caller,
                                     const auth::CallerLimits& limits,
                                     Ticket& ticket, bool& record);
  void Record(absl::string_view rpc, const auth::Caller& caller,
              const absl::Status& refusal);

  // ShouldAuditLimit is true for the first rate-limit refusal of `key` in a
  // second; `count` receives the refusals since the last audited one.
  bool ShouldAuditLimit(const std::string& key, absl::Time now, int& count);

  const policy::CurrentPolicy& current_;
  const auth::CallerResolver& resolver_;
  audit::AuditWriter* audit_;
  auth::CallerLimiter limiter_;
  absl::Mutex mutex_;
  struct LimitAudit {
    absl::Time last;
    int unaudited = 0;
  };
  absl::flat_hash_map<std::string, LimitAudit> limit_audits_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace certbroker::service

#endif  // CERTBROKER_BROKER_SERVICE_ADMISSION_H_

// WatchClientCertificate: one reactor per open stream, and the hub that
// re-decides them on policy changes and on a one-second tick.
#include "broker/service/client_certificate_watch.h"

#include "absl/strings/str_cat.h"
#include "broker/common/log.h"
#include "broker/service/certificate_broker_service.h"
#include "broker/service/queued_stream.h"
#include "broker/service/refused_stream.h"
#include "broker/service/unary_call.h"
#include "broker/x509/certificate.h"

namespace certbroker::service {

namespace v1 = ::certbroker::v1;

namespace {

constexpr absl::string_view kRpc = "WatchClientCertificate";
// Answers that change with time alone (a certificate expiring or becoming
// valid) are noticed within this long.
constexpr absl::Duration kRecheckInterval = absl::Seconds(10);

// AnswerKey is what makes two answers different for the agent: the
// certificate (id, leaf, key or handle, rule), or the error. A renewed key
// handle alone is not a difference (renewal is driven by time).
std::string AnswerKey(const v1::WatchClientCertificateResponse& answer) {
  if (!answer.has_certificate()) {
    return absl::StrCat("error|", answer.unavailable_code(), "|",
                        answer.unavailable_message());
  }
  const v1::GetClientCertificateResponse& certificate = answer.certificate();
  return absl::StrCat("certificate|", certificate.certificate_id(), "|",
                      certificate.certificate_chain_size() > 0
                          ? x509::Sha256Hex(certificate.certificate_chain(0))
                          : "",
                      "|", certificate.private_key().empty() ? "handle" : "key",
                      "|", certificate.rule_name());
}

v1::GetClientCertificateRequest AsGetRequest(
    const v1::WatchClientCertificateRequest& request) {
  v1::GetClientCertificateRequest get;
  *get.mutable_target() = request.target();
  *get.mutable_acceptable_issuers() = request.acceptable_issuers();
  *get.mutable_signature_algorithms() = request.signature_algorithms();
  return get;
}

}  // namespace

class ClientCertificateWatch final
    : public QueuedStream<v1::WatchClientCertificateResponse> {
 public:
  ClientCertificateWatch(ClientCertificateWatches& hub,
                         v1::GetClientCertificateRequest request,
                         std::string agent, std::string peer,
                         Admission::Ticket ticket)
      : hub_(hub),
        request_(std::move(request)),
        agent_(std::move(agent)),
        peer_(std::move(peer)),
        ticket_(std::move(ticket)) {}

  // Decide answers the request under `snapshot`; the status is that of the
  // decision (an error status is an answer without a certificate).
  absl::Status Decide(const policy::PolicySnapshot& snapshot,
                      v1::WatchClientCertificateResponse& answer) {
    Decision decision;
    decision.agent = agent_;
    v1::GetClientCertificateResponse certificate;
    absl::Status status =
        hub_.decide_(snapshot, request_, certificate, decision);
    answer.set_policy_version(snapshot.version());
    if (status.ok()) {
      *answer.mutable_certificate() = std::move(certificate);
    } else {
      answer.set_unavailable_code(static_cast<int>(status.code()));
      answer.set_unavailable_message(std::string(status.message()));
      decision.verdict = absl::StatusCodeToString(status.code());
      decision.reason = "error";
      decision.detail = std::string(status.message());
    }
    if (decision.id.empty()) decision.id = NewDecisionId();
    last_decision_ = std::move(decision);
    return status;
  }

  // Offer writes `answer` when it differs from the last one written, or
  // when `force` (a key handle to renew).
  void Offer(v1::WatchClientCertificateResponse answer, absl::Time now,
             bool force) {
    absl::MutexLock lock(&mu_);
    if (FinishedLocked()) return;
    std::string key = AnswerKey(answer);
    recheck_at_ = now + kRecheckInterval;
    if (key == last_key_ && !force) return;
    if (hub_.audit_ != nullptr &&
        !hub_.audit_->Submit(AuditRecordOf(kRpc, last_decision_))) {
      // Never answer unrecorded; the next tick tries again.
      LogWarning("the audit queue is full: a certificate watch update waits");
      return;
    }
    LogDecision(kRpc, peer_, last_decision_);
    last_key_ = std::move(key);
    renew_at_ = absl::InfiniteFuture();
    if (answer.has_certificate() && answer.certificate().has_key_handle()) {
      absl::Time expires = absl::FromUnixSeconds(
          answer.certificate().key_handle().expires().seconds());
      renew_at_ = now + (expires - now) * 2 / 3;
    }
    // Only the newest answer matters: it replaces one not yet written.
    ClearQueueLocked();
    QueueLocked(std::move(answer));
    WriteNextLocked();
  }

  // Due says whether the tick should re-decide: the recheck interval has
  // passed, or a key handle must be renewed (`force`).
  bool Due(absl::Time now, bool& force) {
    absl::MutexLock lock(&mu_);
    force = now >= renew_at_;
    return !FinishedLocked() && (force || now >= recheck_at_);
  }

  void OnDone() override {
    hub_.Remove(this);
    delete this;
  }

 private:
  ClientCertificateWatches& hub_;
  const v1::GetClientCertificateRequest request_;
  const std::string agent_;
  const std::string peer_;
  // The caller's slot among its calls in flight, held while it watches.
  Admission::Ticket ticket_;
  // Written by Decide, read by Offer, on the same thread: the hub calls
  // them in turn under its own lock.
  Decision last_decision_;

  std::string last_key_ ABSL_GUARDED_BY(mu_);
  absl::Time recheck_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::Time renew_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
};

ClientCertificateWatches::ClientCertificateWatches(
    const policy::CurrentPolicy& policy, DecideCertificate decide,
    std::function<absl::Time()> clock)
    : policy_(policy), decide_(std::move(decide)), clock_(std::move(clock)) {
  subscription_ = policy_.Subscribe([this] { RefreshAll(true); });
  ticker_ = std::thread([this] { Tick(); });
}

ClientCertificateWatches::~ClientCertificateWatches() {
  StopAll();
  policy_.Unsubscribe(subscription_);
  ticker_.join();
}

grpc::ServerWriteReactor<v1::WatchClientCertificateResponse>*
ClientCertificateWatches::Start(
    grpc::CallbackServerContext& context,
    const v1::WatchClientCertificateRequest& request, std::string agent,
    Admission::Ticket ticket) {
  using Refused = RefusedStream<v1::WatchClientCertificateResponse>;
  auto* watch =
      new ClientCertificateWatch(*this, AsGetRequest(request), std::move(agent),
                                 context.peer(), std::move(ticket));
  std::shared_ptr<const policy::PolicySnapshot> snapshot = policy_.Get();
  v1::WatchClientCertificateResponse answer;
  absl::Status status = watch->Decide(*snapshot, answer);
  if (status.code() == absl::StatusCode::kInvalidArgument ||
      status.code() == absl::StatusCode::kPermissionDenied) {
    // Refused before it starts: the same answer GetClientCertificate gives.
    // (The reactor never started, so gRPC will not call its OnDone.)
    delete watch;
    return new Refused(status);
  }
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      delete watch;
      return new Refused(absl::UnavailableError("the broker is shutting down"));
    }
    watches_.insert(watch);
    // Under the hub's lock, like every later Decide and Offer of this watch.
    watch->Offer(std::move(answer), clock_(), /*force=*/true);
  }
  return watch;
}

void ClientCertificateWatches::StopAll() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  for (ClientCertificateWatch* watch : watches_) {
    watch->Stop(grpc::Status::OK);
  }
}

size_t ClientCertificateWatches::open() const {
  absl::MutexLock lock(&mu_);
  return watches_.size();
}

void ClientCertificateWatches::Remove(ClientCertificateWatch* watch) {
  absl::MutexLock lock(&mu_);
  watches_.erase(watch);
}

void ClientCertificateWatches::RefreshAll(bool policy_changed) {
  std::shared_ptr<const policy::PolicySnapshot> snapshot = policy_.Get();
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  for (ClientCertificateWatch* watch : watches_) {
    bool force = false;
    if (!watch->Due(now, force) && !policy_changed) continue;
    v1::WatchClientCertificateResponse answer;
    (void)watch->Decide(*snapshot, answer);
    watch->Offer(std::move(answer), now, force);
  }
}

void ClientCertificateWatches::Tick() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Seconds(1));
      if (stopping_) return;
    }
    RefreshAll(false);
  }
}

grpc::ServerWriteReactor<v1::WatchClientCertificateResponse>*
CertificateBrokerService::WatchClientCertificate(
    grpc::CallbackServerContext* context,
    const v1::WatchClientCertificateRequest* request) {
  Admission::Ticket ticket;
  std::string agent;
  if (door_.admission != nullptr) {
    if (auto refusal = door_.admission->Admit(
            *context, door_.service, std::string(kRpc), agent, ticket)) {
      return new RefusedStream<v1::WatchClientCertificateResponse>(*refusal);
    }
  }
  return watches_->Start(*context, *request, std::move(agent),
                         std::move(ticket));
}

}  // namespace certbroker::service

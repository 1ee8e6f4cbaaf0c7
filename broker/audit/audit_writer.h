// AuditWriter records decisions in the audit log without slowing the
// decision path: request threads only queue a record; one background thread
// appends them in batches (one transaction each) and prunes by age and
// count. The queue is bounded. When it is full — the store is failing or
// far behind — Submit refuses the record, and the caller must refuse the
// decision (fail closed: no decision is answered unrecorded). Refusals are
// counted and logged, never silent; records whose append fails are kept
// and retried, so a failing store fills the queue instead of losing them.
#ifndef CERTBROKER_BROKER_AUDIT_AUDIT_WRITER_H_
#define CERTBROKER_BROKER_AUDIT_AUDIT_WRITER_H_

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/store/audit_log.h"

namespace certbroker::audit {

struct AuditWriterOptions {
  size_t queue_capacity = 10000;
  size_t batch_size = 500;
  absl::Duration flush_interval = absl::Milliseconds(50);
  // Retention: records older than `retention` are pruned, and all but the
  // newest `max_records`, every `prune_interval`.
  absl::Duration retention = absl::Hours(24 * 30);
  size_t max_records = 1000000;
  absl::Duration prune_interval = absl::Hours(1);
};

class AuditWriter {
 public:
  // Starts the background thread. `log` must outlive the writer.
  AuditWriter(store::AuditLog& log, AuditWriterOptions options);
  ~AuditWriter();
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  // Submit queues `record`. False when the queue is full (or the writer is
  // stopping): the record was not taken and the decision must be refused.
  bool Submit(store::AuditRecord record);

  // AppendNow appends `record` synchronously, bypassing the queue: for
  // admin changes, whose record must be durable before they are answered.
  // Watchers see it like any other record.
  absl::Status AppendNow(store::AuditRecord record);

  // Subscribe calls `deliver` with every batch of records appended from now
  // on (on the writer's thread, or on the thread of AppendNow; keep it
  // short and never call back into the writer from it). Returns an id for
  // Unsubscribe, after which `deliver` is never called again.
  using Delivery = std::function<void(const std::vector<store::AuditRecord>&)>;
  int64_t Subscribe(Delivery deliver);
  void Unsubscribe(int64_t id);

  // Stop appends what is queued (retrying a failing store until
  // `deadline`), then stops the thread. Idempotent.
  void Stop(absl::Duration deadline = absl::Seconds(10));

  // log is the audit log the writer appends to, for reading it.
  store::AuditLog& log() const { return log_; }

  size_t written() const { return written_.load(); }
  size_t refused() const { return refused_.load(); }
  size_t append_failures() const { return append_failures_.load(); }

 private:
  void Loop();
  void Prune(absl::Time now);
  void Deliver(const std::vector<store::AuditRecord>& records);

  store::AuditLog& log_;
  const AuditWriterOptions options_;
  absl::Mutex mu_;
  std::deque<store::AuditRecord> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time stop_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::atomic<size_t> written_{0};
  std::atomic<size_t> refused_{0};
  std::atomic<size_t> append_failures_{0};
  std::thread thread_;

  absl::Mutex subscribers_mu_;  // Held while delivering.
  int64_t next_subscriber_ ABSL_GUARDED_BY(subscribers_mu_) = 1;
  std::map<int64_t, Delivery> subscribers_ ABSL_GUARDED_BY(subscribers_mu_);
};

}  // namespace certbroker::audit

#endif  // CERTBROKER_BROKER_AUDIT_AUDIT_WRITER_H_

// job_store.h: the transfer agent's journal: every job, as its
// certbroker.agent.v1.Job record, in an SQLite database (WAL,
// synchronous=FULL), so that a SIGKILL or a reboot loses no job and no
// acknowledged change.
#ifndef CERTBROKER_AGENTS_JOBS_JOB_STORE_H_
#define CERTBROKER_AGENTS_JOBS_JOB_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "certbroker/agent/v1/agent.pb.h"

namespace certbroker::store::sqlite {
class Connection;
}  // namespace certbroker::store::sqlite

namespace certbroker::jobs {

// JobStore is the open journal. Not thread-safe: the JobManager's loop
// thread is its only user.
class JobStore {
 public:
  // Open opens (creating it when missing) the journal at `path`. A file
  // that is not a database, or a journal of a newer schema, fails naming
  // the path; nothing is changed then.
  static absl::StatusOr<std::unique_ptr<JobStore>> Open(
      const std::string& path);
  ~JobStore();

  // LoadAll returns every journalled job, oldest first. A record that does
  // not parse fails with DATA_LOSS naming the job.
  absl::StatusOr<std::vector<agent::v1::Job>> LoadAll();

  // Put writes the jobs (inserted or replaced) in one durable transaction.
  absl::Status Put(const std::vector<const agent::v1::Job*>& jobs);
  absl::Status Put(const agent::v1::Job& job) { return Put({&job}); }

 private:
  explicit JobStore(std::unique_ptr<store::sqlite::Connection> connection);
  std::unique_ptr<store::sqlite::Connection> connection_;
};

}  // namespace certbroker::jobs

#endif  // CERTBROKER_AGENTS_JOBS_JOB_STORE_H_

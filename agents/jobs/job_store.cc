// JobStore: the jobs table (one serialized Job per row) and its schema
// version.
#include "agents/jobs/job_store.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/store/sqlite_connection.h"

namespace certbroker::jobs {
namespace {

using store::sqlite::Connection;
using store::sqlite::Transaction;

constexpr int kSchemaVersion = 1;
constexpr absl::Duration kBusyTimeout = absl::Seconds(5);

}  // namespace

absl::StatusOr<std::unique_ptr<JobStore>> JobStore::Open(
    const std::string& path) {
  CB_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                      Connection::Open(path, kBusyTimeout));
  CB_ASSIGN_OR_RETURN(std::string version_text,
                      connection->QueryText("reading the schema version",
                                            "PRAGMA user_version"));
  int version = 0;
  if (!absl::SimpleAtoi(version_text, &version)) version = -1;
  if (version > kSchemaVersion || version < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job journal ", path, " has schema version ", version_text,
        ", newer than this certbroker-agent's ", kSchemaVersion,
        ": use the newer certbroker-agent, or another --database"));
  }
  if (version == 0) {
    CB_RETURN_IF_ERROR(connection->Exec("creating the jobs table",
                                        "BEGIN IMMEDIATE;"
                                        "CREATE TABLE IF NOT EXISTS jobs ("
                                        "  id TEXT PRIMARY KEY,"
                                        "  created INTEGER NOT NULL,"
                                        "  job BLOB NOT NULL);"
                                        "PRAGMA user_version = 1;"
                                        "COMMIT;"));
  }
  return std::unique_ptr<JobStore>(new JobStore(std::move(connection)));
}

JobStore::JobStore(std::unique_ptr<Connection> connection)
    : connection_(std::move(connection)) {}

JobStore::~JobStore() = default;

absl::StatusOr<std::vector<agent::v1::Job>> JobStore::LoadAll() {
  CB_ASSIGN_OR_RETURN(
      auto statement,
      connection_->Prepare("SELECT id, job FROM jobs ORDER BY created, id"));
  std::vector<agent::v1::Job> jobs;
  while (true) {
    CB_ASSIGN_OR_RETURN(bool row, statement.Step("loading the jobs"));
    if (!row) break;
    agent::v1::Job job;
    if (!job.ParseFromString(statement.ColumnString(1)) ||
        job.id() != statement.ColumnString(0)) {
      return absl::DataLossError(absl::StrCat(
          "job journal ", connection_->path(), ": the record of job ",
          statement.ColumnString(0), " does not parse"));
    }
    jobs.push_back(std::move(job));
  }
  return jobs;
}

absl::Status JobStore::Put(const std::vector<const agent::v1::Job*>& jobs) {
  if (jobs.empty()) return absl::OkStatus();
  CB_ASSIGN_OR_RETURN(
      Transaction transaction,
      Transaction::Begin(*connection_, Transaction::Mode::kImmediate));
  for (const agent::v1::Job* job : jobs) {
    std::string record = job->SerializeAsString();
    CB_ASSIGN_OR_RETURN(
        auto statement,
        connection_->Prepare(
            "INSERT INTO jobs (id, created, job) VALUES (?1, ?2, ?3) "
            "ON CONFLICT (id) DO UPDATE SET job = excluded.job"));
    statement.BindText(1, job->id())
        .Bind(2, job->create_time().seconds() * 1000000000LL +
                     job->create_time().nanos())
        .BindBlob(3, record);
    CB_RETURN_IF_ERROR(
        statement.Run(absl::StrCat("journalling job ", job->id())));
  }
  return transaction.Commit();
}

}  // namespace certbroker::jobs

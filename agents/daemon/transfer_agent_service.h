// transfer_agent_service.h: the gRPC service (certbroker.agent.v1
// TransferAgent) of `certbroker-agent daemon`: a thin layer over a
// jobs::JobManager, which validates the requests and owns the jobs. Its
// statuses reach the caller with their codes and messages unchanged.
#ifndef CERTBROKER_AGENTS_DAEMON_TRANSFER_AGENT_SERVICE_H_
#define CERTBROKER_AGENTS_DAEMON_TRANSFER_AGENT_SERVICE_H_

#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agents/jobs/job_manager.h"
#include "certbroker/agent/v1/agent.grpc.pb.h"

namespace certbroker::daemon {

class JobWatch;

// TransferAgentService serves TransferAgent over `jobs`, which must outlive
// it and every call it started (destroy the manager after the server has
// shut down).
class TransferAgentService final
    : public agent::v1::TransferAgent::CallbackService {
 public:
  explicit TransferAgentService(jobs::JobManager& jobs) : jobs_(jobs) {}
  ~TransferAgentService() override;

  // StopWatches ends every open WatchJob stream with OK and refuses new
  // ones with UNAVAILABLE; call it before shutting the server down, or
  // Shutdown waits for the watches until its deadline.
  void StopWatches();

  grpc::ServerUnaryReactor* CreateJob(
      grpc::CallbackServerContext* context,
      const agent::v1::CreateJobRequest* request,
      agent::v1::Job* response) override;
  grpc::ServerUnaryReactor* AddFiles(grpc::CallbackServerContext* context,
                                     const agent::v1::AddFilesRequest* request,
                                     agent::v1::Job* response) override;
  grpc::ServerUnaryReactor* ResumeJob(grpc::CallbackServerContext* context,
                                      const agent::v1::JobRef* request,
                                      agent::v1::Job* response) override;
  grpc::ServerUnaryReactor* SuspendJob(grpc::CallbackServerContext* context,
                                       const agent::v1::JobRef* request,
                                       agent::v1::Job* response) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* context,
                                      const agent::v1::JobRef* request,
                                      agent::v1::Job* response) override;
  grpc::ServerUnaryReactor* CompleteJob(grpc::CallbackServerContext* context,
                                        const agent::v1::JobRef* request,
                                        agent::v1::Job* response) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* context,
                                   const agent::v1::JobRef* request,
                                   agent::v1::Job* response) override;
  grpc::ServerUnaryReactor* ListJobs(
      grpc::CallbackServerContext* context,
      const agent::v1::ListJobsRequest* request,
      agent::v1::ListJobsResponse* response) override;
  grpc::ServerWriteReactor<agent::v1::Job>* WatchJob(
      grpc::CallbackServerContext* context,
      const agent::v1::WatchJobRequest* request) override;

 private:
  friend class JobWatch;
  // Forget is called by a watch when its call is done.
  void Forget(JobWatch* watch);

  jobs::JobManager& jobs_;
  absl::Mutex mu_;
  std::set<JobWatch*> watches_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace certbroker::daemon

#endif  // CERTBROKER_AGENTS_DAEMON_TRANSFER_AGENT_SERVICE_H_

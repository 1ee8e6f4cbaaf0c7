// TransferAgentService: each unary call is one JobManager call whose
// status is the call's; WatchJob is a JobWatch.
#include "agents/daemon/transfer_agent_service.h"

#include <string>
#include <utility>

#include "agents/daemon/job_watch.h"
#include "broker/common/proto_duration.h"
#include "broker/service/refused_stream.h"

namespace certbroker::daemon {
namespace {

namespace v1 = ::certbroker::agent::v1;

// Answer finishes a unary call with `result`: its value, or its status with
// the absl code as the gRPC code.
template <typename Response>
grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                 absl::StatusOr<Response> result,
                                 Response* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (result.ok()) {
    *response = std::move(result).value();
    reactor->Finish(grpc::Status::OK);
  } else {
    reactor->Finish(
        grpc::Status(static_cast<grpc::StatusCode>(result.status().code()),
                     std::string(result.status().message())));
  }
  return reactor;
}

}  // namespace

TransferAgentService::~TransferAgentService() { StopWatches(); }

grpc::ServerUnaryReactor* TransferAgentService::CreateJob(
    grpc::CallbackServerContext* context, const v1::CreateJobRequest* request,
    v1::Job* response) {
  return Answer(context, jobs_.Create(*request), response);
}

grpc::ServerUnaryReactor* TransferAgentService::AddFiles(
    grpc::CallbackServerContext* context, const v1::AddFilesRequest* request,
    v1::Job* response) {
  return Answer(context, jobs_.AddFiles(*request), response);
}

grpc::ServerUnaryReactor* TransferAgentService::ResumeJob(
    grpc::CallbackServerContext* context, const v1::JobRef* request,
    v1::Job* response) {
  return Answer(context, jobs_.Resume(request->job_id()), response);
}

grpc::ServerUnaryReactor* TransferAgentService::SuspendJob(
    grpc::CallbackServerContext* context, const v1::JobRef* request,
    v1::Job* response) {
  return Answer(context, jobs_.Suspend(request->job_id()), response);
}

grpc::ServerUnaryReactor* TransferAgentService::CancelJob(
    grpc::CallbackServerContext* context, const v1::JobRef* request,
    v1::Job* response) {
  return Answer(context, jobs_.Cancel(request->job_id()), response);
}

grpc::ServerUnaryReactor* TransferAgentService::CompleteJob(
    grpc::CallbackServerContext* context, const v1::JobRef* request,
    v1::Job* response) {
  return Answer(context, jobs_.Complete(request->job_id()), response);
}

grpc::ServerUnaryReactor* TransferAgentService::GetJob(
    grpc::CallbackServerContext* context, const v1::JobRef* request,
    v1::Job* response) {
  return Answer(context, jobs_.Get(request->job_id()), response);
}

grpc::ServerUnaryReactor* TransferAgentService::ListJobs(
    grpc::CallbackServerContext* context, const v1::ListJobsRequest* request,
    v1::ListJobsResponse* response) {
  v1::ListJobsResponse list;
  for (v1::Job& job : jobs_.List(request->include_ended())) {
    *list.add_jobs() = std::move(job);
  }
  return Answer(context, absl::StatusOr<v1::ListJobsResponse>(std::move(list)),
                response);
}

grpc::ServerWriteReactor<v1::Job>* TransferAgentService::WatchJob(
    grpc::CallbackServerContext* context, const v1::WatchJobRequest* request) {
  using Refused = service::RefusedStream<v1::Job>;
  absl::Duration interval = absl::Seconds(1);
  if (request->has_progress_interval()) {
    interval = ToDuration(request->progress_interval());
    if (interval < absl::ZeroDuration()) {
      return new Refused(
          absl::InvalidArgumentError("progress_interval must not be negative"));
    }
  }
  auto* watch = new JobWatch(*this, jobs_, *request);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      delete watch;
      return new Refused(
          absl::UnavailableError("the agent daemon is shutting down"));
    }
    watches_.insert(watch);
  }
  absl::Status started = watch->Start(request->job_id(), interval);
  if (!started.ok()) {
    // Never started, so gRPC will not call its OnDone.
    {
      absl::MutexLock lock(&mu_);
      watches_.erase(watch);
    }
    delete watch;
    return new Refused(started);
  }
  return watch;
}

void TransferAgentService::StopWatches() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  for (JobWatch* watch : watches_) watch->Stop();
}

void TransferAgentService::Forget(JobWatch* watch) {
  absl::MutexLock lock(&mu_);
  watches_.erase(watch);
}

}  // namespace certbroker::daemon

// HealthStatus: one grpc.health.v1.Health/Check call with its two tiny
// messages encoded by hand, so tests and benchmarks need no health proto.
#ifndef CERTBROKER_TESTS_SUPPORT_HEALTH_PROBE_H_
#define CERTBROKER_TESTS_SUPPORT_HEALTH_PROBE_H_

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"

namespace certbroker::testing {

// HealthStatus returns the serving status of `service` ("" for the whole
// server) on `channel`: 1 SERVING, 2 NOT_SERVING, 0 UNKNOWN, -1 on error.
int HealthStatus(const std::shared_ptr<grpc::Channel>& channel,
                 const std::string& service);

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_SUPPORT_HEALTH_PROBE_H_

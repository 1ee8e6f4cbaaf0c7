// Probes of gRPC's standard services with their few message fields encoded
// by hand, so tests and benchmarks need neither the health nor the
// reflection proto (Debian ships neither for C++ or Python clients).
#ifndef CERTBROKER_TESTS_SUPPORT_GRPC_PROBES_H_
#define CERTBROKER_TESTS_SUPPORT_GRPC_PROBES_H_

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"

namespace certbroker::testing {

// RawUnaryCall makes one unary call of `method` ("/pkg.Service/Method")
// with the serialized `request`, filling `response` with the serialized
// reply. Returns false on any error; 10 s deadline.
bool RawUnaryCall(const std::shared_ptr<grpc::Channel>& channel,
                  const std::string& method, const std::string& request,
                  std::string& response);

// HealthStatus returns the serving status of `service` ("" for the whole
// server) on `channel`: 1 SERVING, 2 NOT_SERVING, 0 UNKNOWN, -1 on error.
int HealthStatus(const std::shared_ptr<grpc::Channel>& channel,
                 const std::string& service);

// ReflectionServiceList asks grpc.reflection.v1alpha for the list of
// services and returns the raw response bytes (service names appear in it
// verbatim), or an empty string on error.
std::string ReflectionServiceList(
    const std::shared_ptr<grpc::Channel>& channel);

}  // namespace certbroker::testing

#endif  // CERTBROKER_TESTS_SUPPORT_GRPC_PROBES_H_

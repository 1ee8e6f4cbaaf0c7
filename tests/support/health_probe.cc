// A hand-encoded grpc.health.v1 Check call.
#include "tests/support/health_probe.h"

#include <future>

#include "grpcpp/generic/generic_stub.h"

namespace certbroker::testing {

int HealthStatus(const std::shared_ptr<grpc::Channel>& channel,
                 const std::string& service) {
  grpc::GenericStub stub(channel);
  // HealthCheckRequest{service = 1}: tag 0x0a, length, bytes.
  std::string request =
      std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request_buffer, &response_buffer,
                 [&done](grpc::Status status) { done.set_value(status); });
  if (!done.get_future().get().ok()) return -1;
  std::vector<grpc::Slice> slices;
  response_buffer.Dump(&slices);
  std::string response;
  for (const auto& part : slices) {
    response.append(reinterpret_cast<const char*>(part.begin()), part.size());
  }
  // HealthCheckResponse{status = 1}: tag 0x08, varint; empty means 0.
  if (response.size() == 2 && response[0] == '\x08') return response[1];
  return response.empty() ? 0 : -1;
}

}  // namespace certbroker::testing

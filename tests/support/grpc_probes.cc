// Hand-encoded calls to grpc.health.v1 and grpc.reflection.v1alpha.
#include "tests/support/grpc_probes.h"

#include <future>

#include "grpcpp/generic/generic_stub.h"

namespace certbroker::testing {
namespace {

std::string Flatten(grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  buffer.Dump(&slices);
  std::string bytes;
  for (const auto& part : slices) {
    bytes.append(reinterpret_cast<const char*>(part.begin()), part.size());
  }
  return bytes;
}

// OneExchange writes one message on a bidi stream, half-closes, and keeps
// the first message it reads.
class OneExchange final
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit OneExchange(const std::string& request) {
    grpc::Slice slice(request);
    request_ = grpc::ByteBuffer(&slice, 1);
  }
  void Start() {
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (ok) received_ = Flatten(response_);
  }
  void OnDone(const grpc::Status& status) override {
    done_.set_value(status.ok());
  }
  std::string Wait() {
    return done_.get_future().get() ? received_ : std::string();
  }

 private:
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::string received_;
  std::promise<bool> done_;
};

}  // namespace

bool RawUnaryCall(const std::shared_ptr<grpc::Channel>& channel,
                  const std::string& method, const std::string& request,
                  std::string& response) {
  grpc::GenericStub stub(channel);
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request_buffer,
                 &response_buffer,
                 [&done](grpc::Status status) { done.set_value(status); });
  if (!done.get_future().get().ok()) return false;
  response = Flatten(response_buffer);
  return true;
}

int HealthStatus(const std::shared_ptr<grpc::Channel>& channel,
                 const std::string& service) {
  // HealthCheckRequest{service = 1}: tag 0x0a, length, bytes.
  std::string request =
      std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
  std::string response;
  if (!RawUnaryCall(channel, "/grpc.health.v1.Health/Check", request, response))
    return -1;
  // HealthCheckResponse{status = 1}: tag 0x08, varint; empty means 0.
  if (response.size() == 2 && response[0] == '\x08') return response[1];
  return response.empty() ? 0 : -1;
}

std::string ReflectionServiceList(
    const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  // ServerReflectionRequest{list_services = 7: ""}.
  OneExchange exchange(std::string("\x3a\x00", 2));
  stub.PrepareBidiStreamingCall(
      &context,
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      grpc::StubOptions(), &exchange);
  exchange.Start();
  return exchange.Wait();
}

}  // namespace certbroker::testing

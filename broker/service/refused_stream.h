// RefusedStream: a server-streaming reactor that ends its call at once with
// an error, for streams refused before they start (at the door, or on a
// malformed request).
#ifndef CERTBROKER_BROKER_SERVICE_REFUSED_STREAM_H_
#define CERTBROKER_BROKER_SERVICE_REFUSED_STREAM_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::service {

// RefusedStream finishes with `status` (its absl code as the gRPC code) and
// deletes itself when the call is done.
template <typename Message>
class RefusedStream final : public grpc::ServerWriteReactor<Message> {
 public:
  explicit RefusedStream(const absl::Status& status) {
    this->Finish(grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                              std::string(status.message())));
  }
  void OnDone() override { delete this; }
};

}  // namespace certbroker::service

#endif  // CERTBROKER_BROKER_SERVICE_REFUSED_STREAM_H_

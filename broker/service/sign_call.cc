// CertificateBroker.Sign: keyless signing with the key of a non-exportable
// client certificate, through a key handle GetClientCertificate gave out.
#include "broker/service/certificate_broker_service.h"

namespace certbroker::service {

grpc::ServerUnaryReactor* CertificateBrokerService::Sign(
    grpc::CallbackServerContext* context,
    const ::certbroker::v1::SignRequest* request,
    ::certbroker::v1::SignResponse* response) {
  return ServeUnary(door_, audit_, context, "Sign", [&](Decision&) {
    return absl::UnimplementedError("Sign is not implemented yet");
  });
}

}  // namespace certbroker::service

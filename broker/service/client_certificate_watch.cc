// CertificateBroker.WatchClientCertificate: the answer GetClientCertificate
// would give, pushed again whenever it changes.
#include "broker/service/certificate_broker_service.h"
#include "broker/service/refused_stream.h"

namespace certbroker::service {

grpc::ServerWriteReactor<::certbroker::v1::WatchClientCertificateResponse>*
CertificateBrokerService::WatchClientCertificate(
    grpc::CallbackServerContext* context,
    const ::certbroker::v1::WatchClientCertificateRequest* request) {
  return new RefusedStream<::certbroker::v1::WatchClientCertificateResponse>(
      absl::UnimplementedError("WatchClientCertificate is not implemented yet"));
}

}  // namespace certbroker::service

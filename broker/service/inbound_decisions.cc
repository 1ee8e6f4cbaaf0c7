// CertificateBroker's TLS-server side: GetNegotiationPolicy (ask a
// connecting client for a certificate?) and OnClientCertificate (accept the
// one it sent?), judged by the policy's inbound rules.
#include "broker/service/certificate_broker_service.h"

namespace certbroker::service {

grpc::ServerUnaryReactor* CertificateBrokerService::GetNegotiationPolicy(
    grpc::CallbackServerContext* context,
    const ::certbroker::v1::GetNegotiationPolicyRequest* request,
    ::certbroker::v1::GetNegotiationPolicyResponse* response) {
  return ServeUnary(door_, audit_, context, "GetNegotiationPolicy",
                    [&](Decision&) {
                      return absl::UnimplementedError(
                          "GetNegotiationPolicy is not implemented yet");
                    });
}

grpc::ServerUnaryReactor* CertificateBrokerService::OnClientCertificate(
    grpc::CallbackServerContext* context,
    const ::certbroker::v1::OnClientCertificateRequest* request,
    ::certbroker::v1::OnClientCertificateResponse* response) {
  return ServeUnary(door_, audit_, context, "OnClientCertificate",
                    [&](Decision&) {
                      return absl::UnimplementedError(
                          "OnClientCertificate is not implemented yet");
                    });
}

}  // namespace certbroker::service

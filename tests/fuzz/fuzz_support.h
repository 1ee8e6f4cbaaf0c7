// What the fuzz targets share: the fixed PKI that make_corpus wrote into
// tests/fuzz/data (so that the committed seeds chain to the trust store the
// targets build), the fixed validation time that PKI is valid at, the
// framing that splits one fuzz input into several byte strings, and
// running a service handler to completion without a network.
#ifndef CERTBROKER_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define CERTBROKER_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/config/config_loader.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::fuzz {

// FixedPkiValidFrom and FixedPkiValidUntil bound every certificate of the
// fixed PKI; FixedNow lies between them and is the time every target
// validates at, so the seeds stay valid and the targets deterministic.
absl::Time FixedPkiValidFrom();
absl::Time FixedPkiValidUntil();
absl::Time FixedNow();

// kPkcs12Password is the password of the PKCS#12 seeds and the one the
// PKCS#12 target decrypts with.
inline constexpr char kPkcs12Password[] = "fuzz";

// DataFile returns the contents of tests/fuzz/data/`name`; aborts when it
// cannot be read (the build is broken, not the input).
std::string DataFile(absl::string_view name);

// Frames: a fuzz input as a sequence of records, each a big-endian 16-bit
// length and that many bytes; the last record takes what is left when its
// length runs past the end. WriteFrames is the inverse, for make_corpus.
std::vector<absl::string_view> ReadFrames(absl::string_view input,
                                          size_t max_frames);
std::string WriteFrames(const std::vector<std::string>& frames);

// Calls: a fuzz input as a sequence of calls, each a method selector byte
// followed by one frame (the serialized request).
struct Call {
  uint8_t method;
  absl::string_view request;
};
std::vector<Call> ReadCalls(absl::string_view input, size_t max_calls);
std::string WriteCall(uint8_t method, const std::string& request);

// RelativizePaths turns every file and directory path of `config` into a
// relative one (dropping leading '/'), so that a fuzzed configuration never
// reads the machine's files: with no base directory, relative paths fail
// the way a bad path does. Returns true when it changed something.
bool RelativizePaths(config::BrokerConfig& config);

// HasAbsolutePaths is true when the YAML or JSON policy `text` parses and
// names a file or directory by an absolute path (the service targets skip
// such documents rather than read the machine's files).
bool HasAbsolutePaths(absl::string_view text);

// CompleteCall does for a unary handler's returned reactor what gRPC does
// once the handler returns: it binds the reactor to the call (which
// delivers the Finish the handler asked for), and, the status being sent,
// tells the reactor the call is done (the broker's reactors then leave the
// call count and delete themselves). Returns the status; aborts when the
// handler never finished the call (a call that would hang).
grpc::Status CompleteCall(grpc::ServerUnaryReactor* reactor);

// CheckResponse aborts when `response` does not survive the wire: gRPC
// serializes it with any strings that are not UTF-8 (logging an error), and
// the client then cannot parse it.
void CheckResponse(const google::protobuf::Message& response,
                   absl::string_view rpc);

// Serve runs one unary call: parses `bytes` as a Request (skipping bytes
// gRPC would refuse), calls `handler(context, request, response)`, completes
// the call, and checks the response of a successful call.
template <typename Request, typename Response, typename Handler>
void Serve(absl::string_view rpc, absl::string_view bytes, Handler handler) {
  Request request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return;
  }
  Response response;
  grpc::CallbackServerContext context;
  grpc::Status status = CompleteCall(handler(&context, &request, &response));
  if (status.ok()) CheckResponse(response, rpc);
}

}  // namespace certbroker::fuzz

#endif  // CERTBROKER_TESTS_FUZZ_FUZZ_SUPPORT_H_

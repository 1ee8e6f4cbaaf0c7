// Shared pieces of the fuzz targets; see fuzz_support.h.
#include "tests/fuzz/fuzz_support.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/common/file.h"
#include "google/protobuf/descriptor.h"

namespace certbroker::fuzz {

absl::Time FixedPkiValidFrom() { return absl::FromUnixSeconds(1767225600); }
absl::Time FixedPkiValidUntil() { return absl::FromUnixSeconds(2082758400); }
absl::Time FixedNow() { return absl::FromUnixSeconds(1798761600); }

std::string DataFile(absl::string_view name) {
  std::string path = absl::StrCat(CERTBROKER_FUZZ_DATA_DIR, "/", name);
  auto contents = ReadFile(path);
  if (!contents.ok()) {
    std::fprintf(stderr, "fuzz data: %s\n",
                 std::string(contents.status().message()).c_str());
    std::abort();
  }
  return *std::move(contents);
}

std::vector<absl::string_view> ReadFrames(absl::string_view input,
                                          size_t max_frames) {
  std::vector<absl::string_view> frames;
  while (input.size() >= 2 && frames.size() < max_frames) {
    size_t length =
        (static_cast<uint8_t>(input[0]) << 8) | static_cast<uint8_t>(input[1]);
    input.remove_prefix(2);
    length = std::min(length, input.size());
    frames.push_back(input.substr(0, length));
    input.remove_prefix(length);
  }
  return frames;
}

std::string WriteFrames(const std::vector<std::string>& frames) {
  std::string out;
  for (const std::string& frame : frames) {
    if (frame.size() > 0xffff) std::abort();
    out.push_back(static_cast<char>(frame.size() >> 8));
    out.push_back(static_cast<char>(frame.size() & 0xff));
    out.append(frame);
  }
  return out;
}

std::vector<Call> ReadCalls(absl::string_view input, size_t max_calls) {
  std::vector<Call> calls;
  while (!input.empty() && calls.size() < max_calls) {
    uint8_t method = static_cast<uint8_t>(input[0]);
    input.remove_prefix(1);
    std::vector<absl::string_view> frame = ReadFrames(input, 1);
    absl::string_view request = frame.empty() ? absl::string_view() : frame[0];
    calls.push_back({method, request});
    if (frame.empty()) break;
    input.remove_prefix(2 + request.size());
  }
  return calls;
}

std::string WriteCall(uint8_t method, const std::string& request) {
  return absl::StrCat(std::string(1, static_cast<char>(method)),
                      WriteFrames({request}));
}

namespace {

bool Relativize(std::string& path) {
  size_t slashes = path.find_first_not_of('/');
  if (slashes == 0) return false;
  path.erase(0, slashes == std::string::npos ? path.size() : slashes);
  if (path.empty()) path = "absolute";
  return true;
}

bool IsPathField(const google::protobuf::FieldDescriptor& field) {
  if (field.type() != google::protobuf::FieldDescriptor::TYPE_STRING) {
    return false;
  }
  absl::string_view name = field.name();
  return name == "file" || absl::EndsWith(name, "_file") ||
         absl::EndsWith(name, "_dir");
}

// RelativizeMessage walks `message` by reflection, so that path fields the
// schema gains later are covered too.
bool RelativizeMessage(google::protobuf::Message& message) {
  const google::protobuf::Reflection& reflection = *message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection.ListFields(message, &fields);
  bool changed = false;
  for (const google::protobuf::FieldDescriptor* field : fields) {
    if (field->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection.FieldSize(message, field); ++i) {
          changed |= RelativizeMessage(
              *reflection.MutableRepeatedMessage(&message, field, i));
        }
      } else {
        changed |=
            RelativizeMessage(*reflection.MutableMessage(&message, field));
      }
    } else if (IsPathField(*field) && !field->is_repeated()) {
      std::string path = reflection.GetString(message, field);
      if (Relativize(path)) {
        reflection.SetString(&message, field, std::move(path));
        changed = true;
      }
    }
  }
  return changed;
}

}  // namespace

bool RelativizePaths(config::BrokerConfig& config) {
  return RelativizeMessage(config);
}

bool HasAbsolutePaths(absl::string_view text) {
  auto config = config::ParseConfigDocument(text, "fuzz");
  return config.ok() && RelativizePaths(*config);
}

namespace {

// UnaryCall stands in for gRPC's own call object behind a unary reactor.
class UnaryCall final : public grpc::ServerCallbackUnary {
 public:
  explicit UnaryCall(grpc::ServerUnaryReactor* reactor) : reactor_(reactor) {}

  grpc::Status Complete() {
    BindReactor(reactor_);
    if (!finished_) {
      std::fprintf(stderr, "a handler returned without finishing its call\n");
      std::abort();
    }
    reactor_->OnDone();
    return status_;
  }

  void Finish(grpc::Status status) override {
    status_ = std::move(status);
    finished_ = true;
  }
  void SendInitialMetadata() override {}

 private:
  grpc::internal::ServerReactor* reactor() override { return reactor_; }
  void CallOnDone() override { reactor_->OnDone(); }

  grpc::ServerUnaryReactor* reactor_;
  grpc::Status status_;
  bool finished_ = false;
};

}  // namespace

grpc::Status CompleteCall(grpc::ServerUnaryReactor* reactor) {
  if (reactor == nullptr) {
    std::fprintf(stderr, "a handler returned no reactor\n");
    std::abort();
  }
  return UnaryCall(reactor).Complete();
}

void CheckResponse(const google::protobuf::Message& response,
                   absl::string_view rpc) {
  std::string wire = response.SerializeAsString();
  std::unique_ptr<google::protobuf::Message> parsed(response.New());
  if (!parsed->ParseFromString(wire)) {
    std::fprintf(stderr,
                 "the %s response does not parse after serialization (a "
                 "string field that is not UTF-8?): %s\n",
                 std::string(rpc).c_str(), response.ShortDebugString().c_str());
    std::abort();
  }
}

}  // namespace certbroker::fuzz

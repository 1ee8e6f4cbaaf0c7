// Conversions between protobuf's google.protobuf.Duration and absl::Duration,
// shared by the configuration compiler and the services.
#ifndef CERTBROKER_BROKER_COMMON_PROTO_DURATION_H_
#define CERTBROKER_BROKER_COMMON_PROTO_DURATION_H_

#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"

namespace certbroker {

// ToDuration converts a protobuf Duration (seconds and nanos).
absl::Duration ToDuration(const google::protobuf::Duration& duration);

// SetWholeSeconds sets `out` to `duration` in whole seconds, rounded down,
// and never negative (the form cache TTLs are given in).
void SetWholeSeconds(absl::Duration duration, google::protobuf::Duration& out);

}  // namespace certbroker

#endif  // CERTBROKER_BROKER_COMMON_PROTO_DURATION_H_

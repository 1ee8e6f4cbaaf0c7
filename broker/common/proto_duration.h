// Conversions between protobuf's google.protobuf.Duration / Timestamp and
// absl::Duration / absl::Time, shared by the configuration compiler, the
// services and the transfer agent.
#ifndef CERTBROKER_BROKER_COMMON_PROTO_DURATION_H_
#define CERTBROKER_BROKER_COMMON_PROTO_DURATION_H_

#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace certbroker {

// ToDuration converts a protobuf Duration (seconds and nanos).
absl::Duration ToDuration(const google::protobuf::Duration& duration);

// SetWholeSeconds sets `out` to `duration` in whole seconds, rounded down,
// and never negative (the form cache TTLs are given in).
void SetWholeSeconds(absl::Duration duration, google::protobuf::Duration& out);

// SetTimestamp sets `out` to `time`.
void SetTimestamp(absl::Time time, google::protobuf::Timestamp& out);

// FromTimestamp converts a protobuf Timestamp.
absl::Time FromTimestamp(const google::protobuf::Timestamp& timestamp);

}  // namespace certbroker

#endif  // CERTBROKER_BROKER_COMMON_PROTO_DURATION_H_

// Protobuf Duration and Timestamp conversions.
#include "broker/common/proto_duration.h"

#include <algorithm>

namespace certbroker {

absl::Duration ToDuration(const google::protobuf::Duration& duration) {
  return absl::Seconds(duration.seconds()) +
         absl::Nanoseconds(duration.nanos());
}

void SetWholeSeconds(absl::Duration duration, google::protobuf::Duration& out) {
  out.set_seconds(
      absl::ToInt64Seconds(std::max(duration, absl::ZeroDuration())));
  out.set_nanos(0);
}

void SetTimestamp(absl::Time time, google::protobuf::Timestamp& out) {
  out.set_seconds(absl::ToUnixSeconds(time));
  out.set_nanos(static_cast<int32_t>(
      (time - absl::FromUnixSeconds(out.seconds())) / absl::Nanoseconds(1)));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

}  // namespace certbroker

// Protobuf Duration conversions.
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

}  // namespace certbroker

// How certbrokerctl prints what the broker answers: protobuf JSON for
// `-o json`, and the formats its tables share (times, labels, yes/no).
#ifndef CERTBROKER_BROKER_CTL_OUTPUT_H_
#define CERTBROKER_BROKER_CTL_OUTPUT_H_

#include <string>

#include "google/protobuf/map.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace certbroker::ctl {

// JsonLine returns `message` as one line of protobuf JSON with the proto
// field names and every field, defaults included (as `simulate` prints).
std::string JsonLine(const google::protobuf::Message& message);

// PrintJson prints JsonLine(message) and a line break to stdout.
void PrintJson(const google::protobuf::Message& message);

// PrintText prints `text` to stdout as is.
void PrintText(const std::string& text);

// FormatTimestamp returns "2025-06-01T12:00:00Z" (UTC), or "" when unset.
std::string FormatTimestamp(const google::protobuf::Timestamp& timestamp);

// FormatLabels returns "k1=v1,k2=v2" in key order.
std::string FormatLabels(
    const google::protobuf::Map<std::string, std::string>& labels);

// YesNo returns "yes" or "no".
inline const char* YesNo(bool value) { return value ? "yes" : "no"; }

}  // namespace certbroker::ctl

#endif  // CERTBROKER_BROKER_CTL_OUTPUT_H_

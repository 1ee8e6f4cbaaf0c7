// Target resolution: the API's Target (url, host, port, sni) reduced to the
// scheme, host, port and SNI that rules match, with errors that name the
// field that is wrong.
#ifndef CERTBROKER_BROKER_POLICY_TARGET_H_
#define CERTBROKER_BROKER_POLICY_TARGET_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "certbroker/v1/broker.pb.h"

namespace certbroker::policy {

// ResolvedTarget is a validated, normalized target.
struct ResolvedTarget {
  std::string scheme;  // Lowercase; "https" when no URL was given.
  std::string host;    // NormalizeHost form: DNS name or IP literal.
  uint32_t port = 0;   // 1-65535.
  std::string sni;     // Normalized; empty when not given.
  bool host_is_ip = false;
  // agent is the caller's authenticated identity; empty until callers are
  // authenticated. Rules naming agents match only a caller they select.
  std::string agent;

  // ToString renders "scheme://host:port" for logs.
  std::string ToString() const;
};

// ResolveTarget validates and normalizes `target`. Fails with
// INVALID_ARGUMENT naming the field ("target.url: ...", "target.port: ...")
// when the URL does not parse, the host is missing or malformed, the port
// is out of range, or the URL and the explicit fields disagree.
absl::StatusOr<ResolvedTarget> ResolveTarget(
    const ::certbroker::v1::Target& target);

}  // namespace certbroker::policy

#endif  // CERTBROKER_BROKER_POLICY_TARGET_H_

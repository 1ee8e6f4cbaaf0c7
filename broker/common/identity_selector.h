// Identity selectors: how rules and role bindings name callers. A selector
// is an exact identity ("spiffe://corp.example/ns/pay/sa/web"), "*" (any
// authenticated caller), a prefix ending in "*" ("spiffe://corp.example/ns/
// pay/*": everything below), or a pattern whose inner "*" stands for one
// whole path segment ("spiffe://corp.example/ns/*/sa/web": that service
// account in any namespace).
#ifndef CERTBROKER_BROKER_COMMON_IDENTITY_SELECTOR_H_
#define CERTBROKER_BROKER_COMMON_IDENTITY_SELECTOR_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace certbroker {

// SelectorProblem says why `selector` is not a valid selector (empty,
// whitespace, a "*" that is neither the last character nor a whole path
// segment), or nullopt when it is valid.
std::optional<std::string> SelectorProblem(absl::string_view selector);

// SelectorMatches is true when `identity` (non-empty) is selected by a
// valid `selector`. An empty identity (an unauthenticated caller) matches
// nothing.
bool SelectorMatches(absl::string_view selector, absl::string_view identity);

// SelectorsMayOverlap is true when some identity might match both
// selectors. It errs towards true: selectors whose literal text before the
// first "*" is a prefix of the other's are taken to overlap.
bool SelectorsMayOverlap(absl::string_view a, absl::string_view b);

}  // namespace certbroker

#endif  // CERTBROKER_BROKER_COMMON_IDENTITY_SELECTOR_H_

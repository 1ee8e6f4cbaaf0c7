// Name constraints (RFC 5280 4.2.1.10) over DNS names and IP addresses.
// This BoringSSL checks DNS, email, URI and directory-name constraints but
// answers "unsupported constraint type" for IP ones; when it does, the
// validator asks this checker, which applies every DNS and IP constraint of
// every CA in the path to every certificate below it.
#ifndef CERTBROKER_BROKER_VALIDATION_NAME_CONSTRAINTS_H_
#define CERTBROKER_BROKER_VALIDATION_NAME_CONSTRAINTS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "broker/x509/boringssl.h"

namespace certbroker::validation {

// NameConstraintViolation returns, for a built path (leaf first, root
// last), a description of the first name outside a permitted subtree or
// inside an excluded one, or of a constraint type it cannot evaluate; or
// nullopt when every DNS and IP subject alternative name conforms.
// `describe` names a certificate of the path by its position.
std::optional<std::string> NameConstraintViolation(
    const std::vector<const X509*>& path,
    const std::function<std::string(const X509*)>& describe);

}  // namespace certbroker::validation

#endif  // CERTBROKER_BROKER_VALIDATION_NAME_CONSTRAINTS_H_

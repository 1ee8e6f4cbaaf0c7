// Early-return helpers for absl::Status and absl::StatusOr. Our abseil
// (20220623) has no RETURN_IF_ERROR / ASSIGN_OR_RETURN, so they live here,
// once.
#ifndef CERTBROKER_BROKER_COMMON_STATUS_MACROS_H_
#define CERTBROKER_BROKER_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// CB_RETURN_IF_ERROR returns the status of `expr` from the enclosing function
// when it is not OK.
#define CB_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status cb_status_ = (expr);      \
    if (!cb_status_.ok()) return cb_status_; \
  } while (false)

#define CB_STATUS_MACROS_CONCAT_INNER(a, b) a##b
#define CB_STATUS_MACROS_CONCAT(a, b) CB_STATUS_MACROS_CONCAT_INNER(a, b)

// CB_ASSIGN_OR_RETURN(lhs, expr) evaluates `expr` (an absl::StatusOr<T>),
// returns its status when it is not OK, and otherwise moves its value into
// `lhs`, which may be a declaration ("auto x").
#define CB_ASSIGN_OR_RETURN(lhs, expr)                                      \
  CB_ASSIGN_OR_RETURN_IMPL(CB_STATUS_MACROS_CONCAT(cb_statusor_, __LINE__), \
                           lhs, expr)
#define CB_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr)      \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // CERTBROKER_BROKER_COMMON_STATUS_MACROS_H_

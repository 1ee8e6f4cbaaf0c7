// The SQLite store's schema and its migrations. The schema's version is the
// highest row of the schema_migrations table; opening a database applies
// the missing migrations in one write transaction and refuses a database
// written by a newer certbrokerd.
#ifndef CERTBROKER_BROKER_STORE_SQLITE_SCHEMA_H_
#define CERTBROKER_BROKER_STORE_SQLITE_SCHEMA_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "broker/store/sqlite_connection.h"

namespace certbroker::store::sqlite {

// kSchemaVersion is the version this build writes: the number of
// migrations it knows.
inline constexpr int64_t kSchemaVersion = 1;

// Migrate brings the database of `connection` to kSchemaVersion, recording
// each migration with the time `now`. All of it happens in one immediate
// transaction, so a failure (or a crash) leaves the database as it was.
// FAILED_PRECONDITION naming both versions when the database's schema is
// newer than kSchemaVersion; nothing is written then.
absl::Status Migrate(Connection& connection, absl::Time now);

}  // namespace certbroker::store::sqlite

#endif  // CERTBROKER_BROKER_STORE_SQLITE_SCHEMA_H_

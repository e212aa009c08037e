// Umbrella header of the CSQLite system-library module (STYLE.md rule 4).
//
// Swift imports functions and simple constants from <sqlite3.h>, but not macros that expand to casts,
// nor variadic functions. The few Storage needs are re-exposed here as static inline functions, so that
// the Swift side never re-derives them by hand (e.g. with unsafeBitCast of -1).
#ifndef SOCKPIT_CSQLITE_SHIM_H
#define SOCKPIT_CSQLITE_SHIM_H

#include <sqlite3.h>

/// `SQLITE_TRANSIENT`: asks SQLite to copy bound text/blob bytes before the bind call returns, because
/// Swift only guarantees the buffer for the duration of the `withUnsafe...` closure that lends it.
static inline sqlite3_destructor_type sockpit_sqlite_transient(void) {
    return SQLITE_TRANSIENT;
}

/// Turns off double-quoted string literals for DDL and DML (`sqlite3_db_config` is variadic).
/// Without this, a misspelt "column" in double quotes silently becomes a string instead of an error.
/// Returns the first non-OK result code, or SQLITE_OK.
static inline int sockpit_sqlite_disable_double_quoted_strings(sqlite3 *db) {
#if SQLITE_VERSION_NUMBER >= 3029000
    int rc = sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)0);
    if (rc != SQLITE_OK) return rc;
    return sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)0);
#else
    (void)db;
    return SQLITE_OK;
#endif
}

/// Extended result codes are macros built with `|` and `<<`, which Swift does not import. These are
/// the ones repositories tell apart (a duplicate id vs. a missing parent vs. a CHECK).
static const int sockpit_sqlite_constraint_check = SQLITE_CONSTRAINT_CHECK;
static const int sockpit_sqlite_constraint_foreignkey = SQLITE_CONSTRAINT_FOREIGNKEY;
static const int sockpit_sqlite_constraint_notnull = SQLITE_CONSTRAINT_NOTNULL;
static const int sockpit_sqlite_constraint_primarykey = SQLITE_CONSTRAINT_PRIMARYKEY;
static const int sockpit_sqlite_constraint_unique = SQLITE_CONSTRAINT_UNIQUE;

#endif /* SOCKPIT_CSQLITE_SHIM_H */

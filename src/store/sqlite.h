/* The SQLite store backend (docs/architecture.md, "SQLite schema"). The
 * function table is constant; each opened store owns its connection and its
 * cached statements until close. */
#ifndef ESPSYNC_STORE_SQLITE_H
#define ESPSYNC_STORE_SQLITE_H

#include "store/store.h"

/* Schema version this build creates and migrates older databases to. */
#define STORE_SQLITE_SCHEMA_VERSION 4

/* open() takes "sqlite:PATH" or a bare PATH. */
extern const struct store_ops sqlite_store_ops;

/* Its entry in the store registry. */
extern const struct store_backend sqlite_store_backend;

#endif

/* The PostgreSQL store backend (docs/architecture.md, "PostgreSQL"). Same
 * meaning as the SQLite store for every op; email_activities is partitioned
 * by day. The helpers below need no server and are unit-tested. */
#ifndef ESPSYNC_STORE_POSTGRESQL_H
#define ESPSYNC_STORE_POSTGRESQL_H

#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

/* Schema version this build creates and migrates older databases to. */
#define STORE_PG_SCHEMA_VERSION 3
/* Days of email_activities kept when the URL says nothing. */
#define STORE_PG_RETENTION_DAYS 730

/* open() takes postgresql://... or postgres://... (libpq URI syntax; an
 * empty host, user or database falls back to PGHOST, PGUSER, ...; a bare
 * "postgresql://" takes everything from them) with one extra query
 * parameter: retention_days=N (0 keeps everything), which wins over
 * opts->retention_days; neither: STORE_PG_RETENTION_DAYS. */
extern const struct store_ops postgresql_store_ops;

/* Removes espsync's own query parameters from url: *conninfo (caller
 * frees) is what libpq gets; *retention_days is the parsed value, left
 * as it was when the URL has none. ERR_CONFIG on a malformed
 * retention_days. */
int pg_split_url(const char *url, char **conninfo, int *retention_days,
		 struct err *err);

/* "email_activities_pYYYYMMDD" for the UTC day holding epoch second t;
 * out holds at least 32 bytes. */
void pg_partition_name(int64_t t, char *out);

/* Appends s as one field of COPY text format (backslash, tab, newline and
 * carriage return escaped); NULL as \N. -1 when b is full. */
int pg_copy_field(struct buf *b, const char *s);

/* Its entry in the store registry. */
extern const struct store_backend postgresql_store_backend;

#endif

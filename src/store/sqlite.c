/* The SQLite store: opening (WAL, schema check), the cached statements and
 * transactions, and the function table. The store's other files are
 * sqlite_schema.c (migrations), sqlite_write.c (upserts, checkpoints, runs,
 * contact reconciliation) and sqlite_read.c (state, runs, export and stats
 * reads); they and this file are the only ones that include sqlite3.h. */
#include "store/sqlite_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/xalloc.h"
#include "util/banned.h"

static const char *const fixed_sql[ST__COUNT - ST_BEGIN] = {
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "INSERT INTO sync_state (provider, account, stream, value, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (provider, account, stream)"
    " DO UPDATE SET value = excluded.value,"
    " updated_at = excluded.updated_at",
    "DELETE FROM sync_state WHERE provider = ?1 AND account = ?2"
    " AND stream = ?3",
};

int sq_db_err(struct err *err, struct sqlite_store *s, const char *what)
{
	struct buf m = BUF_INIT;

	/* A path holds no password, but every driver message goes through
	 * the same door. */
	store_driver_msg(&m, sqlite3_errmsg(s->db), NULL);
	err_set(err, ERR_STORE, sqlite3_extended_errcode(s->db),
		"cannot %s store '%s': %s", what, s->path, buf_str(&m));
	buf_release(&m);
	return -1;
}

/* Creates the missing directories above path; -1 with errno set when one
 * cannot be made or is not a directory. */
static int make_parents(const char *path)
{
	char *p = xstrdup(path);
	char *q;
	struct stat sb;
	int ret = 0;

	for (q = p + 1; *q && !ret; q++) {
		if (*q != '/')
			continue;
		*q = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST)
			ret = -1;
		else if (stat(p, &sb) < 0)
			ret = -1;
		else if (!S_ISDIR(sb.st_mode)) {
			errno = ENOTDIR;
			ret = -1;
		}
		*q = '/';
	}
	free(p);
	return ret;
}

int sq_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC)
		 : sqlite3_bind_null(st, i);
}

int sq_prep(struct sqlite_store *s, const char *sql, int n,
	    const char *const *params, sqlite3_stmt **out, struct err *err)
{
	int i;

	if (sqlite3_prepare_v2(s->db, sql, -1, out, NULL) != SQLITE_OK)
		return sq_db_err(err, s, "query");
	for (i = 0; i < n; i++)
		sq_bind_text(*out, i + 1, params[i]);
	return 0;
}

int sq_run_cached(struct sqlite_store *s, int id)
{
	int rc = sqlite3_step(s->st[id]);

	sqlite3_reset(s->st[id]);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

int sq_begin(struct sqlite_store *s, struct err *err)
{
	if (sq_run_cached(s, ST_BEGIN) < 0)
		return sq_db_err(err, s, "begin a transaction in");
	return 0;
}

int sq_commit(struct sqlite_store *s, const char *what, struct err *err)
{
	if (sq_run_cached(s, ST_COMMIT) < 0)
		return sq_db_err(err, s, what);
	return 0;
}

void sq_rollback(struct sqlite_store *s)
{
	/* Some errors end the transaction by themselves. */
	if (!sqlite3_get_autocommit(s->db))
		sq_run_cached(s, ST_ROLLBACK);
}

int sq_exec(struct sqlite_store *s, const char *sql, struct err *err,
	    const char *what)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sq_db_err(err, s, what);
	return 0;
}

static void sq_close(struct store *store)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close_v2(s->db);
	free(s->path);
	free(s);
}

static int sq_open(struct store **out, const char *url,
		   const struct store_options *opts, struct err *err)
{
	struct sqlite_store *s = NULL;
	struct buf q = BUF_INIT;
	const char *path = url;
	size_t i;
	int ret = -1;

	(void)opts;
	*out = NULL;
	if (!strncmp(path, "sqlite://", 9))
		path += 9;
	else if (!strncmp(path, "sqlite:", 7))
		path += 7;
	if (!*path) {
		err_set(err, ERR_CONFIG, 0, "store '%s' names no file", url);
		goto done;
	}
	s = xcalloc(1, sizeof(*s));
	s->base.ops = &sqlite_store_ops;
	s->path = xstrdup(path);
	if (make_parents(path) < 0) {
		int e = errno;
		char cause[128];

		snprintf(cause, sizeof(cause), "%s", strerror(e));
		if (cause[0] >= 'A' && cause[0] <= 'Z')
			cause[0] = (char)(cause[0] - 'A' + 'a');
		err_set(err, ERR_STORE, e, "cannot open store '%s': %s", path,
			cause);
		goto done;
	}
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		if (!s->db) {
			err_set(err, ERR_STORE, 0,
				"cannot open store '%s': out of memory", path);
			goto done;
		}
		sq_db_err(err, s, "open");
		goto done;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 5000);
	if (sq_exec(s,
		    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
		    " PRAGMA foreign_keys = OFF",
		    err, "open") < 0 ||
	    sq_migrate(s, err) < 0)
		goto done;
	for (i = 0; i < ST__COUNT; i++) {
		if (i < ST_BEGIN)
			sq_build_upsert(&q, (enum upsert_table)(i / 2), i % 2);
		if (sqlite3_prepare_v3(s->db,
				       i < ST_BEGIN ? buf_str(&q)
						    : fixed_sql[i - ST_BEGIN],
				       -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
				       NULL) != SQLITE_OK) {
			sq_db_err(err, s, "prepare statements for");
			goto done;
		}
	}
	*out = &s->base;
	s = NULL;
	ret = 0;
done:
	buf_release(&q);
	sq_close(s ? &s->base : NULL);
	return ret;
}

/* A bare path ending in ".db" (no scheme) is a SQLite file too. */
static int sq_is_own_url(const char *url)
{
	size_t n = strlen(url);

	return n > 3 && !strcmp(url + n - 3, ".db") && !strstr(url, "://");
}

static const char *sq_check_url(const char *url)
{
	return !strncmp(url, "sqlite:", 7) && !url[7] ? "sqlite: needs a path"
						      : NULL;
}

static const char *const sq_schemes[] = {"sqlite:", NULL};

static const struct store_keys sq_keys = {
    .name = "sqlite",
    .schemes = sq_schemes,
    .url_help = "sqlite:PATH or PATH.db",
    .is_own_url = sq_is_own_url,
    .check_url = sq_check_url,
};

const struct store_ops sqlite_store_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .write_batch = sq_write_batch,
    .state_get = sq_state_get,
    .state_reset = sq_state_reset,
    .state_each = sq_state_each,
    .run_begin = sq_run_begin,
    .run_finish = sq_run_finish,
    .run_newest = sq_run_newest,
    .run_heartbeat = sq_run_heartbeat,
    .run_reap = sq_run_reap,
    .lease_take = sq_lease_take,
    .lease_drop = sq_lease_drop,
    .campaign_get = sq_campaign_get,
    .link_participants = sq_link_participants,
    .stats = sq_stats,
    .each_campaign = sq_each_campaign,
    .each_participant = sq_each_participant,
    .campaign_fields = sq_campaign_fields,
    .reconcile_contacts = sq_reconcile_contacts,
    .report_totals = sq_report_totals,
    .report_days = sq_report_days,
    .report_campaigns = sq_report_campaigns,
    .report_links = sq_report_links,
    .report_lists = sq_report_lists,
    .report_accounts = sq_report_accounts,
    .reconcile_contact_set = sq_reconcile_contact_set,
};

const struct store_backend sqlite_store_backend = {
    .keys = &sq_keys,
    .ops = &sqlite_store_ops,
};

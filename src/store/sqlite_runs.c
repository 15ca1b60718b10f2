/* The SQLite store's run liveness: heartbeats of running runs, the marking
 * of runs whose process died, and the sync lease of a provider account (a
 * row in sync_leases, taken and checked in one write transaction). */
#include "store/sqlite_internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/timeparse.h"
#include "util/banned.h"

static int bind_iso(sqlite3_stmt *st, int i, int64_t t)
{
	char iso[21];

	if (t == TIME_NULL)
		return sqlite3_bind_null(st, i);
	time_format_iso(t, iso);
	return sqlite3_bind_text(st, i, iso, -1, SQLITE_TRANSIENT);
}

static int64_t col_epoch(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return TIME_NULL;
	return sqlite3_column_int64(st, i);
}

static int step_done(struct sqlite_store *s, sqlite3_stmt *st, const char *what,
		     struct err *err)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return sq_db_err(err, s, what);
	return 0;
}

int sq_run_heartbeat(struct store *store, int64_t run_id, const char *provider,
		     const char *account, int64_t at, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	const char *args[2] = {provider, account};
	char host[128];
	sqlite3_stmt *st = NULL;
	int ret = -1;

	store_host_name(host, sizeof(host));
	if (sq_begin(s, err) < 0)
		goto done;
	if (sq_prep(s,
		    "UPDATE sync_runs SET heartbeat_at = ?1 WHERE run_id = ?2",
		    0, NULL, &st, err) < 0)
		goto done;
	bind_iso(st, 1, at);
	sqlite3_bind_int64(st, 2, run_id);
	if (step_done(s, st, "record a heartbeat in", err) < 0)
		goto done;
	sqlite3_finalize(st);
	st = NULL;
	if (sq_prep(
		s,
		"UPDATE sync_leases SET heartbeat_at = ?3 WHERE provider = ?1"
		" AND account = ?2 AND host = ?4 AND pid = ?5",
		2, args, &st, err) < 0)
		goto done;
	bind_iso(st, 3, at);
	sq_bind_text(st, 4, host);
	sqlite3_bind_int64(st, 5, (int64_t)getpid());
	if (step_done(s, st, "record a heartbeat in", err) < 0 ||
	    sq_commit(s, "record a heartbeat in", err) < 0)
		goto done;
	ret = 0;
done:
	sqlite3_finalize(st);
	if (ret < 0)
		sq_rollback(s);
	return ret;
}

static int mark_interrupted(struct sqlite_store *s, int64_t run_id,
			    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (sq_prep(s,
		    "UPDATE sync_runs SET status = 'interrupted',"
		    " finished_at = COALESCE(heartbeat_at, started_at),"
		    " error = 'the process running it ended without finishing"
		    " it (killed or crashed)' WHERE run_id = ?1"
		    " AND status = 'running'",
		    0, NULL, &st, err) < 0)
		goto done;
	sqlite3_bind_int64(st, 1, run_id);
	if (step_done(s, st, "mark a dead run in", err) < 0)
		goto done;
	ret = sqlite3_changes(s->db);
done:
	sqlite3_finalize(st);
	return ret;
}

int sq_run_reap(struct store *store, const char *provider, const char *account,
		int64_t now, int64_t *marked, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *st = NULL;
	int64_t ids[64];
	size_t n = 0, i;
	int64_t count = 0;
	int rc, ret = -1;

	if (sq_begin(s, err) < 0)
		goto done;
	if (sq_prep(s,
		    "SELECT run_id, provider, account, host, pid,"
		    " CAST(strftime('%s', started_at) AS INTEGER),"
		    " CAST(strftime('%s', heartbeat_at) AS INTEGER)"
		    " FROM sync_runs WHERE status = 'running'"
		    " ORDER BY run_id LIMIT 64",
		    0, NULL, &st, err) < 0)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(st, 1);
		const char *a = (const char *)sqlite3_column_text(st, 2);
		struct run_row run;

		memset(&run, 0, sizeof(run));
		run.status = RUN_RUNNING;
		run.host = (const char *)sqlite3_column_text(st, 3);
		run.pid = sqlite3_column_int64(st, 4);
		run.started_at = col_epoch(st, 5);
		run.heartbeat_at = col_epoch(st, 6);
		if ((provider && p && a && !strcmp(p, provider) &&
		     !strcmp(a, account)) ||
		    store_run_is_dead(&run, now))
			ids[n++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE) {
		sq_db_err(err, s, "read runs from");
		goto done;
	}
	sqlite3_finalize(st);
	st = NULL;
	for (i = 0; i < n; i++) {
		rc = mark_interrupted(s, ids[i], err);
		if (rc < 0)
			goto done;
		count += rc;
	}
	if (sq_commit(s, "mark a dead run in", err) < 0)
		goto done;
	if (marked)
		*marked = count;
	ret = 0;
done:
	sqlite3_finalize(st);
	if (ret < 0)
		sq_rollback(s);
	return ret;
}

/* The holder of provider/account's lease into h; *found = 0 if none. */
static int read_lease(struct sqlite_store *s, const char *provider,
		      const char *account, struct lease_holder *h, int *found,
		      struct err *err)
{
	const char *args[2] = {provider, account};
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	*found = 0;
	if (sq_prep(s,
		    "SELECT host, pid, CAST(strftime('%s', since) AS INTEGER),"
		    " CAST(strftime('%s', heartbeat_at) AS INTEGER)"
		    " FROM sync_leases WHERE provider = ?1 AND account = ?2",
		    2, args, &st, err) < 0)
		goto done;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *host = (const char *)sqlite3_column_text(st, 0);

		snprintf(h->host, sizeof(h->host), "%s", host ? host : "");
		h->pid = sqlite3_column_int64(st, 1);
		h->since = col_epoch(st, 2);
		h->heartbeat_at = col_epoch(st, 3);
		*found = 1;
	} else if (rc != SQLITE_DONE) {
		sq_db_err(err, s, "read the sync lease from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

int sq_lease_take(struct store *store, const char *provider,
		  const char *account, struct lease_holder *holder,
		  struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	const char *args[2] = {provider, account};
	struct lease_holder h;
	char host[128];
	sqlite3_stmt *st = NULL;
	int64_t now = clock_wall_s(), pid = (int64_t)getpid();
	int found = 0, ret = -1;

	memset(&h, 0, sizeof(h));
	store_host_name(host, sizeof(host));
	if (sq_begin(s, err) < 0 ||
	    read_lease(s, provider, account, &h, &found, err) < 0)
		goto done;
	if (found && !(h.pid == pid && !strcmp(h.host, host)) &&
	    !store_holder_is_dead(
		h.host, h.pid,
		h.heartbeat_at != TIME_NULL ? h.heartbeat_at : h.since, now)) {
		*holder = h;
		err_set(err, ERR_BUSY, 0, "the sync lease is held");
		goto done;
	}
	if (sq_prep(s,
		    "INSERT OR REPLACE INTO sync_leases (provider, account,"
		    " host, pid, since, heartbeat_at)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
		    2, args, &st, err) < 0)
		goto done;
	sq_bind_text(st, 3, host);
	sqlite3_bind_int64(st, 4, pid);
	bind_iso(st, 5, now);
	if (step_done(s, st, "take the sync lease in", err) < 0 ||
	    sq_commit(s, "take the sync lease in", err) < 0)
		goto done;
	ret = 0;
done:
	sqlite3_finalize(st);
	if (ret < 0)
		sq_rollback(s);
	return ret;
}

int sq_lease_drop(struct store *store, const char *provider,
		  const char *account, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	const char *args[2] = {provider, account};
	char host[128];
	sqlite3_stmt *st = NULL;
	int ret = -1;

	store_host_name(host, sizeof(host));
	if (sq_prep(s,
		    "DELETE FROM sync_leases WHERE provider = ?1 AND"
		    " account = ?2 AND host = ?3 AND pid = ?4",
		    2, args, &st, err) < 0)
		goto done;
	sq_bind_text(st, 3, host);
	sqlite3_bind_int64(st, 4, (int64_t)getpid());
	if (step_done(s, st, "release the sync lease in", err) < 0)
		goto done;
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

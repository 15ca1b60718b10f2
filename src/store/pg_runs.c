/* The PostgreSQL store's run liveness: heartbeats of running runs, the
 * marking of runs whose process died, and the sync lease of a provider
 * account: a session advisory lock (released by the server when the
 * holder's connection ends, so a dead holder never blocks) plus a row in
 * sync_leases naming the holder for the busy message. */
#include "store/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/timeparse.h"
#include "util/banned.h"

/* The advisory lock of provider/account: a fixed class and the hash of the
 * names (two int4 keys, apart from PG_WRITE_LOCK's one bigint key). */
#define LEASE_KEY "730521880, hashtext($1 || E'\\n' || $2)"

static int run_done(PGresult *r)
{
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

int pg_run_heartbeat(struct store *store, int64_t run_id, const char *provider,
		     const char *account, int64_t at, struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	char id[24], when[21], host[128], pid[24];
	const char *p1[2] = {id, when};
	const char *p2[5] = {provider, account, when, host, pid};

	snprintf(id, sizeof(id), "%lld", (long long)run_id);
	snprintf(pid, sizeof(pid), "%lld", (long long)getpid());
	time_format_iso(at, when);
	store_host_name(host, sizeof(host));
	if (run_done(pg_query(s,
			      "UPDATE sync_runs SET heartbeat_at = $2"
			      " WHERE run_id = $1",
			      2, p1, "record a heartbeat in", err)) < 0)
		return -1;
	return run_done(pg_query(s,
				 "UPDATE sync_leases SET heartbeat_at = $3"
				 " WHERE provider = $1 AND account = $2"
				 " AND host = $4 AND pid = $5",
				 5, p2, "record a heartbeat in", err));
}

int pg_run_reap(struct store *store, const char *provider, const char *account,
		int64_t now, int64_t *marked, struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	PGresult *r, *u;
	int64_t count = 0;
	int i, ret = -1;

	r = pg_query(
	    s,
	    "SELECT run_id, provider, account, host, pid, " PG_EPOCH(
		"started_at") ", " PG_EPOCH("heartbeat_at") " FROM sync_runs "
							    "WHERE status = "
							    "'running'"
							    " ORDER BY run_id "
							    "LIMIT 64",
	    0, NULL, "read runs from", err);
	if (!r)
		return -1;
	for (i = 0; i < PQntuples(r); i++) {
		struct run_row run;
		const char *p[1];

		memset(&run, 0, sizeof(run));
		run.status = RUN_RUNNING;
		run.host = pg_val(r, i, 3);
		run.pid = pg_val_int(r, i, 4);
		run.started_at = pg_val_time(r, i, 5);
		run.heartbeat_at = pg_val_time(r, i, 6);
		if (!(provider && pg_val(r, i, 1) && pg_val(r, i, 2) &&
		      !strcmp(pg_val(r, i, 1), provider) &&
		      !strcmp(pg_val(r, i, 2), account)) &&
		    !store_run_is_dead(&run, now))
			continue;
		p[0] = pg_val(r, i, 0);
		u = pg_query(s,
			     "UPDATE sync_runs SET status = 'interrupted',"
			     " finished_at = COALESCE(heartbeat_at,"
			     " started_at), error = 'the process running it"
			     " ended without finishing it (killed or crashed)'"
			     " WHERE run_id = $1 AND status = 'running'",
			     1, p, "mark a dead run in", err);
		if (!u)
			goto done;
		count += strtoll(PQcmdTuples(u), NULL, 10);
		PQclear(u);
	}
	if (marked)
		*marked = count;
	ret = 0;
done:
	PQclear(r);
	return ret;
}

/* The holder named in sync_leases (the lock says someone holds it). */
static void read_holder(struct pg_store *s, const char *provider,
			const char *account, struct lease_holder *h)
{
	const char *p[2] = {provider, account};
	struct err e = ERR_INIT;
	PGresult *r;

	snprintf(h->host, sizeof(h->host), "unknown");
	h->since = TIME_NULL;
	r = pg_query(
	    s,
	    "SELECT host, pid, " PG_EPOCH("since") ", " PG_EPOCH(
		"heartbeat_at") " FROM sync_leases"
				" WHERE provider = $1 AND account = $2",
	    2, p, "read the sync lease from", &e);
	if (r && PQntuples(r) > 0) {
		snprintf(h->host, sizeof(h->host), "%s",
			 pg_val(r, 0, 0) ? pg_val(r, 0, 0) : "");
		h->pid = pg_val_int(r, 0, 1);
		h->since = pg_val_time(r, 0, 2);
		h->heartbeat_at = pg_val_time(r, 0, 3);
	}
	PQclear(r);
}

int pg_lease_take(struct store *store, const char *provider,
		  const char *account, struct lease_holder *holder,
		  struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	char host[128], pid[24];
	const char *p[4] = {provider, account, host, pid};
	PGresult *r;
	int is_taken;

	store_host_name(host, sizeof(host));
	snprintf(pid, sizeof(pid), "%lld", (long long)getpid());
	r = pg_query(s, "SELECT pg_try_advisory_lock(" LEASE_KEY ")", 2, p,
		     "take the sync lease in", err);
	if (!r)
		return -1;
	is_taken = PQntuples(r) > 0 && pg_val(r, 0, 0) &&
		   !strcmp(pg_val(r, 0, 0), "t");
	PQclear(r);
	if (!is_taken) {
		memset(holder, 0, sizeof(*holder));
		read_holder(s, provider, account, holder);
		return err_set(err, ERR_BUSY, 0, "the sync lease is held");
	}
	return run_done(pg_query(
	    s,
	    "INSERT INTO sync_leases (provider, account, host, pid, since,"
	    " heartbeat_at) VALUES ($1, $2, $3, $4, now(), now())"
	    " ON CONFLICT (provider, account) DO UPDATE SET host = $3,"
	    " pid = $4, since = now(), heartbeat_at = now()",
	    4, p, "take the sync lease in", err));
}

int pg_lease_drop(struct store *store, const char *provider,
		  const char *account, struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	char host[128], pid[24];
	const char *p[4] = {provider, account, host, pid};

	store_host_name(host, sizeof(host));
	snprintf(pid, sizeof(pid), "%lld", (long long)getpid());
	if (run_done(pg_query(s,
			      "DELETE FROM sync_leases WHERE provider = $1"
			      " AND account = $2 AND host = $3 AND pid = $4",
			      4, p, "release the sync lease in", err)) < 0)
		return -1;
	return run_done(pg_query(s, "SELECT pg_advisory_unlock(" LEASE_KEY ")",
				 2, p, "release the sync lease in", err));
}

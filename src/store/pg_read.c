/* PostgreSQL reads and small writes: checkpoints (sync_state), the run log
 * (sync_runs), and what export, stats and the sync engine read back. */
#include "store/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/banned.h"

/* ------------------------------------------------------------ state */

int pg_state_get(struct store *store, const char *provider, const char *account,
		 const char *stream, struct buf *out, int *found,
		 struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	const char *p[3] = {provider, account, stream};
	PGresult *r;
	int ret = -1;

	*found = 0;
	buf_reset(out);
	r = pg_query(s,
		     "SELECT value FROM sync_state WHERE provider = $1"
		     " AND account = $2 AND stream = $3",
		     3, p, "read sync state from", err);
	if (!r)
		goto done;
	if (PQntuples(r) > 0) {
		const char *v = pg_val(r, 0, 0);

		if (buf_puts(out, v ? v : "") < 0) {
			err_set(err, ERR_STORE, 0,
				"sync state '%s' in store '%s' is too large",
				stream, s->safe_url);
			goto done;
		}
		*found = 1;
	}
	ret = 0;
done:
	PQclear(r);
	return ret;
}

int pg_state_reset(struct store *store, const char *provider,
		   const char *stream_prefix, int64_t *removed, struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	const char *p[2] = {provider, stream_prefix};
	PGresult *r;

	r = pg_query(s,
		     "DELETE FROM sync_state WHERE ($1::text IS NULL OR"
		     " provider = $1) AND ($2::text IS NULL OR"
		     " starts_with(stream, $2))",
		     2, p, "reset sync state in", err);
	if (!r)
		return -1;
	if (removed)
		*removed = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

int pg_state_each(struct store *store, const char *provider, store_state_fn fn,
		  void *ctx, struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	const char *p[1] = {provider};
	PGresult *r;
	int i, ret = -1;

	r = pg_query(
	    s,
	    "SELECT provider, account, stream, value, " PG_EPOCH(
		"updated_at") " FROM sync_state WHERE $1::text IS NULL "
			      "OR provider = $1"
			      " ORDER BY provider, account, stream",
	    1, p, "read sync state from", err);
	if (!r)
		goto done;
	for (i = 0; i < PQntuples(r); i++) {
		struct state_row row;

		row.provider = pg_val(r, i, 0);
		row.account = pg_val(r, i, 1);
		row.stream = pg_val(r, i, 2);
		row.value = pg_val(r, i, 3);
		row.updated_at = pg_val_time(r, i, 4);
		ret = fn(ctx, &row);
		if (ret)
			goto done;
	}
	ret = 0;
done:
	PQclear(r);
	return ret;
}

/* ------------------------------------------------------------ runs */

int pg_run_begin(struct store *store, struct run_row *run, struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	char started[21], req[24], ret_[24], thr[24], pid[24];
	const char *p[10] = {
	    run->provider, run->account,      started,	  req,	     ret_,
	    thr,	   run->records_json, run->error, run->host, pid};
	PGresult *r;

	run->started_at = store_time_or_now(run->started_at);
	run->finished_at = TIME_NULL;
	run->status = RUN_RUNNING;
	time_format_iso(run->started_at, started);
	snprintf(req, sizeof(req), "%lld", (long long)run->requests);
	snprintf(ret_, sizeof(ret_), "%lld", (long long)run->retries);
	snprintf(thr, sizeof(thr), "%lld", (long long)run->throttled);
	snprintf(pid, sizeof(pid), "%lld", (long long)run->pid);
	r = pg_query(s,
		     "INSERT INTO sync_runs (provider, account, started_at,"
		     " status, requests, retries, throttled, records, error,"
		     " host, pid, heartbeat_at)"
		     " VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $8, $9,"
		     " $10, $3) RETURNING run_id",
		     10, p, "record a run in", err);
	if (!r)
		return -1;
	run->run_id = pg_val_int(r, 0, 0);
	PQclear(r);
	return 0;
}

int pg_run_finish(struct store *store, const struct run_row *run,
		  struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	char id[24], fin[21], req[24], ret_[24], thr[24], old[24];
	const char *p[9] = {id,
			    fin,
			    store_run_status_name(run->status),
			    req,
			    ret_,
			    thr,
			    run->records_json,
			    run->error,
			    old};
	PGresult *r;
	int ret = -1;

	snprintf(id, sizeof(id), "%lld", (long long)run->run_id);
	time_format_iso(store_time_or_now(run->finished_at), fin);
	snprintf(req, sizeof(req), "%lld", (long long)run->requests);
	snprintf(ret_, sizeof(ret_), "%lld", (long long)run->retries);
	snprintf(thr, sizeof(thr), "%lld", (long long)run->throttled);
	snprintf(old, sizeof(old), "%lld", (long long)run->outside_retention);
	/* Expire first: a run is recorded finished only after its store
	 * work is done. */
	if (pg_expire(s, err) < 0)
		return -1;
	r = pg_query(
	    s,
	    "UPDATE sync_runs SET finished_at = $2, status = $3,"
	    " requests = $4, retries = $5, throttled = $6, records = $7,"
	    " error = $8, outside_retention = $9 WHERE run_id = $1",
	    9, p, "record a run in", err);
	if (!r)
		goto done;
	if (strcmp(PQcmdTuples(r), "1") != 0) {
		err_set(err, ERR_STORE, 0, "no run %lld in store '%s'",
			(long long)run->run_id, s->safe_url);
		goto done;
	}
	ret = 0;
done:
	PQclear(r);
	return ret;
}

int pg_run_newest(struct store *store, const char *provider, const char *status,
		  struct run_row *out, struct arena *arena, int *found,
		  struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	const char *p[2] = {provider, status};
	PGresult *r;

	*found = 0;
	memset(out, 0, sizeof(*out));
	r = pg_query(
	    s,
	    "SELECT run_id, provider, account, " PG_EPOCH(
		"started_at") ", " PG_EPOCH("finished_at") ", status, "
							   "requests, "
							   "retries,"
							   " throttled, "
							   "records, "
							   "error, "
							   "host, "
							   "pid, " PG_EPOCH(
							       "heartbeat_"
							       "at") ", "
								     "outsi"
								     "de_"
								     "reten"
								     "tion "
								     "FROM "
								     "sync_"
								     "runs"
								     " WHER"
								     "E "
								     "($1::"
								     "text "
								     "IS "
								     "NULL "
								     "OR "
								     "provi"
								     "der "
								     "= $1)"
								     " AND "
								     "($2::"
								     "text "
								     "IS "
								     "NULL "
								     "OR "
								     "statu"
								     "s = "
								     "$2)"
								     " ORDE"
								     "R BY "
								     "run_"
								     "id "
								     "DESC "
								     "LIMIT"
								     " 1",
	    2, p, "read runs from", err);
	if (!r)
		return -1;
	if (PQntuples(r) > 0) {
		out->run_id = pg_val_int(r, 0, 0);
		out->provider = pg_val_dup(r, 0, 1, arena);
		out->account = pg_val_dup(r, 0, 2, arena);
		out->started_at = pg_val_time(r, 0, 3);
		out->finished_at = pg_val_time(r, 0, 4);
		out->status = store_run_status_parse(pg_val(r, 0, 5));
		out->requests = pg_val_int(r, 0, 6);
		out->retries = pg_val_int(r, 0, 7);
		out->throttled = pg_val_int(r, 0, 8);
		out->records_json = pg_val_dup(r, 0, 9, arena);
		out->error = pg_val_dup(r, 0, 10, arena);
		out->host = pg_val_dup(r, 0, 11, arena);
		out->pid = pg_val_int(r, 0, 12);
		out->heartbeat_at = pg_val_time(r, 0, 13);
		out->outside_retention = pg_val_int(r, 0, 14);
		*found = 1;
	}
	PQclear(r);
	return 0;
}

/* ------------------------------------------------------------ reads */

#define CAMPAIGN_COLS                                                          \
	"provider, account, campaign_id, name, subject, from_name,"            \
	" from_email, status, " PG_EPOCH("created_at") ", " PG_EPOCH(          \
	    "sent_at") ", to_lists, sent, opened_unique, opened_total,"        \
		       " clicked_unique, clicked_total, bounced_hard,"         \
		       " bounced_soft, complained, unsubscribed, " PG_EPOCH(   \
			   "synced_at") ", verified_opens, "                   \
					"verified_unique_opens"

static void read_campaign(const PGresult *r, int i, struct rec_campaign *c,
			  struct arena *a)
{
	struct campaign_stats *x = &c->stats;

	memset(c, 0, sizeof(*c));
	c->campaign_id = a ? pg_val_dup(r, i, 2, a) : pg_val(r, i, 2);
	c->name = a ? pg_val_dup(r, i, 3, a) : pg_val(r, i, 3);
	c->subject = a ? pg_val_dup(r, i, 4, a) : pg_val(r, i, 4);
	c->from_name = a ? pg_val_dup(r, i, 5, a) : pg_val(r, i, 5);
	c->from_email = a ? pg_val_dup(r, i, 6, a) : pg_val(r, i, 6);
	c->status = a ? pg_val_dup(r, i, 7, a) : pg_val(r, i, 7);
	c->created_at = pg_val_time(r, i, 8);
	c->sent_at = pg_val_time(r, i, 9);
	c->to_lists_json = a ? pg_val_dup(r, i, 10, a) : pg_val(r, i, 10);
	c->has_stats = 1;
	x->sent = pg_val_int(r, i, 11);
	x->opened_unique = pg_val_int(r, i, 12);
	x->opened_total = pg_val_int(r, i, 13);
	x->clicked_unique = pg_val_int(r, i, 14);
	x->clicked_total = pg_val_int(r, i, 15);
	x->bounced_hard = pg_val_int(r, i, 16);
	x->bounced_soft = pg_val_int(r, i, 17);
	x->complained = pg_val_int(r, i, 18);
	x->unsubscribed = pg_val_int(r, i, 19);
	c->synced_at = pg_val_time(r, i, 20);
	c->verified_opens = PQgetisnull(r, i, 21) ? -1 : pg_val_int(r, i, 21);
	c->verified_unique_opens =
	    PQgetisnull(r, i, 22) ? -1 : pg_val_int(r, i, 22);
}

int pg_campaign_get(struct store *store, const char *provider,
		    const char *account, const char *campaign_id,
		    struct rec_campaign *out, struct arena *arena, int *found,
		    struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	const char *p[3] = {provider, account, campaign_id};
	PGresult *r;

	*found = 0;
	r = pg_query(s,
		     "SELECT " CAMPAIGN_COLS
		     " FROM campaigns WHERE provider = $1"
		     " AND account = $2 AND campaign_id = $3",
		     3, p, "read campaigns from", err);
	if (!r)
		return -1;
	if (PQntuples(r) > 0) {
		read_campaign(r, 0, out, arena);
		*found = 1;
	}
	PQclear(r);
	return 0;
}

int pg_link_participants(struct store *store, const char *provider,
			 const char *account, int64_t *changed, struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	char now[21];
	const char *p[3] = {provider, account, now};
	PGresult *r;

	time_format_iso(clock_wall_s(), now);
	r = pg_query(s,
		     "UPDATE participants AS p SET status = c.status,"
		     " fields = c.fields, synced_at = $3 FROM contacts AS c"
		     " WHERE p.provider = $1 AND p.account = $2"
		     " AND c.provider = p.provider AND c.account = p.account"
		     " AND c.contact_id = p.contact_id"
		     " AND (p.status IS DISTINCT FROM c.status"
		     " OR p.fields::text IS DISTINCT FROM c.fields::text)",
		     3, p, "link participants in", err);
	if (!r)
		return -1;
	if (changed)
		*changed = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

#define WHERE_PROVIDER " WHERE $1::text IS NULL OR provider = $1"

int pg_stats(struct store *store, const char *provider, struct store_stats *out,
	     struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	const char *p[1] = {provider};
	PGresult *r;
	enum event_type t;
	int i;

	memset(out, 0, sizeof(*out));
	r = pg_query(
	    s,
	    "SELECT (SELECT count(*) FROM campaigns" WHERE_PROVIDER "),"
	    " (SELECT count(*) FROM participants" WHERE_PROVIDER "),"
	    " (SELECT count(*) FROM campaign_links" WHERE_PROVIDER "),"
	    " (SELECT count(*) FROM contacts" WHERE_PROVIDER "),"
	    " (SELECT count(*) FROM lists" WHERE_PROVIDER "),"
	    " (SELECT coalesce(sum(m), 0) FROM (SELECT"
	    " max(outside_retention) AS m FROM sync_runs" WHERE_PROVIDER
	    " GROUP BY provider, account) AS runs)",
	    1, p, "count rows in", err);
	if (!r)
		return -1;
	out->campaigns = pg_val_int(r, 0, 0);
	out->participants = pg_val_int(r, 0, 1);
	out->links = pg_val_int(r, 0, 2);
	out->contacts = pg_val_int(r, 0, 3);
	out->lists = pg_val_int(r, 0, 4);
	out->events_outside_retention = pg_val_int(r, 0, 5);
	out->retention_days = s->retention_days > 0 ? s->retention_days : 0;
	PQclear(r);
	r = pg_query(
	    s,
	    "SELECT event_type, count(*) FROM email_activities" WHERE_PROVIDER
	    " GROUP BY event_type",
	    1, p, "count rows in", err);
	if (!r)
		return -1;
	for (i = 0; i < PQntuples(r); i++)
		if (event_type_parse(pg_val(r, i, 0), &t) == 0)
			out->events[t] = pg_val_int(r, i, 1);
	PQclear(r);
	return 0;
}

int pg_each_campaign(struct store *store, const char *provider,
		     const char *campaign_id, store_campaign_fn fn, void *ctx,
		     struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	const char *p[2] = {provider, campaign_id};
	PGresult *r;
	int i, ret = -1;

	r = pg_query(s,
		     "SELECT " CAMPAIGN_COLS " FROM campaigns"
		     " WHERE ($1::text IS NULL OR provider = $1)"
		     " AND ($2::text IS NULL OR campaign_id = $2)"
		     " ORDER BY provider, account, campaign_id",
		     2, p, "read campaigns from", err);
	if (!r)
		goto done;
	for (i = 0; i < PQntuples(r); i++) {
		struct rec_campaign c;

		read_campaign(r, i, &c, NULL);
		ret = fn(ctx, pg_val(r, i, 0), pg_val(r, i, 1), &c);
		if (ret)
			goto done;
	}
	ret = 0;
done:
	PQclear(r);
	return ret;
}

int pg_each_participant(struct store *store, const char *provider,
			const char *account, const char *campaign_id,
			store_participant_fn fn, void *ctx, struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	const char *p[3] = {provider, account, campaign_id};
	PGresult *r;
	int i, k, ret = -1;

	/* SQLite sorts NULL first; so do we. */
	r = pg_query(s,
		     "SELECT contact_id, email_address, status, fields, sent,"
		     " opened, clicked, bounced, complained, unsubscribed"
		     " FROM participants WHERE provider = $1 AND account = $2"
		     " AND campaign_id = $3"
		     " ORDER BY email_address NULLS FIRST, contact_id",
		     3, p, "read participants from", err);
	if (!r)
		goto done;
	for (i = 0; i < PQntuples(r); i++) {
		struct export_row row;

		row.contact_id = pg_val(r, i, 0);
		row.email = pg_val(r, i, 1);
		row.status = pg_val(r, i, 2);
		row.fields_json = pg_val(r, i, 3);
		row.flags = 0;
		for (k = 0; k < STORE_PARTICIPANT_FLAGS; k++)
			if (pg_val_int(r, i, 4 + k))
				row.flags |= store_participant_flags[k];
		ret = fn(ctx, &row);
		if (ret)
			goto done;
	}
	ret = 0;
done:
	PQclear(r);
	return ret;
}

/* Tags of the campaign's lists in list order then field order; JSON that
 * is not an array reads as empty. Field items may be {tag,...} objects or
 * bare strings. */
int pg_campaign_fields(struct store *store, const char *provider,
		       const char *account, const char *campaign_id,
		       struct buf *out, struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	const char *p[3] = {provider, account, campaign_id};
	struct store_tags tags;
	PGresult *r;
	int i, ret = -1;

	store_tags_init(&tags, out);
	r = pg_query(
	    s,
	    "SELECT CASE json_typeof(f.v) WHEN 'object' THEN f.v->>'tag'"
	    " WHEN 'string' THEN f.v#>>'{}' END"
	    " FROM campaigns AS c CROSS JOIN LATERAL"
	    " json_array_elements(CASE WHEN"
	    " json_typeof(c.to_lists) = 'array' THEN c.to_lists"
	    " ELSE '[]'::json END) WITH ORDINALITY AS tl(v, k)"
	    " JOIN lists AS l ON l.provider = c.provider"
	    " AND l.account = c.account AND l.list_id = tl.v#>>'{}'"
	    " CROSS JOIN LATERAL"
	    " json_array_elements(CASE WHEN json_typeof(l.fields) ="
	    " 'array' THEN l.fields ELSE '[]'::json END)"
	    " WITH ORDINALITY AS f(v, k)"
	    " WHERE c.provider = $1 AND c.account = $2"
	    " AND c.campaign_id = $3 ORDER BY tl.k, f.k",
	    3, p, "read list fields from", err);
	if (!r)
		goto done;
	for (i = 0; i < PQntuples(r); i++) {
		if (store_tags_add(&tags, pg_val(r, i, 0)) < 0) {
			err_set(err, ERR_STORE, 0,
				"fields of campaign '%s' are too large",
				campaign_id);
			goto done;
		}
	}
	ret = 0;
done:
	store_tags_release(&tags, ret == 0);
	PQclear(r);
	return ret;
}

/* Campaign rows of "SELECT <the columns read_campaign reads> FROM campaigns
 * AS c <tail>" (the report's reads), with n text params. */
int pg_campaigns_query(struct pg_store *s, const char *tail, int n,
		       const char *const *params, store_campaign_fn fn,
		       void *ctx, struct err *err)
{
	struct buf q = BUF_INIT;
	PGresult *r = NULL;
	int i, ret = -1;

	if (buf_puts(&q, "SELECT " CAMPAIGN_COLS " FROM campaigns AS c ") < 0 ||
	    buf_puts(&q, tail) < 0) {
		err_set(err, ERR_STORE, 0, "campaign query too long");
		goto done;
	}
	r = pg_query(s, buf_str(&q), n, params, "read campaigns from", err);
	if (!r)
		goto done;
	for (i = 0; i < PQntuples(r); i++) {
		struct rec_campaign c;

		read_campaign(r, i, &c, NULL);
		ret = fn(ctx, pg_val(r, i, 0), pg_val(r, i, 1), &c);
		if (ret)
			goto done;
	}
	ret = 0;
done:
	PQclear(r);
	buf_release(&q);
	return ret;
}

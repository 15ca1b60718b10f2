/* PostgreSQL batch writes: each table's rows go by COPY into a temp staging
 * table and are merged with INSERT ... ON CONFLICT; events that are all new
 * go by COPY straight into email_activities. One transaction per batch,
 * checkpoints included. */
#include "store/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define TS "timestamptz"

/* Rows staged into one staging table between two TRUNCATEs. */
#define PG_STAGE_TRUNCATE_ROWS 5000

/* How the merge treats a staged column (as in store/sqlite.c). */
enum pmode {
	P_KEY,	/* part of the conflict key */
	P_INS,	/* written on insert only */
	P_KEEP, /* NULL means unknown: the stored value stays */
	P_SET,	/* overwritten as given */
	P_OR,	/* engagement flag: OR-ed in, never cleared */
	P_GATE, /* staging only: 0/1 deciding whether P_STAT columns apply */
	P_STAT, /* overwritten when the gate is 1, else kept (0 on insert) */
	P_NOW,	/* set to now when the row is inserted or changes */
	P_BORN, /* set to the transaction's start time on insert only */
};

struct pcol {
	const char *name, *type;
	enum pmode mode;
};

#define PCOLS(...) ((const struct pcol[]){__VA_ARGS__, {NULL, NULL, P_KEY}})

static const struct {
	const char *table;
	const struct pcol *cols;
} ptables[PT__COUNT] = {
    [PT_CAMPAIGNS] =
	{"campaigns",
	 PCOLS({"provider", "text", P_KEY}, {"account", "text", P_KEY},
	       {"campaign_id", "text", P_KEY}, {"name", "text", P_KEEP},
	       {"subject", "text", P_KEEP}, {"from_name", "text", P_KEEP},
	       {"from_email", "text", P_KEEP}, {"status", "text", P_KEEP},
	       {"created_at", TS, P_KEEP}, {"sent_at", TS, P_KEEP},
	       {"to_lists", "json", P_KEEP}, {"has_stats", "integer", P_GATE},
	       {"sent", "bigint", P_STAT}, {"opened_unique", "bigint", P_STAT},
	       {"opened_total", "bigint", P_STAT},
	       {"clicked_unique", "bigint", P_STAT},
	       {"clicked_total", "bigint", P_STAT},
	       {"bounced_hard", "bigint", P_STAT},
	       {"bounced_soft", "bigint", P_STAT},
	       {"complained", "bigint", P_STAT},
	       {"unsubscribed", "bigint", P_STAT},
	       {"verified_opens", "bigint", P_KEEP},
	       {"verified_unique_opens", "bigint", P_KEEP},
	       {"synced_at", TS, P_NOW})},
    [PT_LINKS] = {"campaign_links",
		  PCOLS({"provider", "text", P_KEY}, {"account", "text", P_KEY},
			{"campaign_id", "text", P_KEY}, {"url", "text", P_KEY},
			{"clicked_total", "bigint", P_SET},
			{"clicked_unique", "bigint", P_SET},
			{"synced_at", TS, P_NOW})},
    [PT_PARTICIPANTS] =
	{"participants",
	 PCOLS({"provider", "text", P_KEY}, {"account", "text", P_KEY},
	       {"campaign_id", "text", P_KEY},
	       {"contact_id", "text", P_KEY}, {"email_address", "text", P_KEEP},
	       {"sent", "smallint", P_OR}, {"opened", "smallint", P_OR},
	       {"clicked", "smallint", P_OR}, {"bounced", "smallint", P_OR},
	       {"complained", "smallint", P_OR},
	       {"unsubscribed", "smallint", P_OR}, {"synced_at", TS, P_NOW})},
    [PT_EVENTS] =
	{"email_activities",
	 PCOLS({"event_id", "text", P_KEY}, {"activity_date", "date", P_KEY},
	       {"provider", "text", P_INS}, {"account", "text", P_INS},
	       {"campaign_id", "text", P_INS},
	       {"campaign_name", "text", P_KEEP}, {"contact_id", "text", P_INS},
	       {"contact_email", "text", P_INS}, {"event_type", "text", P_INS},
	       {"activity_timestamp", TS, P_INS}, {"times", "bigint", P_SET},
	       {"link_url", "text", P_KEEP}, {"bounce_type", "text", P_KEEP},
	       {"created_at", TS, P_BORN}, {"updated_at", TS, P_NOW})},
    [PT_CONTACTS] =
	{"contacts",
	 PCOLS({"provider", "text", P_KEY}, {"account", "text", P_KEY},
	       {"contact_id", "text", P_KEY}, {"email", "text", P_KEEP},
	       {"first_name", "text", P_KEEP}, {"last_name", "text", P_KEEP},
	       {"phone", "text", P_KEEP}, {"status", "text", P_KEEP},
	       {"fields", "json", P_KEEP}, {"tags", "json", P_KEEP},
	       {"lists", "json", P_KEEP}, {"created_at", TS, P_KEEP},
	       {"updated_at", TS, P_KEEP}, {"deleted_at", TS, P_KEEP},
	       {"synced_at", TS, P_NOW})},
    [PT_LISTS] = {"lists",
		  PCOLS({"provider", "text", P_KEY}, {"account", "text", P_KEY},
			{"list_id", "text", P_KEY}, {"name", "text", P_KEEP},
			{"fields", "json", P_KEEP}, {"tags", "json", P_KEEP},
			{"subscribed", "bigint", P_KEEP},
			{"unsubscribed", "bigint", P_KEEP},
			{"pending", "bigint", P_KEEP},
			{"created_at", TS, P_KEEP}, {"updated_at", TS, P_KEEP},
			{"synced_at", TS, P_NOW})},
};

/* ------------------------------------------------------------ merge SQL */

static int has_stat(enum ptable t)
{
	return t == PT_CAMPAIGNS;
}

/* Builds the statement merging pg_temp.stage_<table> into the table: the
 * last staged row per key wins (flags OR-ed over the batch), new rows are
 * inserted, existing ones updated only when a column differs. Returns one
 * row: inserted, updated. gate is -1, or for campaigns the has_stats value
 * whose rows this statement takes. NULL when a buffer reached its maximum. */
static char *build_merge(enum ptable t, int gate)
{
	const struct pcol *c, *cols = ptables[t].cols;
	const char *tab = ptables[t].table;
	struct buf q = BUF_INIT, keys = BUF_INIT, set = BUF_INIT,
		   diff = BUF_INIT, ins = BUF_INIT;
	const char *sep = "", *born;
	int rc = 0;

	for (c = cols; c->name; c++) {
		if (c->mode == P_KEY) {
			rc |= buf_printf(&keys, "%s%s", sep, c->name);
			sep = ", ";
		}
	}
	rc |= buf_puts(&q, "WITH s AS (SELECT DISTINCT ON (");
	rc |= buf_puts(&q, buf_str(&keys));
	rc |= buf_puts(&q, ") ");
	for (sep = "", c = cols; c->name; c++) {
		if (c->mode == P_GATE)
			continue;
		if (c->mode == P_OR)
			rc |= buf_printf(
			    &q, "%smax(%s) OVER (PARTITION BY %s) AS %s", sep,
			    c->name, buf_str(&keys), c->name);
		else
			rc |= buf_printf(&q, "%s%s", sep, c->name);
		sep = ", ";
	}
	rc |= buf_printf(&q, " FROM pg_temp.stage_%s", tab);
	if (gate >= 0)
		rc |= buf_printf(&q, " WHERE has_stats = %d", gate);
	rc |= buf_printf(&q,
			 " ORDER BY %s, seq DESC), u AS (INSERT INTO %s AS t (",
			 buf_str(&keys), tab);
	for (sep = "", c = cols; c->name; c++) {
		if (c->mode != P_GATE) {
			rc |= buf_printf(&q, "%s%s", sep, c->name);
			sep = ", ";
		}
	}
	rc |= buf_puts(&q, ") SELECT ");
	for (sep = "", c = cols; c->name; c++) {
		if (c->mode == P_GATE)
			continue;
		if (c->mode == P_STAT && gate == 0)
			rc |= buf_printf(&q, "%s0", sep);
		else if (c->mode == P_BORN)
			rc |= buf_printf(&q, "%snow()", sep);
		else
			rc |= buf_printf(&q, "%s%s", sep, c->name);
		sep = ", ";
	}
	rc |= buf_printf(&q, " FROM s ON CONFLICT (%s) ", buf_str(&keys));
	for (c = cols; c->name; c++) {
		const char *n = c->name;
		const char *cast = !strcmp(c->type, "json") ? "::text" : "";
		const char *ss = set.len ? ", " : "";
		const char *ds = diff.len ? " OR " : "";

		switch (c->mode) {
		case P_KEEP:
			rc |= buf_printf(&set,
					 "%s%s = coalesce(excluded.%s, t.%s)",
					 ss, n, n, n);
			rc |= buf_printf(&diff,
					 "%st.%s%s IS DISTINCT FROM "
					 "coalesce(excluded.%s, t.%s)%s",
					 ds, n, cast, n, n, cast);
			break;
		case P_STAT:
			if (gate != 1)
				break;
			/* fall through */
		case P_SET:
			rc |= buf_printf(&set, "%s%s = excluded.%s", ss, n, n);
			rc |= buf_printf(
			    &diff, "%st.%s%s IS DISTINCT FROM excluded.%s%s",
			    ds, n, cast, n, cast);
			break;
		case P_OR:
			rc |= buf_printf(&set, "%s%s = t.%s | excluded.%s", ss,
					 n, n, n);
			rc |=
			    buf_printf(&diff, "%st.%s <> (t.%s | excluded.%s)",
				       ds, n, n, n);
			break;
		default:
			break;
		}
	}
	for (c = cols; c->name; c++)
		if (c->mode == P_NOW)
			rc |= buf_printf(&set, ", %s = excluded.%s", c->name,
					 c->name);
	/* RETURNING cannot read xmax of a partitioned table: there a row
	 * is new when it was born in this transaction. */
	for (born = NULL, c = cols; c->name; c++)
		if (c->mode == P_BORN)
			born = c->name;
	if (born)
		rc |= buf_printf(&ins, "t.%s = now()", born);
	else
		rc |= buf_puts(&ins, "t.xmax = 0");
	rc |= buf_printf(&q,
			 "DO UPDATE SET %s WHERE %s RETURNING (%s) AS ins)"
			 " SELECT count(*) FILTER (WHERE ins),"
			 " count(*) FILTER (WHERE NOT ins) FROM u",
			 buf_str(&set), buf_str(&diff), buf_str(&ins));
	buf_release(&ins);
	buf_release(&keys);
	buf_release(&set);
	buf_release(&diff);
	if (rc) {
		buf_release(&q);
		return NULL;
	}
	return buf_detach(&q, NULL);
}

static int build_stage_ddl(struct buf *q, enum ptable t)
{
	const struct pcol *c;
	int rc = buf_printf(
	    q, "CREATE TEMP TABLE IF NOT EXISTS stage_%s (seq integer",
	    ptables[t].table);

	for (c = ptables[t].cols; c->name; c++)
		rc |= buf_printf(q, ", %s %s", c->name, c->type);
	return rc | buf_puts(q, ");");
}

/* Appends COPY into t's staging table, or with is_direct into the table
 * itself (no seq column). */
static int build_copy(struct buf *q, enum ptable t, int is_direct)
{
	const struct pcol *c;
	const char *sep = "";
	int rc;

	if (is_direct) {
		rc = buf_printf(q, "COPY %s (", ptables[t].table);
	} else {
		rc = buf_printf(q, "COPY pg_temp.stage_%s (seq",
				ptables[t].table);
		sep = ", ";
	}
	for (c = ptables[t].cols; c->name; c++) {
		rc |= buf_printf(q, "%s%s", sep, c->name);
		sep = ", ";
	}
	return rc | buf_puts(q, ") FROM STDIN");
}

static const char upsert_state[] =
    "INSERT INTO sync_state (provider, account, stream, value, updated_at)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider, account, stream)"
    " DO UPDATE SET value = excluded.value,"
    " updated_at = excluded.updated_at";
static const char delete_state[] =
    "DELETE FROM sync_state WHERE provider = $1 AND account = $2"
    " AND stream = $3";

static int prepare(struct pg_store *s, const char *name, const char *sql,
		   struct err *err)
{
	PGresult *r = PQprepare(s->db, name, sql, 0, NULL);
	int ret = PQresultStatus(r) == PGRES_COMMAND_OK
		      ? 0
		      : pg_db_err(err, s, "open", r);

	PQclear(r);
	return ret;
}

/* The statements come from the tables above; one past its buffer's
 * maximum still fails the open with a message rather than run cut. */
int pg_write_prepare(struct pg_store *s, struct err *err)
{
	struct buf q = BUF_INIT;
	int i, ret = 0;

	for (i = 0; i < PT__COUNT; i++)
		ret |= build_stage_ddl(&q, (enum ptable)i);
	if (ret == 0)
		ret = pg_exec(s, buf_str(&q), "open", err);
	else
		err_set(err, ERR_STORE, 0,
			"cannot open store '%s': staging tables too long: "
			"more than %zu bytes",
			s->safe_url, q.max);
	buf_release(&q);
	if (ret < 0)
		return -1;
	for (i = 0; i < PT__COUNT; i++)
		s->merge_sql[i] = build_merge(
		    (enum ptable)i, has_stat((enum ptable)i) ? 0 : -1);
	s->merge_sql[PG_MS_CAMPAIGNS_STATS] = build_merge(PT_CAMPAIGNS, 1);
	/* Prepared once: a batch does not parse or plan them again. */
	for (i = 0; i < PG_MS__COUNT; i++) {
		char name[24];

		if (!s->merge_sql[i])
			return err_set(err, ERR_STORE, 0,
				       "cannot open store '%s': merge "
				       "statement too long: more than %zu "
				       "bytes",
				       s->safe_url, (size_t)BUF_DEFAULT_MAX);
		snprintf(name, sizeof(name), "espsync_merge_%d", i);
		if (prepare(s, name, s->merge_sql[i], err) < 0)
			return -1;
	}
	if (prepare(s, "espsync_state_set", upsert_state, err) < 0 ||
	    prepare(s, "espsync_state_del", delete_state, err) < 0)
		return -1;
	return 0;
}

void pg_write_release(struct pg_store *s)
{
	int i;

	for (i = 0; i < PG_MS__COUNT; i++) {
		free(s->merge_sql[i]);
		s->merge_sql[i] = NULL;
	}
}

/* ------------------------------------------------------------ write */

/* One batch's transaction. Statements that return nothing the batch needs
 * (BEGIN, the write lock, new partitions) wait in pre and go with the next
 * command, so a batch of events costs three round trips: BEGIN..COPY, the
 * rows, and the pipelined checkpoints with COMMIT. */
struct wctx {
	struct pg_store *s;
	const struct batch *b;
	struct buf pre, data;
	struct store_counts c;
	char now[21];
};

/* A batch whose rows (data) or statements (pre) pass their buffer's
 * maximum fails whole: the caller rolls it back. */
static int too_long(const struct wctx *w, const struct buf *b, const char *what,
		    struct err *err)
{
	return err_set(err, ERR_STORE, 0,
		       "cannot load a batch into store '%s': %s too long: "
		       "more than %zu bytes",
		       w->s->safe_url, what, b->max);
}

/* Sends pre (statements ending in a COPY ... FROM STDIN) and the rows in
 * data, and empties pre. *rows is what COPY reports; sqlstate (6 bytes)
 * holds the error's SQLSTATE, "" when there is none. */
static int copy_rows(struct wctx *w, int64_t *rows, char *sqlstate,
		     struct err *err)
{
	struct pg_store *s = w->s;
	PGresult *r = PQexec(s->db, buf_str(&w->pre));
	const char *code;
	int ret = -1;

	buf_reset(&w->pre);
	sqlstate[0] = '\0';
	if (PQresultStatus(r) != PGRES_COPY_IN)
		goto fail;
	PQclear(r);
	r = NULL;
	if (PQputCopyData(s->db, w->data.data, (int)w->data.len) != 1 ||
	    PQputCopyEnd(s->db, NULL) != 1)
		goto fail;
	ret = 0;
	while ((r = PQgetResult(s->db))) {
		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			*rows = strtoll(PQcmdTuples(r), NULL, 10);
		} else if (ret == 0) {
			code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
			snprintf(sqlstate, 6, "%s", code ? code : "");
			ret = pg_db_err(err, s, "load a batch into", r);
		}
		PQclear(r);
	}
	return ret;
fail:
	code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	snprintf(sqlstate, 6, "%s", code ? code : "");
	pg_db_err(err, s, "load a batch into", r);
	PQclear(r);
	return -1;
}

static int merge(struct pg_store *s, int ms, struct store_counts *c,
		 struct err *err)
{
	PGresult *r;
	char name[24];

	snprintf(name, sizeof(name), "espsync_merge_%d", ms);
	r = PQexecPrepared(s->db, name, 0, NULL, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_db_err(err, s, "write a batch to", r);
		PQclear(r);
		return -1;
	}
	c->inserted += pg_val_int(r, 0, 0);
	c->updated += pg_val_int(r, 0, 1);
	PQclear(r);
	return 0;
}

/* COPYs data (n rows) into t's staging table and merges it. The staging
 * tables keep their rows past COMMIT (emptying them all at every commit
 * cost more than a batch of 100 rows): each use first deletes what the
 * last one left, and truncates once enough dead rows piled up, as nothing
 * vacuums temp tables. */
static int stage_merge(struct wctx *w, enum ptable t, size_t n, struct err *err)
{
	struct pg_store *s = w->s;
	char sqlstate[6];
	int64_t rows = 0;
	int rc;

	if (s->staged_rows[t] > PG_STAGE_TRUNCATE_ROWS) {
		rc = buf_printf(&w->pre, "TRUNCATE pg_temp.stage_%s; ",
				ptables[t].table);
		s->staged_rows[t] = 0;
	} else {
		rc = buf_printf(&w->pre, "DELETE FROM pg_temp.stage_%s; ",
				ptables[t].table);
	}
	s->staged_rows[t] += (int64_t)n;
	if (rc | build_copy(&w->pre, t, 0))
		return too_long(w, &w->pre, "statements", err);
	if (copy_rows(w, &rows, sqlstate, err) < 0 ||
	    merge(w->s, (int)t, &w->c, err) < 0)
		return -1;
	if (t == PT_CAMPAIGNS &&
	    merge(w->s, PG_MS_CAMPAIGNS_STATS, &w->c, err) < 0)
		return -1;
	return 0;
}

/* Stages and merges one record array. */
#define LOAD(t, arr, n, rowfn)                                                 \
	do {                                                                   \
		int rc_ = 0;                                                   \
		if (!b->n)                                                     \
			break;                                                 \
		buf_reset(&w.data);                                            \
		for (i = 0; i < b->n; i++) {                                   \
			rc_ |= buf_printf(&w.data, "%zu", i);                  \
			rc_ |= rowfn(&w.data, b, &b->arr[i], w.now);           \
			rc_ |= buf_putc(&w.data, '\n');                        \
		}                                                              \
		if (rc_) {                                                     \
			too_long(&w, &w.data, "rows", err);                    \
			goto done;                                             \
		}                                                              \
		if (stage_merge(&w, t, b->n, err) < 0)                         \
			goto done;                                             \
	} while (0)

/* An event to load, in the order they are loaded. */
struct ev_key {
	int64_t day;
	const char *id;
	size_t i; /* index in the batch */
};

static int ev_key_cmp(const void *pa, const void *pb)
{
	const struct ev_key *a = pa, *b = pb;
	int c;

	if (a->day != b->day)
		return a->day < b->day ? -1 : 1;
	c = strcmp(a->id, b->id);
	if (c)
		return c;
	return a->i < b->i ? -1 : a->i > b->i;
}

/* The batch's events inside the retention period, sorted by (day,
 * event_id) and de-duplicated (the last of equal ids wins, as in the
 * merge). Returns how many; *new_days gets the days without a known
 * partition, *n_old how many events are older than the retention. Both
 * arrays are the caller's to free. */
static size_t event_keys(const struct pg_store *s, const struct batch *b,
			 struct ev_key **out, int64_t **new_days, size_t *n_new,
			 int64_t *n_old)
{
	struct ev_key *k = xmalloc(b->n_events * sizeof(*k));
	int64_t first = pg_first_kept_day(s);
	size_t i, n = 0, m = 0;

	*new_days = xmalloc(b->n_events * sizeof(**new_days));
	*n_new = 0;
	for (i = 0; i < b->n_events; i++) {
		int64_t day = pg_floor_div(b->events[i].ts, 86400);

		if (day < first) {
			(*n_old)++;
			continue;
		}
		k[n].day = day;
		k[n].id = b->events[i].event_id;
		k[n].i = i;
		n++;
	}
	qsort(k, n, sizeof(*k), ev_key_cmp);
	for (i = 0; i < n; i++) {
		if (i + 1 < n && k[i + 1].day == k[i].day &&
		    !strcmp(k[i + 1].id, k[i].id))
			continue;
		if ((m == 0 || k[m - 1].day != k[i].day) &&
		    !pg_day_known(s, k[i].day))
			(*new_days)[(*n_new)++] = k[i].day;
		k[m++] = k[i];
	}
	*out = k;
	return m;
}

/* Events go by COPY straight into email_activities when none is stored
 * yet (the primary key says so: a stored one fails the COPY with a unique
 * violation, which rolls back to the savepoint); otherwise, or after such
 * a failure, through staging and INSERT ... ON CONFLICT, which also
 * updates what changed. A batch that met a stored event sends the next one
 * through staging directly, so a re-run does not pay for failed COPYs. */
static int load_events(struct wctx *w, int64_t **new_days, size_t *n_new,
		       struct err *err)
{
	struct pg_store *s = w->s;
	const struct batch *b = w->b;
	struct ev_key *k = NULL;
	char sqlstate[6];
	int64_t rows = 0, before = w->c.inserted;
	size_t i,
	    n = event_keys(s, b, &k, new_days, n_new, &w->c.outside_retention);
	int ret = -1, rc = 0;

	if (!n) {
		ret = 0;
		goto done;
	}
	if (pg_partitions_sql(&w->pre, *new_days, *n_new) < 0) {
		too_long(w, &w->pre, "statements", err);
		goto done;
	}
	buf_reset(&w->data);
	if (!s->has_seen_stored_event) {
		for (i = 0; i < n; i++) {
			rc |= pg_row_event(&w->data, b, &b->events[k[i].i],
					   w->now);
			rc |= buf_putc(&w->data, '\n');
		}
		if (rc) {
			too_long(w, &w->data, "rows", err);
			goto done;
		}
		if (buf_puts(&w->pre, "SAVEPOINT direct; ") < 0 ||
		    build_copy(&w->pre, PT_EVENTS, 1) < 0) {
			too_long(w, &w->pre, "statements", err);
			goto done;
		}
		if (copy_rows(w, &rows, sqlstate, err) == 0) {
			w->c.inserted += rows;
			ret = 0;
			goto done;
		}
		/* Some event is stored already. */
		if (strcmp(sqlstate, "23505") != 0)
			goto done;
		err_clear(err);
		if (pg_exec(s, "ROLLBACK TO SAVEPOINT direct",
			    "write a batch to", err) < 0)
			goto done;
		buf_reset(&w->data);
	}
	for (i = 0; i < n; i++) {
		rc |= buf_printf(&w->data, "%zu\t", k[i].i);
		rc |= pg_row_event(&w->data, b, &b->events[k[i].i], w->now);
		rc |= buf_putc(&w->data, '\n');
	}
	if (rc) {
		too_long(w, &w->data, "rows", err);
		goto done;
	}
	if (stage_merge(w, PT_EVENTS, n, err) < 0)
		goto done;
	s->has_seen_stored_event = w->c.inserted - before < (int64_t)n;
	ret = 0;
done:
	free(k);
	return ret;
}

/* Saves the batch's checkpoints and commits, all in one pipeline: one
 * round trip. A failed statement makes the server skip the rest (COMMIT
 * too), and the caller rolls back. */
static int save_states_commit(struct wctx *w, struct err *err)
{
	struct pg_store *s = w->s;
	const struct batch *b = w->b;
	PGresult *r;
	size_t i, k, n_sent = 0;
	int ret = -1;

	if (w->pre.len &&
	    pg_exec(s, buf_str(&w->pre), "begin a transaction in", err) < 0)
		return -1;
	buf_reset(&w->pre);
	if (PQenterPipelineMode(s->db) != 1)
		return pg_db_err(err, s, "write sync state to", NULL);
	for (i = 0; i < b->n_states; i++) {
		const struct state_update *u = &b->states[i];
		const char *p[5] = {b->provider, b->account, u->stream,
				    u->value, w->now};

		if (PQsendQueryPrepared(
			s->db,
			u->value ? "espsync_state_set" : "espsync_state_del",
			u->value ? 5 : 3, p, NULL, NULL, 0) != 1)
			goto sent;
		n_sent++;
	}
	if (PQsendQueryParams(s->db, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) !=
	    1)
		goto sent;
	n_sent++;
	ret = 0;
sent:
	if (ret < 0)
		pg_db_err(err, s, "write sync state to", NULL);
	if (PQpipelineSync(s->db) != 1) {
		if (ret == 0)
			ret = pg_db_err(err, s, "commit a batch to", NULL);
		PQexitPipelineMode(s->db);
		return -1;
	}
	for (k = 0; k < n_sent; k++) {
		while ((r = PQgetResult(s->db))) {
			ExecStatusType st = PQresultStatus(r);

			if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
			    ret == 0)
				ret = pg_db_err(err, s,
						k < b->n_states
						    ? "write sync state to"
						    : "commit a batch to",
						r);
			PQclear(r);
		}
	}
	/* The PGRES_PIPELINE_SYNC result, then out of pipeline mode. */
	while ((r = PQgetResult(s->db))) {
		ExecStatusType st = PQresultStatus(r);

		PQclear(r);
		if (st == PGRES_PIPELINE_SYNC)
			break;
	}
	if (PQexitPipelineMode(s->db) != 1 && ret == 0)
		ret = pg_db_err(err, s, "commit a batch to", NULL);
	return ret;
}

/* State rows are checkpoints, not data: they are not counted in *out.
 * Events older than the retention period are not loaded (they would be
 * dropped at the end of the run) and count as outside_retention. */
int pg_write_batch(struct store *store, const struct batch *b,
		   struct store_counts *out, struct err *err)
{
	struct wctx w;
	int64_t *new_days = NULL;
	size_t i, n_new = 0;
	int ret = -1;

	memset(&w, 0, sizeof(w));
	w.s = (struct pg_store *)store;
	w.b = b;
	buf_init(&w.pre, (size_t)1 << 22);
	buf_init(&w.data, (size_t)1 << 30);
	time_format_iso(clock_wall_s(), w.now);
	/* A batch commits without waiting for its WAL flush: a server crash
	 * may lose the last moments of batches, each with its own
	 * checkpoints (WAL is replayed in order, so never a batch without
	 * its checkpoint or the reverse), and the next sync fetches them
	 * again. run_finish commits synchronously, which flushes every batch
	 * before a run is recorded finished. */
	if (buf_puts(&w.pre,
		     "BEGIN; SET LOCAL synchronous_commit = off; " PG_WRITE_LOCK
		     "; ") < 0) {
		too_long(&w, &w.pre, "statements", err);
		goto done;
	}
	LOAD(PT_CAMPAIGNS, campaigns, n_campaigns, pg_row_campaign);
	LOAD(PT_LINKS, links, n_links, pg_row_link);
	LOAD(PT_PARTICIPANTS, participants, n_participants, pg_row_participant);
	if (b->n_events && load_events(&w, &new_days, &n_new, err) < 0)
		goto done;
	LOAD(PT_CONTACTS, contacts, n_contacts, pg_row_contact);
	LOAD(PT_LISTS, lists, n_lists, pg_row_list);
	if (save_states_commit(&w, err) < 0)
		goto done;
	for (i = 0; i < n_new; i++)
		pg_day_add(w.s, new_days[i]);
	w.c.unchanged = (int64_t)batch_count(b) - w.c.inserted - w.c.updated -
			w.c.outside_retention;
	ret = 0;
done:
	if (ret < 0) {
		pg_rollback(w.s);
		memset(&w.c, 0, sizeof(w.c));
		w.c.failed = (int64_t)batch_count(b);
	}
	free(new_days);
	buf_release(&w.pre);
	buf_release(&w.data);
	if (out)
		*out = w.c;
	return ret;
}

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
	       {"unsubscribed", "bigint", P_STAT}, {"synced_at", TS, P_NOW})},
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
 * whose rows this statement takes. */
static char *build_merge(enum ptable t, int gate)
{
	const struct pcol *c, *cols = ptables[t].cols;
	const char *tab = ptables[t].table;
	struct buf q = BUF_INIT, keys = BUF_INIT, set = BUF_INIT,
		   diff = BUF_INIT, ins = BUF_INIT;
	const char *sep = "", *born;

	for (c = cols; c->name; c++) {
		if (c->mode == P_KEY) {
			buf_printf(&keys, "%s%s", sep, c->name);
			sep = ", ";
		}
	}
	buf_puts(&q, "WITH s AS (SELECT DISTINCT ON (");
	buf_puts(&q, buf_str(&keys));
	buf_puts(&q, ") ");
	for (sep = "", c = cols; c->name; c++) {
		if (c->mode == P_GATE)
			continue;
		if (c->mode == P_OR)
			buf_printf(&q, "%smax(%s) OVER (PARTITION BY %s) AS %s",
				   sep, c->name, buf_str(&keys), c->name);
		else
			buf_printf(&q, "%s%s", sep, c->name);
		sep = ", ";
	}
	buf_printf(&q, " FROM pg_temp.stage_%s", tab);
	if (gate >= 0)
		buf_printf(&q, " WHERE has_stats = %d", gate);
	buf_printf(&q, " ORDER BY %s, seq DESC), u AS (INSERT INTO %s AS t (",
		   buf_str(&keys), tab);
	for (sep = "", c = cols; c->name; c++) {
		if (c->mode != P_GATE) {
			buf_printf(&q, "%s%s", sep, c->name);
			sep = ", ";
		}
	}
	buf_puts(&q, ") SELECT ");
	for (sep = "", c = cols; c->name; c++) {
		if (c->mode == P_GATE)
			continue;
		if (c->mode == P_STAT && gate == 0)
			buf_printf(&q, "%s0", sep);
		else if (c->mode == P_BORN)
			buf_printf(&q, "%snow()", sep);
		else
			buf_printf(&q, "%s%s", sep, c->name);
		sep = ", ";
	}
	buf_printf(&q, " FROM s ON CONFLICT (%s) ", buf_str(&keys));
	for (c = cols; c->name; c++) {
		const char *n = c->name;
		const char *cast = !strcmp(c->type, "json") ? "::text" : "";
		const char *ss = set.len ? ", " : "";
		const char *ds = diff.len ? " OR " : "";

		switch (c->mode) {
		case P_KEEP:
			buf_printf(&set, "%s%s = coalesce(excluded.%s, t.%s)",
				   ss, n, n, n);
			buf_printf(&diff,
				   "%st.%s%s IS DISTINCT FROM "
				   "coalesce(excluded.%s, t.%s)%s",
				   ds, n, cast, n, n, cast);
			break;
		case P_STAT:
			if (gate != 1)
				break;
			/* fall through */
		case P_SET:
			buf_printf(&set, "%s%s = excluded.%s", ss, n, n);
			buf_printf(&diff,
				   "%st.%s%s IS DISTINCT FROM excluded.%s%s",
				   ds, n, cast, n, cast);
			break;
		case P_OR:
			buf_printf(&set, "%s%s = t.%s | excluded.%s", ss, n, n,
				   n);
			buf_printf(&diff, "%st.%s <> (t.%s | excluded.%s)", ds,
				   n, n, n);
			break;
		default:
			break;
		}
	}
	for (c = cols; c->name; c++)
		if (c->mode == P_NOW)
			buf_printf(&set, ", %s = excluded.%s", c->name,
				   c->name);
	/* RETURNING cannot read xmax of a partitioned table: there a row
	 * is new when it was born in this transaction. */
	for (born = NULL, c = cols; c->name; c++)
		if (c->mode == P_BORN)
			born = c->name;
	if (born)
		buf_printf(&ins, "t.%s = now()", born);
	else
		buf_puts(&ins, "t.xmax = 0");
	buf_printf(&q,
		   "DO UPDATE SET %s WHERE %s RETURNING (%s) AS ins)"
		   " SELECT count(*) FILTER (WHERE ins),"
		   " count(*) FILTER (WHERE NOT ins) FROM u",
		   buf_str(&set), buf_str(&diff), buf_str(&ins));
	buf_release(&ins);
	buf_release(&keys);
	buf_release(&set);
	buf_release(&diff);
	return buf_detach(&q, NULL);
}

static void build_stage_ddl(struct buf *q, enum ptable t)
{
	const struct pcol *c;

	buf_printf(q, "CREATE TEMP TABLE IF NOT EXISTS stage_%s (seq integer",
		   ptables[t].table);
	for (c = ptables[t].cols; c->name; c++)
		buf_printf(q, ", %s %s", c->name, c->type);
	buf_puts(q, ") ON COMMIT DELETE ROWS;");
}

static void build_copy(struct buf *q, enum ptable t)
{
	const struct pcol *c;

	buf_reset(q);
	buf_printf(q, "COPY pg_temp.stage_%s (seq", ptables[t].table);
	for (c = ptables[t].cols; c->name; c++)
		buf_printf(q, ", %s", c->name);
	buf_puts(q, ") FROM STDIN");
}

int pg_write_prepare(struct pg_store *s, struct err *err)
{
	struct buf q = BUF_INIT;
	int i, ret;

	for (i = 0; i < PT__COUNT; i++)
		build_stage_ddl(&q, (enum ptable)i);
	ret = pg_exec(s, buf_str(&q), "open", err);
	buf_release(&q);
	if (ret < 0)
		return -1;
	for (i = 0; i < PT__COUNT; i++)
		s->merge_sql[i] = build_merge(
		    (enum ptable)i, has_stat((enum ptable)i) ? 0 : -1);
	s->merge_sql[PG_MS_CAMPAIGNS_STATS] = build_merge(PT_CAMPAIGNS, 1);
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

/* ------------------------------------------------------------ COPY rows */

static void put_text(struct buf *b, const char *v)
{
	buf_putc(b, '\t');
	pg_copy_field(b, v);
}

static void put_time(struct buf *b, int64_t t)
{
	char iso[21];

	if (t == TIME_NULL) {
		buf_puts(b, "\t\\N");
		return;
	}
	time_format_iso(t, iso);
	buf_putc(b, '\t');
	buf_puts(b, iso);
}

static void put_int(struct buf *b, int64_t v)
{
	buf_printf(b, "\t%lld", (long long)v);
}

/* Negative counts mean "unknown" and stage NULL (keep the stored value). */
static void put_count(struct buf *b, int64_t v)
{
	if (v < 0)
		buf_puts(b, "\t\\N");
	else
		put_int(b, v);
}

static void row_campaign(struct buf *o, const struct batch *b,
			 const struct rec_campaign *r, const char *now)
{
	const struct campaign_stats *x = &r->stats;

	put_text(o, b->provider);
	put_text(o, b->account);
	put_text(o, r->campaign_id);
	put_text(o, r->name);
	put_text(o, r->subject);
	put_text(o, r->from_name);
	put_text(o, r->from_email);
	put_text(o, r->status);
	put_time(o, r->created_at);
	put_time(o, r->sent_at);
	put_text(o, r->to_lists_json);
	put_int(o, r->has_stats != 0);
	put_int(o, x->sent);
	put_int(o, x->opened_unique);
	put_int(o, x->opened_total);
	put_int(o, x->clicked_unique);
	put_int(o, x->clicked_total);
	put_int(o, x->bounced_hard);
	put_int(o, x->bounced_soft);
	put_int(o, x->complained);
	put_int(o, x->unsubscribed);
	put_text(o, now);
}

static void row_link(struct buf *o, const struct batch *b,
		     const struct rec_link *r, const char *now)
{
	put_text(o, b->provider);
	put_text(o, b->account);
	put_text(o, r->campaign_id);
	put_text(o, r->url);
	put_int(o, r->clicked_total);
	put_int(o, r->clicked_unique);
	put_text(o, now);
}

static void row_participant(struct buf *o, const struct batch *b,
			    const struct rec_participant *r, const char *now)
{
	static const unsigned bits[] = {ENG_SENT,	ENG_OPENED,
					ENG_CLICKED,	ENG_BOUNCED,
					ENG_COMPLAINED, ENG_UNSUBSCRIBED};
	int i;

	put_text(o, b->provider);
	put_text(o, b->account);
	put_text(o, r->campaign_id);
	put_text(o, r->contact_id);
	put_text(o, r->email);
	for (i = 0; i < 6; i++)
		put_int(o, (r->flags & bits[i]) != 0);
	put_text(o, now);
}

static void row_event(struct buf *o, const struct batch *b,
		      const struct rec_event *r, const char *now)
{
	char date[11];

	time_format_date(r->ts, date);
	put_text(o, r->event_id);
	put_text(o, date);
	put_text(o, b->provider);
	put_text(o, b->account);
	put_text(o, r->campaign_id);
	put_text(o, r->campaign_name);
	put_text(o, r->contact_id);
	put_text(o, r->contact_email);
	put_text(o, event_type_name(r->type));
	put_time(o, r->ts);
	put_int(o, r->times);
	put_text(o, r->link_url);
	put_text(o, r->bounce_type);
	put_text(o, now);
	put_text(o, now);
}

static void row_contact(struct buf *o, const struct batch *b,
			const struct rec_contact *r, const char *now)
{
	put_text(o, b->provider);
	put_text(o, b->account);
	put_text(o, r->contact_id);
	put_text(o, r->email);
	put_text(o, r->first_name);
	put_text(o, r->last_name);
	put_text(o, r->phone);
	put_text(o, r->status);
	put_text(o, r->fields_json);
	put_text(o, r->tags_json);
	put_text(o, r->lists_json);
	put_time(o, r->created_at);
	put_time(o, r->updated_at);
	put_time(o, r->deleted_at);
	put_text(o, now);
}

static void row_list(struct buf *o, const struct batch *b,
		     const struct rec_list *r, const char *now)
{
	put_text(o, b->provider);
	put_text(o, b->account);
	put_text(o, r->list_id);
	put_text(o, r->name);
	put_text(o, r->fields_json);
	put_text(o, r->tags_json);
	put_count(o, r->subscribed);
	put_count(o, r->unsubscribed);
	put_count(o, r->pending);
	put_time(o, r->created_at);
	put_time(o, r->updated_at);
	put_text(o, now);
}

int pg_copy_field(struct buf *b, const char *s)
{
	const char *p, *run;

	if (!s)
		return buf_append(b, "\\N", 2);
	for (run = p = s; *p; p++) {
		const char *esc = NULL;

		switch (*p) {
		case '\\':
			esc = "\\\\";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		default:
			continue;
		}
		if (buf_append(b, run, (size_t)(p - run)) < 0 ||
		    buf_append(b, esc, 2) < 0)
			return -1;
		run = p + 1;
	}
	return buf_append(b, run, (size_t)(p - run));
}

/* ------------------------------------------------------------ write */

/* COPYs the rows in data into table t's staging table. */
static int copy_in(struct pg_store *s, enum ptable t, const struct buf *data,
		   struct err *err)
{
	struct buf q = BUF_INIT;
	PGresult *r;
	int ret = -1;

	build_copy(&q, t);
	r = PQexec(s->db, buf_str(&q));
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		pg_db_err(err, s, "load a batch into", r);
		PQclear(r);
		goto done;
	}
	PQclear(r);
	if (PQputCopyData(s->db, data->data, (int)data->len) != 1 ||
	    PQputCopyEnd(s->db, NULL) != 1) {
		pg_db_err(err, s, "load a batch into", NULL);
		goto done;
	}
	ret = 0;
	while ((r = PQgetResult(s->db))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && ret == 0)
			ret = pg_db_err(err, s, "load a batch into", r);
		PQclear(r);
	}
done:
	buf_release(&q);
	return ret;
}

static int merge(struct pg_store *s, int ms, struct store_counts *c,
		 struct err *err)
{
	PGresult *r =
	    pg_query(s, s->merge_sql[ms], 0, NULL, "write a batch to", err);

	if (!r)
		return -1;
	c->inserted += pg_val_int(r, 0, 0);
	c->updated += pg_val_int(r, 0, 1);
	PQclear(r);
	return 0;
}

/* Stages and merges one record array. */
#define LOAD(t, arr, n, rowfn)                                                 \
	do {                                                                   \
		if (!b->n)                                                     \
			break;                                                 \
		buf_reset(&data);                                              \
		for (i = 0; i < b->n; i++) {                                   \
			buf_printf(&data, "%zu", i);                           \
			rowfn(&data, b, &b->arr[i], now);                      \
			buf_putc(&data, '\n');                                 \
		}                                                              \
		if (copy_in(s, t, &data, err) < 0 || merge(s, t, &c, err) < 0) \
			goto done;                                             \
		if (t == PT_CAMPAIGNS &&                                       \
		    merge(s, PG_MS_CAMPAIGNS_STATS, &c, err) < 0)              \
			goto done;                                             \
	} while (0)

static int apply_states(struct pg_store *s, const struct batch *b,
			const char *now, struct err *err)
{
	size_t i;

	for (i = 0; i < b->n_states; i++) {
		const struct state_update *u = &b->states[i];
		const char *p[5] = {b->provider, b->account, u->stream,
				    u->value, now};
		PGresult *r;

		if (u->value)
			r = pg_query(
			    s,
			    "INSERT INTO sync_state (provider, account,"
			    " stream, value, updated_at)"
			    " VALUES ($1, $2, $3, $4, $5)"
			    " ON CONFLICT (provider, account, stream)"
			    " DO UPDATE SET value = excluded.value,"
			    " updated_at = excluded.updated_at",
			    5, p, "write sync state to", err);
		else
			r = pg_query(
			    s,
			    "DELETE FROM sync_state WHERE provider = $1"
			    " AND account = $2 AND stream = $3",
			    3, p, "write sync state to", err);
		if (!r)
			return -1;
		PQclear(r);
	}
	return 0;
}

/* State rows are checkpoints, not data: they are not counted in *out.
 * Events older than the retention period are not loaded (they would be
 * dropped at the end of the run) and count as unchanged. */
int pg_write_batch(struct store *store, const struct batch *b,
		   struct store_counts *out, struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	struct store_counts c = {0, 0, 0, 0};
	struct buf data = BUF_INIT;
	int64_t first = pg_first_kept_day(s);
	int64_t *new_days = NULL;
	size_t i, n_new = 0, n_events = 0, j;
	char now[21];
	int ret = -1;

	buf_init(&data, (size_t)1 << 30);
	time_format_iso(clock_wall_s(), now);
	if (b->n_events)
		new_days = xmalloc(b->n_events * sizeof(*new_days));
	/* A batch commits without waiting for its WAL flush: a server crash
	 * may lose the last moments of batches, each with its own
	 * checkpoints (WAL is replayed in order, so never a batch without
	 * its checkpoint or the reverse), and the next sync fetches them
	 * again. run_finish commits synchronously, which flushes every batch
	 * before a run is recorded finished. */
	if (pg_exec(s,
		    "BEGIN; SET LOCAL synchronous_commit = off; " PG_WRITE_LOCK,
		    "begin a transaction in", err) < 0)
		goto done;
	LOAD(PT_CAMPAIGNS, campaigns, n_campaigns, row_campaign);
	LOAD(PT_LINKS, links, n_links, row_link);
	LOAD(PT_PARTICIPANTS, participants, n_participants, row_participant);
	buf_reset(&data);
	for (i = 0; i < b->n_events; i++) {
		int64_t day = pg_floor_div(b->events[i].ts, 86400);

		if (day < first)
			continue;
		if (!pg_day_known(s, day)) {
			for (j = 0; j < n_new && new_days[j] != day; j++)
				;
			if (j == n_new)
				new_days[n_new++] = day;
		}
		buf_printf(&data, "%zu", i);
		row_event(&data, b, &b->events[i], now);
		buf_putc(&data, '\n');
		n_events++;
	}
	if (n_events && (pg_create_partitions(s, new_days, n_new, err) < 0 ||
			 copy_in(s, PT_EVENTS, &data, err) < 0 ||
			 merge(s, PT_EVENTS, &c, err) < 0))
		goto done;
	LOAD(PT_CONTACTS, contacts, n_contacts, row_contact);
	LOAD(PT_LISTS, lists, n_lists, row_list);
	if (apply_states(s, b, now, err) < 0 ||
	    pg_exec(s, "COMMIT", "commit a batch to", err) < 0)
		goto done;
	for (i = 0; i < n_new; i++)
		pg_day_add(s, new_days[i]);
	c.unchanged = (int64_t)batch_count(b) - c.inserted - c.updated;
	ret = 0;
done:
	if (ret < 0) {
		pg_rollback(s);
		memset(&c, 0, sizeof(c));
		c.failed = (int64_t)batch_count(b);
	}
	free(new_days);
	buf_release(&data);
	if (out)
		*out = c;
	return ret;
}

/* SQLite writes: a batch's upserts (built from one column table per table,
 * so unchanged rows are left alone) with its checkpoints in one
 * transaction, the run log, participant linking and contact
 * reconciliation. */
#include "store/sqlite_internal.h"

#include <string.h>

#include "util/clock.h"
#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* How an upsert treats a column. The value of column i is parameter ?i+1
 * in both statements of a pair, so one bind function fills either. */
enum col_mode {
	C_KEY,	/* part of the conflict key */
	C_INS,	/* written on insert only */
	C_KEEP, /* NULL means unknown: the stored value stays */
	C_SET,	/* overwritten as given */
	C_OR,	/* engagement flag: OR-ed in, never cleared */
	C_GATE, /* not a column: 0/1 deciding whether C_STAT columns apply */
	C_STAT, /* overwritten when the gate is 1, else kept (0 on insert) */
	C_NOW,	/* set to now when the row is inserted or changes */
};

struct col {
	const char *name;
	enum col_mode mode;
};

#define COLS(...) ((const struct col[]){__VA_ARGS__, {NULL, C_KEY}})

static const struct {
	const char *table;
	const struct col *cols;
} upserts[T__COUNT] = {
    [T_CAMPAIGNS] = {"campaigns",
		     COLS({"provider", C_KEY}, {"account", C_KEY},
			  {"campaign_id", C_KEY}, {"name", C_KEEP},
			  {"subject", C_KEEP}, {"from_name", C_KEEP},
			  {"from_email", C_KEEP}, {"status", C_KEEP},
			  {"created_at", C_KEEP}, {"sent_at", C_KEEP},
			  {"to_lists", C_KEEP}, {"has_stats", C_GATE},
			  {"sent", C_STAT}, {"opened_unique", C_STAT},
			  {"opened_total", C_STAT}, {"clicked_unique", C_STAT},
			  {"clicked_total", C_STAT}, {"bounced_hard", C_STAT},
			  {"bounced_soft", C_STAT}, {"complained", C_STAT},
			  {"unsubscribed", C_STAT}, {"verified_opens", C_KEEP},
			  {"verified_unique_opens", C_KEEP},
			  {"synced_at", C_NOW})},
    [T_LINKS] = {"campaign_links",
		 COLS({"provider", C_KEY}, {"account", C_KEY},
		      {"campaign_id", C_KEY}, {"url", C_KEY},
		      {"clicked_total", C_SET}, {"clicked_unique", C_SET},
		      {"synced_at", C_NOW})},
    [T_PARTICIPANTS] = {"participants",
			COLS({"provider", C_KEY}, {"account", C_KEY},
			     {"campaign_id", C_KEY}, {"contact_id", C_KEY},
			     {"email_address", C_KEEP}, {"sent", C_OR},
			     {"opened", C_OR}, {"clicked", C_OR},
			     {"bounced", C_OR}, {"complained", C_OR},
			     {"unsubscribed", C_OR}, {"synced_at", C_NOW})},
    [T_EVENTS] = {"email_activities",
		  COLS({"event_id", C_KEY}, {"provider", C_INS},
		       {"account", C_INS}, {"campaign_id", C_INS},
		       {"campaign_name", C_KEEP}, {"contact_id", C_INS},
		       {"contact_email", C_INS}, {"event_type", C_INS},
		       {"activity_timestamp", C_INS}, {"activity_date", C_INS},
		       {"times", C_SET}, {"link_url", C_KEEP},
		       {"bounce_type", C_KEEP}, {"created_at", C_INS},
		       {"updated_at", C_NOW})},
    [T_CONTACTS] = {"contacts",
		    COLS({"provider", C_KEY}, {"account", C_KEY},
			 {"contact_id", C_KEY}, {"email", C_KEEP},
			 {"first_name", C_KEEP}, {"last_name", C_KEEP},
			 {"phone", C_KEEP}, {"status", C_KEEP},
			 {"fields", C_KEEP}, {"tags", C_KEEP},
			 {"lists", C_KEEP}, {"created_at", C_KEEP},
			 {"updated_at", C_KEEP}, {"deleted_at", C_KEEP},
			 {"synced_at", C_NOW})},
    [T_LISTS] = {"lists", COLS({"provider", C_KEY}, {"account", C_KEY},
			       {"list_id", C_KEY}, {"name", C_KEEP},
			       {"fields", C_KEEP}, {"tags", C_KEEP},
			       {"subscribed", C_KEEP}, {"unsubscribed", C_KEEP},
			       {"pending", C_KEEP}, {"created_at", C_KEEP},
			       {"updated_at", C_KEEP}, {"synced_at", C_NOW})},
};

static int build_insert(struct buf *q, const struct col *cols,
			const char *table, int gate)
{
	const struct col *c;
	const char *sep = "";
	int i, rc = buf_printf(q, "INSERT INTO %s (", table);

	for (c = cols; c->name; c++, sep = ", ")
		if (c->mode != C_GATE)
			rc |= buf_printf(q, "%s%s", sep, c->name);
	rc |= buf_puts(q, ") VALUES (");
	for (sep = "", i = 0; cols[i].name; i++, sep = ", ") {
		if (cols[i].mode == C_STAT)
			rc |= buf_printf(q, "%s?%d * ?%d", sep, gate, i + 1);
		else if (cols[i].mode != C_GATE)
			rc |= buf_printf(q, "%s?%d", sep, i + 1);
		else
			sep = "";
	}
	return rc | buf_puts(q, ") ON CONFLICT DO NOTHING");
}

static int build_update(struct buf *q, const struct col *cols,
			const char *table, int gate)
{
	const char *sep = "";
	int i, rc = buf_printf(q, "UPDATE %s SET ", table);

	for (i = 0; cols[i].name; i++) {
		const char *n = cols[i].name;
		int p = i + 1;

		switch (cols[i].mode) {
		case C_KEEP:
			rc |= buf_printf(q, "%s%s = coalesce(?%d, %s)", sep, n,
					 p, n);
			break;
		case C_SET:
		case C_NOW:
			rc |= buf_printf(q, "%s%s = ?%d", sep, n, p);
			break;
		case C_OR:
			rc |= buf_printf(q, "%s%s = %s | ?%d", sep, n, n, p);
			break;
		case C_STAT:
			rc |= buf_printf(q, "%s%s = iif(?%d, ?%d, %s)", sep, n,
					 gate, p, n);
			break;
		default:
			continue;
		}
		sep = ", ";
	}
	for (sep = " WHERE ", i = 0; cols[i].name; i++) {
		if (cols[i].mode == C_KEY) {
			rc |= buf_printf(q, "%s%s = ?%d", sep, cols[i].name,
					 i + 1);
			sep = " AND ";
		}
	}
	for (sep = " AND (", i = 0; cols[i].name; i++) {
		const char *n = cols[i].name;
		int p = i + 1;

		switch (cols[i].mode) {
		case C_KEEP:
			rc |= buf_printf(q, "%s%s IS NOT coalesce(?%d, %s)",
					 sep, n, p, n);
			break;
		case C_SET:
			rc |= buf_printf(q, "%s%s IS NOT ?%d", sep, n, p);
			break;
		case C_OR:
			rc |= buf_printf(q, "%s%s <> (%s | ?%d)", sep, n, n, p);
			break;
		case C_STAT:
			rc |= buf_printf(q, "%s(?%d AND %s IS NOT ?%d)", sep,
					 gate, n, p);
			break;
		default:
			continue;
		}
		sep = " OR ";
	}
	return rc | buf_putc(q, ')');
}

/* Builds the INSERT (which = 0) or UPDATE (which = 1) of table t. The
 * statements come from the tables above, so one that does not fit its
 * buffer is a bug. */
void sq_build_upsert(struct buf *q, enum upsert_table t, int which)
{
	const struct col *cols = upserts[t].cols;
	int i, gate = 0, rc;

	for (i = 0; cols[i].name; i++)
		if (cols[i].mode == C_GATE)
			gate = i + 1;
	buf_reset(q);
	if (which == 0)
		rc = build_insert(q, cols, upserts[t].table, gate);
	else
		rc = build_update(q, cols, upserts[t].table, gate);
	if (rc)
		BUG("sqlite: upsert statement past its buffer's maximum");
}

static int bind_time(sqlite3_stmt *st, int i, int64_t t)
{
	char iso[21];

	if (t == TIME_NULL)
		return sqlite3_bind_null(st, i);
	time_format_iso(t, iso);
	return sqlite3_bind_text(st, i, iso, -1, SQLITE_TRANSIENT);
}

/* Negative counts mean "unknown" and bind NULL (keep the stored value). */
static int bind_count(sqlite3_stmt *st, int i, int64_t v)
{
	return v < 0 ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, v);
}

/* Steps table t's bound insert, then its update when the row existed. */
static int upsert(struct sqlite_store *s, enum upsert_table t,
		  struct store_counts *c)
{
	if (sq_run_cached(s, 2 * t) < 0)
		return -1;
	if (sqlite3_changes(s->db) == 1) {
		c->inserted++;
		return 0;
	}
	if (sq_run_cached(s, 2 * t + 1) < 0)
		return -1;
	if (sqlite3_changes(s->db) == 1)
		c->updated++;
	else
		c->unchanged++;
	return 0;
}

static int bind_campaign(sqlite3_stmt *st, const struct batch *b,
			 const struct rec_campaign *r, const char *now)
{
	const struct campaign_stats *x = &r->stats;
	int rc = 0;

	rc |= sq_bind_text(st, 1, b->provider);
	rc |= sq_bind_text(st, 2, b->account);
	rc |= sq_bind_text(st, 3, r->campaign_id);
	rc |= sq_bind_text(st, 4, r->name);
	rc |= sq_bind_text(st, 5, r->subject);
	rc |= sq_bind_text(st, 6, r->from_name);
	rc |= sq_bind_text(st, 7, r->from_email);
	rc |= sq_bind_text(st, 8, r->status);
	rc |= bind_time(st, 9, r->created_at);
	rc |= bind_time(st, 10, r->sent_at);
	rc |= sq_bind_text(st, 11, r->to_lists_json);
	rc |= sqlite3_bind_int(st, 12, r->has_stats != 0);
	rc |= sqlite3_bind_int64(st, 13, x->sent);
	rc |= sqlite3_bind_int64(st, 14, x->opened_unique);
	rc |= sqlite3_bind_int64(st, 15, x->opened_total);
	rc |= sqlite3_bind_int64(st, 16, x->clicked_unique);
	rc |= sqlite3_bind_int64(st, 17, x->clicked_total);
	rc |= sqlite3_bind_int64(st, 18, x->bounced_hard);
	rc |= sqlite3_bind_int64(st, 19, x->bounced_soft);
	rc |= sqlite3_bind_int64(st, 20, x->complained);
	rc |= sqlite3_bind_int64(st, 21, x->unsubscribed);
	rc |= bind_count(st, 22, r->verified_opens);
	rc |= bind_count(st, 23, r->verified_unique_opens);
	rc |= sq_bind_text(st, 24, now);
	return rc;
}

static int bind_link(sqlite3_stmt *st, const struct batch *b,
		     const struct rec_link *r, const char *now)
{
	int rc = 0;

	rc |= sq_bind_text(st, 1, b->provider);
	rc |= sq_bind_text(st, 2, b->account);
	rc |= sq_bind_text(st, 3, r->campaign_id);
	rc |= sq_bind_text(st, 4, r->url);
	rc |= sqlite3_bind_int64(st, 5, r->clicked_total);
	rc |= sqlite3_bind_int64(st, 6, r->clicked_unique);
	rc |= sq_bind_text(st, 7, now);
	return rc;
}

static int bind_participant(sqlite3_stmt *st, const struct batch *b,
			    const struct rec_participant *r, const char *now)
{
	int rc = 0, i;

	rc |= sq_bind_text(st, 1, b->provider);
	rc |= sq_bind_text(st, 2, b->account);
	rc |= sq_bind_text(st, 3, r->campaign_id);
	rc |= sq_bind_text(st, 4, r->contact_id);
	rc |= sq_bind_text(st, 5, r->email);
	for (i = 0; i < STORE_PARTICIPANT_FLAGS; i++)
		rc |= sqlite3_bind_int(
		    st, 6 + i, (r->flags & store_participant_flags[i]) != 0);
	rc |= sq_bind_text(st, 12, now);
	return rc;
}

static int bind_event(sqlite3_stmt *st, const struct batch *b,
		      const struct rec_event *r, const char *now)
{
	char date[11];
	int rc = 0;

	rc |= sq_bind_text(st, 1, r->event_id);
	rc |= sq_bind_text(st, 2, b->provider);
	rc |= sq_bind_text(st, 3, b->account);
	rc |= sq_bind_text(st, 4, r->campaign_id);
	rc |= sq_bind_text(st, 5, r->campaign_name);
	rc |= sq_bind_text(st, 6, r->contact_id);
	rc |= sq_bind_text(st, 7, r->contact_email);
	rc |= sq_bind_text(st, 8, event_type_name(r->type));
	rc |= bind_time(st, 9, r->ts);
	if (r->ts == TIME_NULL) {
		rc |= sqlite3_bind_null(st, 10);
	} else {
		time_format_date(r->ts, date);
		rc |= sqlite3_bind_text(st, 10, date, -1, SQLITE_TRANSIENT);
	}
	rc |= sqlite3_bind_int64(st, 11, r->times);
	rc |= sq_bind_text(st, 12, r->link_url);
	rc |= sq_bind_text(st, 13, r->bounce_type);
	rc |= sq_bind_text(st, 14, now);
	rc |= sq_bind_text(st, 15, now);
	return rc;
}

static int bind_contact(sqlite3_stmt *st, const struct batch *b,
			const struct rec_contact *r, const char *now)
{
	int rc = 0;

	rc |= sq_bind_text(st, 1, b->provider);
	rc |= sq_bind_text(st, 2, b->account);
	rc |= sq_bind_text(st, 3, r->contact_id);
	rc |= sq_bind_text(st, 4, r->email);
	rc |= sq_bind_text(st, 5, r->first_name);
	rc |= sq_bind_text(st, 6, r->last_name);
	rc |= sq_bind_text(st, 7, r->phone);
	rc |= sq_bind_text(st, 8, r->status);
	rc |= sq_bind_text(st, 9, r->fields_json);
	rc |= sq_bind_text(st, 10, r->tags_json);
	rc |= sq_bind_text(st, 11, r->lists_json);
	rc |= bind_time(st, 12, r->created_at);
	rc |= bind_time(st, 13, r->updated_at);
	rc |= bind_time(st, 14, r->deleted_at);
	rc |= sq_bind_text(st, 15, now);
	return rc;
}

static int bind_list(sqlite3_stmt *st, const struct batch *b,
		     const struct rec_list *r, const char *now)
{
	int rc = 0;

	rc |= sq_bind_text(st, 1, b->provider);
	rc |= sq_bind_text(st, 2, b->account);
	rc |= sq_bind_text(st, 3, r->list_id);
	rc |= sq_bind_text(st, 4, r->name);
	rc |= sq_bind_text(st, 5, r->fields_json);
	rc |= sq_bind_text(st, 6, r->tags_json);
	rc |= bind_count(st, 7, r->subscribed);
	rc |= bind_count(st, 8, r->unsubscribed);
	rc |= bind_count(st, 9, r->pending);
	rc |= bind_time(st, 10, r->created_at);
	rc |= bind_time(st, 11, r->updated_at);
	rc |= sq_bind_text(st, 12, now);
	return rc;
}

/* Upserts every record of one array, each bound into both statements of
 * table t's pair. */
#define UPSERT_ALL(s, b, arr, n, bindfn, t, what)                              \
	for (i = 0; i < (b)->n; i++) {                                         \
		if (bindfn((s)->st[2 * (t)], b, &(b)->arr[i], now) ||          \
		    bindfn((s)->st[2 * (t) + 1], b, &(b)->arr[i], now) ||      \
		    upsert(s, t, &c) < 0) {                                    \
			sq_db_err(err, s, "write " what " to");                \
			goto done;                                             \
		}                                                              \
	}

static int apply_states(struct sqlite_store *s, const struct batch *b,
			const char *now)
{
	size_t i;

	for (i = 0; i < b->n_states; i++) {
		const struct state_update *u = &b->states[i];
		enum stmt_id id = u->value ? ST_STATE_SET : ST_STATE_DEL;
		sqlite3_stmt *st = s->st[id];
		int rc = 0;

		rc |= sq_bind_text(st, 1, b->provider);
		rc |= sq_bind_text(st, 2, b->account);
		rc |= sq_bind_text(st, 3, u->stream);
		if (u->value) {
			rc |= sq_bind_text(st, 4, u->value);
			rc |= sq_bind_text(st, 5, now);
		}
		if (rc || sq_run_cached(s, id) < 0)
			return -1;
	}
	return 0;
}

/* State rows are checkpoints, not data: they are not counted in *out. */
int sq_write_batch(struct store *store, const struct batch *b,
		   struct store_counts *out, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct store_counts c = {0, 0, 0, 0, 0};
	char now[21];
	size_t i;
	int ret = -1;

	time_format_iso(clock_wall_s(), now);
	if (sq_begin(s, err) < 0)
		goto done;
	UPSERT_ALL(s, b, campaigns, n_campaigns, bind_campaign, T_CAMPAIGNS,
		   "campaigns");
	UPSERT_ALL(s, b, links, n_links, bind_link, T_LINKS, "campaign links");
	UPSERT_ALL(s, b, participants, n_participants, bind_participant,
		   T_PARTICIPANTS, "participants");
	UPSERT_ALL(s, b, events, n_events, bind_event, T_EVENTS,
		   "email activities");
	UPSERT_ALL(s, b, contacts, n_contacts, bind_contact, T_CONTACTS,
		   "contacts");
	UPSERT_ALL(s, b, lists, n_lists, bind_list, T_LISTS, "lists");
	if (apply_states(s, b, now) < 0) {
		sq_db_err(err, s, "write sync state to");
		goto done;
	}
	if (sq_commit(s, "commit a batch to", err) < 0)
		goto done;
	ret = 0;
done:
	if (ret < 0) {
		sq_rollback(s);
		memset(&c, 0, sizeof(c));
		c.failed = (int64_t)batch_count(b);
	}
	for (i = 0; i < ST__COUNT; i++)
		sqlite3_clear_bindings(s->st[i]);
	if (out)
		*out = c;
	return ret;
}

static void bind_run_counts(sqlite3_stmt *st, const struct run_row *r)
{
	sqlite3_bind_int64(st, 4, r->requests);
	sqlite3_bind_int64(st, 5, r->retries);
	sqlite3_bind_int64(st, 6, r->throttled);
	sq_bind_text(st, 7, r->records_json);
	sq_bind_text(st, 8, r->error);
}

int sq_run_begin(struct store *store, struct run_row *run, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (sq_prep(s,
		    "INSERT INTO sync_runs (provider, account, started_at,"
		    " status, requests, retries, throttled, records, error,"
		    " host, pid, heartbeat_at) VALUES (?1, ?2, ?3, 'running',"
		    " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?3)",
		    0, NULL, &st, err) < 0)
		goto done;
	run->started_at = store_time_or_now(run->started_at);
	run->finished_at = TIME_NULL;
	run->status = RUN_RUNNING;
	sq_bind_text(st, 1, run->provider);
	sq_bind_text(st, 2, run->account);
	bind_time(st, 3, run->started_at);
	bind_run_counts(st, run);
	sq_bind_text(st, 9, run->host);
	sqlite3_bind_int64(st, 10, run->pid);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_db_err(err, s, "record a run in");
		goto done;
	}
	run->run_id = sqlite3_last_insert_rowid(s->db);
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

int sq_run_finish(struct store *store, const struct run_row *run,
		  struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (sq_prep(
		s,
		"UPDATE sync_runs SET finished_at = ?2, status = ?3,"
		" requests = ?4, retries = ?5, throttled = ?6, records = ?7,"
		" error = ?8 WHERE run_id = ?1",
		0, NULL, &st, err) < 0)
		goto done;
	sqlite3_bind_int64(st, 1, run->run_id);
	bind_time(st, 2, store_time_or_now(run->finished_at));
	sq_bind_text(st, 3, store_run_status_name(run->status));
	bind_run_counts(st, run);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_db_err(err, s, "record a run in");
		goto done;
	}
	if (sqlite3_changes(s->db) != 1) {
		err_set(err, ERR_STORE, 0, "no run %lld in store '%s'",
			(long long)run->run_id, s->path);
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

int sq_link_participants(struct store *store, const char *provider,
			 const char *account, int64_t *changed, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *st = NULL;
	char now[21];
	const char *args[3] = {provider, account, now};
	int ret = -1;

	time_format_iso(clock_wall_s(), now);
	if (sq_prep(
		s,
		"UPDATE participants AS p SET status = c.status,"
		" fields = c.fields, synced_at = ?3 FROM contacts AS c"
		" WHERE p.provider = ?1 AND p.account = ?2"
		" AND c.provider = p.provider AND c.account = p.account"
		" AND c.contact_id = p.contact_id"
		" AND (p.status IS NOT c.status OR p.fields IS NOT c.fields)",
		3, args, &st, err) < 0)
		goto done;
	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_db_err(err, s, "link participants in");
		goto done;
	}
	if (changed)
		*changed = sqlite3_changes(s->db);
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

/* Steps one bound UPDATE and adds its changes to *total. */
static int step_update(struct sqlite_store *s, sqlite3_stmt *st, int64_t *total,
		       struct err *err)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return sq_db_err(err, s, "reconcile contacts in");
	*total += sqlite3_changes(s->db);
	return 0;
}

int sq_reconcile_contacts(struct store *store, const char *provider,
			  const char *account, int64_t after_id,
			  int64_t upto_id, const char *const *live_ids,
			  size_t n_live, int64_t at, int64_t *changed,
			  struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct store_id_span spans[STORE_ID_SPANS];
	size_t n_spans = store_id_spans(spans, after_id, upto_id), i;
	struct buf q = BUF_INIT, ids = BUF_INIT;
	sqlite3_stmt *st = NULL;
	char now[21];
	int64_t total = 0;
	int ret = -1, in_tx = 0, rc;

	time_format_iso(clock_wall_s(), now);
	if (store_ids_json(&ids, live_ids, n_live) < 0) {
		err_set(err, ERR_STORE, 0,
			"cannot reconcile contacts in store '%s': ids too "
			"long: more than %zu bytes",
			s->path, ids.max);
		goto done;
	}
	if (sq_begin(s, err) < 0)
		goto done;
	in_tx = 1;
	if (n_live) {
		const char *args[4] = {provider, account, now, buf_str(&ids)};

		if (sq_prep(
			s,
			"UPDATE contacts SET deleted_at = NULL,"
			" synced_at = ?3 WHERE provider = ?1"
			" AND account = ?2 AND deleted_at IS NOT NULL"
			" AND contact_id IN (SELECT value FROM json_each(?4))",
			4, args, &st, err) < 0)
			goto done;
		if (step_update(s, st, &total, err) < 0)
			goto done;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (n_spans) {
		/* One text range per id length, so the key index is used. */
		rc = buf_puts(&q, "UPDATE contacts SET deleted_at = ?3,"
				  " synced_at = ?4 WHERE provider = ?1"
				  " AND account = ?2 AND deleted_at IS NULL"
				  " AND contact_id NOT GLOB '*[^0-9]*'"
				  " AND contact_id NOT IN"
				  " (SELECT value FROM json_each(?5)) AND (");
		for (i = 0; i < n_spans; i++)
			rc |= buf_printf(&q,
					 "%s(length(contact_id) = %d AND "
					 "contact_id BETWEEN ?%zu AND ?%zu)",
					 i ? " OR " : "", spans[i].digits,
					 6 + 2 * i, 7 + 2 * i);
		rc |= buf_putc(&q, ')');
		if (rc) {
			err_set(err, ERR_STORE, 0,
				"cannot reconcile contacts in store '%s': "
				"statement too long: more than %zu bytes",
				s->path, q.max);
			goto done;
		}
		if (sq_prep(s, buf_str(&q), 0, NULL, &st, err) < 0)
			goto done;
		sq_bind_text(st, 1, provider);
		sq_bind_text(st, 2, account);
		bind_time(st, 3, at);
		sq_bind_text(st, 4, now);
		sq_bind_text(st, 5, buf_str(&ids));
		for (i = 0; i < n_spans; i++) {
			sq_bind_text(st, (int)(6 + 2 * i), spans[i].lo);
			sq_bind_text(st, (int)(7 + 2 * i), spans[i].hi);
		}
		if (step_update(s, st, &total, err) < 0)
			goto done;
	}
	if (sq_commit(s, "commit to", err) < 0)
		goto done;
	in_tx = 0;
	if (changed)
		*changed = total;
	ret = 0;
done:
	sqlite3_finalize(st);
	if (in_tx)
		sq_rollback(s);
	buf_release(&q);
	buf_release(&ids);
	return ret;
}

/* Deletion marks of a complete scan (store.h): the live ids go to SQL as
 * one JSON array; contacts among them lose a deleted_at, the others of
 * provider/account get one. */
int sq_reconcile_contact_set(struct store *store, const char *provider,
			     const char *account, const char *const *live_ids,
			     size_t n_live, int64_t at, int64_t *changed,
			     struct err *err)
{
	static const char *const sql[2] = {
	    "UPDATE contacts SET deleted_at = NULL, synced_at = ?3"
	    " WHERE provider = ?1 AND account = ?2"
	    " AND deleted_at IS NOT NULL"
	    " AND contact_id IN (SELECT value FROM json_each(?4))",
	    "UPDATE contacts SET deleted_at = ?5, synced_at = ?3"
	    " WHERE provider = ?1 AND account = ?2 AND deleted_at IS NULL"
	    " AND contact_id NOT IN (SELECT value FROM json_each(?4))"};
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct buf ids = BUF_INIT;
	sqlite3_stmt *st = NULL;
	char now[21];
	int64_t total = 0;
	int ret = -1, in_tx = 0, i;

	time_format_iso(clock_wall_s(), now);
	if (store_ids_json(&ids, live_ids, n_live) < 0) {
		err_set(err, ERR_STORE, 0,
			"cannot reconcile contacts in store '%s': ids too "
			"long: more than %zu bytes",
			s->path, ids.max);
		goto done;
	}
	if (sq_begin(s, err) < 0)
		goto done;
	in_tx = 1;
	for (i = 0; i < 2; i++) {
		const char *args[4] = {provider, account, now, buf_str(&ids)};

		if (sq_prep(s, sql[i], 4, args, &st, err) < 0)
			goto done;
		if (i == 1)
			bind_time(st, 5, at);
		if (step_update(s, st, &total, err) < 0)
			goto done;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (sq_commit(s, "commit to", err) < 0)
		goto done;
	in_tx = 0;
	if (changed)
		*changed = total;
	ret = 0;
done:
	sqlite3_finalize(st);
	if (in_tx)
		sq_rollback(s);
	buf_release(&ids);
	return ret;
}

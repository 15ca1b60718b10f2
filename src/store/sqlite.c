/* The SQLite store: schema and migrations, WAL, cached prepared upserts that
 * leave unchanged rows alone, and the reads export, stats and the sync engine
 * need. The only file that includes sqlite3.h. */
#include "store/sqlite.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "util/clock.h"
#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Migration N (1-based) takes a database from version N-1 to N; all pending
 * steps run in one transaction. Append only: never edit a shipped step. */
static const char *const migrations[] = {
    "CREATE TABLE campaigns (provider TEXT NOT NULL, account TEXT NOT NULL,"
    " campaign_id TEXT NOT NULL, name TEXT, subject TEXT, from_name TEXT,"
    " from_email TEXT, status TEXT, created_at TEXT, sent_at TEXT,"
    " to_lists TEXT, sent INTEGER NOT NULL DEFAULT 0,"
    " opened_unique INTEGER NOT NULL DEFAULT 0,"
    " opened_total INTEGER NOT NULL DEFAULT 0,"
    " clicked_unique INTEGER NOT NULL DEFAULT 0,"
    " clicked_total INTEGER NOT NULL DEFAULT 0,"
    " bounced_hard INTEGER NOT NULL DEFAULT 0,"
    " bounced_soft INTEGER NOT NULL DEFAULT 0,"
    " complained INTEGER NOT NULL DEFAULT 0,"
    " unsubscribed INTEGER NOT NULL DEFAULT 0, synced_at TEXT,"
    " PRIMARY KEY (provider, account, campaign_id));"
    "CREATE INDEX campaigns_status ON campaigns (status);"
    "CREATE INDEX campaigns_synced_at ON campaigns (synced_at);"
    "CREATE TABLE campaign_links (provider TEXT NOT NULL,"
    " account TEXT NOT NULL, campaign_id TEXT NOT NULL, url TEXT NOT NULL,"
    " clicked_total INTEGER NOT NULL DEFAULT 0,"
    " clicked_unique INTEGER NOT NULL DEFAULT 0, synced_at TEXT,"
    " PRIMARY KEY (provider, account, campaign_id, url));"
    "CREATE TABLE participants (provider TEXT NOT NULL,"
    " account TEXT NOT NULL, campaign_id TEXT NOT NULL,"
    " contact_id TEXT NOT NULL, email_address TEXT, status TEXT,"
    " fields TEXT, sent INTEGER NOT NULL DEFAULT 0,"
    " opened INTEGER NOT NULL DEFAULT 0,"
    " clicked INTEGER NOT NULL DEFAULT 0,"
    " bounced INTEGER NOT NULL DEFAULT 0,"
    " complained INTEGER NOT NULL DEFAULT 0,"
    " unsubscribed INTEGER NOT NULL DEFAULT 0, synced_at TEXT,"
    " PRIMARY KEY (provider, account, campaign_id, contact_id));"
    "CREATE INDEX participants_email ON participants"
    " (provider, account, campaign_id, email_address, contact_id);"
    "CREATE TABLE email_activities (event_id TEXT PRIMARY KEY NOT NULL,"
    " provider TEXT NOT NULL, account TEXT NOT NULL,"
    " campaign_id TEXT NOT NULL, campaign_name TEXT, contact_id TEXT,"
    " contact_email TEXT, event_type TEXT NOT NULL,"
    " activity_timestamp TEXT NOT NULL, activity_date TEXT NOT NULL,"
    " times INTEGER, link_url TEXT, bounce_type TEXT, created_at TEXT,"
    " updated_at TEXT);"
    "CREATE INDEX email_activities_contact ON email_activities"
    " (contact_email, campaign_id, event_type);"
    "CREATE INDEX email_activities_campaign ON email_activities"
    " (provider, account, campaign_id, activity_date);"
    "CREATE TABLE contacts (provider TEXT NOT NULL, account TEXT NOT NULL,"
    " contact_id TEXT NOT NULL, email TEXT, first_name TEXT,"
    " last_name TEXT, phone TEXT, status TEXT, fields TEXT, tags TEXT,"
    " lists TEXT, created_at TEXT, updated_at TEXT, deleted_at TEXT,"
    " synced_at TEXT, PRIMARY KEY (provider, account, contact_id));"
    "CREATE INDEX contacts_email ON contacts (email);"
    "CREATE TABLE lists (provider TEXT NOT NULL, account TEXT NOT NULL,"
    " list_id TEXT NOT NULL, name TEXT, fields TEXT, tags TEXT,"
    " subscribed INTEGER, unsubscribed INTEGER, pending INTEGER,"
    " created_at TEXT, updated_at TEXT, synced_at TEXT,"
    " PRIMARY KEY (provider, account, list_id));"
    "CREATE TABLE sync_state (provider TEXT NOT NULL,"
    " account TEXT NOT NULL, stream TEXT NOT NULL, value TEXT,"
    " updated_at TEXT, PRIMARY KEY (provider, account, stream));"
    "CREATE TABLE sync_runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " provider TEXT, account TEXT, started_at TEXT, finished_at TEXT,"
    " status TEXT NOT NULL, requests INTEGER NOT NULL DEFAULT 0,"
    " retries INTEGER NOT NULL DEFAULT 0,"
    " throttled INTEGER NOT NULL DEFAULT 0, records TEXT, error TEXT);",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))
_Static_assert(N_MIGRATIONS == STORE_SQLITE_SCHEMA_VERSION,
	       "one migration per schema version");

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

enum upsert_table {
	T_CAMPAIGNS,
	T_LINKS,
	T_PARTICIPANTS,
	T_EVENTS,
	T_CONTACTS,
	T_LISTS,
	T__COUNT
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
			  {"unsubscribed", C_STAT}, {"synced_at", C_NOW})},
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

/* Cached statements: two per upsert table (INSERT ... ON CONFLICT DO
 * NOTHING, then UPDATE ... WHERE <differs>), then the fixed ones. */
enum stmt_id {
	ST_BEGIN = 2 * T__COUNT,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_STATE_SET,
	ST_STATE_DEL,
	ST__COUNT
};

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

/* Builds the INSERT (which = 0) or UPDATE (which = 1) of table t. */
static void build_upsert(struct buf *q, enum upsert_table t, int which)
{
	const struct col *c, *cols = upserts[t].cols;
	const char *sep = "";
	int i, gate = 0;

	for (i = 0; cols[i].name; i++)
		if (cols[i].mode == C_GATE)
			gate = i + 1;
	buf_reset(q);
	if (which == 0) {
		buf_printf(q, "INSERT INTO %s (", upserts[t].table);
		for (c = cols; c->name; c++, sep = ", ")
			if (c->mode != C_GATE)
				buf_printf(q, "%s%s", sep, c->name);
		buf_puts(q, ") VALUES (");
		for (sep = "", i = 0; cols[i].name; i++, sep = ", ") {
			if (cols[i].mode == C_STAT)
				buf_printf(q, "%s?%d * ?%d", sep, gate, i + 1);
			else if (cols[i].mode != C_GATE)
				buf_printf(q, "%s?%d", sep, i + 1);
			else
				sep = "";
		}
		buf_puts(q, ") ON CONFLICT DO NOTHING");
		return;
	}
	buf_printf(q, "UPDATE %s SET ", upserts[t].table);
	for (i = 0; cols[i].name; i++) {
		const char *n = cols[i].name;
		int p = i + 1;

		switch (cols[i].mode) {
		case C_KEEP:
			buf_printf(q, "%s%s = coalesce(?%d, %s)", sep, n, p, n);
			break;
		case C_SET:
		case C_NOW:
			buf_printf(q, "%s%s = ?%d", sep, n, p);
			break;
		case C_OR:
			buf_printf(q, "%s%s = %s | ?%d", sep, n, n, p);
			break;
		case C_STAT:
			buf_printf(q, "%s%s = iif(?%d, ?%d, %s)", sep, n, gate,
				   p, n);
			break;
		default:
			continue;
		}
		sep = ", ";
	}
	for (sep = " WHERE ", i = 0; cols[i].name; i++) {
		if (cols[i].mode == C_KEY) {
			buf_printf(q, "%s%s = ?%d", sep, cols[i].name, i + 1);
			sep = " AND ";
		}
	}
	for (sep = " AND (", i = 0; cols[i].name; i++) {
		const char *n = cols[i].name;
		int p = i + 1;

		switch (cols[i].mode) {
		case C_KEEP:
			buf_printf(q, "%s%s IS NOT coalesce(?%d, %s)", sep, n,
				   p, n);
			break;
		case C_SET:
			buf_printf(q, "%s%s IS NOT ?%d", sep, n, p);
			break;
		case C_OR:
			buf_printf(q, "%s%s <> (%s | ?%d)", sep, n, n, p);
			break;
		case C_STAT:
			buf_printf(q, "%s(?%d AND %s IS NOT ?%d)", sep, gate, n,
				   p);
			break;
		default:
			continue;
		}
		sep = " OR ";
	}
	buf_putc(q, ')');
}

struct sqlite_store {
	struct store base;
	sqlite3 *db;
	char *path;
	sqlite3_stmt *st[ST__COUNT];
};

/* Reads turn stored ISO text back into epoch seconds with
 * CAST(strftime('%s', col) AS INTEGER); NULL stays NULL. */

static int db_err(struct err *err, struct sqlite_store *s, const char *what)
{
	return err_set(err, ERR_STORE, sqlite3_extended_errcode(s->db),
		       "cannot %s store '%s': %s", what, s->path,
		       sqlite3_errmsg(s->db));
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

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC)
		 : sqlite3_bind_null(st, i);
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

static int64_t col_time(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return TIME_NULL;
	return sqlite3_column_int64(st, i);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static char *col_dup(sqlite3_stmt *st, int i, struct arena *a)
{
	return arena_strdup(a, col_text(st, i));
}

static int prep(struct sqlite_store *s, const char *sql, sqlite3_stmt **out,
		struct err *err)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, out, NULL) != SQLITE_OK)
		return db_err(err, s, "query");
	return 0;
}

static int run_cached(struct sqlite_store *s, int id)
{
	int rc = sqlite3_step(s->st[id]);

	sqlite3_reset(s->st[id]);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* Steps table t's bound insert, then its update when the row existed. */
static int upsert(struct sqlite_store *s, enum upsert_table t,
		  struct store_counts *c)
{
	if (run_cached(s, 2 * t) < 0)
		return -1;
	if (sqlite3_changes(s->db) == 1) {
		c->inserted++;
		return 0;
	}
	if (run_cached(s, 2 * t + 1) < 0)
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

	rc |= bind_text(st, 1, b->provider);
	rc |= bind_text(st, 2, b->account);
	rc |= bind_text(st, 3, r->campaign_id);
	rc |= bind_text(st, 4, r->name);
	rc |= bind_text(st, 5, r->subject);
	rc |= bind_text(st, 6, r->from_name);
	rc |= bind_text(st, 7, r->from_email);
	rc |= bind_text(st, 8, r->status);
	rc |= bind_time(st, 9, r->created_at);
	rc |= bind_time(st, 10, r->sent_at);
	rc |= bind_text(st, 11, r->to_lists_json);
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
	rc |= bind_text(st, 22, now);
	return rc;
}

static int bind_link(sqlite3_stmt *st, const struct batch *b,
		     const struct rec_link *r, const char *now)
{
	int rc = 0;

	rc |= bind_text(st, 1, b->provider);
	rc |= bind_text(st, 2, b->account);
	rc |= bind_text(st, 3, r->campaign_id);
	rc |= bind_text(st, 4, r->url);
	rc |= sqlite3_bind_int64(st, 5, r->clicked_total);
	rc |= sqlite3_bind_int64(st, 6, r->clicked_unique);
	rc |= bind_text(st, 7, now);
	return rc;
}

static int bind_participant(sqlite3_stmt *st, const struct batch *b,
			    const struct rec_participant *r, const char *now)
{
	static const unsigned bits[] = {ENG_SENT,	ENG_OPENED,
					ENG_CLICKED,	ENG_BOUNCED,
					ENG_COMPLAINED, ENG_UNSUBSCRIBED};
	int rc = 0, i;

	rc |= bind_text(st, 1, b->provider);
	rc |= bind_text(st, 2, b->account);
	rc |= bind_text(st, 3, r->campaign_id);
	rc |= bind_text(st, 4, r->contact_id);
	rc |= bind_text(st, 5, r->email);
	for (i = 0; i < 6; i++)
		rc |= sqlite3_bind_int(st, 6 + i, (r->flags & bits[i]) != 0);
	rc |= bind_text(st, 12, now);
	return rc;
}

static int bind_event(sqlite3_stmt *st, const struct batch *b,
		      const struct rec_event *r, const char *now)
{
	char date[11];
	int rc = 0;

	rc |= bind_text(st, 1, r->event_id);
	rc |= bind_text(st, 2, b->provider);
	rc |= bind_text(st, 3, b->account);
	rc |= bind_text(st, 4, r->campaign_id);
	rc |= bind_text(st, 5, r->campaign_name);
	rc |= bind_text(st, 6, r->contact_id);
	rc |= bind_text(st, 7, r->contact_email);
	rc |= bind_text(st, 8, event_type_name(r->type));
	rc |= bind_time(st, 9, r->ts);
	if (r->ts == TIME_NULL) {
		rc |= sqlite3_bind_null(st, 10);
	} else {
		time_format_date(r->ts, date);
		rc |= sqlite3_bind_text(st, 10, date, -1, SQLITE_TRANSIENT);
	}
	rc |= sqlite3_bind_int64(st, 11, r->times);
	rc |= bind_text(st, 12, r->link_url);
	rc |= bind_text(st, 13, r->bounce_type);
	rc |= bind_text(st, 14, now);
	rc |= bind_text(st, 15, now);
	return rc;
}

static int bind_contact(sqlite3_stmt *st, const struct batch *b,
			const struct rec_contact *r, const char *now)
{
	int rc = 0;

	rc |= bind_text(st, 1, b->provider);
	rc |= bind_text(st, 2, b->account);
	rc |= bind_text(st, 3, r->contact_id);
	rc |= bind_text(st, 4, r->email);
	rc |= bind_text(st, 5, r->first_name);
	rc |= bind_text(st, 6, r->last_name);
	rc |= bind_text(st, 7, r->phone);
	rc |= bind_text(st, 8, r->status);
	rc |= bind_text(st, 9, r->fields_json);
	rc |= bind_text(st, 10, r->tags_json);
	rc |= bind_text(st, 11, r->lists_json);
	rc |= bind_time(st, 12, r->created_at);
	rc |= bind_time(st, 13, r->updated_at);
	rc |= bind_time(st, 14, r->deleted_at);
	rc |= bind_text(st, 15, now);
	return rc;
}

static int bind_list(sqlite3_stmt *st, const struct batch *b,
		     const struct rec_list *r, const char *now)
{
	int rc = 0;

	rc |= bind_text(st, 1, b->provider);
	rc |= bind_text(st, 2, b->account);
	rc |= bind_text(st, 3, r->list_id);
	rc |= bind_text(st, 4, r->name);
	rc |= bind_text(st, 5, r->fields_json);
	rc |= bind_text(st, 6, r->tags_json);
	rc |= bind_count(st, 7, r->subscribed);
	rc |= bind_count(st, 8, r->unsubscribed);
	rc |= bind_count(st, 9, r->pending);
	rc |= bind_time(st, 10, r->created_at);
	rc |= bind_time(st, 11, r->updated_at);
	rc |= bind_text(st, 12, now);
	return rc;
}

/* Binds record i of one table into both statements of its pair. */
/* Upserts every record of one array, each bound into both statements of
 * table t's pair. */
#define UPSERT_ALL(s, b, arr, n, bindfn, t, what)                              \
	for (i = 0; i < (b)->n; i++) {                                         \
		if (bindfn((s)->st[2 * (t)], b, &(b)->arr[i], now) ||          \
		    bindfn((s)->st[2 * (t) + 1], b, &(b)->arr[i], now) ||      \
		    upsert(s, t, &c) < 0) {                                    \
			db_err(err, s, "write " what " to");                   \
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

		rc |= bind_text(st, 1, b->provider);
		rc |= bind_text(st, 2, b->account);
		rc |= bind_text(st, 3, u->stream);
		if (u->value) {
			rc |= bind_text(st, 4, u->value);
			rc |= bind_text(st, 5, now);
		}
		if (rc || run_cached(s, id) < 0)
			return -1;
	}
	return 0;
}

/* State rows are checkpoints, not data: they are not counted in *out. */
static int sq_write_batch(struct store *store, const struct batch *b,
			  struct store_counts *out, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct store_counts c = {0, 0, 0, 0};
	char now[21];
	size_t i;
	int ret = -1;

	time_format_iso(clock_wall_s(), now);
	if (run_cached(s, ST_BEGIN) < 0) {
		db_err(err, s, "begin a transaction in");
		goto done;
	}
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
		db_err(err, s, "write sync state to");
		goto done;
	}
	if (run_cached(s, ST_COMMIT) < 0) {
		db_err(err, s, "commit a batch to");
		goto done;
	}
	ret = 0;
done:
	if (ret < 0) {
		/* Some errors end the transaction by themselves. */
		if (!sqlite3_get_autocommit(s->db))
			run_cached(s, ST_ROLLBACK);
		memset(&c, 0, sizeof(c));
		c.failed = (int64_t)batch_count(b);
	}
	for (i = 0; i < ST__COUNT; i++)
		sqlite3_clear_bindings(s->st[i]);
	if (out)
		*out = c;
	return ret;
}

static int exec(struct sqlite_store *s, const char *sql, struct err *err,
		const char *what)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(err, s, what);
	return 0;
}

static int read_version(struct sqlite_store *s, int64_t *out, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (prep(s, "SELECT value FROM meta WHERE key = 'schema_version'", &st,
		 err) < 0)
		goto done;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
	} else if (rc == SQLITE_DONE) {
		*out = 0;
	} else {
		db_err(err, s, "read schema version of");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

static int migrate(struct sqlite_store *s, struct err *err)
{
	char sql[96];
	int64_t version = 0, v;
	int ret = -1, in_tx = 0;

	if (exec(s, "BEGIN IMMEDIATE", err, "open") < 0)
		goto done;
	in_tx = 1;
	if (exec(s,
		 "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY"
		 " NOT NULL, value TEXT)",
		 err, "open") < 0 ||
	    read_version(s, &version, err) < 0)
		goto done;
	if (version > N_MIGRATIONS || version < 0) {
		err_set(err, ERR_STORE, 0,
			"cannot open store '%s': schema version %lld is newer "
			"than this espsync knows (%d); upgrade espsync",
			s->path, (long long)version, N_MIGRATIONS);
		goto done;
	}
	for (v = version; v < N_MIGRATIONS; v++)
		if (exec(s, migrations[v], err, "migrate") < 0)
			goto done;
	snprintf(sql, sizeof(sql),
		 "INSERT OR REPLACE INTO meta VALUES ('schema_version', '%d')",
		 N_MIGRATIONS);
	if (version < N_MIGRATIONS && exec(s, sql, err, "migrate") < 0)
		goto done;
	if (exec(s, "COMMIT", err, "migrate") < 0)
		goto done;
	in_tx = 0;
	ret = 0;
done:
	if (in_tx && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
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

static int sq_open(struct store **out, const char *url, struct err *err)
{
	struct sqlite_store *s = NULL;
	struct buf q = BUF_INIT;
	const char *path = url;
	size_t i;
	int ret = -1;

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
		db_err(err, s, "open");
		goto done;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 5000);
	if (exec(s,
		 "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
		 " PRAGMA foreign_keys = OFF",
		 err, "open") < 0 ||
	    migrate(s, err) < 0)
		goto done;
	for (i = 0; i < ST__COUNT; i++) {
		if (i < ST_BEGIN)
			build_upsert(&q, (enum upsert_table)(i / 2), i % 2);
		if (sqlite3_prepare_v3(s->db,
				       i < ST_BEGIN ? buf_str(&q)
						    : fixed_sql[i - ST_BEGIN],
				       -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
				       NULL) != SQLITE_OK) {
			db_err(err, s, "prepare statements for");
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

static int sq_state_get(struct store *store, const char *provider,
			const char *account, const char *stream,
			struct buf *out, int *found, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	*found = 0;
	buf_reset(out);
	if (prep(s,
		 "SELECT value FROM sync_state WHERE provider = ?1"
		 " AND account = ?2 AND stream = ?3",
		 &st, err) < 0)
		goto done;
	bind_text(st, 1, provider);
	bind_text(st, 2, account);
	bind_text(st, 3, stream);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *v = col_text(st, 0);

		if (buf_puts(out, v ? v : "") < 0) {
			err_set(err, ERR_STORE, 0,
				"sync state '%s' in store '%s' is too large",
				stream, s->path);
			goto done;
		}
		*found = 1;
	} else if (rc != SQLITE_DONE) {
		db_err(err, s, "read sync state from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

static int sq_state_reset(struct store *store, const char *provider,
			  const char *stream_prefix, int64_t *removed,
			  struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (prep(s,
		 "DELETE FROM sync_state WHERE (?1 IS NULL OR provider = ?1)"
		 " AND (?2 IS NULL OR substr(stream, 1, length(?2)) = ?2)",
		 &st, err) < 0)
		goto done;
	bind_text(st, 1, provider);
	bind_text(st, 2, stream_prefix);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_err(err, s, "reset sync state in");
		goto done;
	}
	if (removed)
		*removed = sqlite3_changes(s->db);
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

static int sq_state_each(struct store *store, const char *provider,
			 store_state_fn fn, void *ctx, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (prep(s,
		 "SELECT provider, account, stream, value,"
		 " CAST(strftime('%s', updated_at) AS INTEGER)"
		 " FROM sync_state WHERE ?1 IS NULL OR provider = ?1"
		 " ORDER BY provider, account, stream",
		 &st, err) < 0)
		goto done;
	bind_text(st, 1, provider);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct state_row row;

		row.provider = col_text(st, 0);
		row.account = col_text(st, 1);
		row.stream = col_text(st, 2);
		row.value = col_text(st, 3);
		row.updated_at = col_time(st, 4);
		ret = fn(ctx, &row);
		if (ret)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		ret = db_err(err, s, "read sync state from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

static void bind_run_counts(sqlite3_stmt *st, const struct run_row *r)
{
	sqlite3_bind_int64(st, 4, r->requests);
	sqlite3_bind_int64(st, 5, r->retries);
	sqlite3_bind_int64(st, 6, r->throttled);
	bind_text(st, 7, r->records_json);
	bind_text(st, 8, r->error);
}

static int sq_run_begin(struct store *store, struct run_row *run,
			struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (prep(s,
		 "INSERT INTO sync_runs (provider, account, started_at,"
		 " status, requests, retries, throttled, records, error)"
		 " VALUES (?1, ?2, ?3, 'running', ?4, ?5, ?6, ?7, ?8)",
		 &st, err) < 0)
		goto done;
	run->started_at = store_time_or_now(run->started_at);
	run->finished_at = TIME_NULL;
	run->status = RUN_RUNNING;
	bind_text(st, 1, run->provider);
	bind_text(st, 2, run->account);
	bind_time(st, 3, run->started_at);
	bind_run_counts(st, run);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_err(err, s, "record a run in");
		goto done;
	}
	run->run_id = sqlite3_last_insert_rowid(s->db);
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

static int sq_run_finish(struct store *store, const struct run_row *run,
			 struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (prep(s,
		 "UPDATE sync_runs SET finished_at = ?2, status = ?3,"
		 " requests = ?4, retries = ?5, throttled = ?6, records = ?7,"
		 " error = ?8 WHERE run_id = ?1",
		 &st, err) < 0)
		goto done;
	sqlite3_bind_int64(st, 1, run->run_id);
	bind_time(st, 2, store_time_or_now(run->finished_at));
	bind_text(st, 3, store_run_status_name(run->status));
	bind_run_counts(st, run);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_err(err, s, "record a run in");
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

/* Newest run of provider (NULL: any) with status (NULL: any). */
static int run_newest(struct store *store, const char *provider,
		      const char *status, struct run_row *out,
		      struct arena *arena, int *found, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	*found = 0;
	memset(out, 0, sizeof(*out));
	if (prep(
		s,
		"SELECT run_id, provider, account,"
		" CAST(strftime('%s', started_at) AS INTEGER),"
		" CAST(strftime('%s', finished_at) AS INTEGER), status,"
		" requests, retries, throttled, records, error FROM sync_runs"
		" WHERE (?1 IS NULL OR provider = ?1)"
		" AND (?2 IS NULL OR status = ?2) ORDER BY run_id DESC LIMIT 1",
		&st, err) < 0)
		goto done;
	bind_text(st, 1, provider);
	bind_text(st, 2, status);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->run_id = sqlite3_column_int64(st, 0);
		out->provider = col_dup(st, 1, arena);
		out->account = col_dup(st, 2, arena);
		out->started_at = col_time(st, 3);
		out->finished_at = col_time(st, 4);
		out->status = store_run_status_parse(col_text(st, 5));
		out->requests = sqlite3_column_int64(st, 6);
		out->retries = sqlite3_column_int64(st, 7);
		out->throttled = sqlite3_column_int64(st, 8);
		out->records_json = col_dup(st, 9, arena);
		out->error = col_dup(st, 10, arena);
		*found = 1;
	} else if (rc != SQLITE_DONE) {
		db_err(err, s, "read runs from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

static int sq_run_last(struct store *store, const char *provider,
		       struct run_row *out, struct arena *arena, int *found,
		       struct err *err)
{
	return run_newest(store, provider, NULL, out, arena, found, err);
}

static int sq_run_last_status(struct store *store, const char *provider,
			      enum run_status status, struct run_row *out,
			      struct arena *arena, int *found, struct err *err)
{
	return run_newest(store, provider,
			  (unsigned)status <= RUN_FAILED
			      ? store_run_status_name(status)
			      : "unknown",
			  out, arena, found, err);
}

#define CAMPAIGN_COLS                                                          \
	"provider, account, campaign_id, name, subject, from_name,"            \
	" from_email, status,"                                                 \
	" CAST(strftime('%s', created_at) AS INTEGER),"                        \
	" CAST(strftime('%s', sent_at) AS INTEGER), to_lists, sent,"           \
	" opened_unique, opened_total, clicked_unique, clicked_total,"         \
	" bounced_hard, bounced_soft, complained, unsubscribed,"               \
	" CAST(strftime('%s', synced_at) AS INTEGER)"

/* Fills c from a row of CAMPAIGN_COLS; strings point into the statement
 * unless an arena is given. */
static void read_campaign(sqlite3_stmt *st, struct rec_campaign *c,
			  struct arena *a)
{
	struct campaign_stats *x = &c->stats;

	memset(c, 0, sizeof(*c));
	c->campaign_id = a ? col_dup(st, 2, a) : col_text(st, 2);
	c->name = a ? col_dup(st, 3, a) : col_text(st, 3);
	c->subject = a ? col_dup(st, 4, a) : col_text(st, 4);
	c->from_name = a ? col_dup(st, 5, a) : col_text(st, 5);
	c->from_email = a ? col_dup(st, 6, a) : col_text(st, 6);
	c->status = a ? col_dup(st, 7, a) : col_text(st, 7);
	c->created_at = col_time(st, 8);
	c->sent_at = col_time(st, 9);
	c->to_lists_json = a ? col_dup(st, 10, a) : col_text(st, 10);
	c->has_stats = 1;
	x->sent = sqlite3_column_int64(st, 11);
	x->opened_unique = sqlite3_column_int64(st, 12);
	x->opened_total = sqlite3_column_int64(st, 13);
	x->clicked_unique = sqlite3_column_int64(st, 14);
	x->clicked_total = sqlite3_column_int64(st, 15);
	x->bounced_hard = sqlite3_column_int64(st, 16);
	x->bounced_soft = sqlite3_column_int64(st, 17);
	x->complained = sqlite3_column_int64(st, 18);
	x->unsubscribed = sqlite3_column_int64(st, 19);
	c->synced_at = col_time(st, 20);
}

static int sq_campaign_get(struct store *store, const char *provider,
			   const char *account, const char *campaign_id,
			   struct rec_campaign *out, struct arena *arena,
			   int *found, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	*found = 0;
	if (prep(s,
		 "SELECT " CAMPAIGN_COLS " FROM campaigns WHERE provider = ?1"
		 " AND account = ?2 AND campaign_id = ?3",
		 &st, err) < 0)
		goto done;
	bind_text(st, 1, provider);
	bind_text(st, 2, account);
	bind_text(st, 3, campaign_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_campaign(st, out, arena);
		*found = 1;
	} else if (rc != SQLITE_DONE) {
		db_err(err, s, "read campaigns from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

static int sq_link_participants(struct store *store, const char *provider,
				const char *account, int64_t *changed,
				struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *st = NULL;
	char now[21];
	int ret = -1;

	if (prep(s,
		 "UPDATE participants AS p SET status = c.status,"
		 " fields = c.fields, synced_at = ?3 FROM contacts AS c"
		 " WHERE p.provider = ?1 AND p.account = ?2"
		 " AND c.provider = p.provider AND c.account = p.account"
		 " AND c.contact_id = p.contact_id"
		 " AND (p.status IS NOT c.status OR p.fields IS NOT c.fields)",
		 &st, err) < 0)
		goto done;
	time_format_iso(clock_wall_s(), now);
	bind_text(st, 1, provider);
	bind_text(st, 2, account);
	bind_text(st, 3, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_err(err, s, "link participants in");
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
		return db_err(err, s, "reconcile contacts in");
	*total += sqlite3_changes(s->db);
	return 0;
}

static int sq_reconcile_contacts(struct store *store, const char *provider,
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
	int ret = -1, in_tx = 0;

	time_format_iso(clock_wall_s(), now);
	buf_putc(&ids, '[');
	for (i = 0; i < n_live; i++) {
		if (i)
			buf_putc(&ids, ',');
		jsonw_string(&ids, live_ids[i]);
	}
	buf_putc(&ids, ']');
	if (run_cached(s, ST_BEGIN) < 0) {
		db_err(err, s, "begin a transaction in");
		goto done;
	}
	in_tx = 1;
	if (n_live) {
		if (prep(s,
			 "UPDATE contacts SET deleted_at = NULL,"
			 " synced_at = ?3 WHERE provider = ?1"
			 " AND account = ?2 AND deleted_at IS NOT NULL"
			 " AND contact_id IN (SELECT value FROM json_each(?4))",
			 &st, err) < 0)
			goto done;
		bind_text(st, 1, provider);
		bind_text(st, 2, account);
		bind_text(st, 3, now);
		bind_text(st, 4, buf_str(&ids));
		if (step_update(s, st, &total, err) < 0)
			goto done;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (n_spans) {
		/* One text range per id length, so the key index is used. */
		buf_puts(&q, "UPDATE contacts SET deleted_at = ?3,"
			     " synced_at = ?4 WHERE provider = ?1"
			     " AND account = ?2 AND deleted_at IS NULL"
			     " AND contact_id NOT GLOB '*[^0-9]*'"
			     " AND contact_id NOT IN"
			     " (SELECT value FROM json_each(?5)) AND (");
		for (i = 0; i < n_spans; i++)
			buf_printf(&q,
				   "%s(length(contact_id) = %d AND contact_id"
				   " BETWEEN ?%zu AND ?%zu)",
				   i ? " OR " : "", spans[i].digits, 6 + 2 * i,
				   7 + 2 * i);
		buf_putc(&q, ')');
		if (prep(s, buf_str(&q), &st, err) < 0)
			goto done;
		bind_text(st, 1, provider);
		bind_text(st, 2, account);
		bind_time(st, 3, at);
		bind_text(st, 4, now);
		bind_text(st, 5, buf_str(&ids));
		for (i = 0; i < n_spans; i++) {
			bind_text(st, (int)(6 + 2 * i), spans[i].lo);
			bind_text(st, (int)(7 + 2 * i), spans[i].hi);
		}
		if (step_update(s, st, &total, err) < 0)
			goto done;
	}
	if (run_cached(s, ST_COMMIT) < 0) {
		db_err(err, s, "commit to");
		goto done;
	}
	in_tx = 0;
	if (changed)
		*changed = total;
	ret = 0;
done:
	sqlite3_finalize(st);
	if (in_tx && !sqlite3_get_autocommit(s->db))
		run_cached(s, ST_ROLLBACK);
	buf_release(&q);
	buf_release(&ids);
	return ret;
}

#define WHERE_PROVIDER " WHERE ?1 IS NULL OR provider = ?1"

static int sq_stats(struct store *store, const char *provider,
		    struct store_stats *out, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *st = NULL;
	enum event_type t;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	if (prep(s,
		 "SELECT (SELECT count(*) FROM campaigns" WHERE_PROVIDER "),"
		 " (SELECT count(*) FROM participants" WHERE_PROVIDER "),"
		 " (SELECT count(*) FROM campaign_links" WHERE_PROVIDER "),"
		 " (SELECT count(*) FROM contacts" WHERE_PROVIDER "),"
		 " (SELECT count(*) FROM lists" WHERE_PROVIDER ")",
		 &st, err) < 0)
		goto done;
	bind_text(st, 1, provider);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto fail;
	out->campaigns = sqlite3_column_int64(st, 0);
	out->participants = sqlite3_column_int64(st, 1);
	out->links = sqlite3_column_int64(st, 2);
	out->contacts = sqlite3_column_int64(st, 3);
	out->lists = sqlite3_column_int64(st, 4);
	sqlite3_finalize(st);
	st = NULL;
	if (prep(s,
		 "SELECT event_type, count(*) FROM email_activities"
		 " WHERE ?1 IS NULL OR provider = ?1 GROUP BY event_type",
		 &st, err) < 0)
		goto done;
	bind_text(st, 1, provider);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (event_type_parse(col_text(st, 0), &t) == 0)
			out->events[t] = sqlite3_column_int64(st, 1);
	if (rc != SQLITE_DONE)
		goto fail;
	ret = 0;
	goto done;
fail:
	db_err(err, s, "count rows in");
done:
	sqlite3_finalize(st);
	return ret;
}

static int sq_each_campaign(struct store *store, const char *provider,
			    const char *campaign_id, store_campaign_fn fn,
			    void *ctx, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (prep(s,
		 "SELECT " CAMPAIGN_COLS " FROM campaigns"
		 " WHERE (?1 IS NULL OR provider = ?1)"
		 " AND (?2 IS NULL OR campaign_id = ?2)"
		 " ORDER BY provider, account, campaign_id",
		 &st, err) < 0)
		goto done;
	bind_text(st, 1, provider);
	bind_text(st, 2, campaign_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct rec_campaign c;

		read_campaign(st, &c, NULL);
		ret = fn(ctx, col_text(st, 0), col_text(st, 1), &c);
		if (ret)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		ret = db_err(err, s, "read campaigns from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

static int sq_each_participant(struct store *store, const char *provider,
			       const char *account, const char *campaign_id,
			       store_participant_fn fn, void *ctx,
			       struct err *err)
{
	static const unsigned bits[] = {ENG_SENT,	ENG_OPENED,
					ENG_CLICKED,	ENG_BOUNCED,
					ENG_COMPLAINED, ENG_UNSUBSCRIBED};
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *st = NULL;
	int rc, ret = -1, i;

	if (prep(s,
		 "SELECT contact_id, email_address, status, fields, sent,"
		 " opened, clicked, bounced, complained, unsubscribed"
		 " FROM participants WHERE provider = ?1 AND account = ?2"
		 " AND campaign_id = ?3 ORDER BY email_address, contact_id",
		 &st, err) < 0)
		goto done;
	bind_text(st, 1, provider);
	bind_text(st, 2, account);
	bind_text(st, 3, campaign_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct export_row row;

		row.contact_id = col_text(st, 0);
		row.email = col_text(st, 1);
		row.status = col_text(st, 2);
		row.fields_json = col_text(st, 3);
		row.flags = 0;
		for (i = 0; i < 6; i++)
			if (sqlite3_column_int(st, 4 + i))
				row.flags |= bits[i];
		ret = fn(ctx, &row);
		if (ret)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		ret = db_err(err, s, "read participants from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

/* Tags of the campaign's lists in list order then field order; malformed
 * JSON in either column reads as empty. Field items may be {tag,...}
 * objects or bare strings. */
static int sq_campaign_fields(struct store *store, const char *provider,
			      const char *account, const char *campaign_id,
			      struct buf *out, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *st = NULL;
	struct buf seen = BUF_INIT;
	int rc, ret = -1, n = 0;

	buf_reset(out);
	buf_putc(out, '[');
	if (prep(s,
		 "SELECT CASE f.type WHEN 'object' THEN"
		 " json_extract(f.value, '$.tag') WHEN 'text' THEN f.value END"
		 " FROM campaigns AS c,"
		 " json_each(iif(json_valid(c.to_lists), c.to_lists, '[]'))"
		 " AS tl JOIN lists AS l ON l.provider = c.provider"
		 " AND l.account = c.account AND l.list_id = tl.value,"
		 " json_each(iif(json_valid(l.fields), l.fields, '[]')) AS f"
		 " WHERE c.provider = ?1 AND c.account = ?2"
		 " AND c.campaign_id = ?3 ORDER BY tl.key, f.key",
		 &st, err) < 0)
		goto done;
	bind_text(st, 1, provider);
	bind_text(st, 2, account);
	bind_text(st, 3, campaign_id);
	/* `seen` holds "\n"-separated tags already written; lists have tens
	 * of fields, so a linear search is fine. */
	buf_putc(&seen, '\n');
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *tag = col_text(st, 0);
		size_t len;
		const char *p;
		int dup = 0;

		if (!tag || !*tag || strchr(tag, '\n'))
			continue;
		len = strlen(tag);
		for (p = strstr(buf_str(&seen), tag); p && !dup;
		     p = strstr(p + 1, tag))
			dup = p[-1] == '\n' && p[len] == '\n';
		if (dup)
			continue;
		if ((n++ && buf_putc(out, ',') < 0) ||
		    jsonw_string(out, tag) < 0 || buf_puts(&seen, tag) < 0 ||
		    buf_putc(&seen, '\n') < 0) {
			err_set(err, ERR_STORE, 0,
				"fields of campaign '%s' are too large",
				campaign_id);
			goto done;
		}
	}
	if (rc != SQLITE_DONE) {
		db_err(err, s, "read list fields from");
		goto done;
	}
	buf_putc(out, ']');
	ret = 0;
done:
	if (ret < 0) {
		buf_reset(out);
		buf_puts(out, "[]");
	}
	buf_release(&seen);
	sqlite3_finalize(st);
	return ret;
}

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
    .run_last = sq_run_last,
    .campaign_get = sq_campaign_get,
    .link_participants = sq_link_participants,
    .stats = sq_stats,
    .each_campaign = sq_each_campaign,
    .each_participant = sq_each_participant,
    .campaign_fields = sq_campaign_fields,
    .run_last_status = sq_run_last_status,
    .reconcile_contacts = sq_reconcile_contacts,
};

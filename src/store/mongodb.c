/* The MongoDB store: the earlier tool's campaigns and participants documents
 * plus espsync's other collections, idempotent indexes, unordered bulk
 * upserts that leave unchanged documents alone, and the reads export, stats
 * and the sync engine need. The only file that includes mongoc.h/bson.h. */
#include "store/mongodb.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <mongoc/mongoc.h>
#pragma GCC diagnostic pop

#include "util/clock.h"
#include "util/json.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum coll_id {
	K_CAMPAIGNS,
	K_LINKS,
	K_PARTICIPANTS,
	K_EVENTS,
	K_CONTACTS,
	K_LISTS,
	K_STATE,
	K_RUNS,
	K__COUNT
};

static const char *const coll_names[K__COUNT] = {
    [K_CAMPAIGNS] = "campaigns",       [K_LINKS] = "campaign_links",
    [K_PARTICIPANTS] = "participants", [K_EVENTS] = "email_activities",
    [K_CONTACTS] = "contacts",	       [K_LISTS] = "lists",
    [K_STATE] = "sync_state",	       [K_RUNS] = "sync_runs",
};

/* The earlier tool's indexes (DESIGN §4) first, then the ones espsync's own
 * filters and sorts need. Unique only where the earlier tool had it or the
 * key is espsync's own, so a sharded cluster can keep them (README). */
static const struct {
	enum coll_id coll;
	const char *keys[6];
	int unique;
} indexes[] = {
    {K_CAMPAIGNS, {"campaign_id"}, 1},
    {K_CAMPAIGNS, {"status"}, 0},
    {K_CAMPAIGNS, {"synced_at"}, 0},
    {K_CAMPAIGNS, {"provider", "account", "campaign_id"}, 0},
    {K_PARTICIPANTS, {"campaign_id", "contact_id"}, 1},
    {K_PARTICIPANTS, {"campaign_id"}, 0},
    {K_PARTICIPANTS, {"email_address"}, 0},
    {K_PARTICIPANTS,
     {"provider", "account", "campaign_id", "email_address", "contact_id"},
     0},
    {K_EVENTS, {"event_id"}, 1},
    {K_EVENTS, {"contact_email", "campaign_id", "event_type"}, 0},
    {K_EVENTS, {"provider", "account", "campaign_id", "activity_date"}, 0},
    {K_CONTACTS, {"provider", "contact_id"}, 1},
    {K_CONTACTS, {"provider", "account", "contact_id"}, 0},
    {K_CONTACTS, {"email"}, 0},
    {K_LINKS, {"provider", "account", "campaign_id", "url"}, 1},
    {K_LISTS, {"provider", "account", "list_id"}, 1},
    {K_STATE, {"provider", "account", "stream"}, 1},
    {K_RUNS, {"run_id"}, 1},
};

static const char *const run_status_names[] = {
    [RUN_RUNNING] = "running",
    [RUN_COMPLETE] = "complete",
    [RUN_PARTIAL] = "partial",
    [RUN_FAILED] = "failed",
};

/* Engagement flags in the earlier tool's embedded object (ENG_SENT has no
 * field there and is not stored). */
static const struct {
	const char *path;
	unsigned bit;
} engagement[] = {
    {"engagement.opened", ENG_OPENED},
    {"engagement.clicked", ENG_CLICKED},
    {"engagement.bounced", ENG_BOUNCED},
    {"engagement.complained", ENG_COMPLAINED},
    {"engagement.unsubscribed", ENG_UNSUBSCRIBED},
};

#define N_ENGAGEMENT (sizeof(engagement) / sizeof(engagement[0]))

struct mongo_store {
	struct store base;
	mongoc_client_t *client;
	mongoc_database_t *db;
	mongoc_collection_t *coll[K__COUNT];
	char *safe;   /* URL with the password replaced, for messages */
	char *secret; /* password as given in the URL, scrubbed from messages */
	char *secret_dec; /* the same, percent-decoded by the driver */
};

/* ---- messages ---------------------------------------------------------- */

/* Appends msg with every occurrence of a secret replaced by "***". */
static void scrub(struct buf *out, const char *msg, const char *a,
		  const char *b)
{
	while (*msg) {
		const char *sec[2] = {a, b};
		size_t k, n = 0;

		for (k = 0; k < 2 && !n; k++)
			if (sec[k] && *sec[k] &&
			    !strncmp(msg, sec[k], strlen(sec[k])))
				n = strlen(sec[k]);
		if (n) {
			buf_puts(out, "***");
			msg += n;
		} else {
			buf_putc(out, *msg++);
		}
	}
}

/* A driver message as our errors read: secrets scrubbed, lowercase
 * start (unless an acronym), no final period. */
static void tidy(struct buf *m, const char *msg, const char *a, const char *b)
{
	scrub(m, msg && *msg ? msg : "unknown error", a, b);
	if (m->len && isupper((unsigned char)m->data[0]) &&
	    !(m->len > 1 && isupper((unsigned char)m->data[1])))
		m->data[0] = (char)tolower((unsigned char)m->data[0]);
	while (m->len &&
	       (m->data[m->len - 1] == '.' || m->data[m->len - 1] == ' '))
		m->data[--m->len] = '\0';
}

static int mg_err(struct err *err, const struct mongo_store *s,
		  const char *what, const bson_error_t *e)
{
	struct buf m = BUF_INIT;

	tidy(&m, e ? e->message : NULL, s->secret, s->secret_dec);
	err_set(err, ERR_STORE, e ? (int)e->code : 0,
		"cannot %s mongodb store '%s': %s", what, s->safe, buf_str(&m));
	buf_release(&m);
	return -1;
}

/* Driver log lines go to our debug log (they never hold the password). */
static void log_handler(mongoc_log_level_t level, const char *domain,
			const char *message, void *ctx)
{
	(void)ctx;
	if (level <= MONGOC_LOG_LEVEL_WARNING)
		log_debug("mongodb %s: %s", domain, message);
}

/* ---- values ------------------------------------------------------------ */

static char *unconst(const char *s)
{
	return (char *)(uintptr_t)s;
}

static bson_value_t v_null(void)
{
	bson_value_t v;

	memset(&v, 0, sizeof(v));
	v.value_type = BSON_TYPE_NULL;
	return v;
}

static bson_value_t v_str(const char *s)
{
	bson_value_t v = v_null();

	if (s) {
		v.value_type = BSON_TYPE_UTF8;
		v.value.v_utf8.str = unconst(s);
		v.value.v_utf8.len = (uint32_t)strlen(s);
	}
	return v;
}

/* Integers as the earlier tool's driver stored them: int32 when they fit. */
static bson_value_t v_int(int64_t n)
{
	bson_value_t v = v_null();

	if (n >= INT32_MIN && n <= INT32_MAX) {
		v.value_type = BSON_TYPE_INT32;
		v.value.v_int32 = (int32_t)n;
	} else {
		v.value_type = BSON_TYPE_INT64;
		v.value.v_int64 = n;
	}
	return v;
}

static bson_value_t v_count(int64_t n)
{
	return n < 0 ? v_null() : v_int(n);
}

static bson_value_t v_bool(int b)
{
	bson_value_t v = v_null();

	v.value_type = BSON_TYPE_BOOL;
	v.value.v_bool = b != 0;
	return v;
}

static bson_value_t v_date(int64_t t)
{
	bson_value_t v = v_null();

	if (t != TIME_NULL) {
		v.value_type = BSON_TYPE_DATE_TIME;
		v.value.v_datetime = t * 1000;
	}
	return v;
}

static void append_json(bson_t *dst, const char *key, const struct json *v);

static void append_number(bson_t *dst, const char *key, const struct json *v)
{
	struct buf t = BUF_INIT;
	const char *s;
	char *end;
	long long n;

	json_write(&t, v);
	s = buf_str(&t);
	n = strtoll(s, &end, 10);
	if (!*end && strspn(s, "-0123456789") == t.len) {
		if (n >= INT32_MIN && n <= INT32_MAX)
			BSON_APPEND_INT32(dst, key, (int32_t)n);
		else
			BSON_APPEND_INT64(dst, key, n);
	} else {
		BSON_APPEND_DOUBLE(dst, key, strtod(s, NULL));
	}
	buf_release(&t);
}

/* JSON value -> BSON, read with our own parser so that keys such as
 * "$date" in user data stay plain keys. */
static void append_json(bson_t *dst, const char *key, const struct json *v)
{
	bson_t child;
	char idx[16];
	const char *ik;
	size_t i;
	int b;

	switch (json_type(v)) {
	case JSON_BOOL:
		json_bool(v, &b);
		BSON_APPEND_BOOL(dst, key, b);
		break;
	case JSON_NUMBER:
		append_number(dst, key, v);
		break;
	case JSON_STRING:
		BSON_APPEND_UTF8(dst, key, json_str(v));
		break;
	case JSON_ARRAY:
		BSON_APPEND_ARRAY_BEGIN(dst, key, &child);
		for (i = 0; i < json_len(v); i++) {
			bson_uint32_to_string((uint32_t)i, &ik, idx,
					      sizeof(idx));
			append_json(&child, ik, json_at(v, i));
		}
		bson_append_array_end(dst, &child);
		break;
	case JSON_OBJECT:
		BSON_APPEND_DOCUMENT_BEGIN(dst, key, &child);
		for (i = 0; i < json_len(v); i++) {
			const struct json *m = json_at(v, i);

			append_json(&child, json_key(m) ? json_key(m) : "", m);
		}
		bson_append_document_end(dst, &child);
		break;
	default:
		BSON_APPEND_NULL(dst, key);
		break;
	}
}

/* JSON text -> value: objects and arrays become embedded BSON (held in
 * *holder, which the caller destroys), NULL is null, and anything that does
 * not parse as an object or array is kept as the string it was. */
static bson_value_t v_json(const char *text, bson_t *holder)
{
	struct json_doc *doc = NULL;
	bson_value_t v = v_str(text);
	bson_iter_t it;

	bson_init(holder);
	if (!text || json_parse(&doc, text, strlen(text), NULL) < 0)
		goto done;
	if (json_type(json_root(doc)) != JSON_ARRAY &&
	    json_type(json_root(doc)) != JSON_OBJECT)
		goto done;
	append_json(holder, "v", json_root(doc));
	if (bson_iter_init_find(&it, holder, "v"))
		v = *bson_iter_value(&it);
done:
	json_doc_free(doc);
	return v;
}

static void write_double(struct buf *b, double d)
{
	char t[40];
	int p;

	for (p = 15; p <= 17; p++) {
		snprintf(t, sizeof(t), "%.*g", p, d);
		if (strtod(t, NULL) == d)
			break;
	}
	buf_puts(b, t);
}

/* Compact JSON of the value at it (dates as ISO strings). */
static void write_json(struct buf *b, const bson_iter_t *it)
{
	bson_iter_t child;
	uint32_t len;
	const char *s;
	char iso[21];
	int first = 1, is_doc;

	switch (bson_iter_type(it)) {
	case BSON_TYPE_UTF8:
		s = bson_iter_utf8(it, &len);
		jsonw_stringn(b, s, len);
		break;
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64:
		jsonw_int(b, bson_iter_as_int64(it));
		break;
	case BSON_TYPE_DOUBLE:
		write_double(b, bson_iter_double(it));
		break;
	case BSON_TYPE_BOOL:
		buf_puts(b, bson_iter_bool(it) ? "true" : "false");
		break;
	case BSON_TYPE_DATE_TIME:
		time_format_iso(bson_iter_date_time(it) / 1000, iso);
		jsonw_string(b, iso);
		break;
	case BSON_TYPE_DOCUMENT:
	case BSON_TYPE_ARRAY:
		is_doc = bson_iter_type(it) == BSON_TYPE_DOCUMENT;
		buf_putc(b, is_doc ? '{' : '[');
		if (bson_iter_recurse(it, &child)) {
			while (bson_iter_next(&child)) {
				if (is_doc)
					jsonw_key(b, bson_iter_key(&child),
						  first);
				else if (!first)
					buf_putc(b, ',');
				first = 0;
				write_json(b, &child);
			}
		}
		buf_putc(b, is_doc ? '}' : ']');
		break;
	default:
		buf_puts(b, "null");
		break;
	}
}

/* ---- reading documents ------------------------------------------------- */

static int find(const bson_t *doc, const char *path, bson_iter_t *it)
{
	bson_iter_t top;

	return bson_iter_init(&top, doc) &&
	       bson_iter_find_descendant(&top, path, it);
}

/* String field; NULL when missing or not a string. */
static const char *get_str(const bson_t *doc, const char *path)
{
	bson_iter_t it;

	if (!find(doc, path, &it) || !BSON_ITER_HOLDS_UTF8(&it))
		return NULL;
	return bson_iter_utf8(&it, NULL);
}

static int64_t get_int(const bson_t *doc, const char *path)
{
	bson_iter_t it;

	if (!find(doc, path, &it) || !BSON_ITER_HOLDS_NUMBER(&it))
		return 0;
	return bson_iter_as_int64(&it);
}

static int get_bool(const bson_t *doc, const char *path)
{
	bson_iter_t it;

	return find(doc, path, &it) && bson_iter_as_bool(&it);
}

static int64_t get_time(const bson_t *doc, const char *path)
{
	bson_iter_t it;
	int64_t ms;

	if (!find(doc, path, &it) || !BSON_ITER_HOLDS_DATE_TIME(&it))
		return TIME_NULL;
	ms = bson_iter_date_time(&it);
	return ms >= 0 ? ms / 1000 : -((999 - ms) / 1000);
}

/* JSON text of a field in the arena; NULL when missing or null. */
static char *get_json(const bson_t *doc, const char *path, struct arena *a)
{
	struct buf b = BUF_INIT;
	bson_iter_t it;
	char *out;

	if (!find(doc, path, &it) || BSON_ITER_HOLDS_NULL(&it))
		return NULL;
	write_json(&b, &it);
	out = arena_strdup(a, buf_str(&b));
	buf_release(&b);
	return out;
}

static char *lower_dup(struct arena *a, const char *s)
{
	char *d = arena_strdup(a, s), *p;

	for (p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static char *upper_dup(const char *s)
{
	char *d, *p;

	if (!s)
		return NULL;
	d = xstrdup(s);
	for (p = d; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return d;
}

/* ---- upserts ----------------------------------------------------------- */

/* How a field of an upsert is written, as in store/sqlite.c. */
enum mode {
	M_KEY,	/* selector (natural key) */
	M_INS,	/* written on insert only */
	M_KEEP, /* null means unknown: the stored value stays */
	M_SET,	/* overwritten as given */
	M_UPD,	/* updated (and compared) only: its insert form is elsewhere */
};

/* One record's upsert: the selector, the document fields for an insert,
 * and for an existing document the $set and the "differs" conditions. */
struct up {
	bson_t key, ins, set, diff;
	int n_diff;
};

static void up_init(struct up *u)
{
	bson_init(&u->key);
	bson_init(&u->ins);
	bson_init(&u->set);
	bson_init(&u->diff);
	u->n_diff = 0;
}

static void up_destroy(struct up *u)
{
	bson_destroy(&u->key);
	bson_destroy(&u->ins);
	bson_destroy(&u->set);
	bson_destroy(&u->diff);
}

static void up_add(struct up *u, const char *name, bson_value_t v, enum mode m)
{
	char idx[16];
	const char *ik;
	bson_t cond, ne;

	switch (m) {
	case M_KEY:
		BSON_APPEND_VALUE(&u->key, name, &v);
		return;
	case M_INS:
		BSON_APPEND_VALUE(&u->ins, name, &v);
		return;
	case M_KEEP:
		BSON_APPEND_VALUE(&u->ins, name, &v);
		if (v.value_type == BSON_TYPE_NULL)
			return;
		break;
	case M_SET:
		BSON_APPEND_VALUE(&u->ins, name, &v);
		break;
	case M_UPD:
		break;
	}
	BSON_APPEND_VALUE(&u->set, name, &v);
	bson_uint32_to_string((uint32_t)u->n_diff++, &ik, idx, sizeof(idx));
	BSON_APPEND_DOCUMENT_BEGIN(&u->diff, ik, &cond);
	BSON_APPEND_DOCUMENT_BEGIN(&cond, name, &ne);
	BSON_APPEND_VALUE(&ne, "$ne", &v);
	bson_append_document_end(&cond, &ne);
	bson_append_document_end(&u->diff, &cond);
}

static void up_json(struct up *u, const char *name, const char *json,
		    enum mode m)
{
	bson_t holder;

	up_add(u, name, v_json(json, &holder), m);
	bson_destroy(&holder);
}

/* "Now" of a batch: inserted with the document, and set only when the
 * document changes (it is not part of the comparison). */
static void up_now(struct up *u, const char *name, int64_t now)
{
	bson_value_t v = v_date(now);

	BSON_APPEND_VALUE(&u->ins, name, &v);
	BSON_APPEND_VALUE(&u->set, name, &v);
}

static void up_owner(struct up *u, const struct batch *b)
{
	up_add(u, "provider", v_str(b->provider), M_KEY);
	up_add(u, "account", v_str(b->account), M_KEY);
}

typedef void (*build_fn)(struct up *u, const struct batch *b, size_t i,
			 int64_t now);

static void build_campaign(struct up *u, const struct batch *b, size_t i,
			   int64_t now)
{
	const struct rec_campaign *r = &b->campaigns[i];
	const struct campaign_stats *x = &r->stats;
	const int64_t bounced = x->bounced_hard + x->bounced_soft;
	const struct {
		const char *name;
		int64_t uniq, total;
	} st[] = {
	    {"sent", x->sent, x->sent},
	    {"opened", x->opened_unique, x->opened_total},
	    {"clicked", x->clicked_unique, x->clicked_total},
	    {"bounced", bounced, bounced},
	    {"complained", x->complained, x->complained},
	    {"unsubscribed", x->unsubscribed, x->unsubscribed},
	};
	char *status = upper_dup(r->status);
	bson_t stats, d;
	char path[64];
	size_t k;

	up_owner(u, b);
	up_add(u, "campaign_id", v_str(r->campaign_id), M_KEY);
	up_add(u, "name", v_str(r->name), M_KEEP);
	up_add(u, "subject", v_str(r->subject), M_KEEP);
	up_add(u, "from_name", v_str(r->from_name), M_KEEP);
	up_add(u, "from_email", v_str(r->from_email), M_KEEP);
	up_add(u, "created_at", v_date(r->created_at), M_KEEP);
	up_add(u, "sent_at", v_date(r->sent_at), M_KEEP);
	up_add(u, "status", v_str(status), M_KEEP);
	up_json(u, "to_lists", r->to_lists_json, M_KEEP);
	/* Statistics: zeros on insert without a summary, else as given. */
	BSON_APPEND_DOCUMENT_BEGIN(&u->ins, "statistics", &stats);
	for (k = 0; k < sizeof(st) / sizeof(st[0]); k++) {
		bson_value_t un = v_int(r->has_stats ? st[k].uniq : 0);
		bson_value_t to = v_int(r->has_stats ? st[k].total : 0);

		BSON_APPEND_DOCUMENT_BEGIN(&stats, st[k].name, &d);
		BSON_APPEND_VALUE(&d, "unique", &un);
		BSON_APPEND_VALUE(&d, "total", &to);
		bson_append_document_end(&stats, &d);
		if (!r->has_stats)
			continue;
		snprintf(path, sizeof(path), "statistics.%s.unique",
			 st[k].name);
		up_add(u, path, un, M_UPD);
		snprintf(path, sizeof(path), "statistics.%s.total", st[k].name);
		up_add(u, path, to, M_UPD);
	}
	bson_append_document_end(&u->ins, &stats);
	up_now(u, "synced_at", now);
	free(status);
}

static void build_link(struct up *u, const struct batch *b, size_t i,
		       int64_t now)
{
	const struct rec_link *r = &b->links[i];

	up_owner(u, b);
	up_add(u, "campaign_id", v_str(r->campaign_id), M_KEY);
	up_add(u, "url", v_str(r->url), M_KEY);
	up_add(u, "clicked_total", v_int(r->clicked_total), M_SET);
	up_add(u, "clicked_unique", v_int(r->clicked_unique), M_SET);
	up_now(u, "synced_at", now);
}

/* Status and fields are written by link_participants; flags are OR-ed in:
 * only a set flag is written to an existing document. */
static void build_participant(struct up *u, const struct batch *b, size_t i,
			      int64_t now)
{
	const struct rec_participant *r = &b->participants[i];
	bson_t eng;
	size_t k;

	up_owner(u, b);
	up_add(u, "campaign_id", v_str(r->campaign_id), M_KEY);
	up_add(u, "contact_id", v_str(r->contact_id), M_KEY);
	up_add(u, "email_address", v_str(r->email), M_KEEP);
	up_add(u, "status", v_null(), M_INS);
	up_add(u, "fields", v_null(), M_INS);
	BSON_APPEND_DOCUMENT_BEGIN(&u->ins, "engagement", &eng);
	for (k = 0; k < N_ENGAGEMENT; k++) {
		int on = (r->flags & engagement[k].bit) != 0;

		BSON_APPEND_BOOL(&eng, strchr(engagement[k].path, '.') + 1, on);
		if (on)
			up_add(u, engagement[k].path, v_bool(1), M_UPD);
	}
	bson_append_document_end(&u->ins, &eng);
	up_now(u, "synced_at", now);
}

static void build_event(struct up *u, const struct batch *b, size_t i,
			int64_t now)
{
	const struct rec_event *r = &b->events[i];
	char date[11] = "";

	if (r->ts != TIME_NULL)
		time_format_date(r->ts, date);
	up_add(u, "event_id", v_str(r->event_id), M_KEY);
	up_add(u, "provider", v_str(b->provider), M_INS);
	up_add(u, "account", v_str(b->account), M_INS);
	up_add(u, "campaign_id", v_str(r->campaign_id), M_INS);
	up_add(u, "campaign_name", v_str(r->campaign_name), M_KEEP);
	up_add(u, "contact_id", v_str(r->contact_id), M_INS);
	up_add(u, "contact_email", v_str(r->contact_email), M_INS);
	up_add(u, "event_type", v_str(event_type_name(r->type)), M_INS);
	up_add(u, "activity_timestamp", v_date(r->ts), M_INS);
	up_add(u, "activity_date", v_str(*date ? date : NULL), M_INS);
	up_add(u, "times", v_int(r->times), M_SET);
	up_add(u, "link_url", v_str(r->link_url), M_KEEP);
	up_add(u, "bounce_type", v_str(r->bounce_type), M_KEEP);
	up_add(u, "created_at", v_date(now), M_INS);
	up_now(u, "updated_at", now);
}

static void build_contact(struct up *u, const struct batch *b, size_t i,
			  int64_t now)
{
	const struct rec_contact *r = &b->contacts[i];

	up_owner(u, b);
	up_add(u, "contact_id", v_str(r->contact_id), M_KEY);
	up_add(u, "email", v_str(r->email), M_KEEP);
	up_add(u, "first_name", v_str(r->first_name), M_KEEP);
	up_add(u, "last_name", v_str(r->last_name), M_KEEP);
	up_add(u, "phone", v_str(r->phone), M_KEEP);
	up_add(u, "status", v_str(r->status), M_KEEP);
	up_json(u, "fields", r->fields_json, M_KEEP);
	up_json(u, "tags", r->tags_json, M_KEEP);
	up_json(u, "lists", r->lists_json, M_KEEP);
	up_add(u, "created_at", v_date(r->created_at), M_KEEP);
	up_add(u, "updated_at", v_date(r->updated_at), M_KEEP);
	up_add(u, "deleted_at", v_date(r->deleted_at), M_KEEP);
	up_now(u, "synced_at", now);
}

static void build_list(struct up *u, const struct batch *b, size_t i,
		       int64_t now)
{
	const struct rec_list *r = &b->lists[i];

	up_owner(u, b);
	up_add(u, "list_id", v_str(r->list_id), M_KEY);
	up_add(u, "name", v_str(r->name), M_KEEP);
	up_json(u, "fields", r->fields_json, M_KEEP);
	up_json(u, "tags", r->tags_json, M_KEEP);
	up_add(u, "subscribed", v_count(r->subscribed), M_KEEP);
	up_add(u, "unsubscribed", v_count(r->unsubscribed), M_KEEP);
	up_add(u, "pending", v_count(r->pending), M_KEEP);
	up_add(u, "created_at", v_date(r->created_at), M_KEEP);
	up_add(u, "updated_at", v_date(r->updated_at), M_KEEP);
	up_now(u, "synced_at", now);
}

static int64_t reply_int(const bson_t *reply, const char *name)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, reply, name) ||
	    !BSON_ITER_HOLDS_NUMBER(&it))
		return 0;
	return bson_iter_as_int64(&it);
}

/* Marks the "index" of each element of the reply array name in mark[]. */
static int64_t reply_mark(const bson_t *reply, const char *name, char *mark,
			  size_t n)
{
	bson_iter_t it, arr, f;
	int64_t count = 0;

	if (!bson_iter_init_find(&it, reply, name) ||
	    !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
		return 0;
	while (bson_iter_next(&arr)) {
		count++;
		if (BSON_ITER_HOLDS_DOCUMENT(&arr) &&
		    bson_iter_recurse(&arr, &f) &&
		    bson_iter_find(&f, "index") && BSON_ITER_HOLDS_NUMBER(&f)) {
			int64_t k = bson_iter_as_int64(&f);

			if (k >= 0 && (uint64_t)k < n)
				mark[k] = 1;
		}
	}
	return count;
}

/* Executes an unordered bulk; 0 when every operation succeeded. */
static int run_bulk(mongoc_bulk_operation_t *bulk, bson_t *reply,
		    bson_error_t *e)
{
	uint32_t ok = mongoc_bulk_operation_execute(bulk, reply, e);

	return ok ? 0 : -1;
}

static mongoc_bulk_operation_t *new_bulk(struct mongo_store *s, enum coll_id c)
{
	bson_t opts = BSON_INITIALIZER;
	mongoc_bulk_operation_t *bulk;

	BSON_APPEND_BOOL(&opts, "ordered", false);
	bulk = mongoc_collection_create_bulk_operation_with_opts(s->coll[c],
								 &opts);
	bson_destroy(&opts);
	return bulk;
}

/* Upserts records [from, from + n) of one array: first an upsert that only
 * inserts ($setOnInsert), then, for the documents that existed, a $set
 * whose selector also asks that some field differs, so that unchanged
 * documents are counted as such and keep their synced_at. */
static int upsert_chunk(struct mongo_store *s, enum coll_id c,
			const struct batch *b, size_t from, size_t n,
			build_fn fn, int64_t now, struct store_counts *cnt,
			struct err *err)
{
	struct up *ups = xcalloc(n, sizeof(*ups));
	char *done_mark = xcalloc(n ? n : 1, 1);
	char *bad = xcalloc(n ? n : 1, 1);
	mongoc_bulk_operation_t *bulk = NULL;
	bson_t upsert_opts = BSON_INITIALIZER, reply;
	bson_error_t e;
	int64_t ins = 0, upd = 0, failed = 0, pending = 0;
	size_t k;
	int ret = -1, have_reply = 0;

	BSON_APPEND_BOOL(&upsert_opts, "upsert", true);
	for (k = 0; k < n; k++) {
		up_init(&ups[k]);
		fn(&ups[k], b, from + k, now);
	}
	bulk = new_bulk(s, c);
	for (k = 0; k < n; k++) {
		bson_t update = BSON_INITIALIZER;

		BSON_APPEND_DOCUMENT(&update, "$setOnInsert", &ups[k].ins);
		if (!mongoc_bulk_operation_update_one_with_opts(
			bulk, &ups[k].key, &update, &upsert_opts, &e)) {
			bson_destroy(&update);
			mg_err(err, s, "write to", &e);
			failed = (int64_t)n;
			goto done;
		}
		bson_destroy(&update);
	}
	ret = run_bulk(bulk, &reply, &e);
	have_reply = 1;
	ins = reply_int(&reply, "nUpserted");
	reply_mark(&reply, "upserted", done_mark, n);
	failed = reply_mark(&reply, "writeErrors", bad, n);
	if (ret < 0) {
		if (!failed)
			failed = (int64_t)n - ins;
		mg_err(err, s, "write to", &e);
		goto done;
	}
	bson_destroy(&reply);
	have_reply = 0;
	mongoc_bulk_operation_destroy(bulk);
	bulk = new_bulk(s, c);
	for (k = 0; k < n; k++) {
		bson_t sel, update = BSON_INITIALIZER;

		if (done_mark[k] || bad[k] || !ups[k].n_diff)
			continue;
		bson_copy_to(&ups[k].key, &sel);
		BSON_APPEND_ARRAY(&sel, "$or", &ups[k].diff);
		BSON_APPEND_DOCUMENT(&update, "$set", &ups[k].set);
		pending++;
		if (!mongoc_bulk_operation_update_one_with_opts(
			bulk, &sel, &update, NULL, &e)) {
			bson_destroy(&sel);
			bson_destroy(&update);
			failed = (int64_t)n - ins;
			ret = mg_err(err, s, "write to", &e);
			goto done;
		}
		bson_destroy(&sel);
		bson_destroy(&update);
	}
	if (pending) {
		memset(bad, 0, n);
		ret = run_bulk(bulk, &reply, &e);
		have_reply = 1;
		upd = reply_int(&reply, "nModified");
		failed = reply_mark(&reply, "writeErrors", bad, n);
		if (ret < 0) {
			if (!failed)
				failed = pending - upd;
			mg_err(err, s, "write to", &e);
			goto done;
		}
	}
	ret = 0;
done:
	log_debug("mongodb %s: bulk of %zu: %lld inserted, %lld updated, "
		  "%lld unchanged, %lld failed",
		  coll_names[c], n, (long long)ins, (long long)upd,
		  (long long)((int64_t)n - ins - upd - failed),
		  (long long)failed);
	cnt->inserted += ins;
	cnt->updated += upd;
	cnt->failed += failed;
	cnt->unchanged += (int64_t)n - ins - upd - failed;
	if (have_reply)
		bson_destroy(&reply);
	if (bulk)
		mongoc_bulk_operation_destroy(bulk);
	for (k = 0; k < n; k++)
		up_destroy(&ups[k]);
	bson_destroy(&upsert_opts);
	free(ups);
	free(done_mark);
	free(bad);
	return ret;
}

static int upsert_all(struct mongo_store *s, enum coll_id c,
		      const struct batch *b, size_t n, build_fn fn, int64_t now,
		      struct store_counts *cnt, struct err *err)
{
	size_t from, m;

	for (from = 0; from < n; from += m) {
		m = n - from < STORE_MONGODB_BULK_MAX ? n - from
						      : STORE_MONGODB_BULK_MAX;
		if (upsert_chunk(s, c, b, from, m, fn, now, cnt, err) < 0)
			return -1;
	}
	return 0;
}

static void append_owner(bson_t *d, const char *provider, const char *account)
{
	bson_value_t p = v_str(provider), a = v_str(account);

	BSON_APPEND_VALUE(d, "provider", &p);
	BSON_APPEND_VALUE(d, "account", &a);
}

/* Checkpoints go in only after the batch's data was written. */
static int write_states(struct mongo_store *s, const struct batch *b,
			int64_t now, struct err *err)
{
	mongoc_bulk_operation_t *bulk;
	bson_t upsert_opts = BSON_INITIALIZER, reply;
	bson_error_t e;
	size_t i;
	int ret = -1;

	if (!b->n_states)
		return 0;
	BSON_APPEND_BOOL(&upsert_opts, "upsert", true);
	bulk = new_bulk(s, K_STATE);
	for (i = 0; i < b->n_states; i++) {
		const struct state_update *u = &b->states[i];
		bson_t sel = BSON_INITIALIZER, update = BSON_INITIALIZER, set;
		bson_value_t t = v_date(now);
		bool ok;

		append_owner(&sel, b->provider, b->account);
		BSON_APPEND_UTF8(&sel, "stream", u->stream);
		if (u->value) {
			BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
			BSON_APPEND_UTF8(&set, "value", u->value);
			BSON_APPEND_VALUE(&set, "updated_at", &t);
			bson_append_document_end(&update, &set);
			ok = mongoc_bulk_operation_update_one_with_opts(
			    bulk, &sel, &update, &upsert_opts, &e);
		} else {
			ok = mongoc_bulk_operation_remove_one_with_opts(
			    bulk, &sel, NULL, &e);
		}
		bson_destroy(&sel);
		bson_destroy(&update);
		if (!ok) {
			mg_err(err, s, "write sync state to", &e);
			goto done;
		}
	}
	if (run_bulk(bulk, &reply, &e) < 0) {
		bson_destroy(&reply);
		mg_err(err, s, "write sync state to", &e);
		goto done;
	}
	bson_destroy(&reply);
	ret = 0;
done:
	mongoc_bulk_operation_destroy(bulk);
	bson_destroy(&upsert_opts);
	return ret;
}

/* State rows are checkpoints, not data: they are not counted in *out. No
 * transaction: what was written stays, but a failed batch writes no
 * checkpoint, so the next run re-reads the page. */
static int mg_write_batch(struct store *store, const struct batch *b,
			  struct store_counts *out, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	struct store_counts c = {0, 0, 0, 0};
	int64_t now = clock_wall_s();
	int ret = -1;

	if (upsert_all(s, K_CAMPAIGNS, b, b->n_campaigns, build_campaign, now,
		       &c, err) < 0 ||
	    upsert_all(s, K_LINKS, b, b->n_links, build_link, now, &c, err) <
		0 ||
	    upsert_all(s, K_PARTICIPANTS, b, b->n_participants,
		       build_participant, now, &c, err) < 0 ||
	    upsert_all(s, K_EVENTS, b, b->n_events, build_event, now, &c, err) <
		0 ||
	    upsert_all(s, K_CONTACTS, b, b->n_contacts, build_contact, now, &c,
		       err) < 0 ||
	    upsert_all(s, K_LISTS, b, b->n_lists, build_list, now, &c, err) < 0)
		goto done;
	if (write_states(s, b, now, err) < 0)
		goto done;
	ret = 0;
done:
	if (ret < 0) {
		int64_t n = (int64_t)batch_count(b);

		if (c.failed < n - c.inserted - c.updated - c.unchanged)
			c.failed = n - c.inserted - c.updated - c.unchanged;
	}
	if (out)
		*out = c;
	return ret;
}

/* ---- open, close, indexes ---------------------------------------------- */

static int create_indexes(struct mongo_store *s, struct err *err)
{
	bson_error_t e;
	size_t c, i;
	int ret = 0;

	for (c = 0; c < K__COUNT && !ret; c++) {
		bson_t cmd = BSON_INITIALIZER, arr, idx, keys;
		char num[16];
		const char *ik;
		uint32_t n = 0;

		BSON_APPEND_UTF8(&cmd, "createIndexes", coll_names[c]);
		BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
		for (i = 0; i < sizeof(indexes) / sizeof(indexes[0]); i++) {
			struct buf name = BUF_INIT;
			size_t k;

			if (indexes[i].coll != (enum coll_id)c)
				continue;
			bson_uint32_to_string(n++, &ik, num, sizeof(num));
			BSON_APPEND_DOCUMENT_BEGIN(&arr, ik, &idx);
			BSON_APPEND_DOCUMENT_BEGIN(&idx, "key", &keys);
			for (k = 0; k < 6 && indexes[i].keys[k]; k++) {
				BSON_APPEND_INT32(&keys, indexes[i].keys[k], 1);
				buf_printf(&name, "%s%s_1", k ? "_" : "",
					   indexes[i].keys[k]);
			}
			bson_append_document_end(&idx, &keys);
			BSON_APPEND_UTF8(&idx, "name", buf_str(&name));
			if (indexes[i].unique)
				BSON_APPEND_BOOL(&idx, "unique", true);
			bson_append_document_end(&arr, &idx);
			buf_release(&name);
		}
		bson_append_array_end(&cmd, &arr);
		if (!mongoc_database_write_command_with_opts(s->db, &cmd, NULL,
							     NULL, &e))
			ret = mg_err(err, s, "create indexes in", &e);
		bson_destroy(&cmd);
	}
	return ret;
}

static void mg_close(struct store *store)
{
	struct mongo_store *s = (struct mongo_store *)store;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < K__COUNT; i++)
		if (s->coll[i])
			mongoc_collection_destroy(s->coll[i]);
	if (s->db)
		mongoc_database_destroy(s->db);
	if (s->client)
		mongoc_client_destroy(s->client);
	free(s->safe);
	free(s->secret);
	free(s->secret_dec);
	free(s);
}

/* The password exactly as written in the URL (between the ':' of the
 * userinfo and the last '@'), or NULL. */
static char *raw_password(const char *url)
{
	const char *auth = strstr(url, "://"), *at, *colon;

	if (!auth)
		return NULL;
	auth += 3;
	at = strrchr(auth, '@');
	if (!at)
		return NULL;
	colon = memchr(auth, ':', (size_t)(at - auth));
	if (!colon || colon + 1 == at)
		return NULL;
	return xstrndup(colon + 1, (size_t)(at - colon - 1));
}

static void uri_default_ms(mongoc_uri_t *uri, const char *opt, int32_t ms)
{
	if (!mongoc_uri_has_option(uri, opt))
		mongoc_uri_set_option_as_int32(uri, opt, ms);
}

static int mg_open(struct store **out, const char *url, struct err *err)
{
	struct mongo_store *s = xcalloc(1, sizeof(*s));
	mongoc_uri_t *uri = NULL;
	bson_t ping = BSON_INITIALIZER;
	bson_error_t e;
	const char *dbname;
	size_t i;
	int ret = -1;

	*out = NULL;
	s->base.ops = &mongodb_store_ops;
	s->safe = store_redact_url(url);
	s->secret = raw_password(url);
	mongoc_init();
	mongoc_log_set_handler(log_handler, NULL);
	uri = mongoc_uri_new_with_error(url, &e);
	if (!uri) {
		struct buf m = BUF_INIT;

		tidy(&m, e.message, s->secret, NULL);
		err_set(err, ERR_CONFIG, 0, "invalid mongodb store '%s': %s",
			s->safe, buf_str(&m));
		buf_release(&m);
		goto done;
	}
	if (mongoc_uri_get_password(uri))
		s->secret_dec = xstrdup(mongoc_uri_get_password(uri));
	uri_default_ms(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 3000);
	uri_default_ms(uri, MONGOC_URI_CONNECTTIMEOUTMS, 3000);
	if (!mongoc_uri_get_appname(uri))
		mongoc_uri_set_appname(uri, "espsync");
	s->client = mongoc_client_new_from_uri_with_error(uri, &e);
	if (!s->client) {
		mg_err(err, s, "open", &e);
		goto done;
	}
	mongoc_client_set_error_api(s->client, MONGOC_ERROR_API_VERSION_2);
	dbname = mongoc_uri_get_database(uri);
	if (!dbname || !*dbname)
		dbname = STORE_MONGODB_DEFAULT_DB;
	s->db = mongoc_client_get_database(s->client, dbname);
	for (i = 0; i < K__COUNT; i++)
		s->coll[i] =
		    mongoc_database_get_collection(s->db, coll_names[i]);
	BSON_APPEND_INT32(&ping, "ping", 1);
	if (!mongoc_database_command_simple(s->db, &ping, NULL, NULL, &e)) {
		mg_err(err, s, "reach", &e);
		goto done;
	}
	if (create_indexes(s, err) < 0)
		goto done;
	*out = &s->base;
	s = NULL;
	ret = 0;
done:
	bson_destroy(&ping);
	mongoc_uri_destroy(uri);
	mg_close(s ? &s->base : NULL);
	return ret;
}

/* ---- reads ------------------------------------------------------------- */

static void filter_owner(bson_t *f, const char *provider, const char *account)
{
	if (provider)
		BSON_APPEND_UTF8(f, "provider", provider);
	if (account)
		BSON_APPEND_UTF8(f, "account", account);
}

/* Sort spec "a,b,c" ascending, or "-run_id" descending. */
static mongoc_cursor_t *find_docs(struct mongo_store *s, enum coll_id c,
				  const bson_t *filter, const char *sort,
				  int64_t limit)
{
	bson_t opts = BSON_INITIALIZER, srt;
	mongoc_cursor_t *cur;
	char *keys = xstrdup(sort ? sort : ""), *p = keys, *k;

	if (*keys) {
		BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &srt);
		while ((k = p) != NULL) {
			int dir = 1;

			p = strchr(p, ',');
			if (p)
				*p++ = '\0';
			if (*k == '-') {
				dir = -1;
				k++;
			}
			BSON_APPEND_INT32(&srt, k, dir);
		}
		bson_append_document_end(&opts, &srt);
	}
	if (limit > 0)
		BSON_APPEND_INT64(&opts, "limit", limit);
	cur = mongoc_collection_find_with_opts(s->coll[c], filter, &opts, NULL);
	bson_destroy(&opts);
	free(keys);
	return cur;
}

/* First document of a query, copied into *out; *found = 0 if none. */
static int find_one(struct mongo_store *s, enum coll_id c, const bson_t *filter,
		    const char *sort, bson_t *out, int *found, struct err *err,
		    const char *what)
{
	mongoc_cursor_t *cur = find_docs(s, c, filter, sort, 1);
	const bson_t *doc;
	bson_error_t e;
	int ret = -1;

	*found = 0;
	bson_init(out);
	if (mongoc_cursor_next(cur, &doc)) {
		bson_destroy(out);
		bson_copy_to(doc, out);
		*found = 1;
	}
	if (mongoc_cursor_error(cur, &e)) {
		mg_err(err, s, what, &e);
		goto done;
	}
	ret = 0;
done:
	mongoc_cursor_destroy(cur);
	return ret;
}

static int mg_state_get(struct store *store, const char *provider,
			const char *account, const char *stream,
			struct buf *out, int *found, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER, doc;
	const char *v;
	int ret = -1;

	buf_reset(out);
	filter_owner(&f, provider, account);
	BSON_APPEND_UTF8(&f, "stream", stream);
	if (find_one(s, K_STATE, &f, NULL, &doc, found, err,
		     "read sync state from") < 0)
		goto done;
	v = get_str(&doc, "value");
	if (*found && buf_puts(out, v ? v : "") < 0) {
		*found = 0;
		err_set(err, ERR_STORE, 0,
			"sync state '%s' in store '%s' is too large", stream,
			s->safe);
		goto done;
	}
	ret = 0;
done:
	bson_destroy(&doc);
	bson_destroy(&f);
	return ret;
}

static int mg_state_reset(struct store *store, const char *provider,
			  const char *stream_prefix, int64_t *removed,
			  struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER, reply, re;
	struct buf pat = BUF_INIT;
	bson_error_t e;
	const char *p;
	int ret = -1;

	filter_owner(&f, provider, NULL);
	if (stream_prefix) {
		buf_putc(&pat, '^');
		for (p = stream_prefix; *p; p++) {
			if (strchr("\\^$.|?*+()[]{}", *p))
				buf_putc(&pat, '\\');
			buf_putc(&pat, *p);
		}
		BSON_APPEND_DOCUMENT_BEGIN(&f, "stream", &re);
		BSON_APPEND_UTF8(&re, "$regex", buf_str(&pat));
		bson_append_document_end(&f, &re);
	}
	if (!mongoc_collection_delete_many(s->coll[K_STATE], &f, NULL, &reply,
					   &e)) {
		mg_err(err, s, "reset sync state in", &e);
		goto done;
	}
	if (removed)
		*removed = reply_int(&reply, "deletedCount");
	ret = 0;
done:
	bson_destroy(&reply);
	bson_destroy(&f);
	buf_release(&pat);
	return ret;
}

static int mg_state_each(struct store *store, const char *provider,
			 store_state_fn fn, void *ctx, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t e;
	int ret = 0;

	filter_owner(&f, provider, NULL);
	cur = find_docs(s, K_STATE, &f, "provider,account,stream", 0);
	while (!ret && mongoc_cursor_next(cur, &doc)) {
		struct state_row row;

		row.provider = get_str(doc, "provider");
		row.account = get_str(doc, "account");
		row.stream = get_str(doc, "stream");
		row.value = get_str(doc, "value");
		row.updated_at = get_time(doc, "updated_at");
		ret = fn(ctx, &row);
	}
	if (!ret && mongoc_cursor_error(cur, &e))
		ret = mg_err(err, s, "read sync state from", &e);
	mongoc_cursor_destroy(cur);
	bson_destroy(&f);
	return ret;
}

/* A start or finish time of TIME_NULL or 0 means "now". */
static int64_t time_or_now(int64_t t)
{
	return t == TIME_NULL || t == 0 ? clock_wall_s() : t;
}

static const char *status_name(enum run_status st)
{
	return (unsigned)st <= RUN_FAILED ? run_status_names[st] : "failed";
}

static void append_run_counts(bson_t *d, const struct run_row *r)
{
	bson_value_t err_v = v_str(r->error);

	BSON_APPEND_INT64(d, "requests", r->requests);
	BSON_APPEND_INT64(d, "retries", r->retries);
	BSON_APPEND_INT64(d, "throttled", r->throttled);
	{
		bson_t holder;
		bson_value_t rec = v_json(r->records_json, &holder);

		BSON_APPEND_VALUE(d, "records", &rec);
		bson_destroy(&holder);
	}
	BSON_APPEND_VALUE(d, "error", &err_v);
}

/* run_id is the newest run's plus one; a concurrent run that took the same
 * number makes the insert fail on the unique index, and we try again. */
static int mg_run_begin(struct store *store, struct run_row *run,
			struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t empty = BSON_INITIALIZER, last, doc;
	bson_error_t e;
	int attempt, found, ret = -1;

	run->started_at = time_or_now(run->started_at);
	run->finished_at = TIME_NULL;
	run->status = RUN_RUNNING;
	for (attempt = 0; attempt < 5; attempt++) {
		bson_value_t t = v_date(run->started_at), nul = v_null();

		if (find_one(s, K_RUNS, &empty, "-run_id", &last, &found, err,
			     "record a run in") < 0) {
			bson_destroy(&last);
			goto done;
		}
		run->run_id = (found ? get_int(&last, "run_id") : 0) + 1;
		bson_destroy(&last);
		bson_init(&doc);
		BSON_APPEND_INT64(&doc, "run_id", run->run_id);
		append_owner(&doc, run->provider, run->account);
		BSON_APPEND_VALUE(&doc, "started_at", &t);
		BSON_APPEND_VALUE(&doc, "finished_at", &nul);
		BSON_APPEND_UTF8(&doc, "status", "running");
		append_run_counts(&doc, run);
		if (mongoc_collection_insert_one(s->coll[K_RUNS], &doc, NULL,
						 NULL, &e)) {
			bson_destroy(&doc);
			ret = 0;
			goto done;
		}
		bson_destroy(&doc);
		if (e.code != 11000)
			break;
	}
	mg_err(err, s, "record a run in", &e);
done:
	bson_destroy(&empty);
	return ret;
}

static int mg_run_finish(struct store *store, const struct run_row *run,
			 struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t sel = BSON_INITIALIZER, update = BSON_INITIALIZER, set, reply;
	bson_value_t t = v_date(time_or_now(run->finished_at));
	bson_error_t e;
	int ret = -1;

	BSON_APPEND_INT64(&sel, "run_id", run->run_id);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_VALUE(&set, "finished_at", &t);
	BSON_APPEND_UTF8(&set, "status", status_name(run->status));
	append_run_counts(&set, run);
	bson_append_document_end(&update, &set);
	if (!mongoc_collection_update_one(s->coll[K_RUNS], &sel, &update, NULL,
					  &reply, &e)) {
		mg_err(err, s, "record a run in", &e);
		goto done;
	}
	if (reply_int(&reply, "matchedCount") != 1) {
		err_set(err, ERR_STORE, 0, "no run %lld in store '%s'",
			(long long)run->run_id, s->safe);
		goto done;
	}
	ret = 0;
done:
	bson_destroy(&reply);
	bson_destroy(&sel);
	bson_destroy(&update);
	return ret;
}

static enum run_status parse_run_status(const char *v)
{
	int i;

	for (i = RUN_RUNNING; i <= RUN_FAILED; i++)
		if (v && !strcmp(v, run_status_names[i]))
			return (enum run_status)i;
	return RUN_FAILED;
}

static int run_newest(struct store *store, const char *provider,
		      const char *status, struct run_row *out,
		      struct arena *arena, int *found, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER, doc;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	filter_owner(&f, provider, NULL);
	if (status)
		BSON_APPEND_UTF8(&f, "status", status);
	if (find_one(s, K_RUNS, &f, "-run_id", &doc, found, err,
		     "read runs from") < 0)
		goto done;
	if (*found) {
		out->run_id = get_int(&doc, "run_id");
		out->provider = arena_strdup(arena, get_str(&doc, "provider"));
		out->account = arena_strdup(arena, get_str(&doc, "account"));
		out->started_at = get_time(&doc, "started_at");
		out->finished_at = get_time(&doc, "finished_at");
		out->status = parse_run_status(get_str(&doc, "status"));
		out->requests = get_int(&doc, "requests");
		out->retries = get_int(&doc, "retries");
		out->throttled = get_int(&doc, "throttled");
		out->records_json = get_json(&doc, "records", arena);
		out->error = arena_strdup(arena, get_str(&doc, "error"));
	}
	ret = 0;
done:
	bson_destroy(&doc);
	bson_destroy(&f);
	return ret;
}

static int mg_run_last(struct store *store, const char *provider,
		       struct run_row *out, struct arena *arena, int *found,
		       struct err *err)
{
	return run_newest(store, provider, NULL, out, arena, found, err);
}

static int mg_run_last_status(struct store *store, const char *provider,
			      enum run_status status, struct run_row *out,
			      struct arena *arena, int *found, struct err *err)
{
	return run_newest(store, provider,
			  (unsigned)status <= RUN_FAILED
			      ? run_status_names[status]
			      : "unknown",
			  out, arena, found, err);
}

/* Campaign document -> record, strings in the arena; bounces come back as
 * hard (the earlier tool's schema has one bounced counter). */
static void read_campaign(const bson_t *doc, struct rec_campaign *c,
			  struct arena *a)
{
	struct campaign_stats *x = &c->stats;

	memset(c, 0, sizeof(*c));
	c->campaign_id = arena_strdup(a, get_str(doc, "campaign_id"));
	c->name = arena_strdup(a, get_str(doc, "name"));
	c->subject = arena_strdup(a, get_str(doc, "subject"));
	c->from_name = arena_strdup(a, get_str(doc, "from_name"));
	c->from_email = arena_strdup(a, get_str(doc, "from_email"));
	c->status = lower_dup(a, get_str(doc, "status"));
	c->created_at = get_time(doc, "created_at");
	c->sent_at = get_time(doc, "sent_at");
	c->to_lists_json = get_json(doc, "to_lists", a);
	c->has_stats = 1;
	x->sent = get_int(doc, "statistics.sent.total");
	x->opened_unique = get_int(doc, "statistics.opened.unique");
	x->opened_total = get_int(doc, "statistics.opened.total");
	x->clicked_unique = get_int(doc, "statistics.clicked.unique");
	x->clicked_total = get_int(doc, "statistics.clicked.total");
	x->bounced_hard = get_int(doc, "statistics.bounced.total");
	x->complained = get_int(doc, "statistics.complained.total");
	x->unsubscribed = get_int(doc, "statistics.unsubscribed.total");
	c->synced_at = get_time(doc, "synced_at");
}

static int mg_campaign_get(struct store *store, const char *provider,
			   const char *account, const char *campaign_id,
			   struct rec_campaign *out, struct arena *arena,
			   int *found, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER, doc;
	int ret = -1;

	filter_owner(&f, provider, account);
	BSON_APPEND_UTF8(&f, "campaign_id", campaign_id);
	if (find_one(s, K_CAMPAIGNS, &f, NULL, &doc, found, err,
		     "read campaigns from") < 0)
		goto done;
	if (*found)
		read_campaign(&doc, out, arena);
	ret = 0;
done:
	bson_destroy(&doc);
	bson_destroy(&f);
	return ret;
}

/* One updateMany per contact, in bulks: participants of the contact whose
 * status or fields differ get the contact's. */
static int mg_link_participants(struct store *store, const char *provider,
				const char *account, int64_t *changed,
				struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER, reply;
	mongoc_cursor_t *cur;
	mongoc_bulk_operation_t *bulk = NULL;
	const bson_t *doc;
	bson_error_t e;
	bson_value_t now = v_date(clock_wall_s());
	int64_t total = 0;
	size_t pending = 0;
	int ret = -1, more = 1;

	filter_owner(&f, provider, account);
	cur = find_docs(s, K_CONTACTS, &f, NULL, 0);
	while (more) {
		more = mongoc_cursor_next(cur, &doc);
		if (more) {
			const char *id = get_str(doc, "contact_id");
			char *st = upper_dup(get_str(doc, "status"));
			bson_value_t stv = v_str(st), fv = v_null();
			bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER;
			bson_t set, or, c0, c1, ne;
			bson_iter_t it;

			if (find(doc, "fields", &it))
				fv = *bson_iter_value(&it);
			filter_owner(&sel, provider, account);
			BSON_APPEND_UTF8(&sel, "contact_id", id ? id : "");
			BSON_APPEND_ARRAY_BEGIN(&sel, "$or", & or);
			BSON_APPEND_DOCUMENT_BEGIN(& or, "0", &c0);
			BSON_APPEND_DOCUMENT_BEGIN(&c0, "status", &ne);
			BSON_APPEND_VALUE(&ne, "$ne", &stv);
			bson_append_document_end(&c0, &ne);
			bson_append_document_end(& or, &c0);
			BSON_APPEND_DOCUMENT_BEGIN(& or, "1", &c1);
			BSON_APPEND_DOCUMENT_BEGIN(&c1, "fields", &ne);
			BSON_APPEND_VALUE(&ne, "$ne", &fv);
			bson_append_document_end(&c1, &ne);
			bson_append_document_end(& or, &c1);
			bson_append_array_end(&sel, & or);
			BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
			BSON_APPEND_VALUE(&set, "status", &stv);
			BSON_APPEND_VALUE(&set, "fields", &fv);
			BSON_APPEND_VALUE(&set, "synced_at", &now);
			bson_append_document_end(&upd, &set);
			if (!bulk)
				bulk = new_bulk(s, K_PARTICIPANTS);
			if (!mongoc_bulk_operation_update_many_with_opts(
				bulk, &sel, &upd, NULL, &e))
				more = -1;
			pending++;
			free(st);
			bson_destroy(&sel);
			bson_destroy(&upd);
			if (more < 0) {
				mg_err(err, s, "link participants in", &e);
				goto done;
			}
		}
		if (bulk && (!more || pending >= STORE_MONGODB_BULK_MAX)) {
			int ok = run_bulk(bulk, &reply, &e) == 0;

			total += reply_int(&reply, "nModified");
			bson_destroy(&reply);
			mongoc_bulk_operation_destroy(bulk);
			bulk = NULL;
			pending = 0;
			if (!ok) {
				mg_err(err, s, "link participants in", &e);
				goto done;
			}
		}
	}
	if (mongoc_cursor_error(cur, &e)) {
		mg_err(err, s, "read contacts from", &e);
		goto done;
	}
	if (changed)
		*changed = total;
	ret = 0;
done:
	if (bulk)
		mongoc_bulk_operation_destroy(bulk);
	mongoc_cursor_destroy(cur);
	bson_destroy(&f);
	return ret;
}

static int count(struct mongo_store *s, enum coll_id c, const bson_t *f,
		 int64_t *out, struct err *err)
{
	bson_error_t e;
	int64_t n = mongoc_collection_count_documents(s->coll[c], f, NULL, NULL,
						      NULL, &e);

	if (n < 0)
		return mg_err(err, s, "count documents in", &e);
	*out = n;
	return 0;
}

static int mg_stats(struct store *store, const char *provider,
		    struct store_stats *out, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER, ef;
	int t, ret = -1;

	memset(out, 0, sizeof(*out));
	filter_owner(&f, provider, NULL);
	if (count(s, K_CAMPAIGNS, &f, &out->campaigns, err) < 0 ||
	    count(s, K_PARTICIPANTS, &f, &out->participants, err) < 0 ||
	    count(s, K_LINKS, &f, &out->links, err) < 0 ||
	    count(s, K_CONTACTS, &f, &out->contacts, err) < 0 ||
	    count(s, K_LISTS, &f, &out->lists, err) < 0)
		goto done;
	for (t = 0; t < EV__COUNT; t++) {
		int rc;

		bson_copy_to(&f, &ef);
		BSON_APPEND_UTF8(&ef, "event_type",
				 event_type_name((enum event_type)t));
		rc = count(s, K_EVENTS, &ef, &out->events[t], err);
		bson_destroy(&ef);
		if (rc < 0)
			goto done;
	}
	ret = 0;
done:
	bson_destroy(&f);
	return ret;
}

static int mg_each_campaign(struct store *store, const char *provider,
			    const char *campaign_id, store_campaign_fn fn,
			    void *ctx, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t e;
	int ret = 0;

	filter_owner(&f, provider, NULL);
	if (campaign_id)
		BSON_APPEND_UTF8(&f, "campaign_id", campaign_id);
	cur = find_docs(s, K_CAMPAIGNS, &f, "provider,account,campaign_id", 0);
	while (!ret && mongoc_cursor_next(cur, &doc)) {
		struct arena a = ARENA_INIT;
		struct rec_campaign c;

		read_campaign(doc, &c, &a);
		ret = fn(ctx, get_str(doc, "provider"), get_str(doc, "account"),
			 &c);
		arena_release(&a);
	}
	if (!ret && mongoc_cursor_error(cur, &e))
		ret = mg_err(err, s, "read campaigns from", &e);
	mongoc_cursor_destroy(cur);
	bson_destroy(&f);
	return ret;
}

static int mg_each_participant(struct store *store, const char *provider,
			       const char *account, const char *campaign_id,
			       store_participant_fn fn, void *ctx,
			       struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t e;
	size_t k;
	int ret = 0;

	filter_owner(&f, provider, account);
	BSON_APPEND_UTF8(&f, "campaign_id", campaign_id);
	cur = find_docs(s, K_PARTICIPANTS, &f, "email_address,contact_id", 0);
	while (!ret && mongoc_cursor_next(cur, &doc)) {
		struct arena a = ARENA_INIT;
		struct export_row row;

		row.contact_id = get_str(doc, "contact_id");
		row.email = get_str(doc, "email_address");
		row.status = get_str(doc, "status");
		row.fields_json = get_json(doc, "fields", &a);
		row.flags = 0;
		for (k = 0; k < N_ENGAGEMENT; k++)
			if (get_bool(doc, engagement[k].path))
				row.flags |= engagement[k].bit;
		ret = fn(ctx, &row);
		arena_release(&a);
	}
	if (!ret && mongoc_cursor_error(cur, &e))
		ret = mg_err(err, s, "read participants from", &e);
	mongoc_cursor_destroy(cur);
	bson_destroy(&f);
	return ret;
}

/* Appends tag to out unless seen ("\n"-separated) already has it. */
static int add_tag(struct buf *out, struct buf *seen, const char *tag, int *n)
{
	size_t len;
	const char *p;

	if (!tag || !*tag || strchr(tag, '\n'))
		return 0;
	len = strlen(tag);
	for (p = strstr(buf_str(seen), tag); p; p = strstr(p + 1, tag))
		if (p[-1] == '\n' && p[len] == '\n')
			return 0;
	if (((*n)++ && buf_putc(out, ',') < 0) || jsonw_string(out, tag) < 0 ||
	    buf_puts(seen, tag) < 0 || buf_putc(seen, '\n') < 0)
		return -1;
	return 0;
}

static int mg_campaign_fields(struct store *store, const char *provider,
			      const char *account, const char *campaign_id,
			      struct buf *out, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER, camp;
	struct buf seen = BUF_INIT;
	bson_iter_t lists;
	int found, n = 0, ret = -1;

	buf_reset(out);
	buf_putc(out, '[');
	buf_putc(&seen, '\n');
	filter_owner(&f, provider, account);
	BSON_APPEND_UTF8(&f, "campaign_id", campaign_id);
	if (find_one(s, K_CAMPAIGNS, &f, NULL, &camp, &found, err,
		     "read campaigns from") < 0)
		goto done;
	if (found && find(&camp, "to_lists", &lists) &&
	    BSON_ITER_HOLDS_ARRAY(&lists) &&
	    bson_iter_recurse(&lists, &lists)) {
		while (bson_iter_next(&lists)) {
			bson_t lf = BSON_INITIALIZER, list;
			bson_iter_t fl;
			int has;

			if (!BSON_ITER_HOLDS_UTF8(&lists))
				continue;
			filter_owner(&lf, provider, account);
			BSON_APPEND_UTF8(&lf, "list_id",
					 bson_iter_utf8(&lists, NULL));
			has = find_one(s, K_LISTS, &lf, NULL, &list, &found,
				       err, "read lists from");
			bson_destroy(&lf);
			if (has < 0) {
				bson_destroy(&list);
				goto done;
			}
			if (found && find(&list, "fields", &fl) &&
			    BSON_ITER_HOLDS_ARRAY(&fl) &&
			    bson_iter_recurse(&fl, &fl)) {
				while (bson_iter_next(&fl)) {
					const char *tag = NULL;
					bson_iter_t t;

					if (BSON_ITER_HOLDS_UTF8(&fl))
						tag = bson_iter_utf8(&fl, NULL);
					else if (BSON_ITER_HOLDS_DOCUMENT(
						     &fl) &&
						 bson_iter_recurse(&fl, &t) &&
						 bson_iter_find(&t, "tag") &&
						 BSON_ITER_HOLDS_UTF8(&t))
						tag = bson_iter_utf8(&t, NULL);
					if (add_tag(out, &seen, tag, &n) < 0) {
						bson_destroy(&list);
						err_set(err, ERR_STORE, 0,
							"fields of campaign "
							"'%s' are too large",
							campaign_id);
						goto done;
					}
				}
			}
			bson_destroy(&list);
		}
	}
	buf_putc(out, ']');
	ret = 0;
done:
	if (ret < 0) {
		buf_reset(out);
		buf_puts(out, "[]");
	}
	bson_destroy(&camp);
	bson_destroy(&f);
	buf_release(&seen);
	return ret;
}

/* Appends live ids as an array under key ("$in" or "$nin"). */
static void append_ids(bson_t *d, const char *key, const char *const *ids,
		       size_t n)
{
	bson_t arr;
	char idx[16];
	const char *ik;
	size_t i;

	BSON_APPEND_ARRAY_BEGIN(d, key, &arr);
	for (i = 0; i < n; i++) {
		bson_uint32_to_string((uint32_t)i, &ik, idx, sizeof(idx));
		BSON_APPEND_UTF8(&arr, ik, ids[i] ? ids[i] : "");
	}
	bson_append_array_end(d, &arr);
}

/* Deletion marks of a keyset page (store.h): one unordered bulk of two
 * updateMany. The id range is one {$regex, $gte, $lte} clause per id
 * length: decimal ids of one length order as text. */
static int mg_reconcile_contacts(struct store *store, const char *provider,
				 const char *account, int64_t after_id,
				 int64_t upto_id, const char *const *live_ids,
				 size_t n_live, int64_t at, int64_t *changed,
				 struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	struct store_id_span spans[STORE_ID_SPANS];
	size_t n_spans = store_id_spans(spans, after_id, upto_id), i;
	mongoc_bulk_operation_t *bulk = NULL;
	bson_t back = BSON_INITIALIZER, gone = BSON_INITIALIZER;
	bson_t set_back = BSON_INITIALIZER, set_gone = BSON_INITIALIZER;
	bson_t reply, c, or, clause, set, ne;
	bson_value_t now = v_date(clock_wall_s()), when = v_date(at);
	bson_value_t none = v_null();
	bson_error_t e;
	char idx[16], re[32];
	const char *ik;
	int ret = -1, has_reply = 0;

	if (changed)
		*changed = 0;
	if (!n_live && !n_spans)
		return 0;
	bulk = new_bulk(s, K_CONTACTS);
	if (n_live) {
		filter_owner(&back, provider, account);
		BSON_APPEND_DOCUMENT_BEGIN(&back, "deleted_at", &ne);
		BSON_APPEND_NULL(&ne, "$ne");
		bson_append_document_end(&back, &ne);
		BSON_APPEND_DOCUMENT_BEGIN(&back, "contact_id", &c);
		append_ids(&c, "$in", live_ids, n_live);
		bson_append_document_end(&back, &c);
		BSON_APPEND_DOCUMENT_BEGIN(&set_back, "$set", &set);
		BSON_APPEND_VALUE(&set, "deleted_at", &none);
		BSON_APPEND_VALUE(&set, "synced_at", &now);
		bson_append_document_end(&set_back, &set);
		if (!mongoc_bulk_operation_update_many_with_opts(
			bulk, &back, &set_back, NULL, &e))
			goto fail;
	}
	if (n_spans) {
		filter_owner(&gone, provider, account);
		BSON_APPEND_NULL(&gone, "deleted_at");
		BSON_APPEND_ARRAY_BEGIN(&gone, "$or", & or);
		for (i = 0; i < n_spans; i++) {
			bson_uint32_to_string((uint32_t)i, &ik, idx,
					      sizeof(idx));
			snprintf(re, sizeof(re), "^[0-9]{%d}$",
				 spans[i].digits);
			BSON_APPEND_DOCUMENT_BEGIN(& or, ik, &clause);
			BSON_APPEND_DOCUMENT_BEGIN(&clause, "contact_id", &c);
			BSON_APPEND_UTF8(&c, "$regex", re);
			BSON_APPEND_UTF8(&c, "$gte", spans[i].lo);
			BSON_APPEND_UTF8(&c, "$lte", spans[i].hi);
			append_ids(&c, "$nin", live_ids, n_live);
			bson_append_document_end(&clause, &c);
			bson_append_document_end(& or, &clause);
		}
		bson_append_array_end(&gone, & or);
		BSON_APPEND_DOCUMENT_BEGIN(&set_gone, "$set", &set);
		BSON_APPEND_VALUE(&set, "deleted_at", &when);
		BSON_APPEND_VALUE(&set, "synced_at", &now);
		bson_append_document_end(&set_gone, &set);
		if (!mongoc_bulk_operation_update_many_with_opts(
			bulk, &gone, &set_gone, NULL, &e))
			goto fail;
	}
	has_reply = 1;
	if (run_bulk(bulk, &reply, &e) < 0)
		goto fail;
	if (changed)
		*changed = reply_int(&reply, "nModified");
	ret = 0;
	goto done;
fail:
	mg_err(err, s, "reconcile contacts in", &e);
done:
	mongoc_bulk_operation_destroy(bulk);
	if (has_reply)
		bson_destroy(&reply);
	bson_destroy(&back);
	bson_destroy(&gone);
	bson_destroy(&set_back);
	bson_destroy(&set_gone);
	return ret;
}

const struct store_ops mongodb_store_ops = {
    .name = "mongodb",
    .open = mg_open,
    .close = mg_close,
    .write_batch = mg_write_batch,
    .state_get = mg_state_get,
    .state_reset = mg_state_reset,
    .state_each = mg_state_each,
    .run_begin = mg_run_begin,
    .run_finish = mg_run_finish,
    .run_last = mg_run_last,
    .campaign_get = mg_campaign_get,
    .link_participants = mg_link_participants,
    .stats = mg_stats,
    .each_campaign = mg_each_campaign,
    .each_participant = mg_each_participant,
    .campaign_fields = mg_campaign_fields,
    .run_last_status = mg_run_last_status,
    .reconcile_contacts = mg_reconcile_contacts,
};

/* The account-wide contacts stream of keyset sources (has_contacts_keyset):
 * the field and tag dictionaries and the lists first (small offset-paged
 * collections), then contacts in id order, 100 a page, each page written
 * with its keyset checkpoint in one batch. A pass is either a full one
 * (every contact; it also reconciles the store, marking contacts gone
 * upstream as deleted) or a delta one (filters[updated_after] from the
 * previous pass, with overlap). Full passes run when there is no state, on
 * --full, and when the last one started longer ago than the reconcile
 * interval. */
#include "core/sync_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/json.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/num.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define CONTACTS_STREAM "contacts"
/* The updated_after filter may be date-granular and its zone unknown. */
#define MIN_CONTACTS_LOOKBACK_S 86400
#define DEFAULT_RECONCILE_S 86400
/* A delta page with a change this much older than its window start means
 * the server ignores filters[updated_after] (a date-granular filter in
 * any zone lands within a day of the window). */
#define IGNORED_FILTER_SLACK_S (2 * 86400)

enum phase { PH_FIELDS = 0, PH_TAGS, PH_LISTS, PH_CONTACTS, PH_DONE };

/* sync_state "contacts" = {"pass":"full"|"delta","after_id":"N"|null,
 * "since":"<ISO>"|null,"pass_started_at":N,"newest":"<ISO>"|null,
 * "full_at":N|null}. after_id is set while a pass is under way (its keyset
 * position); since is that pass's filter, or the next delta pass's. */
struct contacts_state {
	int has_state, is_full;
	int64_t after_id; /* -1: no pass under way */
	int64_t since, pass_started_at, newest, full_at;
};

struct contacts_work {
	struct sync_ctx *ctx;
	enum phase phase;
	char *url;	 /* of the page in flight */
	char cursor[24]; /* offset, or the last contact id */
	struct source_names field_names, tag_names;
	struct contacts_state st;
	int is_resumed;
	int is_url_stale;   /* the pass changed: next URL from the cursor */
	int64_t reconciled; /* contacts marked or unmarked deleted */
	struct source_next next;
};

static void state_init(struct contacts_state *st)
{
	memset(st, 0, sizeof(*st));
	st->after_id = -1;
	st->since = st->pass_started_at = st->newest = st->full_at = TIME_NULL;
}

static int64_t get_num(const struct json *v)
{
	int64_t n;

	return json_int(v, &n) == 0 ? n : TIME_NULL;
}

static int64_t get_iso(const struct json *v)
{
	int64_t t;

	return time_parse(json_str(v), 0, &t) == 0 ? t : TIME_NULL;
}

/* Anything unreadable is "no state" (a fresh full pass). */
static void state_parse(struct contacts_state *st, const char *value)
{
	struct json_doc *doc = NULL;
	const struct json *root;
	int64_t id;

	state_init(st);
	if (!value || json_parse(&doc, value, strlen(value), NULL) < 0 ||
	    json_type(root = json_root(doc)) != JSON_OBJECT)
		goto done;
	st->has_state = 1;
	st->is_full = !json_str(json_get(root, "pass")) ||
		      strcmp(json_str(json_get(root, "pass")), "delta") != 0;
	if (json_int(json_get(root, "after_id"), &id) == 0 && id >= 0)
		st->after_id = id;
	st->since = get_iso(json_get(root, "since"));
	st->pass_started_at = get_num(json_get(root, "pass_started_at"));
	st->newest = get_iso(json_get(root, "newest"));
	st->full_at = get_num(json_get(root, "full_at"));
done:
	json_doc_free(doc);
}

/* "key":N, or "key":null for TIME_NULL. */
static int put_num(struct buf *b, const char *key, int64_t n)
{
	if (jsonw_key(b, key, 0) < 0)
		return -1;
	return n == TIME_NULL ? buf_puts(b, "null") : jsonw_int(b, n);
}

static int state_format(struct buf *b, const struct contacts_state *st)
{
	int rc = buf_putc(b, '{');

	rc |= jsonw_key(b, "pass", 1);
	rc |= jsonw_string(b, st->is_full ? "full" : "delta");
	rc |= jsonw_key(b, "after_id", 0);
	if (st->after_id >= 0)
		rc |= buf_printf(b, "\"%" PRId64 "\"", st->after_id);
	else
		rc |= buf_puts(b, "null");
	rc |= jsonw_key(b, "since", 0);
	rc |= jsonw_time(b, st->since);
	rc |= put_num(b, "pass_started_at", st->pass_started_at);
	rc |= jsonw_key(b, "newest", 0);
	rc |= jsonw_time(b, st->newest);
	rc |= put_num(b, "full_at", st->full_at);
	rc |= buf_putc(b, '}');
	return rc;
}

static void add_state(struct contacts_work *w)
{
	struct buf v = BUF_INIT;

	sync_add_state(w->ctx, state_format(&v, &w->st), CONTACTS_STREAM, &v);
	buf_release(&v);
}

/* --lookback when given (the provider's report default is not meant for
 * contacts), and at least a day. */
static int64_t contacts_lookback(const struct sync_ctx *ctx)
{
	return ctx->req->lookback_s > MIN_CONTACTS_LOOKBACK_S
		   ? ctx->req->lookback_s
		   : MIN_CONTACTS_LOOKBACK_S;
}

/* Resume the pass under way, or pick the next one. */
static void plan_pass(struct contacts_work *w)
{
	struct sync_ctx *ctx = w->ctx;
	struct contacts_state *st = &w->st;
	int64_t now = ctx->run_started_s;
	int64_t every = ctx->req->reconcile_s > 0   ? ctx->req->reconcile_s
			: ctx->req->reconcile_s < 0 ? 0
						    : DEFAULT_RECONCILE_S;
	int is_full_mode = ctx->req->mode == SYNC_FULL;

	if (st->after_id >= 0 && (!is_full_mode || st->is_full)) {
		w->is_resumed = 1;
		snprintf(w->cursor, sizeof(w->cursor), "%" PRId64,
			 st->after_id);
		if (st->pass_started_at == TIME_NULL)
			st->pass_started_at = now;
		return;
	}
	st->is_full = is_full_mode || !st->has_state ||
		      st->full_at == TIME_NULL || st->since == TIME_NULL ||
		      now - st->full_at >= every;
	if (st->is_full)
		st->since = TIME_NULL;
	st->after_id = 0;
	st->pass_started_at = now;
	snprintf(w->cursor, sizeof(w->cursor), "0");
}

static void work_free(struct contacts_work *w)
{
	if (!w)
		return;
	if (w->ctx->contacts_work == w)
		w->ctx->contacts_work = NULL;
	free(w->url);
	source_names_release(&w->field_names);
	source_names_release(&w->tag_names);
	buf_release(&w->next.url);
	buf_release(&w->next.cursor);
	free(w);
}

void sync_contacts_release(struct sync_ctx *ctx)
{
	work_free(ctx->contacts_work);
}

static enum source_endpoint endpoint_of(enum phase p)
{
	static const enum source_endpoint eps[] = {SRC_FIELDS, SRC_TAGS,
						   SRC_LISTS, SRC_CONTACTS};

	return eps[p];
}

static const char *phase_what(enum phase p)
{
	static const char *const names[] = {"the custom fields", "the tags",
					    "the list index", "the contacts"};

	return names[p];
}

static void query_of(const struct contacts_work *w, struct source_query *q,
		     char *since)
{
	memset(q, 0, sizeof(*q));
	q->endpoint = endpoint_of(w->phase);
	q->cursor = w->cursor;
	if (w->phase == PH_CONTACTS && !w->st.is_full &&
	    w->st.since != TIME_NULL) {
		time_format_iso(w->st.since, since);
		q->since_iso = since;
	}
}

static enum fetch_verdict on_page(void *userdata,
				  const struct fetch_result *res);

static void submit(struct contacts_work *w)
{
	struct sync_ctx *ctx = w->ctx;
	struct source_query q;
	struct buf u = BUF_INIT;
	char since[21];

	if (!w->url) {
		query_of(w, &q, since);
		if (ctx->src->url(&u, ctx->req->api_url, &q) < 0)
			BUG("url too long");
		w->url = buf_detach(&u, NULL);
	}
	fetch_submit(ctx->fetch, w->url, on_page, w);
}

/* Moves to the next wanted phase (or ends) and asks for its first page. */
static void next_phase(struct contacts_work *w)
{
	struct sync_ctx *ctx = w->ctx;
	int64_t now = clock_mono_ms();

	if (w->phase == PH_LISTS) {
		ctx->lists_listing_done = 1;
		progress_stream_done(&ctx->progress, PROG_LISTS, now);
	}
	w->phase++;
	if (w->phase == PH_LISTS && !ctx->want_lists)
		w->phase++;
	if (w->phase == PH_CONTACTS && !ctx->want_contacts)
		w->phase++;
	free(w->url);
	w->url = NULL;
	if (w->phase == PH_CONTACTS)
		plan_pass(w);
	else
		snprintf(w->cursor, sizeof(w->cursor), "0");
	if (w->phase == PH_DONE || ctx->is_fatal)
		return;
	submit(w);
}

/* The stream is over however it ended; frees w. */
static void finish(struct contacts_work *w, enum stream_end how)
{
	struct sync_ctx *ctx = w->ctx;
	int64_t now = clock_mono_ms();

	if (how == END_CUT)
		ctx->n_cut++;
	if (w->reconciled)
		log_info("%s: %" PRId64 " contacts marked deleted (gone "
			 "upstream) or back",
			 ctx->src->name, w->reconciled);
	ctx->lists_listing_done = 1;
	ctx->contacts_active = 0;
	progress_stream_done(&ctx->progress, PROG_LISTS, now);
	progress_stream_done(&ctx->progress, PROG_CONTACTS, now);
	work_free(w);
}

/* Greatest and least decimal ids among the batch's contacts. */
static void batch_id_span(const struct batch *b, int64_t *lo, int64_t *hi)
{
	size_t i;

	*lo = INT64_MAX;
	*hi = -1;
	for (i = 0; i < b->n_contacts; i++) {
		int64_t id;

		if (num_parse_i64(b->contacts[i].contact_id, &id) < 0)
			continue;
		if (id < *lo)
			*lo = id;
		if (id > *hi)
			*hi = id;
	}
}

/* Before the page's batch is written: in a full pass, every stored
 * contact in the id range this page covers that is not on it is gone
 * upstream; any pass un-deletes the live contacts on it. A page whose ids
 * do not lie past the keyset position reconciles nothing. */
static int reconcile(struct contacts_work *w, int has_next)
{
	struct sync_ctx *ctx = w->ctx;
	const struct batch *b = &ctx->batch;
	const char **live = xmalloc((b->n_contacts + 1) * sizeof(*live));
	int64_t lo, hi, after = w->st.after_id, upto = after, changed = 0;
	size_t i, n = 0;
	struct err e = ERR_INIT;
	int rc = 0;

	if (!ctx->store->ops->reconcile_contacts)
		goto done;
	for (i = 0; i < b->n_contacts; i++)
		if (b->contacts[i].deleted_at == TIME_NULL)
			live[n++] = b->contacts[i].contact_id;
	batch_id_span(b, &lo, &hi);
	if (w->st.is_full && (b->n_contacts == 0 || lo > after)) {
		upto = has_next ? hi : INT64_MAX;
	} else if (w->st.is_full) {
		sync_warn(ctx,
			  "%s: contacts page at id %" PRId64 " repeats "
			  "earlier ids; no deletions inferred from it",
			  ctx->src->name, after);
	}
	if (ctx->store->ops->reconcile_contacts(
		ctx->store, ctx->src->name, ctx->req->account, after, upto,
		live, n, clock_wall_s(), &changed, &e) < 0) {
		if (e.kind == ERR_NONE)
			e.kind = ERR_STORE;
		sync_fatal(ctx, &e);
		rc = -1;
		goto done;
	}
	w->reconciled += changed;
	ctx->report->rows_updated += changed;
done:
	free(live);
	return rc;
}

/* The first page of a delta pass shows whether the server honours the
 * filter. If it ignores it (API notes §2.3: unknown filters are dropped
 * silently) the pass reads every contact anyway, so it becomes a full
 * pass from here on, deletions included, and needs no filter. */
static void check_filter(struct contacts_work *w)
{
	const struct batch *b = &w->ctx->batch;
	size_t i;

	if (w->st.is_full || w->st.since == TIME_NULL || w->st.after_id != 0)
		return;
	for (i = 0; i < b->n_contacts; i++)
		if (b->contacts[i].updated_at != TIME_NULL &&
		    b->contacts[i].updated_at <
			w->st.since - IGNORED_FILTER_SLACK_S)
			break;
	if (i == b->n_contacts)
		return;
	log_info("%s: filters[updated_after] is ignored by the server; this "
		 "pass reads every contact and finds deletions",
		 w->ctx->src->name);
	w->st.is_full = 1;
	w->st.since = TIME_NULL;
	w->is_url_stale = 1;
}

/* Keyset bookkeeping of a mapped contacts page: checkpoint the position,
 * or close the pass. */
static void after_contacts(struct contacts_work *w, const struct source_map *m)
{
	struct contacts_state *st = &w->st;
	int64_t t;

	w->ctx->report->records[SLOT_CONTACTS] +=
	    (int64_t)w->ctx->batch.n_contacts;
	if (m->newest_updated_at != TIME_NULL &&
	    (st->newest == TIME_NULL || m->newest_updated_at > st->newest))
		st->newest = m->newest_updated_at;
	if (w->next.has_next &&
	    num_parse_i64(buf_str(&w->next.cursor), &t) == 0 && t >= 0) {
		st->after_id = t;
	} else {
		/* The next window: min(pass start, newest change ever seen)
		 * minus the overlap, so a provider clock behind ours never
		 * pushes the window past changes still to come. */
		w->next.has_next = 0;
		if (st->is_full)
			st->full_at = st->pass_started_at;
		st->since = ckpt_next_since(st->pass_started_at, st->newest,
					    contacts_lookback(w->ctx));
		if (st->since == TIME_NULL)
			st->since = st->pass_started_at;
		st->after_id = -1;
	}
	add_state(w);
}

static int map_page(struct contacts_work *w, const struct json *root,
		    struct source_map *m, struct err *e)
{
	const struct source *src = w->ctx->src;
	size_t first = w->ctx->batch.n_lists;

	m->field_names = &w->field_names;
	m->tag_names = &w->tag_names;
	switch (w->phase) {
	case PH_FIELDS:
		return src->map_fields(m, root, e);
	case PH_TAGS:
		return src->map_tags(m, root, e);
	case PH_LISTS:
		if (src->map_lists(m, root, e) < 0)
			return -1;
		w->ctx->report->records[SLOT_LISTS] +=
		    (int64_t)(w->ctx->batch.n_lists - first);
		return 0;
	default:
		return src->map_contacts(m, root, e);
	}
}

static enum fetch_verdict on_ok(struct contacts_work *w,
				const struct fetch_result *res)
{
	struct sync_ctx *ctx = w->ctx;
	struct json_doc *doc = NULL;
	struct source_map m;
	struct source_query q;
	struct err e = ERR_INIT;
	char since[21];
	enum fetch_verdict verdict = FETCH_ACCEPT;

	if (json_parse(&doc, res->body, res->body_len, &e) < 0) {
		log_debug("%s: %s; retrying", phase_what(w->phase), e.msg);
		verdict = FETCH_RETRY;
		goto done;
	}
	query_of(w, &q, since);
	ctx->src->next_page(&w->next, json_root(doc), ctx->req->api_url, &q);
	memset(&m, 0, sizeof(m));
	m.batch = &ctx->batch;
	m.tz = ctx->tz;
	m.cutoff = TIME_NULL;
	m.newest_updated_at = TIME_NULL;
	if (map_page(w, json_root(doc), &m, &e) < 0) {
		log_debug("%s: %s; retrying", phase_what(w->phase), e.msg);
		batch_clear(&ctx->batch);
		verdict = FETCH_RETRY;
		goto done;
	}
	if (m.n_skipped)
		log_debug("%s: %zu rows without an id skipped",
			  phase_what(w->phase), m.n_skipped);
	if (w->phase == PH_LISTS || w->phase == PH_CONTACTS)
		progress_page(&ctx->progress,
			      w->phase == PH_LISTS ? PROG_LISTS : PROG_CONTACTS,
			      (int64_t)m.n_rows, phase_what(w->phase),
			      clock_mono_ms());
	if (w->phase == PH_CONTACTS) {
		check_filter(w);
		if (reconcile(w, w->next.has_next) < 0) {
			batch_clear(&ctx->batch);
			finish(w, END_CUT);
			goto done;
		}
		after_contacts(w, &m);
	}
	if (sync_commit(ctx) < 0) {
		finish(w, END_CUT);
		goto done;
	}
	w->is_resumed = 0;
	if (ctx->is_fatal) {
		finish(w, END_CUT);
	} else if (w->next.has_next) {
		free(w->url);
		w->url =
		    w->is_url_stale ? NULL : xstrdup(buf_str(&w->next.url));
		w->is_url_stale = 0;
		snprintf(w->cursor, sizeof(w->cursor), "%s",
			 buf_str(&w->next.cursor));
		submit(w);
	} else {
		next_phase(w);
		if (w->phase == PH_DONE || ctx->is_fatal)
			finish(w, w->phase == PH_DONE ? END_OK : END_CUT);
	}
done:
	json_doc_free(doc);
	return verdict;
}

static enum fetch_verdict on_http_error(struct contacts_work *w,
					const struct fetch_result *res)
{
	struct sync_ctx *ctx = w->ctx;
	struct err e = ERR_INIT;

	ctx->src->http_error(&e, res->status, res->body, res->body_len,
			     phase_what(w->phase));
	if (e.kind == ERR_AUTH || e.kind == ERR_INACTIVE) {
		sync_fatal(ctx, &e);
		finish(w, END_CUT);
		return FETCH_ACCEPT;
	}
	/* A saved keyset position the provider refuses: a new full pass. */
	if (res->status == 400 && w->phase == PH_CONTACTS && w->is_resumed) {
		sync_warn(ctx,
			  "%s: saved position rejected; reading them again "
			  "from the start",
			  phase_what(w->phase));
		w->is_resumed = 0;
		w->st.is_full = 1;
		w->st.since = TIME_NULL;
		w->st.after_id = 0;
		w->st.pass_started_at = ctx->run_started_s;
		snprintf(w->cursor, sizeof(w->cursor), "0");
		free(w->url);
		w->url = NULL;
		submit(w);
		return FETCH_ACCEPT;
	}
	/* Without the dictionaries contacts would be keyed by ids: stop. */
	sync_failure(ctx, &e);
	finish(w, END_FAILED);
	return FETCH_ACCEPT;
}

static enum fetch_verdict on_page(void *userdata,
				  const struct fetch_result *res)
{
	struct contacts_work *w = userdata;
	struct sync_ctx *ctx = w->ctx;
	struct err e;

	if (ctx->is_fatal && res->outcome != FETCH_CANCELLED) {
		finish(w, END_CUT);
		return FETCH_ACCEPT;
	}
	switch (res->outcome) {
	case FETCH_OK:
		return on_ok(w, res);
	case FETCH_HTTP_ERROR:
		return on_http_error(w, res);
	case FETCH_FAILED:
		e = res->err;
		if (e.kind == ERR_NONE)
			e.kind = ERR_NET;
		err_prefix(&e, "%s", phase_what(w->phase));
		sync_failure(ctx, &e);
		finish(w, END_FAILED);
		break;
	case FETCH_CANCELLED:
	default:
		finish(w, END_CUT);
		break;
	}
	return FETCH_ACCEPT;
}

void sync_start_contacts(struct sync_ctx *ctx)
{
	struct contacts_work *w = xcalloc(1, sizeof(*w));
	struct buf val = BUF_INIT;
	int found = 0;

	w->ctx = ctx;
	buf_init(&w->next.url, 64 * 1024);
	buf_init(&w->next.cursor, 1024);
	state_init(&w->st);
	ctx->contacts_work = w;
	if (ctx->want_contacts) {
		if (sync_state_get(ctx, CONTACTS_STREAM, &val, &found) < 0) {
			work_free(w);
			goto done;
		}
		if (found)
			state_parse(&w->st, buf_str(&val));
		ctx->contacts_active = 1;
	}
	w->phase = PH_FIELDS;
	snprintf(w->cursor, sizeof(w->cursor), "0");
	submit(w);
done:
	buf_release(&val);
}

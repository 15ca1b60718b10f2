/* MongoDB report reads (store.h, "report reads"): aggregation pipelines
 * that return the aggregates, never the events. The earlier tool's schema
 * keeps one bounce counter per campaign (statistics.bounced): it is summed
 * as hard bounces. Links are joined to their campaign by campaign_id,
 * unique in that schema, then checked for the same provider and account. */
#include "store/mongo_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Appends the period's owner and, on field, its time bounds; require also
 * asks for the field to be set (campaigns never sent have no period). */
static void period_match(bson_t *m, const struct store_period *p,
			 const char *field, int require)
{
	bson_t r;

	mg_filter_owner(m, p->provider, p->account);
	if (!field ||
	    (!require && p->since == TIME_NULL && p->until == TIME_NULL))
		return;
	BSON_APPEND_DOCUMENT_BEGIN(m, field, &r);
	if (require)
		BSON_APPEND_NULL(&r, "$ne");
	if (p->since != TIME_NULL)
		BSON_APPEND_DATE_TIME(&r, "$gte", p->since * 1000);
	if (p->until != TIME_NULL)
		BSON_APPEND_DATE_TIME(&r, "$lt", p->until * 1000);
	bson_append_document_end(m, &r);
}

/* Appends {$match: <period_match>} as stage key of the pipeline array. */
static void stage_match(bson_t *pipe, const char *key,
			const struct store_period *p, const char *field,
			int require)
{
	bson_t st, m;

	BSON_APPEND_DOCUMENT_BEGIN(pipe, key, &st);
	BSON_APPEND_DOCUMENT_BEGIN(&st, "$match", &m);
	period_match(&m, p, field, require);
	bson_append_document_end(&st, &m);
	bson_append_document_end(pipe, &st);
}

/* {$sum: "$path"} as key of d. */
static void sum_of(bson_t *d, const char *key, const char *path)
{
	bson_t s;

	BSON_APPEND_DOCUMENT_BEGIN(d, key, &s);
	BSON_APPEND_UTF8(&s, "$sum", path);
	bson_append_document_end(d, &s);
}

static void count_of(bson_t *d, const char *key)
{
	bson_t s;

	BSON_APPEND_DOCUMENT_BEGIN(d, key, &s);
	BSON_APPEND_INT32(&s, "$sum", 1);
	bson_append_document_end(d, &s);
}

/* {$sum: {$cond: [<cond>, 1, 0]}} with cond built by the caller between
 * cond_begin and cond_end. */
static void cond_begin(bson_t *d, const char *key, bson_t *sum, bson_t *cnd,
		       bson_t *arr)
{
	BSON_APPEND_DOCUMENT_BEGIN(d, key, sum);
	BSON_APPEND_DOCUMENT_BEGIN(sum, "$sum", cnd);
	BSON_APPEND_ARRAY_BEGIN(cnd, "$cond", arr);
}

static void cond_end(bson_t *d, bson_t *sum, bson_t *cnd, bson_t *arr)
{
	BSON_APPEND_INT32(arr, "1", 1);
	BSON_APPEND_INT32(arr, "2", 0);
	bson_append_array_end(cnd, arr);
	bson_append_document_end(sum, cnd);
	bson_append_document_end(d, sum);
}

/* {$and: [{$ne: [{$ifNull: [path, null]}, null]}, {$gte: [path, since]},
 * {$lt: [path, until]}]} as element "0" of arr: path set and in period. */
static void in_period_expr(bson_t *arr, const char *path,
			   const struct store_period *p)
{
	bson_t and, a, e, x, y;

	BSON_APPEND_DOCUMENT_BEGIN(arr, "0", &and);
	BSON_APPEND_ARRAY_BEGIN(&and, "$and", &a);
	BSON_APPEND_DOCUMENT_BEGIN(&a, "0", &e);
	BSON_APPEND_ARRAY_BEGIN(&e, "$ne", &x);
	BSON_APPEND_DOCUMENT_BEGIN(&x, "0", &y);
	{
		bson_t n;

		BSON_APPEND_ARRAY_BEGIN(&y, "$ifNull", &n);
		BSON_APPEND_UTF8(&n, "0", path);
		BSON_APPEND_NULL(&n, "1");
		bson_append_array_end(&y, &n);
	}
	bson_append_document_end(&x, &y);
	BSON_APPEND_NULL(&x, "1");
	bson_append_array_end(&e, &x);
	bson_append_document_end(&a, &e);
	if (p->since != TIME_NULL) {
		BSON_APPEND_DOCUMENT_BEGIN(&a, "1", &e);
		BSON_APPEND_ARRAY_BEGIN(&e, "$gte", &x);
		BSON_APPEND_UTF8(&x, "0", path);
		BSON_APPEND_DATE_TIME(&x, "1", p->since * 1000);
		bson_append_array_end(&e, &x);
		bson_append_document_end(&a, &e);
	}
	if (p->until != TIME_NULL) {
		BSON_APPEND_DOCUMENT_BEGIN(
		    &a, p->since != TIME_NULL ? "2" : "1", &e);
		BSON_APPEND_ARRAY_BEGIN(&e, "$lt", &x);
		BSON_APPEND_UTF8(&x, "0", path);
		BSON_APPEND_DATE_TIME(&x, "1", p->until * 1000);
		bson_append_array_end(&e, &x);
		bson_append_document_end(&a, &e);
	}
	bson_append_array_end(&and, &a);
	bson_append_document_end(arr, &and);
}

/* Array keys must be "0", "1", ...: renumbers after the optional ones. */
static void fix_keys(bson_t *pipe_in, bson_t *out)
{
	bson_iter_t it;
	uint32_t i = 0;

	bson_init(out);
	if (!bson_iter_init(&it, pipe_in))
		return;
	while (bson_iter_next(&it)) {
		char num[16];
		const char *k;

		bson_uint32_to_string(i++, &k, num, sizeof(num));
		bson_append_iter(out, k, -1, &it);
	}
}

static mongoc_cursor_t *aggregate(struct mongo_store *s, enum coll_id c,
				  const bson_t *pipe)
{
	return mongoc_collection_aggregate(s->coll[c], MONGOC_QUERY_NONE, pipe,
					   NULL, NULL);
}

/* Runs pipe on c and hands each result to fn(ctx, doc); the cursor's
 * error becomes err. */
typedef int (*doc_fn)(void *ctx, const bson_t *doc);

static int each_result(struct mongo_store *s, enum coll_id c,
		       const bson_t *pipe, doc_fn fn, void *ctx,
		       const char *what, struct err *err)
{
	mongoc_cursor_t *cur = aggregate(s, c, pipe);
	const bson_t *doc;
	bson_error_t e;
	int ret = 0;

	while (!ret && mongoc_cursor_next(cur, &doc))
		ret = fn(ctx, doc);
	if (!ret && mongoc_cursor_error(cur, &e))
		ret = mg_err(err, s, what, &e);
	mongoc_cursor_destroy(cur);
	return ret;
}

/* ------------------------------------------------------------ totals */

static int on_campaign_totals(void *ctx, const bson_t *doc)
{
	struct store_totals *t = ctx;
	struct campaign_stats *x = &t->sums;

	t->campaigns = mg_get_int(doc, "n");
	t->campaigns_with_stats = mg_get_int(doc, "with_stats");
	x->sent = mg_get_int(doc, "sent");
	x->opened_unique = mg_get_int(doc, "ou");
	x->opened_total = mg_get_int(doc, "ot");
	x->clicked_unique = mg_get_int(doc, "cu");
	x->clicked_total = mg_get_int(doc, "ct");
	x->bounced_hard = mg_get_int(doc, "bounced");
	x->complained = mg_get_int(doc, "complained");
	x->unsubscribed = mg_get_int(doc, "unsubscribed");
	return 0;
}

static int on_event_totals(void *ctx, const bson_t *doc)
{
	struct store_totals *t = ctx;
	enum event_type ty;

	if (event_type_parse(mg_get_str(doc, "_id"), &ty) == 0)
		t->events[ty] = mg_get_int(doc, "n");
	return 0;
}

int mg_report_totals(struct store *store, const struct store_period *p,
		     struct store_totals *out, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t pipe = BSON_INITIALIZER, st, g, sum, cnd, arr, cmp;
	int ret;

	memset(out, 0, sizeof(*out));
	stage_match(&pipe, "0", p, "sent_at", 1);
	BSON_APPEND_DOCUMENT_BEGIN(&pipe, "1", &st);
	BSON_APPEND_DOCUMENT_BEGIN(&st, "$group", &g);
	BSON_APPEND_NULL(&g, "_id");
	count_of(&g, "n");
	cond_begin(&g, "with_stats", &sum, &cnd, &arr);
	BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &cmp);
	{
		bson_t a;

		BSON_APPEND_ARRAY_BEGIN(&cmp, "$gt", &a);
		BSON_APPEND_UTF8(&a, "0", "$statistics.sent.total");
		BSON_APPEND_INT32(&a, "1", 0);
		bson_append_array_end(&cmp, &a);
	}
	bson_append_document_end(&arr, &cmp);
	cond_end(&g, &sum, &cnd, &arr);
	sum_of(&g, "sent", "$statistics.sent.total");
	sum_of(&g, "ou", "$statistics.opened.unique");
	sum_of(&g, "ot", "$statistics.opened.total");
	sum_of(&g, "cu", "$statistics.clicked.unique");
	sum_of(&g, "ct", "$statistics.clicked.total");
	sum_of(&g, "bounced", "$statistics.bounced.total");
	sum_of(&g, "complained", "$statistics.complained.total");
	sum_of(&g, "unsubscribed", "$statistics.unsubscribed.total");
	bson_append_document_end(&st, &g);
	bson_append_document_end(&pipe, &st);
	ret = each_result(s, K_CAMPAIGNS, &pipe, on_campaign_totals, out,
			  "read report totals from", err);
	bson_destroy(&pipe);
	if (ret)
		return ret;

	bson_init(&pipe);
	stage_match(&pipe, "0", p, "activity_timestamp", 0);
	BSON_APPEND_DOCUMENT_BEGIN(&pipe, "1", &st);
	BSON_APPEND_DOCUMENT_BEGIN(&st, "$group", &g);
	BSON_APPEND_UTF8(&g, "_id", "$event_type");
	count_of(&g, "n");
	bson_append_document_end(&st, &g);
	bson_append_document_end(&pipe, &st);
	ret = each_result(s, K_EVENTS, &pipe, on_event_totals, out,
			  "read report totals from", err);
	bson_destroy(&pipe);
	return ret;
}

/* ------------------------------------------------------------ days */

/* One day's counts, handed on in enum order when the next day begins. */
struct days_ctx {
	store_day_fn fn;
	void *ctx;
	char date[11];
	int64_t day, n[EV__COUNT];
};

static int flush_day(struct days_ctx *d)
{
	int k, ret;

	for (k = 0; k < EV__COUNT; k++) {
		struct store_day_row row;

		if (!d->n[k])
			continue;
		row.day = d->day;
		row.type = (enum event_type)k;
		row.events = d->n[k];
		d->n[k] = 0;
		ret = d->fn(d->ctx, &row);
		if (ret)
			return ret;
	}
	return 0;
}

static int on_day(void *ctx, const bson_t *doc)
{
	struct days_ctx *d = ctx;
	const char *date = mg_get_str(doc, "_id.d");
	enum event_type t;
	int64_t day;
	int ret;

	if (!date || time_parse(date, 0, &day) != 0 || day % 86400 ||
	    event_type_parse(mg_get_str(doc, "_id.t"), &t) != 0)
		return 0;
	if (strcmp(date, d->date) != 0) {
		ret = flush_day(d);
		if (ret)
			return ret;
		snprintf(d->date, sizeof(d->date), "%s", date);
		d->day = day;
	}
	d->n[t] += mg_get_int(doc, "n");
	return 0;
}

int mg_report_days(struct store *store, const struct store_period *p,
		   store_day_fn fn, void *ctx, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t pipe = BSON_INITIALIZER, st, g, id, srt;
	struct days_ctx d;
	int ret;

	memset(&d, 0, sizeof(d));
	d.fn = fn;
	d.ctx = ctx;
	stage_match(&pipe, "0", p, "activity_timestamp", 0);
	BSON_APPEND_DOCUMENT_BEGIN(&pipe, "1", &st);
	BSON_APPEND_DOCUMENT_BEGIN(&st, "$group", &g);
	BSON_APPEND_DOCUMENT_BEGIN(&g, "_id", &id);
	BSON_APPEND_UTF8(&id, "d", "$activity_date");
	BSON_APPEND_UTF8(&id, "t", "$event_type");
	bson_append_document_end(&g, &id);
	count_of(&g, "n");
	bson_append_document_end(&st, &g);
	bson_append_document_end(&pipe, &st);
	BSON_APPEND_DOCUMENT_BEGIN(&pipe, "2", &st);
	BSON_APPEND_DOCUMENT_BEGIN(&st, "$sort", &srt);
	BSON_APPEND_INT32(&srt, "_id.d", 1);
	BSON_APPEND_INT32(&srt, "_id.t", 1);
	bson_append_document_end(&st, &srt);
	bson_append_document_end(&pipe, &st);
	ret = each_result(s, K_EVENTS, &pipe, on_day, &d,
			  "read daily events from", err);
	if (!ret)
		ret = flush_day(&d);
	bson_destroy(&pipe);
	return ret;
}

/* ------------------------------------------------------------ campaigns */

int mg_report_campaigns(struct store *store, const struct store_period *p,
			store_campaign_fn fn, void *ctx, struct err *err)
{
	bson_t f = BSON_INITIALIZER;
	int ret;

	period_match(&f, p, "sent_at", 1);
	ret = mg_campaigns_query((struct mongo_store *)store, &f,
				 "-sent_at,provider,account,campaign_id", fn,
				 ctx, err);
	bson_destroy(&f);
	return ret;
}

/* ------------------------------------------------------------ links */

struct links_ctx {
	store_link_fn fn;
	void *ctx;
	struct buf names;
	struct err *err;
};

static int on_link(void *ctx, const bson_t *doc)
{
	struct links_ctx *l = ctx;
	struct store_link_row row;
	bson_iter_t it, a;
	int first = 1, rc;

	buf_reset(&l->names);
	rc = buf_putc(&l->names, '[');
	if (mg_find(doc, "names", &it) && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &a)) {
		while (bson_iter_next(&a)) {
			if (!BSON_ITER_HOLDS_UTF8(&a))
				continue;
			if (!first)
				rc |= buf_putc(&l->names, ',');
			first = 0;
			rc |= jsonw_string(&l->names, bson_iter_utf8(&a, NULL));
		}
	}
	rc |= buf_putc(&l->names, ']');
	if (rc) {
		err_set(l->err, ERR_STORE, 0,
			"the campaigns of link '%.200s' are too many to show",
			mg_get_str(doc, "_id"));
		return -1;
	}
	row.url = mg_get_str(doc, "_id");
	row.clicks = mg_get_int(doc, "clicks");
	row.unique_clicks = mg_get_int(doc, "uniq");
	row.campaigns = mg_get_int(doc, "n");
	row.campaigns_json = buf_str(&l->names);
	return l->fn(l->ctx, &row);
}

/* {$eq: ["$c.<k>", "$<k>"]} as element key of arr. */
static void same(bson_t *arr, const char *key, const char *k)
{
	bson_t e, x;
	char a[32], b[32];

	snprintf(a, sizeof(a), "$c.%s", k);
	snprintf(b, sizeof(b), "$%s", k);
	BSON_APPEND_DOCUMENT_BEGIN(arr, key, &e);
	BSON_APPEND_ARRAY_BEGIN(&e, "$eq", &x);
	BSON_APPEND_UTF8(&x, "0", a);
	BSON_APPEND_UTF8(&x, "1", b);
	bson_append_array_end(&e, &x);
	bson_append_document_end(arr, &e);
}

int mg_report_links(struct store *store, const struct store_period *p,
		    int64_t limit, store_link_fn fn, void *ctx, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	const struct store_period owner = {p->provider, p->account, TIME_NULL,
					   TIME_NULL};
	bson_t raw = BSON_INITIALIZER, pipe, st, d, x, a, m;
	struct links_ctx l;
	int ret;

	l.fn = fn;
	l.ctx = ctx;
	l.err = err;
	buf_init(&l.names, (size_t)1 << 20);
	stage_match(&raw, "0", &owner, NULL, 0);
	BSON_APPEND_DOCUMENT_BEGIN(&raw, "1", &st);
	BSON_APPEND_DOCUMENT_BEGIN(&st, "$lookup", &d);
	BSON_APPEND_UTF8(&d, "from", mg_coll_names[K_CAMPAIGNS]);
	BSON_APPEND_UTF8(&d, "localField", "campaign_id");
	BSON_APPEND_UTF8(&d, "foreignField", "campaign_id");
	BSON_APPEND_UTF8(&d, "as", "c");
	bson_append_document_end(&st, &d);
	bson_append_document_end(&raw, &st);
	BSON_APPEND_DOCUMENT_BEGIN(&raw, "2", &st);
	BSON_APPEND_UTF8(&st, "$unwind", "$c");
	bson_append_document_end(&raw, &st);
	/* The campaign: same owner, sent in the period. */
	BSON_APPEND_DOCUMENT_BEGIN(&raw, "3", &st);
	BSON_APPEND_DOCUMENT_BEGIN(&st, "$match", &m);
	BSON_APPEND_DOCUMENT_BEGIN(&m, "$expr", &x);
	BSON_APPEND_ARRAY_BEGIN(&x, "$and", &a);
	same(&a, "0", "provider");
	same(&a, "1", "account");
	bson_append_array_end(&x, &a);
	bson_append_document_end(&m, &x);
	{
		bson_t r;

		BSON_APPEND_DOCUMENT_BEGIN(&m, "c.sent_at", &r);
		BSON_APPEND_NULL(&r, "$ne");
		if (p->since != TIME_NULL)
			BSON_APPEND_DATE_TIME(&r, "$gte", p->since * 1000);
		if (p->until != TIME_NULL)
			BSON_APPEND_DATE_TIME(&r, "$lt", p->until * 1000);
		bson_append_document_end(&m, &r);
	}
	bson_append_document_end(&st, &m);
	bson_append_document_end(&raw, &st);
	/* A url's campaigns in the names' order, then one row per url. */
	BSON_APPEND_DOCUMENT_BEGIN(&raw, "4", &st);
	BSON_APPEND_DOCUMENT_BEGIN(&st, "$sort", &d);
	BSON_APPEND_INT32(&d, "clicked_total", -1);
	BSON_APPEND_INT32(&d, "c.sent_at", -1);
	BSON_APPEND_INT32(&d, "provider", 1);
	BSON_APPEND_INT32(&d, "account", 1);
	BSON_APPEND_INT32(&d, "campaign_id", 1);
	bson_append_document_end(&st, &d);
	bson_append_document_end(&raw, &st);
	BSON_APPEND_DOCUMENT_BEGIN(&raw, "5", &st);
	BSON_APPEND_DOCUMENT_BEGIN(&st, "$group", &d);
	BSON_APPEND_UTF8(&d, "_id", "$url");
	sum_of(&d, "clicks", "$clicked_total");
	sum_of(&d, "uniq", "$clicked_unique");
	count_of(&d, "n");
	BSON_APPEND_DOCUMENT_BEGIN(&d, "names", &x);
	BSON_APPEND_DOCUMENT_BEGIN(&x, "$push", &m);
	BSON_APPEND_ARRAY_BEGIN(&m, "$ifNull", &a);
	BSON_APPEND_UTF8(&a, "0", "$c.name");
	BSON_APPEND_UTF8(&a, "1", "$campaign_id");
	bson_append_array_end(&m, &a);
	bson_append_document_end(&x, &m);
	bson_append_document_end(&d, &x);
	bson_append_document_end(&st, &d);
	bson_append_document_end(&raw, &st);
	BSON_APPEND_DOCUMENT_BEGIN(&raw, "6", &st);
	BSON_APPEND_DOCUMENT_BEGIN(&st, "$sort", &d);
	BSON_APPEND_INT32(&d, "clicks", -1);
	BSON_APPEND_INT32(&d, "uniq", -1);
	BSON_APPEND_INT32(&d, "_id", 1);
	bson_append_document_end(&st, &d);
	bson_append_document_end(&raw, &st);
	if (limit > 0) {
		BSON_APPEND_DOCUMENT_BEGIN(&raw, "7", &st);
		BSON_APPEND_INT64(&st, "$limit", limit);
		bson_append_document_end(&raw, &st);
	}
	fix_keys(&raw, &pipe);
	ret =
	    each_result(s, K_LINKS, &pipe, on_link, &l, "read links from", err);
	bson_destroy(&pipe);
	bson_destroy(&raw);
	buf_release(&l.names);
	return ret;
}

/* ------------------------------------------------------------ lists */

/* Contacts per list, sorted like the lists so the two merge in one pass. */
static mongoc_cursor_t *contacts_per_list(struct mongo_store *s,
					  const struct store_period *p)
{
	const struct store_period owner = {p->provider, p->account, TIME_NULL,
					   TIME_NULL};
	bson_t pipe = BSON_INITIALIZER, st, g, id, sum, cnd, arr, cmp, srt;
	mongoc_cursor_t *cur;

	stage_match(&pipe, "0", &owner, NULL, 0);
	BSON_APPEND_DOCUMENT_BEGIN(&pipe, "1", &st);
	BSON_APPEND_UTF8(&st, "$unwind", "$lists");
	bson_append_document_end(&pipe, &st);
	BSON_APPEND_DOCUMENT_BEGIN(&pipe, "2", &st);
	BSON_APPEND_DOCUMENT_BEGIN(&st, "$group", &g);
	BSON_APPEND_DOCUMENT_BEGIN(&g, "_id", &id);
	BSON_APPEND_UTF8(&id, "p", "$provider");
	BSON_APPEND_UTF8(&id, "a", "$account");
	BSON_APPEND_UTF8(&id, "l", "$lists");
	bson_append_document_end(&g, &id);
	/* live: deleted_at missing or null */
	cond_begin(&g, "live", &sum, &cnd, &arr);
	BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &cmp);
	{
		bson_t a, n, y;

		BSON_APPEND_ARRAY_BEGIN(&cmp, "$eq", &a);
		BSON_APPEND_DOCUMENT_BEGIN(&a, "0", &y);
		BSON_APPEND_ARRAY_BEGIN(&y, "$ifNull", &n);
		BSON_APPEND_UTF8(&n, "0", "$deleted_at");
		BSON_APPEND_NULL(&n, "1");
		bson_append_array_end(&y, &n);
		bson_append_document_end(&a, &y);
		BSON_APPEND_NULL(&a, "1");
		bson_append_array_end(&cmp, &a);
	}
	bson_append_document_end(&arr, &cmp);
	cond_end(&g, &sum, &cnd, &arr);
	cond_begin(&g, "added", &sum, &cnd, &arr);
	in_period_expr(&arr, "$created_at", p);
	cond_end(&g, &sum, &cnd, &arr);
	cond_begin(&g, "deleted", &sum, &cnd, &arr);
	in_period_expr(&arr, "$deleted_at", p);
	cond_end(&g, &sum, &cnd, &arr);
	bson_append_document_end(&st, &g);
	bson_append_document_end(&pipe, &st);
	BSON_APPEND_DOCUMENT_BEGIN(&pipe, "3", &st);
	BSON_APPEND_DOCUMENT_BEGIN(&st, "$sort", &srt);
	BSON_APPEND_INT32(&srt, "_id.p", 1);
	BSON_APPEND_INT32(&srt, "_id.a", 1);
	BSON_APPEND_INT32(&srt, "_id.l", 1);
	bson_append_document_end(&st, &srt);
	bson_append_document_end(&pipe, &st);
	cur = aggregate(s, K_CONTACTS, &pipe);
	bson_destroy(&pipe);
	return cur;
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

/* Orders a list document against a contacts-per-list result. */
static int cmp_key(const bson_t *list, const bson_t *agg)
{
	int c = cmp_str(mg_get_str(list, "provider"), mg_get_str(agg, "_id.p"));

	if (!c)
		c = cmp_str(mg_get_str(list, "account"),
			    mg_get_str(agg, "_id.a"));
	if (!c)
		c = cmp_str(mg_get_str(list, "list_id"),
			    mg_get_str(agg, "_id.l"));
	return c;
}

static int64_t get_count(const bson_t *doc, const char *path)
{
	bson_iter_t it;

	if (!mg_find(doc, path, &it) || !BSON_ITER_HOLDS_NUMBER(&it))
		return -1;
	return bson_iter_as_int64(&it);
}

int mg_report_lists(struct store *store, const struct store_period *p,
		    store_list_fn fn, void *ctx, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER;
	mongoc_cursor_t *lists, *per = NULL;
	const bson_t *doc, *agg = NULL;
	bson_error_t e;
	int ret = 0, has_agg;

	mg_filter_owner(&f, p->provider, p->account);
	lists = mg_find_docs(s, K_LISTS, &f, "provider,account,list_id", 0);
	per = contacts_per_list(s, p);
	has_agg = mongoc_cursor_next(per, &agg);
	while (!ret && mongoc_cursor_next(lists, &doc)) {
		struct store_list_row row;
		int c = 1;

		/* Skip the results of list ids no list document has. Ids
		 * that are not strings never match (the sources' are). */
		while (has_agg && (c = cmp_key(doc, agg)) > 0)
			has_agg = mongoc_cursor_next(per, &agg);
		memset(&row, 0, sizeof(row));
		row.provider = mg_get_str(doc, "provider");
		row.account = mg_get_str(doc, "account");
		row.list_id = mg_get_str(doc, "list_id");
		row.name = mg_get_str(doc, "name");
		row.subscribed = get_count(doc, "subscribed");
		row.unsubscribed = get_count(doc, "unsubscribed");
		row.pending = get_count(doc, "pending");
		if (has_agg && c == 0) {
			row.contacts = mg_get_int(agg, "live");
			row.added = mg_get_int(agg, "added");
			row.deleted = mg_get_int(agg, "deleted");
		}
		ret = fn(ctx, &row);
	}
	if (!ret &&
	    (mongoc_cursor_error(lists, &e) || mongoc_cursor_error(per, &e)))
		ret = mg_err(err, s, "read lists from", &e);
	mongoc_cursor_destroy(per);
	mongoc_cursor_destroy(lists);
	bson_destroy(&f);
	return ret;
}

/* ------------------------------------------------------------ accounts */

struct account_key {
	char *provider, *account;
};

struct accounts {
	struct account_key *v;
	size_t n, cap;
};

static int on_account_key(void *ctx, const bson_t *doc)
{
	struct accounts *a = ctx;
	const char *p = mg_get_str(doc, "_id.p"),
		   *acc = mg_get_str(doc, "_id.a");
	size_t i;

	if (!p || !acc)
		return 0;
	for (i = 0; i < a->n; i++)
		if (!strcmp(a->v[i].provider, p) &&
		    !strcmp(a->v[i].account, acc))
			return 0;
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 16;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n].provider = xstrdup(p);
	a->v[a->n].account = xstrdup(acc);
	a->n++;
	return 0;
}

static int cmp_account(const void *x, const void *y)
{
	const struct account_key *a = x, *b = y;
	int c = strcmp(a->provider, b->provider);

	return c ? c : strcmp(a->account, b->account);
}

static int account_row(struct mongo_store *s, const struct account_key *k,
		       store_account_fn fn, void *ctx, struct err *err)
{
	struct store_account_row row;
	struct arena arena = ARENA_INIT;
	bson_t f = BSON_INITIALIZER, run;
	bson_error_t e;
	int ret = -1;

	memset(&row, 0, sizeof(row));
	row.provider = k->provider;
	row.account = k->account;
	mg_filter_owner(&f, k->provider, k->account);
	row.campaigns = mongoc_collection_count_documents(
	    s->coll[K_CAMPAIGNS], &f, NULL, NULL, NULL, &e);
	if (row.campaigns < 0) {
		mg_err(err, s, "count documents in", &e);
		bson_init(&run);
		goto done;
	}
	if (mg_find_one(s, K_RUNS, &f, "-run_id", &run, &row.has_run, err,
			"read runs from") < 0)
		goto done;
	if (row.has_run) {
		row.run.run_id = mg_get_int(&run, "run_id");
		row.run.provider = k->provider;
		row.run.account = k->account;
		row.run.started_at = mg_get_time(&run, "started_at");
		row.run.finished_at = mg_get_time(&run, "finished_at");
		row.run.status =
		    store_run_status_parse(mg_get_str(&run, "status"));
		row.run.requests = mg_get_int(&run, "requests");
		row.run.retries = mg_get_int(&run, "retries");
		row.run.throttled = mg_get_int(&run, "throttled");
		row.run.records_json = mg_get_json(&run, "records", &arena);
		row.run.error = mg_get_str(&run, "error");
	}
	ret = fn(ctx, &row);
done:
	bson_destroy(&run);
	bson_destroy(&f);
	arena_release(&arena);
	return ret;
}

/* The distinct owners of campaigns, contacts, lists and runs; then each
 * one's campaign count and newest run. */
int mg_report_accounts(struct store *store, const struct store_period *p,
		       store_account_fn fn, void *ctx, struct err *err)
{
	static const enum coll_id from[] = {K_CAMPAIGNS, K_CONTACTS, K_LISTS,
					    K_RUNS};
	struct mongo_store *s = (struct mongo_store *)store;
	const struct store_period owner = {p->provider, p->account, TIME_NULL,
					   TIME_NULL};
	struct accounts a = {NULL, 0, 0};
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < sizeof(from) / sizeof(from[0]); i++) {
		bson_t pipe = BSON_INITIALIZER, st, g, id;

		stage_match(&pipe, "0", &owner, NULL, 0);
		BSON_APPEND_DOCUMENT_BEGIN(&pipe, "1", &st);
		BSON_APPEND_DOCUMENT_BEGIN(&st, "$group", &g);
		BSON_APPEND_DOCUMENT_BEGIN(&g, "_id", &id);
		BSON_APPEND_UTF8(&id, "p", "$provider");
		BSON_APPEND_UTF8(&id, "a", "$account");
		bson_append_document_end(&g, &id);
		bson_append_document_end(&st, &g);
		bson_append_document_end(&pipe, &st);
		ret = each_result(s, from[i], &pipe, on_account_key, &a,
				  "read accounts from", err);
		bson_destroy(&pipe);
	}
	if (a.n)
		qsort(a.v, a.n, sizeof(*a.v), cmp_account);
	for (i = 0; !ret && i < a.n; i++)
		ret = account_row(s, &a.v[i], fn, ctx, err);
	for (i = 0; i < a.n; i++) {
		free(a.v[i].provider);
		free(a.v[i].account);
	}
	free(a.v);
	return ret;
}

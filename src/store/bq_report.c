/* BigQuery report reads (store.h, "report reads"): every figure is
 * aggregated by a jobs.query, so only the small results travel. Parameters
 * of every query: @provider, @account (NULL: all), @since, @until (epoch
 * seconds; NULL: open). The events' activity_date bounds are written into
 * the SQL only when the period has them, so BigQuery prunes the daily
 * partitions outside it (a filter that is "@since IS NULL OR ..." would
 * not prune). */
#include "store/bq_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

struct period_params {
	char since[24], until[24], limit[24];
	struct bq_param p[5];
};

static void period_params(struct period_params *a, const struct store_period *p,
			  int64_t limit)
{
	snprintf(a->since, sizeof(a->since), "%" PRId64, p->since);
	snprintf(a->until, sizeof(a->until), "%" PRId64, p->until);
	snprintf(a->limit, sizeof(a->limit), "%" PRId64, limit);
	memset(a->p, 0, sizeof(a->p));
	a->p[0] = (struct bq_param){"provider", "STRING", p->provider, NULL, 0};
	a->p[1] = (struct bq_param){"account", "STRING", p->account, NULL, 0};
	a->p[2] = (struct bq_param){
	    "since", "INT64", p->since == TIME_NULL ? NULL : a->since, NULL, 0};
	a->p[3] = (struct bq_param){
	    "until", "INT64", p->until == TIME_NULL ? NULL : a->until, NULL, 0};
	a->p[4] = (struct bq_param){"limit", "INT64", a->limit, NULL, 0};
}

static int64_t cell_int(const char *v)
{
	return v ? strtoll(v, NULL, 10) : 0;
}

static int64_t cell_count(const char *v)
{
	return v ? strtoll(v, NULL, 10) : -1;
}

static int64_t cell_time(const char *v)
{
	return v ? strtoll(v, NULL, 10) : TIME_NULL;
}

#define OWNER(t)                                                               \
	" (@provider IS NULL OR " t ".provider = @provider)"                   \
	" AND (@account IS NULL OR " t ".account = @account)"
#define IN_PERIOD(col)                                                         \
	" (@since IS NULL OR " col " >= TIMESTAMP_SECONDS(@since))"            \
	" AND (@until IS NULL OR " col " < TIMESTAMP_SECONDS(@until))"
#define CAMPAIGN_IN_PERIOD                                                     \
	OWNER("c") " AND c.sent_at IS NOT NULL AND" IN_PERIOD("c.sent_at")
/* An event type's place in enum event_type; NULL when unknown. */
#define TYPE_ORDER(col)                                                        \
	"CASE " col " WHEN 'sent' THEN 0 WHEN 'open' THEN 1"                   \
	" WHEN 'click' THEN 2 WHEN 'bounce' THEN 3 WHEN 'complaint' THEN 4"    \
	" WHEN 'unsubscribe' THEN 5 END"

/* "SELECT cols FROM {email_activities} AS e WHERE <the period> tail". */
static int events_query(struct bq_store *s, const struct store_period *p,
			const char *cols, const char *tail,
			const struct period_params *a, bq_row_fn fn, void *ctx,
			struct err *err)
{
	struct buf q = BUF_INIT;
	int rc = 0, ret = -1;

	rc |= buf_printf(&q,
			 "SELECT %s FROM {email_activities} AS e WHERE" OWNER(
			     "e") " AND" IN_PERIOD("e.activity_timestamp"),
			 cols);
	if (p->since != TIME_NULL)
		rc |= buf_puts(&q, " AND e.activity_date >="
				   " CAST(TIMESTAMP_SECONDS(@since) AS DATE)");
	if (p->until != TIME_NULL)
		rc |= buf_puts(&q, " AND e.activity_date <="
				   " CAST(TIMESTAMP_SECONDS(@until) AS DATE)");
	rc |= buf_printf(&q, " %s", tail);
	if (rc)
		err_set(err, ERR_STORE, 0, "bigquery query too long");
	else
		ret = bq_read_query(s, buf_str(&q), a->p, 4, fn, ctx, err);
	buf_release(&q);
	return ret;
}

static int on_totals(void *ctx, const char *const *v, size_t n)
{
	struct store_totals *out = ctx;
	struct campaign_stats *x = &out->sums;

	if (n < 11)
		return 0;
	out->campaigns = cell_int(v[0]);
	out->campaigns_with_stats = cell_int(v[1]);
	x->sent = cell_int(v[2]);
	x->opened_unique = cell_int(v[3]);
	x->opened_total = cell_int(v[4]);
	x->clicked_unique = cell_int(v[5]);
	x->clicked_total = cell_int(v[6]);
	x->bounced_hard = cell_int(v[7]);
	x->bounced_soft = cell_int(v[8]);
	x->complained = cell_int(v[9]);
	x->unsubscribed = cell_int(v[10]);
	return 0;
}

static int on_type_count(void *ctx, const char *const *v, size_t n)
{
	struct store_totals *out = ctx;
	enum event_type t;

	if (n >= 2 && v[0] && event_type_parse(v[0], &t) == 0)
		out->events[t] = cell_int(v[1]);
	return 0;
}

int bq_report_totals(struct store *st, const struct store_period *p,
		     struct store_totals *out, struct err *err)
{
	struct bq_store *s = (struct bq_store *)st;
	struct period_params a;

	memset(out, 0, sizeof(*out));
	period_params(&a, p, 0);
	if (bq_read_query(
		s,
		"SELECT COUNT(*), COALESCE(SUM(CASE WHEN c.sent > 0 THEN 1"
		" ELSE 0 END), 0), COALESCE(SUM(c.sent), 0),"
		" COALESCE(SUM(c.opened_unique), 0),"
		" COALESCE(SUM(c.opened_total), 0),"
		" COALESCE(SUM(c.clicked_unique), 0),"
		" COALESCE(SUM(c.clicked_total), 0),"
		" COALESCE(SUM(c.bounced_hard), 0),"
		" COALESCE(SUM(c.bounced_soft), 0),"
		" COALESCE(SUM(c.complained), 0),"
		" COALESCE(SUM(c.unsubscribed), 0) FROM {campaigns} AS c"
		" WHERE" CAMPAIGN_IN_PERIOD,
		a.p, 4, on_totals, out, err) < 0)
		return -1;
	return events_query(s, p, "e.event_type, COUNT(*)",
			    "GROUP BY e.event_type", &a, on_type_count, out,
			    err);
}

struct day_out {
	store_day_fn fn;
	void *ctx;
};

static int on_day(void *ctx, const char *const *v, size_t n)
{
	struct day_out *x = ctx;
	struct store_day_row row;

	if (n < 3 || !v[1])
		return 0;
	row.day = cell_int(v[0]);
	row.type = (enum event_type)cell_int(v[1]);
	row.events = cell_int(v[2]);
	return x->fn(x->ctx, &row);
}

int bq_report_days(struct store *st, const struct store_period *p,
		   store_day_fn fn, void *ctx, struct err *err)
{
	struct period_params a;
	struct day_out x = {fn, ctx};

	period_params(&a, p, 0);
	return events_query(
	    (struct bq_store *)st, p,
	    "UNIX_SECONDS(CAST(e.activity_date AS TIMESTAMP)),"
	    " " TYPE_ORDER("e.event_type") ", COUNT(*)",
	    "AND " TYPE_ORDER("e.event_type") " IS NOT NULL"
					      " GROUP BY 1, 2 ORDER BY 1, 2",
	    &a, on_day, &x, err);
}

int bq_report_campaigns(struct store *st, const struct store_period *p,
			store_campaign_fn fn, void *ctx, struct err *err)
{
	struct period_params a;

	period_params(&a, p, 0);
	return bq_campaigns_where((struct bq_store *)st,
				  "AS c WHERE" CAMPAIGN_IN_PERIOD
				  " ORDER BY c.sent_at DESC, c.provider,"
				  " c.account, c.campaign_id",
				  a.p, 4, fn, ctx, err);
}

struct link_out {
	store_link_fn fn;
	void *ctx;
};

static int on_link(void *ctx, const char *const *v, size_t n)
{
	struct link_out *x = ctx;
	struct store_link_row row;

	if (n < 5 || !v[0])
		return 0;
	row.url = v[0];
	row.clicks = cell_int(v[1]);
	row.unique_clicks = cell_int(v[2]);
	row.campaigns = cell_int(v[3]);
	row.campaigns_json = v[4];
	return x->fn(x->ctx, &row);
}

/* The names' array in the order of PostgreSQL's and SQLite's. */
#define LINKS_SQL                                                              \
	"SELECT l.url, SUM(l.clicked_total) AS clicks,"                        \
	" SUM(l.clicked_unique) AS uniq, COUNT(*),"                            \
	" TO_JSON_STRING(ARRAY_AGG(COALESCE(c.name, c.campaign_id)"            \
	" ORDER BY l.clicked_total DESC, c.sent_at DESC, c.provider,"          \
	" c.account, c.campaign_id))"                                          \
	" FROM {campaign_links} AS l JOIN {campaigns} AS c"                    \
	" ON c.provider = l.provider AND c.account = l.account"                \
	" AND c.campaign_id = l.campaign_id WHERE" CAMPAIGN_IN_PERIOD          \
	" GROUP BY l.url ORDER BY clicks DESC, uniq DESC, l.url"

int bq_report_links(struct store *st, const struct store_period *p,
		    int64_t limit, store_link_fn fn, void *ctx, struct err *err)
{
	struct period_params a;
	struct link_out x = {fn, ctx};

	period_params(&a, p, limit);
	return bq_read_query((struct bq_store *)st,
			     limit > 0 ? LINKS_SQL " LIMIT @limit" : LINKS_SQL,
			     a.p, limit > 0 ? 5 : 4, on_link, &x, err);
}

struct list_out {
	store_list_fn fn;
	void *ctx;
};

static int on_list(void *ctx, const char *const *v, size_t n)
{
	struct list_out *x = ctx;
	struct store_list_row row;

	if (n < 10)
		return 0;
	row.provider = v[0];
	row.account = v[1];
	row.list_id = v[2];
	row.name = v[3];
	row.subscribed = cell_count(v[4]);
	row.unsubscribed = cell_count(v[5]);
	row.pending = cell_count(v[6]);
	row.contacts = cell_int(v[7]);
	row.added = cell_int(v[8]);
	row.deleted = cell_int(v[9]);
	return x->fn(x->ctx, &row);
}

/* Per list: its stored contacts not deleted, added and deleted in the
 * period; contacts.lists holds a JSON array of list ids as text, anything
 * else reads as no list. */
#define LIST_MEMBERS                                                           \
	"WITH m AS (SELECT k.provider, k.account, list_id,"                    \
	" SUM(CASE WHEN k.deleted_at IS NULL THEN 1 ELSE 0 END) AS live,"      \
	" SUM(CASE WHEN k.created_at IS NOT NULL AND" IN_PERIOD(               \
	    "k.created_at") " THEN 1 ELSE 0 END) AS added,"                    \
			    " SUM(CASE WHEN k.deleted_at IS NOT NULL "         \
			    "AND" IN_PERIOD(                                   \
				"k.deleted_at") " THEN 1 ELSE 0 END) AS "      \
						"deleted"                      \
						" FROM {contacts} AS k"        \
						" CROSS JOIN "                 \
						"UNNEST(JSON_EXTRACT_STRING_"  \
						"ARRAY(k.lists)) AS list_id"   \
						" WHERE" OWNER(                \
						    "k") " GROUP BY 1, 2, 3)"
#define LISTS_SQL                                                              \
	LIST_MEMBERS                                                           \
	" SELECT l.provider, l.account, l.list_id, l.name, l.subscribed,"      \
	" l.unsubscribed, l.pending, COALESCE(m.live, 0),"                     \
	" COALESCE(m.added, 0), COALESCE(m.deleted, 0) FROM {lists} AS l"      \
	" LEFT JOIN m ON m.provider = l.provider AND m.account = l.account"    \
	" AND m.list_id = l.list_id WHERE" OWNER(                              \
	    "l") " ORDER BY l.provider, l.account, l.list_id"

int bq_report_lists(struct store *st, const struct store_period *p,
		    store_list_fn fn, void *ctx, struct err *err)
{
	struct period_params a;
	struct list_out x = {fn, ctx};

	period_params(&a, p, 0);
	return bq_read_query((struct bq_store *)st, LISTS_SQL, a.p, 4, on_list,
			     &x, err);
}

struct account_out {
	store_account_fn fn;
	void *ctx;
};

static int on_account(void *ctx, const char *const *v, size_t n)
{
	struct account_out *x = ctx;
	struct store_account_row row;

	if (n < 12)
		return 0;
	memset(&row, 0, sizeof(row));
	row.provider = v[0];
	row.account = v[1];
	row.campaigns = cell_int(v[2]);
	row.has_run = v[3] != NULL;
	if (row.has_run) {
		row.run.run_id = cell_int(v[3]);
		row.run.provider = row.provider;
		row.run.account = row.account;
		row.run.started_at = cell_time(v[4]);
		row.run.finished_at = cell_time(v[5]);
		row.run.status = store_run_status_parse(v[6]);
		row.run.requests = cell_int(v[7]);
		row.run.retries = cell_int(v[8]);
		row.run.throttled = cell_int(v[9]);
		row.run.records_json = v[10];
		row.run.error = v[11];
	}
	return x->fn(x->ctx, &row);
}

int bq_report_accounts(struct store *st, const struct store_period *p,
		       store_account_fn fn, void *ctx, struct err *err)
{
	struct period_params a;
	struct account_out x = {fn, ctx};

	period_params(&a, p, 0);
	return bq_read_query(
	    (struct bq_store *)st,
	    "WITH a AS (SELECT provider, account FROM {campaigns}"
	    " UNION DISTINCT SELECT provider, account FROM {contacts}"
	    " UNION DISTINCT SELECT provider, account FROM {lists}"
	    " UNION DISTINCT SELECT provider, account FROM {sync_runs}"
	    " WHERE provider IS NOT NULL AND account IS NOT NULL),"
	    " n AS (SELECT provider, account, COUNT(*) AS campaigns"
	    " FROM {campaigns} GROUP BY 1, 2),"
	    " lr AS (SELECT provider, account, MAX(run_id) AS run_id"
	    " FROM {sync_runs} GROUP BY 1, 2)"
	    " SELECT a.provider, a.account, COALESCE(n.campaigns, 0),"
	    " r.run_id, UNIX_SECONDS(r.started_at),"
	    " UNIX_SECONDS(r.finished_at), r.status, r.requests, r.retries,"
	    " r.throttled, r.records, r.error FROM a"
	    " LEFT JOIN n ON n.provider = a.provider AND n.account = a.account"
	    " LEFT JOIN lr ON lr.provider = a.provider"
	    " AND lr.account = a.account"
	    " LEFT JOIN {sync_runs} AS r ON r.run_id = lr.run_id"
	    " WHERE" OWNER("a") " ORDER BY a.provider, a.account",
	    a.p, 2, on_account, &x, err);
}

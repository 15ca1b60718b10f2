/* PostgreSQL report reads (store.h, "report reads"), aggregated by the
 * server: the results are the small aggregates, never the events. Parameters
 * of every query: $1 provider, $2 account, $3 since, $4 until (ISO-8601 UTC
 * text; NULL: all/open). Events are also bounded by activity_date so only
 * the period's daily partitions are read. */
#include "store/pg_internal.h"

#include <stdio.h>
#include <string.h>

#include "util/banned.h"

struct period_args {
	char since[21], until[21];
	const char *v[5];
};

static void period_args(struct period_args *a, const struct store_period *p)
{
	time_format_iso(p->since, a->since);
	time_format_iso(p->until, a->until);
	a->v[0] = p->provider;
	a->v[1] = p->account;
	a->v[2] = p->since == TIME_NULL ? NULL : a->since;
	a->v[3] = p->until == TIME_NULL ? NULL : a->until;
	a->v[4] = NULL;
}

#define OWNER(t)                                                               \
	" ($1::text IS NULL OR " t ".provider = $1)"                           \
	" AND ($2::text IS NULL OR " t ".account = $2)"
#define IN_PERIOD(col)                                                         \
	" ($3::timestamptz IS NULL OR " col " >= $3::timestamptz)"             \
	" AND ($4::timestamptz IS NULL OR " col " < $4::timestamptz)"
#define CAMPAIGN_IN_PERIOD                                                     \
	OWNER("c") " AND c.sent_at IS NOT NULL AND" IN_PERIOD("c.sent_at")
/* The period's events as table e; the date bounds prune partitions. */
#define EVENT_IN_PERIOD                                                        \
	OWNER("e")                                                             \
	" AND" IN_PERIOD("e.activity_timestamp") " AND ($3::timestamptz IS "   \
						 "NULL OR e.activity_date >="  \
						 " ($3::timestamptz AT TIME "  \
						 "ZONE 'UTC')::date)"          \
						 " AND ($4::timestamptz IS "   \
						 "NULL OR e.activity_date <="  \
						 " ($4::timestamptz AT TIME "  \
						 "ZONE 'UTC')::date)"
/* An event type's place in enum event_type; NULL when unknown. */
#define TYPE_ORDER(col)                                                        \
	"CASE " col " WHEN 'sent' THEN 0 WHEN 'open' THEN 1"                   \
	" WHEN 'click' THEN 2 WHEN 'bounce' THEN 3 WHEN 'complaint' THEN 4"    \
	" WHEN 'unsubscribe' THEN 5 END"

static int64_t val_count(const PGresult *r, int i, int col)
{
	return PQgetisnull(r, i, col) ? -1 : pg_val_int(r, i, col);
}

int pg_report_totals(struct store *store, const struct store_period *p,
		     struct store_totals *out, struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	struct campaign_stats *x = &out->sums;
	struct period_args a;
	PGresult *r;
	enum event_type t;
	int i;

	memset(out, 0, sizeof(*out));
	period_args(&a, p);
	r = pg_query(s,
		     "SELECT count(*), count(*) FILTER (WHERE c.sent > 0),"
		     " coalesce(sum(c.sent), 0), coalesce(sum(c.opened_unique),"
		     " 0), coalesce(sum(c.opened_total), 0),"
		     " coalesce(sum(c.clicked_unique), 0),"
		     " coalesce(sum(c.clicked_total), 0),"
		     " coalesce(sum(c.bounced_hard), 0),"
		     " coalesce(sum(c.bounced_soft), 0),"
		     " coalesce(sum(c.complained), 0),"
		     " coalesce(sum(c.unsubscribed), 0) FROM campaigns AS c"
		     " WHERE" CAMPAIGN_IN_PERIOD,
		     4, a.v, "read report totals from", err);
	if (!r)
		return -1;
	out->campaigns = pg_val_int(r, 0, 0);
	out->campaigns_with_stats = pg_val_int(r, 0, 1);
	x->sent = pg_val_int(r, 0, 2);
	x->opened_unique = pg_val_int(r, 0, 3);
	x->opened_total = pg_val_int(r, 0, 4);
	x->clicked_unique = pg_val_int(r, 0, 5);
	x->clicked_total = pg_val_int(r, 0, 6);
	x->bounced_hard = pg_val_int(r, 0, 7);
	x->bounced_soft = pg_val_int(r, 0, 8);
	x->complained = pg_val_int(r, 0, 9);
	x->unsubscribed = pg_val_int(r, 0, 10);
	PQclear(r);
	r = pg_query(s,
		     "SELECT e.event_type, count(*) FROM email_activities AS e"
		     " WHERE" EVENT_IN_PERIOD " GROUP BY e.event_type",
		     4, a.v, "read report totals from", err);
	if (!r)
		return -1;
	for (i = 0; i < PQntuples(r); i++)
		if (event_type_parse(pg_val(r, i, 0), &t) == 0)
			out->events[t] = pg_val_int(r, i, 1);
	PQclear(r);
	return 0;
}

int pg_report_days(struct store *store, const struct store_period *p,
		   store_day_fn fn, void *ctx, struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	struct period_args a;
	PGresult *r;
	int i, ret = -1;

	period_args(&a, p);
	r = pg_query(
	    s,
	    "SELECT (e.activity_date - date '1970-01-01')::bigint"
	    " * 86400, " TYPE_ORDER(
		"e.event_type") " AS t, count(*)"
				" FROM email_activities AS e "
				"WHERE" EVENT_IN_PERIOD
				" GROUP BY e.activity_date, t "
				"HAVING " TYPE_ORDER(
				    "e.event_type") " IS NOT NULL"
						    " ORDER BY "
						    "e.activity_date, t",
	    4, a.v, "read daily events from", err);
	if (!r)
		goto done;
	for (i = 0; i < PQntuples(r); i++) {
		struct store_day_row row;

		row.day = pg_val_int(r, i, 0);
		row.type = (enum event_type)pg_val_int(r, i, 1);
		row.events = pg_val_int(r, i, 2);
		ret = fn(ctx, &row);
		if (ret)
			goto done;
	}
	ret = 0;
done:
	PQclear(r);
	return ret;
}

int pg_report_campaigns(struct store *store, const struct store_period *p,
			store_campaign_fn fn, void *ctx, struct err *err)
{
	struct period_args a;

	period_args(&a, p);
	return pg_campaigns_query((struct pg_store *)store,
				  "WHERE" CAMPAIGN_IN_PERIOD
				  " ORDER BY c.sent_at DESC, c.provider,"
				  " c.account, c.campaign_id",
				  4, a.v, fn, ctx, err);
}

/* The names' array is built as text so it has SQLite's shape (json_agg
 * puts a space after each comma). */
int pg_report_links(struct store *store, const struct store_period *p,
		    int64_t limit, store_link_fn fn, void *ctx, struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	struct period_args a;
	char lim[24];
	PGresult *r;
	int i, ret = -1;

	period_args(&a, p);
	snprintf(lim, sizeof(lim), "%lld", (long long)limit);
	a.v[4] = limit > 0 ? lim : NULL;
	r = pg_query(
	    s,
	    "SELECT l.url, sum(l.clicked_total) AS clicks,"
	    " sum(l.clicked_unique) AS uniq, count(*),"
	    " '[' || string_agg(to_json(coalesce(c.name, c.campaign_id))::text,"
	    " ',' ORDER BY l.clicked_total DESC, c.sent_at DESC, c.provider,"
	    " c.account, c.campaign_id) || ']'"
	    " FROM campaign_links AS l JOIN campaigns AS c"
	    " ON c.provider = l.provider AND c.account = l.account"
	    " AND c.campaign_id = l.campaign_id WHERE" CAMPAIGN_IN_PERIOD
	    " GROUP BY l.url ORDER BY clicks DESC, uniq DESC, l.url"
	    " LIMIT $5::bigint",
	    5, a.v, "read links from", err);
	if (!r)
		goto done;
	for (i = 0; i < PQntuples(r); i++) {
		struct store_link_row row;

		row.url = pg_val(r, i, 0);
		row.clicks = pg_val_int(r, i, 1);
		row.unique_clicks = pg_val_int(r, i, 2);
		row.campaigns = pg_val_int(r, i, 3);
		row.campaigns_json = pg_val(r, i, 4);
		ret = fn(ctx, &row);
		if (ret)
			goto done;
	}
	ret = 0;
done:
	PQclear(r);
	return ret;
}

/* Per list: the provider's counts, then the stored contacts naming it
 * (live, added in the period, deleted upstream in it). */
// clang-format off
/* (clang-format breaks the literals around IN_PERIOD and OWNER) */
#define LISTS_SQL                                                              \
	"WITH m AS (SELECT k.provider, k.account, j.list_id,"                  \
	" count(*) FILTER (WHERE k.deleted_at IS NULL) AS live,"               \
	" count(*) FILTER (WHERE k.created_at IS NOT NULL"                     \
	" AND" IN_PERIOD("k.created_at") ") AS added,"                         \
	" count(*) FILTER (WHERE k.deleted_at IS NOT NULL"                     \
	" AND" IN_PERIOD("k.deleted_at") ") AS deleted"                        \
	" FROM contacts AS k CROSS JOIN LATERAL json_array_elements_text("     \
	"CASE WHEN json_typeof(k.lists) = 'array' THEN k.lists"                \
	" ELSE '[]'::json END) AS j(list_id)"                                  \
	" WHERE" OWNER("k") " GROUP BY 1, 2, 3)"                               \
	" SELECT l.provider, l.account, l.list_id, l.name, l.subscribed,"      \
	" l.unsubscribed, l.pending, coalesce(m.live, 0),"                     \
	" coalesce(m.added, 0), coalesce(m.deleted, 0) FROM lists AS l"        \
	" LEFT JOIN m ON m.provider = l.provider AND m.account = l.account"    \
	" AND m.list_id = l.list_id WHERE" OWNER("l")                          \
	" ORDER BY l.provider, l.account, l.list_id"
// clang-format on

int pg_report_lists(struct store *store, const struct store_period *p,
		    store_list_fn fn, void *ctx, struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	struct period_args a;
	PGresult *r;
	int i, ret = -1;

	period_args(&a, p);
	r = pg_query(s, LISTS_SQL, 4, a.v, "read lists from", err);
	if (!r)
		goto done;
	for (i = 0; i < PQntuples(r); i++) {
		struct store_list_row row;

		row.provider = pg_val(r, i, 0);
		row.account = pg_val(r, i, 1);
		row.list_id = pg_val(r, i, 2);
		row.name = pg_val(r, i, 3);
		row.subscribed = val_count(r, i, 4);
		row.unsubscribed = val_count(r, i, 5);
		row.pending = val_count(r, i, 6);
		row.contacts = pg_val_int(r, i, 7);
		row.added = pg_val_int(r, i, 8);
		row.deleted = pg_val_int(r, i, 9);
		ret = fn(ctx, &row);
		if (ret)
			goto done;
	}
	ret = 0;
done:
	PQclear(r);
	return ret;
}

/* Every provider account the store knows of, its campaign count and its
 * newest run. */
// clang-format off
#define ACCOUNTS_SQL                                                           \
	"WITH a AS (SELECT provider, account FROM campaigns"                   \
	" UNION SELECT provider, account FROM contacts"                        \
	" UNION SELECT provider, account FROM lists"                           \
	" UNION SELECT provider, account FROM sync_runs"                       \
	" WHERE provider IS NOT NULL AND account IS NOT NULL)"                 \
	" SELECT a.provider, a.account, (SELECT count(*)"                      \
	" FROM campaigns AS c WHERE c.provider = a.provider"                   \
	" AND c.account = a.account), r.run_id, "                              \
	PG_EPOCH("r.started_at") ", " PG_EPOCH("r.finished_at")                \
	", r.status, r.requests, r.retries, r.throttled, r.records, r.error"   \
	" FROM a LEFT JOIN sync_runs AS r ON r.run_id = (SELECT"               \
	" max(x.run_id) FROM sync_runs AS x WHERE x.provider = a.provider"     \
	" AND x.account = a.account) WHERE" OWNER("a")                         \
	" ORDER BY a.provider, a.account"
// clang-format on

int pg_report_accounts(struct store *store, const struct store_period *p,
		       store_account_fn fn, void *ctx, struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	struct period_args a;
	PGresult *r;
	int i, ret = -1;

	period_args(&a, p);
	r = pg_query(s, ACCOUNTS_SQL, 2, a.v, "read accounts from", err);
	if (!r)
		goto done;
	for (i = 0; i < PQntuples(r); i++) {
		struct store_account_row row;

		memset(&row, 0, sizeof(row));
		row.provider = pg_val(r, i, 0);
		row.account = pg_val(r, i, 1);
		row.campaigns = pg_val_int(r, i, 2);
		row.has_run = !PQgetisnull(r, i, 3);
		if (row.has_run) {
			row.run.run_id = pg_val_int(r, i, 3);
			row.run.provider = row.provider;
			row.run.account = row.account;
			row.run.started_at = pg_val_time(r, i, 4);
			row.run.finished_at = pg_val_time(r, i, 5);
			row.run.status =
			    store_run_status_parse(pg_val(r, i, 6));
			row.run.requests = pg_val_int(r, i, 7);
			row.run.retries = pg_val_int(r, i, 8);
			row.run.throttled = pg_val_int(r, i, 9);
			row.run.records_json = pg_val(r, i, 10);
			row.run.error = pg_val(r, i, 11);
		}
		ret = fn(ctx, &row);
		if (ret)
			goto done;
	}
	ret = 0;
done:
	PQclear(r);
	return ret;
}

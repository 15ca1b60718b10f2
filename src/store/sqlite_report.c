/* SQLite report reads (store.h, "report reads"): every figure is aggregated
 * by SQLite and streamed row by row. Times are stored as ISO-8601 UTC text
 * of one width, so the period bounds compare as text. Parameters of every
 * query: ?1 provider, ?2 account, ?3 since, ?4 until (NULL: all/open). */
#include "store/sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#include "util/banned.h"

/* The period's parameters: ?1-?4 as above, then ?5 and ?6 the UTC days
 * [from, to) holding it ("" and "~" when open, so both always bind text
 * and an index on activity_date can seek). */
struct period_args {
	char since[21], until[21], from[11], to[11];
	const char *v[6];
	int is_aligned; /* since and until are UTC midnights (or open) */
};

static void period_args(struct period_args *a, const struct store_period *p)
{
	time_format_iso(p->since, a->since);
	time_format_iso(p->until, a->until);
	a->v[0] = p->provider;
	a->v[1] = p->account;
	a->v[2] = p->since == TIME_NULL ? NULL : a->since;
	a->v[3] = p->until == TIME_NULL ? NULL : a->until;
	a->v[4] = "";
	a->v[5] = "~";
	if (p->since != TIME_NULL) {
		time_format_date(p->since, a->from);
		a->v[4] = a->from;
	}
	if (p->until != TIME_NULL) {
		/* the day after the one holding until - 1 s */
		time_format_date(p->until - 1 + 86400, a->to);
		a->v[5] = a->to;
	}
	a->is_aligned = (p->since == TIME_NULL || p->since % 86400 == 0) &&
			(p->until == TIME_NULL || p->until % 86400 == 0);
}

/* "SELECT <cols> FROM email_activities AS e WHERE <the period> <tail>":
 * the day bounds always, the times only when a bound is inside a day, so
 * the usual query reads the email_activities_day index alone. */
static int prep_events(struct sqlite_store *s, const char *cols,
		       const char *tail, const struct period_args *a,
		       sqlite3_stmt **st, struct err *err)
{
	struct buf q = BUF_INIT;
	int ret = -1;

	if (buf_printf(&q,
		       "SELECT %s FROM email_activities AS e WHERE"
		       " (?1 IS NULL OR e.provider = ?1)"
		       " AND (?2 IS NULL OR e.account = ?2)"
		       " AND e.activity_date >= ?5 AND e.activity_date < ?6"
		       "%s %s",
		       cols,
		       a->is_aligned ? ""
				     : " AND (?3 IS NULL OR"
				       " e.activity_timestamp >= ?3)"
				       " AND (?4 IS NULL OR"
				       " e.activity_timestamp < ?4)",
		       tail) < 0) {
		err_set(err, ERR_STORE, 0, "event query too long");
		goto done;
	}
	ret = sq_prep(s, buf_str(&q), 6, a->v, st, err);
done:
	buf_release(&q);
	return ret;
}

#define OWNER(t)                                                               \
	" (?1 IS NULL OR " t ".provider = ?1)"                                 \
	" AND (?2 IS NULL OR " t ".account = ?2)"
#define IN_PERIOD(col)                                                         \
	" (?3 IS NULL OR " col " >= ?3) AND (?4 IS NULL OR " col " < ?4)"
/* The campaigns of the period, as table c. */
#define CAMPAIGN_IN_PERIOD                                                     \
	OWNER("c") " AND c.sent_at IS NOT NULL AND" IN_PERIOD("c.sent_at")

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static int64_t col_count(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return -1;
	return sqlite3_column_int64(st, i);
}

static int64_t col_time(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return TIME_NULL;
	return sqlite3_column_int64(st, i);
}

int sq_report_totals(struct store *store, const struct store_period *p,
		     struct store_totals *out, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct campaign_stats *x = &out->sums;
	struct period_args a;
	sqlite3_stmt *st = NULL;
	enum event_type t;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	period_args(&a, p);
	if (sq_prep(
		s,
		"SELECT count(*), count(*) FILTER (WHERE c.sent > 0),"
		" ifnull(sum(c.sent), 0), ifnull(sum(c.opened_unique), 0),"
		" ifnull(sum(c.opened_total), 0), "
		"ifnull(sum(c.clicked_unique), 0),"
		" ifnull(sum(c.clicked_total), 0), ifnull(sum(c.bounced_hard), "
		"0),"
		" ifnull(sum(c.bounced_soft), 0), ifnull(sum(c.complained), 0),"
		" ifnull(sum(c.unsubscribed), 0) FROM campaigns AS c"
		" WHERE" CAMPAIGN_IN_PERIOD,
		4, a.v, &st, err) < 0)
		goto done;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto fail;
	out->campaigns = sqlite3_column_int64(st, 0);
	out->campaigns_with_stats = sqlite3_column_int64(st, 1);
	x->sent = sqlite3_column_int64(st, 2);
	x->opened_unique = sqlite3_column_int64(st, 3);
	x->opened_total = sqlite3_column_int64(st, 4);
	x->clicked_unique = sqlite3_column_int64(st, 5);
	x->clicked_total = sqlite3_column_int64(st, 6);
	x->bounced_hard = sqlite3_column_int64(st, 7);
	x->bounced_soft = sqlite3_column_int64(st, 8);
	x->complained = sqlite3_column_int64(st, 9);
	x->unsubscribed = sqlite3_column_int64(st, 10);
	sqlite3_finalize(st);
	st = NULL;
	/* Counted here: GROUP BY would sort every event by type. */
	if (prep_events(s, "e.event_type", "", &a, &st, err) < 0)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (event_type_parse(col_text(st, 0), &t) == 0)
			out->events[t]++;
	if (rc != SQLITE_DONE)
		goto fail;
	ret = 0;
	goto done;
fail:
	sq_db_err(err, s, "read report totals from");
done:
	sqlite3_finalize(st);
	return ret;
}

/* Counts of one day, per type. */
struct day_counts {
	int64_t day; /* days since the epoch */
	int64_t n[EV__COUNT];
};

/* The day of "YYYY-MM-DD"; -1 when malformed. */
static int parse_day(const char *s, int64_t *out)
{
	unsigned v[3] = {0, 0, 0};
	int i, k = 0;

	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			k++;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v[k] = v[k] * 10 + (unsigned)(s[i] - '0');
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31)
		return -1;
	*out = time_days_from_civil(v[0], v[1], v[2]);
	return 0;
}

/* The slot of day in the sorted array (added, zeroed, when new). */
static struct day_counts *day_slot(struct day_counts **days, size_t *n,
				   size_t *cap, size_t *last, int64_t day)
{
	size_t lo = 0, hi = *n;

	if (*last < *n && (*days)[*last].day == day)
		return &(*days)[*last];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((*days)[mid].day == day)
			return &(*days)[*last = mid];
		if ((*days)[mid].day < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 256;
		*days = xrealloc(*days, *cap * sizeof(**days));
	}
	memmove(&(*days)[lo + 1], &(*days)[lo], (*n - lo) * sizeof(**days));
	memset(&(*days)[lo], 0, sizeof(**days));
	(*days)[lo].day = day;
	(*n)++;
	return &(*days)[*last = lo];
}

/* One scan without a sort: SQLite's GROUP BY of a million events by day
 * and type sorts them all (about three times slower). The counts are kept
 * per distinct day, however many events there are. */
int sq_report_days(struct store *store, const struct store_period *p,
		   store_day_fn fn, void *ctx, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct day_counts *days = NULL;
	size_t n = 0, cap = 0, last = 0, i;
	struct period_args a;
	sqlite3_stmt *st = NULL;
	enum event_type t;
	int64_t day;
	int rc, k, ret = -1;

	period_args(&a, p);
	if (prep_events(s, "e.activity_date, e.event_type", "", &a, &st, err) <
	    0)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (parse_day(col_text(st, 0), &day) == 0 &&
		    event_type_parse(col_text(st, 1), &t) == 0)
			day_slot(&days, &n, &cap, &last, day)->n[t]++;
	if (rc != SQLITE_DONE) {
		ret = sq_db_err(err, s, "read daily events from");
		goto done;
	}
	sqlite3_finalize(st);
	st = NULL;
	for (i = 0; i < n; i++) {
		for (k = 0; k < EV__COUNT; k++) {
			struct store_day_row row;

			if (!days[i].n[k])
				continue;
			row.day = days[i].day * 86400;
			row.type = (enum event_type)k;
			row.events = days[i].n[k];
			ret = fn(ctx, &row);
			if (ret)
				goto done;
		}
	}
	ret = 0;
done:
	free(days);
	sqlite3_finalize(st);
	return ret;
}

int sq_report_campaigns(struct store *store, const struct store_period *p,
			store_campaign_fn fn, void *ctx, struct err *err)
{
	struct period_args a;

	period_args(&a, p);
	return sq_campaigns_query((struct sqlite_store *)store,
				  "WHERE" CAMPAIGN_IN_PERIOD
				  " ORDER BY c.sent_at DESC, c.provider,"
				  " c.account, c.campaign_id",
				  4, a.v, fn, ctx, err);
}

/* One row per url: the window orders a url's campaigns for the names'
 * array (SQLite 3.40 has no ORDER BY inside an aggregate). */
int sq_report_links(struct store *store, const struct store_period *p,
		    int64_t limit, store_link_fn fn, void *ctx, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct period_args a;
	char lim[24];
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	period_args(&a, p);
	snprintf(lim, sizeof(lim), "%lld", (long long)(limit > 0 ? limit : -1));
	a.v[4] = lim;
	if (sq_prep(
		s,
		"SELECT url, clicks, uniq, n, names FROM (SELECT l.url,"
		" sum(l.clicked_total) OVER w AS clicks,"
		" sum(l.clicked_unique) OVER w AS uniq, count(*) OVER w AS n,"
		" json_group_array(coalesce(c.name, c.campaign_id)) OVER w"
		" AS names, row_number() OVER w AS rn"
		" FROM campaign_links AS l JOIN campaigns AS c"
		" ON c.provider = l.provider AND c.account = l.account"
		" AND c.campaign_id = l.campaign_id WHERE" CAMPAIGN_IN_PERIOD
		" WINDOW w AS (PARTITION BY l.url ORDER BY l.clicked_total"
		" DESC, c.sent_at DESC, c.provider, c.account, c.campaign_id"
		" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))"
		" WHERE rn = 1 ORDER BY clicks DESC, uniq DESC, url"
		" LIMIT CAST(?5 AS INTEGER)",
		5, a.v, &st, err) < 0)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_link_row row;

		row.url = col_text(st, 0);
		row.clicks = sqlite3_column_int64(st, 1);
		row.unique_clicks = sqlite3_column_int64(st, 2);
		row.campaigns = sqlite3_column_int64(st, 3);
		row.campaigns_json = col_text(st, 4);
		ret = fn(ctx, &row);
		if (ret)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		ret = sq_db_err(err, s, "read links from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

/* Contacts per list in one pass over the owner's contacts: a contact's
 * lists column is a JSON array of list ids (malformed reads as none). */
int sq_report_lists(struct store *store, const struct store_period *p,
		    store_list_fn fn, void *ctx, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct period_args a;
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	period_args(&a, p);
	if (sq_prep(
		s,
		"WITH m AS (SELECT k.provider, k.account,"
		" CAST(j.value AS TEXT) AS list_id,"
		" sum(k.deleted_at IS NULL) AS live,"
		" sum(k.created_at IS NOT NULL AND" IN_PERIOD(
		    "k.created_at") ") AS added,"
				    " sum(k.deleted_at IS NOT NULL "
				    "AND" IN_PERIOD(
					"k.deleted_at") ") AS deleted FROM "
							"contacts AS k,"
							" json_each(iif(json_"
							"valid(k.lists), "
							"k.lists, '[]')) AS j"
							" WHERE" OWNER(
							    "k") " GROUP BY 1, "
								 "2, 3)"
								 " SELECT "
								 "l.provider, "
								 "l.account, "
								 "l.list_id, "
								 "l.name,"
								 " l."
								 "subscribed, "
								 "l."
								 "unsubscribed,"
								 " l.pending,"
								 " coalesce(m."
								 "live, 0), "
								 "coalesce(m."
								 "added, 0),"
								 " coalesce(m."
								 "deleted, 0) "
								 "FROM lists "
								 "AS l LEFT "
								 "JOIN m"
								 " ON "
								 "m.provider = "
								 "l.provider "
								 "AND "
								 "m.account = "
								 "l.account"
								 " AND "
								 "m.list_id = "
								 "l.list_id "
								 "WHERE" OWNER(
								     "l") " ORD"
									  "ER "
									  "BY "
									  "l."
									  "prov"
									  "ider"
									  ", "
									  "l."
									  "acco"
									  "unt,"
									  " l."
									  "list"
									  "_id",
		4, a.v, &st, err) < 0)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_list_row row;

		row.provider = col_text(st, 0);
		row.account = col_text(st, 1);
		row.list_id = col_text(st, 2);
		row.name = col_text(st, 3);
		row.subscribed = col_count(st, 4);
		row.unsubscribed = col_count(st, 5);
		row.pending = col_count(st, 6);
		row.contacts = sqlite3_column_int64(st, 7);
		row.added = sqlite3_column_int64(st, 8);
		row.deleted = sqlite3_column_int64(st, 9);
		ret = fn(ctx, &row);
		if (ret)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		ret = sq_db_err(err, s, "read lists from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

int sq_report_accounts(struct store *store, const struct store_period *p,
		       store_account_fn fn, void *ctx, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct period_args a;
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	period_args(&a, p);
	if (sq_prep(s,
		    "WITH a AS (SELECT provider, account FROM campaigns"
		    " UNION SELECT provider, account FROM contacts"
		    " UNION SELECT provider, account FROM lists"
		    " UNION SELECT provider, account FROM sync_runs"
		    " WHERE provider IS NOT NULL AND account IS NOT NULL)"
		    " SELECT a.provider, a.account, (SELECT count(*)"
		    " FROM campaigns AS c WHERE c.provider = a.provider"
		    " AND c.account = a.account), r.run_id,"
		    " CAST(strftime('%s', r.started_at) AS INTEGER),"
		    " CAST(strftime('%s', r.finished_at) AS INTEGER), r.status,"
		    " r.requests, r.retries, r.throttled, r.records, r.error"
		    " FROM a LEFT JOIN sync_runs AS r ON r.run_id = (SELECT"
		    " max(x.run_id) FROM sync_runs AS x WHERE x.provider ="
		    " a.provider AND x.account = a.account)"
		    " WHERE" OWNER("a") " ORDER BY a.provider, a.account",
		    2, a.v, &st, err) < 0)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_account_row row;

		memset(&row, 0, sizeof(row));
		row.provider = col_text(st, 0);
		row.account = col_text(st, 1);
		row.campaigns = sqlite3_column_int64(st, 2);
		row.has_run = sqlite3_column_type(st, 3) != SQLITE_NULL;
		if (row.has_run) {
			row.run.run_id = sqlite3_column_int64(st, 3);
			row.run.provider = row.provider;
			row.run.account = row.account;
			row.run.started_at = col_time(st, 4);
			row.run.finished_at = col_time(st, 5);
			row.run.status =
			    store_run_status_parse(col_text(st, 6));
			row.run.requests = sqlite3_column_int64(st, 7);
			row.run.retries = sqlite3_column_int64(st, 8);
			row.run.throttled = sqlite3_column_int64(st, 9);
			row.run.records_json = col_text(st, 10);
			row.run.error = col_text(st, 11);
		}
		ret = fn(ctx, &row);
		if (ret)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		ret = sq_db_err(err, s, "read accounts from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

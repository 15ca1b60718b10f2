/* The report's figures, read through the store's report operations: the
 * period (given, or the days the store holds data of), totals of it and of
 * the period of the same length before it, events per day, campaigns,
 * links, lists and accounts. Nothing here knows which store is in use. */
#include "export/report_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "util/banned.h"

#define DAY_S 86400
/* A longer period is refused: its day rows would be the report's size. */
#define MAX_PERIOD_DAYS 36600

double report_rate(int64_t num, int64_t den)
{
	if (den <= 0)
		return NAN;
	return (double)num / (double)den;
}

static int64_t floor_day(int64_t t)
{
	int64_t d = t / DAY_S;

	if (t % DAY_S < 0)
		d--;
	return d * DAY_S;
}

int report_parse_date(const char *s, int is_end, int64_t *out)
{
	int64_t t;
	size_t i;

	if (!s || strlen(s) != 10)
		return -1;
	for (i = 0; i < 10; i++)
		if ((i == 4 || i == 7) ? s[i] != '-'
				       : (s[i] < '0' || s[i] > '9'))
			return -1;
	if (time_parse(s, 0, &t) != 0 || t % DAY_S != 0)
		return -1;
	*out = is_end ? t + DAY_S : t;
	return 0;
}

/* Grows *arr (of elem bytes, *cap slots) to hold n + 1. */
static void *grow(void *arr, size_t elem, size_t n, size_t *cap)
{
	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 16;
	return xrealloc(arr, elem * *cap);
}

/* ---------------------------------------------------------------- period */

/* Day rows of all time, kept to find the data's first and last day and
 * reused for the period's chart (one pass over the events). */
struct span {
	struct store_day_row *rows;
	size_t n, cap;
	int64_t first, last; /* TIME_NULL when nothing */
};

static void span_see(struct span *sp, int64_t day)
{
	if (sp->first == TIME_NULL || day < sp->first)
		sp->first = day;
	if (sp->last == TIME_NULL || day > sp->last)
		sp->last = day;
}

static int on_span_day(void *ctx, const struct store_day_row *row)
{
	struct span *sp = ctx;

	sp->rows = grow(sp->rows, sizeof(*sp->rows), sp->n, &sp->cap);
	sp->rows[sp->n++] = *row;
	span_see(sp, floor_day(row->day));
	return 0;
}

static int on_span_campaign(void *ctx, const char *provider,
			    const char *account, const struct rec_campaign *c)
{
	(void)provider;
	(void)account;
	if (c->sent_at != TIME_NULL)
		span_see(ctx, floor_day(c->sent_at));
	return 0;
}

static int resolve_period(struct report *r, struct store *s, struct span *sp,
			  struct err *err)
{
	const struct report_options *o = r->opts;
	struct store_period all = {o->provider, o->account, TIME_NULL,
				   TIME_NULL};

	sp->first = sp->last = TIME_NULL;
	if (o->since == TIME_NULL || o->until == TIME_NULL) {
		if (s->ops->report_days(s, &all, on_span_day, sp, err) != 0 ||
		    s->ops->report_campaigns(s, &all, on_span_campaign, sp,
					     err) != 0)
			return -1;
	}
	r->has_data = sp->first != TIME_NULL;
	r->since = o->since;
	r->until = o->until;
	if (r->until == TIME_NULL)
		r->until =
		    r->has_data ? sp->last + DAY_S : floor_day(o->now) + DAY_S;
	if (r->since == TIME_NULL)
		r->since = r->has_data && sp->first < r->until
			       ? sp->first
			       : r->until - 30 * DAY_S;
	if (r->until <= r->since)
		r->until = r->since + DAY_S;
	r->n_days = (r->until - r->since) / DAY_S;
	if (r->n_days > MAX_PERIOD_DAYS)
		return err_set(err, ERR_USAGE, 0,
			       "the period is longer than %d days",
			       MAX_PERIOD_DAYS);
	r->prev_since = r->since - (r->until - r->since);
	return 0;
}

/* ---------------------------------------------------------------- reads */

static void add_day(struct report *r, const struct store_day_row *row)
{
	int64_t i;

	if (row->day < r->since || row->day >= r->until ||
	    (unsigned)row->type >= EV__COUNT)
		return;
	i = (row->day - r->since) / DAY_S;
	r->days[i][row->type] += row->events;
}

static int on_day(void *ctx, const struct store_day_row *row)
{
	add_day(ctx, row);
	return 0;
}

static int on_campaign(void *ctx, const char *provider, const char *account,
		       const struct rec_campaign *c)
{
	struct report *r = ctx;
	struct report_campaign *rc;

	r->campaigns = grow(r->campaigns, sizeof(*r->campaigns), r->n_campaigns,
			    &r->cap_campaigns);
	rc = &r->campaigns[r->n_campaigns++];
	rc->provider = arena_strdup(&r->arena, provider);
	rc->account = arena_strdup(&r->arena, account);
	rc->campaign_id = arena_strdup(&r->arena, c->campaign_id);
	rc->name = arena_strdup(&r->arena, c->name);
	rc->sent_at = c->sent_at;
	rc->st = c->stats;
	rc->verified_unique_opens = c->verified_unique_opens;
	return 0;
}

static int on_link(void *ctx, const struct store_link_row *row)
{
	struct report *r = ctx;
	struct report_link *l;

	r->links = grow(r->links, sizeof(*r->links), r->n_links, &r->cap_links);
	l = &r->links[r->n_links++];
	l->url = arena_strdup(&r->arena, row->url);
	l->campaigns_json = arena_strdup(&r->arena, row->campaigns_json);
	l->clicks = row->clicks;
	l->unique_clicks = row->unique_clicks;
	l->campaigns = row->campaigns;
	return 0;
}

static int on_list(void *ctx, const struct store_list_row *row)
{
	struct report *r = ctx;
	struct store_list_row *l;

	r->lists = grow(r->lists, sizeof(*r->lists), r->n_lists, &r->cap_lists);
	l = &r->lists[r->n_lists++];
	*l = *row;
	l->provider = arena_strdup(&r->arena, row->provider);
	l->account = arena_strdup(&r->arena, row->account);
	l->list_id = arena_strdup(&r->arena, row->list_id);
	l->name = arena_strdup(&r->arena, row->name);
	return 0;
}

static int on_account(void *ctx, const struct store_account_row *row)
{
	struct report *r = ctx;
	struct report_account *a;

	r->accounts = grow(r->accounts, sizeof(*r->accounts), r->n_accounts,
			   &r->cap_accounts);
	a = &r->accounts[r->n_accounts++];
	memset(a, 0, sizeof(*a));
	a->provider = arena_strdup(&r->arena, row->provider);
	a->account = arena_strdup(&r->arena, row->account);
	a->campaigns = row->campaigns;
	a->has_run = row->has_run;
	a->run = row->run;
	a->run.provider = arena_strdup(&r->arena, row->run.provider);
	a->run.account = arena_strdup(&r->arena, row->run.account);
	a->run.records_json = arena_strdup(&r->arena, row->run.records_json);
	a->run.error = arena_strdup(&r->arena, row->run.error);
	return 0;
}

/* Totals of each account, when there are several to tell apart. */
static int account_totals(struct report *r, struct store *s, struct err *err)
{
	size_t i;

	if (r->n_accounts < 2)
		return 0;
	for (i = 0; i < r->n_accounts; i++) {
		struct report_account *a = &r->accounts[i];
		struct store_period p = {a->provider, a->account, r->since,
					 r->until};
		struct store_period q = {a->provider, a->account, r->prev_since,
					 r->since};

		if (s->ops->report_totals(s, &p, &a->totals, err) != 0 ||
		    s->ops->report_totals(s, &q, &a->prev, err) != 0)
			return -1;
	}
	return 0;
}

int report_load(struct report *r, struct store *s,
		const struct report_options *opts, struct err *err)
{
	struct span sp = {NULL, 0, 0, TIME_NULL, TIME_NULL};
	struct store_period cur, prev;
	int ret = -1;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->opts = opts;
	r->arena = (struct arena)ARENA_INIT;
	if (!s->ops->report_totals || !s->ops->report_days ||
	    !s->ops->report_campaigns || !s->ops->report_links ||
	    !s->ops->report_lists || !s->ops->report_accounts) {
		err_set(err, ERR_STORE, 0,
			"the %s store cannot read a report yet", s->ops->name);
		goto done;
	}
	if (resolve_period(r, s, &sp, err) < 0)
		goto done;
	r->days = xcalloc((size_t)r->n_days, sizeof(*r->days));
	cur = (struct store_period){opts->provider, opts->account, r->since,
				    r->until};
	prev = (struct store_period){opts->provider, opts->account,
				     r->prev_since, r->since};
	if (opts->since == TIME_NULL || opts->until == TIME_NULL) {
		/* the all-time day rows are already here */
		for (i = 0; i < sp.n; i++)
			add_day(r, &sp.rows[i]);
	} else if (s->ops->report_days(s, &cur, on_day, r, err) != 0) {
		goto done;
	}
	if (s->ops->report_totals(s, &cur, &r->cur, err) != 0 ||
	    s->ops->report_totals(s, &prev, &r->prev, err) != 0 ||
	    s->ops->report_campaigns(s, &cur, on_campaign, r, err) != 0 ||
	    s->ops->report_links(s, &cur, REPORT_TOP_LINKS, on_link, r, err) !=
		0 ||
	    s->ops->report_lists(s, &cur, on_list, r, err) != 0 ||
	    s->ops->report_accounts(s, &cur, on_account, r, err) != 0 ||
	    account_totals(r, s, err) < 0)
		goto done;
	if (r->cur.campaigns || r->prev.campaigns)
		r->has_data = 1;
	for (i = 0; i < EV__COUNT; i++)
		if (r->cur.events[i])
			r->has_data = 1;
	ret = 0;
done:
	free(sp.rows);
	return ret;
}

void report_release(struct report *r)
{
	free(r->days);
	free(r->campaigns);
	free(r->links);
	free(r->lists);
	free(r->accounts);
	arena_release(&r->arena);
	memset(r, 0, sizeof(*r));
}

/* The store's report reads (store.h, "report reads") against hand-computed
 * figures of a small fixture: an empty store, campaigns without events,
 * campaigns without statistics, drafts, a provider with no `sent` events,
 * period and owner filters, link ordering and limits, list growth and
 * deletions, accounts with and without runs, and callbacks that stop.
 *
 * The store is a fresh SQLite file, or ESPSYNC_TEST_STORE_URL when set (an
 * empty PostgreSQL or MongoDB database: tests/e2e/test_report_store.py runs
 * this binary against both). The tests run in order and share the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"

#define DAY 86400
#define MAR1 1709251200 /* 2024-03-01T00:00:00Z */
#define H 3600

static struct store *S;
static char dir[64];
static int is_mongo; /* one bounce counter: soft reads back as hard */

static const struct store_period period_all = STORE_PERIOD_ALL;
/* The fixture's period: March 1 to 7. */
static const struct store_period march = {NULL, NULL, MAR1, MAR1 + 7 * DAY};

static int group_setup(void **state)
{
	const char *url = getenv("ESPSYNC_TEST_STORE_URL");
	char path[128];
	struct err err = ERR_INIT;

	(void)state;
	if (!url || !*url) {
		snprintf(dir, sizeof(dir), "/tmp/espsync-report-XXXXXX");
		if (!mkdtemp(dir))
			return -1;
		snprintf(path, sizeof(path), "sqlite:%s/r.db", dir);
		url = path;
	}
	if (store_open(&S, url, &err) < 0) {
		fprintf(stderr, "open: %s\n", err.msg);
		return -1;
	}
	is_mongo = strcmp(S->ops->name, "mongodb") == 0;
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	store_close(S);
	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ collectors */

struct rows {
	char text[2048];
	int n, stop_at;
};

static void addf(struct rows *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void addf(struct rows *r, const char *fmt, ...)
{
	size_t len = strlen(r->text);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->text + len, sizeof(r->text) - len, fmt, ap);
	va_end(ap);
	r->n++;
}

static int stop(struct rows *r)
{
	return r->stop_at && r->n >= r->stop_at ? 7 : 0;
}

static int on_day(void *ctx, const struct store_day_row *row)
{
	char date[11];

	time_format_date(row->day, date);
	assert_int_equal(row->day % DAY, 0);
	addf(ctx, "%s %s %lld;", date, event_type_name(row->type),
	     (long long)row->events);
	return stop(ctx);
}

static int on_campaign(void *ctx, const char *provider, const char *account,
		       const struct rec_campaign *c)
{
	addf(ctx, "%s/%s/%s %lld/%lld;", provider, account, c->campaign_id,
	     (long long)c->stats.sent, (long long)c->stats.opened_unique);
	return stop(ctx);
}

static int on_link(void *ctx, const struct store_link_row *row)
{
	addf(ctx, "%s %lld %lld %lld %s;", row->url, (long long)row->clicks,
	     (long long)row->unique_clicks, (long long)row->campaigns,
	     row->campaigns_json);
	return stop(ctx);
}

static int on_list(void *ctx, const struct store_list_row *row)
{
	addf(ctx, "%s/%s/%s %s %lld %lld %lld %lld %lld %lld;", row->provider,
	     row->account, row->list_id, row->name ? row->name : "-",
	     (long long)row->subscribed, (long long)row->unsubscribed,
	     (long long)row->pending, (long long)row->contacts,
	     (long long)row->added, (long long)row->deleted);
	return stop(ctx);
}

static int on_account(void *ctx, const struct store_account_row *row)
{
	char run[96] = "";

	if (row->has_run)
		snprintf(run, sizeof(run), " run %s %lld %lld",
			 store_run_status_name(row->run.status),
			 (long long)row->run.started_at,
			 (long long)row->run.requests);
	addf(ctx, "%s/%s %lld%s;", row->provider, row->account,
	     (long long)row->campaigns, run);
	return stop(ctx);
}

/* Every read of period p into text, one section per op. */
static void read_all(const struct store_period *p, int64_t limit, char *out,
		     size_t size)
{
	struct rows d = {{0}, 0, 0}, c = d, l = d, li = d, a = d;
	struct err err = ERR_INIT;

	assert_int_equal(S->ops->report_days(S, p, on_day, &d, &err), 0);
	assert_int_equal(S->ops->report_campaigns(S, p, on_campaign, &c, &err),
			 0);
	assert_int_equal(S->ops->report_links(S, p, limit, on_link, &l, &err),
			 0);
	assert_int_equal(S->ops->report_lists(S, p, on_list, &li, &err), 0);
	assert_int_equal(S->ops->report_accounts(S, p, on_account, &a, &err),
			 0);
	snprintf(out, size,
		 "days:%s\ncampaigns:%s\nlinks:%s\nlists:%s\n"
		 "accounts:%s",
		 d.text, c.text, l.text, li.text, a.text);
}

static void totals(const struct store_period *p, struct store_totals *t)
{
	struct err err = ERR_INIT;

	assert_int_equal(S->ops->report_totals(S, p, t, &err), 0);
}

/* ------------------------------------------------------------ fixture */

static void campaign(struct batch *b, const char *id, const char *name,
		     int64_t sent_at, const int64_t *st)
{
	struct rec_campaign *c = batch_add_campaign(b);

	c->campaign_id = id;
	c->name = name;
	c->status = sent_at == TIME_NULL ? "draft" : "sent";
	c->sent_at = sent_at;
	if (!st)
		return;
	c->has_stats = 1;
	c->stats.sent = st[0];
	c->stats.opened_unique = st[1];
	c->stats.opened_total = st[2];
	c->stats.clicked_unique = st[3];
	c->stats.clicked_total = st[4];
	c->stats.bounced_hard = st[5];
	c->stats.bounced_soft = st[6];
	c->stats.complained = st[7];
	c->stats.unsubscribed = st[8];
}

static void add_link(struct batch *b, const char *campaign_id, const char *url,
		     int64_t total, int64_t uniq)
{
	struct rec_link *l = batch_add_link(b);

	l->campaign_id = campaign_id;
	l->url = url;
	l->clicked_total = total;
	l->clicked_unique = uniq;
}

static void participant(struct batch *b, const char *campaign_id,
			const char *contact_id, const char *email,
			unsigned flags)
{
	struct rec_participant *r = batch_add_participant(b);

	r->campaign_id = campaign_id;
	r->contact_id = contact_id;
	r->email = email;
	r->flags = flags;
}

static void event(struct batch *b, const char *campaign_id, const char *contact,
		  enum event_type t, int64_t ts)
{
	struct rec_event *e = batch_add_event(b);

	e->campaign_id = campaign_id;
	e->contact_id = contact;
	e->contact_email = contact;
	e->type = t;
	e->ts = ts;
	e->link_url = t == EV_CLICK ? "https://a.example/" : NULL;
	event_make_id(e, b->provider, b->account);
}

static void contact(struct batch *b, const char *id, const char *lists,
		    int64_t created_at, int64_t deleted_at)
{
	struct rec_contact *k = batch_add_contact(b);

	k->contact_id = id;
	k->email = id;
	k->status = "subscribed";
	k->lists_json = lists;
	k->created_at = created_at;
	k->deleted_at = deleted_at;
}

static void list(struct batch *b, const char *id, const char *name, int64_t sub,
		 int64_t unsub, int64_t pending)
{
	struct rec_list *l = batch_add_list(b);

	l->list_id = id;
	l->name = name;
	l->subscribed = sub;
	l->unsubscribed = unsub;
	l->pending = pending;
}

static void put(struct batch *b)
{
	struct store_counts n;
	struct err err = ERR_INIT;

	if (S->ops->write_batch(S, b, &n, &err) < 0)
		fail_msg("write_batch: %s", err.msg);
	assert_int_equal(n.failed, 0);
	batch_release(b);
}

/* Campaigns, links, lists and contacts; no events yet. */
static void write_campaigns(void)
{
	static const int64_t c1[] = {100, 40, 60, 10, 15, 2, 3, 1, 4},
			     c2[] = {50, 20, 25, 5, 6, 1, 0, 0, 1},
			     d1[] = {10, 5, 5, 2, 2, 0, 1, 0, 0},
			     d2[] = {20, 0, 0, 0, 0, 0, 0, 0, 0};
	struct batch b;

	batch_init(&b, "p1", "a1");
	campaign(&b, "c1", "One", MAR1 + DAY + 10 * H, c1);
	campaign(&b, "c2", "<Two>", MAR1 + 4 * DAY + 10 * H, c2);
	campaign(&b, "c3", "Draft", TIME_NULL, NULL);
	campaign(&b, "c4", "No stats", MAR1 + 5 * DAY, NULL);
	add_link(&b, "c1", "https://a.example/", 10, 8);
	add_link(&b, "c1", "https://b.example/", 5, 2);
	add_link(&b, "c2", "https://a.example/", 3, 3);
	participant(&b, "c1", "1", "b@x", ENG_SENT | ENG_OPENED);
	participant(&b, "c1", "2", "a@x", ENG_SENT);
	list(&b, "L1", "Main", 3, 1, -1);
	list(&b, "L2", NULL, -1, -1, -1);
	contact(&b, "1", "[\"L1\"]", MAR1 + DAY, TIME_NULL);
	contact(&b, "2", "[\"L1\",\"L2\"]", MAR1 - 29 * DAY, TIME_NULL);
	contact(&b, "3", "[\"L1\"]", MAR1 + 2 * DAY, MAR1 + 3 * DAY);
	contact(&b, "4", "[\"L2\"]", TIME_NULL, TIME_NULL);
	put(&b);
	batch_init(&b, "p2", "a2");
	campaign(&b, "d1", NULL, MAR1 + 2 * DAY, d1);
	campaign(&b, "d2", "Old", MAR1 - 10 * DAY, d2);
	add_link(&b, "d1", "https://c.example/", 7, 2);
	participant(&b, "d1", "9", "c@x", ENG_CLICKED);
	add_link(&b, "d2", "https://a.example/", 100, 50);
	put(&b);
}

/* p1 sends and gets opens; p2 (like ActiveCampaign) has no `sent`. */
static void write_events(void)
{
	struct batch b;

	batch_init(&b, "p1", "a1");
	event(&b, "c1", "x", EV_SENT, MAR1 + DAY + 10 * H);
	event(&b, "c1", "y", EV_SENT, MAR1 + DAY + 10 * H);
	event(&b, "c1", "z", EV_SENT, MAR1 + DAY + 10 * H);
	event(&b, "c1", "x", EV_OPEN, MAR1 + DAY + 11 * H);
	event(&b, "c1", "y", EV_OPEN, MAR1 + DAY + 23 * H);
	event(&b, "c1", "z", EV_BOUNCE, MAR1 + DAY + 10 * H);
	event(&b, "c1", "x", EV_OPEN, MAR1 + 2 * DAY);
	event(&b, "c1", "x", EV_CLICK, MAR1 + 2 * DAY + 1);
	event(&b, "c1", "w", EV_OPEN, MAR1 - DAY); /* before the period */
	put(&b);
	batch_init(&b, "p2", "a2");
	event(&b, "d1", "v", EV_OPEN, MAR1 + 2 * DAY + 5 * H);
	event(&b, "d1", "v", EV_CLICK, MAR1 + 3 * DAY);
	event(&b, "d1", "v", EV_UNSUBSCRIBE, MAR1 + 3 * DAY + 1);
	put(&b);
}

static void write_run(void)
{
	struct run_row run;
	struct err err = ERR_INIT;

	memset(&run, 0, sizeof(run));
	run.provider = "p1";
	run.account = "a1";
	run.started_at = MAR1 + 6 * DAY;
	run.records_json = "{}";
	assert_int_equal(S->ops->run_begin(S, &run, &err), 0);
	run.status = RUN_COMPLETE;
	run.finished_at = MAR1 + 6 * DAY + 60;
	run.requests = 12;
	assert_int_equal(S->ops->run_finish(S, &run, &err), 0);
}

/* ------------------------------------------------------------ tests */

static void test_empty_store(void **state)
{
	struct store_totals t, zero;
	char text[16384];

	(void)state;
	memset(&zero, 0, sizeof(zero));
	totals(&period_all, &t);
	assert_memory_equal(&t, &zero, sizeof(t));
	totals(&march, &t);
	assert_memory_equal(&t, &zero, sizeof(t));
	read_all(&period_all, 0, text, sizeof(text));
	assert_string_equal(text, "days:\ncampaigns:\nlinks:\nlists:\n"
				  "accounts:");
}

/* Campaigns without events: counters from the campaigns, no events. */
static void test_no_events(void **state)
{
	struct store_totals t;
	struct rows d = {{0}, 0, 0};
	struct err err = ERR_INIT;
	int i;

	(void)state;
	write_campaigns();
	totals(&march, &t);
	assert_int_equal(t.campaigns, 4); /* c1 c2 c4 d1; not the draft */
	assert_int_equal(t.campaigns_with_stats, 3);
	assert_int_equal(t.sums.sent, 160);
	for (i = 0; i < EV__COUNT; i++)
		assert_int_equal(t.events[i], 0);
	assert_int_equal(S->ops->report_days(S, &march, on_day, &d, &err), 0);
	assert_int_equal(d.n, 0);
}

static void test_totals(void **state)
{
	const struct store_period p2 = {"p2", NULL, MAR1, MAR1 + 7 * DAY},
				  none = {NULL, NULL, MAR1 + 400 * DAY,
					  TIME_NULL};
	struct store_totals t;
	struct store_stats st;
	struct err err = ERR_INIT;

	(void)state;
	write_events();
	write_run();
	totals(&march, &t);
	assert_int_equal(t.campaigns, 4);
	assert_int_equal(t.campaigns_with_stats, 3);
	assert_int_equal(t.sums.sent, 160);
	assert_int_equal(t.sums.opened_unique, 65);
	assert_int_equal(t.sums.opened_total, 90);
	assert_int_equal(t.sums.clicked_unique, 17);
	assert_int_equal(t.sums.clicked_total, 23);
	assert_int_equal(t.sums.bounced_hard + t.sums.bounced_soft, 7);
	if (!is_mongo) {
		assert_int_equal(t.sums.bounced_hard, 3);
		assert_int_equal(t.sums.bounced_soft, 4);
	}
	assert_int_equal(t.sums.complained, 1);
	assert_int_equal(t.sums.unsubscribed, 5);
	assert_int_equal(t.events[EV_SENT], 3);
	assert_int_equal(t.events[EV_OPEN], 4);
	assert_int_equal(t.events[EV_CLICK], 2);
	assert_int_equal(t.events[EV_BOUNCE], 1);
	assert_int_equal(t.events[EV_COMPLAINT], 0);
	assert_int_equal(t.events[EV_UNSUBSCRIBE], 1);

	/* All time: the old campaign and the early open join; the events
	 * are those `espsync stats` counts. */
	totals(&period_all, &t);
	assert_int_equal(t.campaigns, 5);
	assert_int_equal(t.sums.sent, 180);
	assert_int_equal(S->ops->stats(S, NULL, &st, &err), 0);
	assert_memory_equal(t.events, st.events, sizeof(t.events));
	assert_int_equal(t.events[EV_OPEN], 5);

	/* A provider with no `sent` events. */
	totals(&p2, &t);
	assert_int_equal(t.campaigns, 1);
	assert_int_equal(t.sums.sent, 10);
	assert_int_equal(t.events[EV_SENT], 0);
	assert_int_equal(t.events[EV_OPEN], 1);
	assert_int_equal(t.events[EV_CLICK], 1);
	assert_int_equal(t.events[EV_UNSUBSCRIBE], 1);

	/* A period with nothing in it. */
	totals(&none, &t);
	assert_int_equal(t.campaigns, 0);
	assert_int_equal(t.sums.sent, 0);
	assert_int_equal(t.events[EV_OPEN], 0);
}

static void test_reads(void **state)
{
	char text[16384], want[1024];

	(void)state;
	snprintf(want, sizeof(want),
		 "days:2024-03-02 sent 3;2024-03-02 open 2;2024-03-02 bounce 1;"
		 "2024-03-03 open 2;2024-03-03 click 1;2024-03-04 click 1;"
		 "2024-03-04 unsubscribe 1;\n"
		 "campaigns:p1/a1/c4 0/0;p1/a1/c2 50/20;p2/a2/d1 10/5;"
		 "p1/a1/c1 100/40;\n"
		 "links:https://a.example/ 13 11 2 [\"One\",\"<Two>\"];"
		 "https://c.example/ 7 2 1 [\"d1\"];"
		 "https://b.example/ 5 2 1 [\"One\"];\n"
		 "lists:p1/a1/L1 Main 3 1 -1 2 2 1;p1/a1/L2 - -1 -1 -1 2 0 0;\n"
		 "accounts:p1/a1 4 run complete %lld 12;p2/a2 2;",
		 (long long)(MAR1 + 6 * DAY));
	read_all(&march, 0, text, sizeof(text));
	assert_string_equal(text, want);
}

static void test_filters_and_limit(void **state)
{
	const struct store_period p1 = {"p1", "a1", TIME_NULL, TIME_NULL},
				  wrong = {"p1", "a2", TIME_NULL, TIME_NULL};
	char text[16384];
	char want[512];

	(void)state;
	read_all(&period_all, 1, text, sizeof(text));
	/* All time the old campaign's 100 clicks lead. */
	assert_non_null(
	    strstr(text, "links:https://a.example/ 113 61 3 [\"Old\",\"One\","
			 "\"<Two>\"];\nlists:"));
	assert_non_null(strstr(text, "2024-02-29 open 1;2024-03-02 sent 3;"));
	/* Lists: all-time growth counts the contact created in February. */
	assert_non_null(strstr(text, "p1/a1/L1 Main 3 1 -1 2 3 1;"));

	read_all(&p1, 0, text, sizeof(text));
	assert_non_null(strstr(text, "campaigns:p1/a1/c4 0/0;p1/a1/c2 50/20;"
				     "p1/a1/c1 100/40;\n"));
	snprintf(want, sizeof(want), "accounts:p1/a1 4 run complete %lld 12;",
		 (long long)(MAR1 + 6 * DAY));
	assert_non_null(strstr(text, want));

	read_all(&wrong, 0, text, sizeof(text));
	assert_string_equal(text, "days:\ncampaigns:\nlinks:\nlists:\n"
				  "accounts:");
}

static void test_stop(void **state)
{
	struct rows r = {{0}, 0, 2};
	struct err err = ERR_INIT;

	(void)state;
	assert_int_equal(S->ops->report_days(S, &march, on_day, &r, &err), 7);
	assert_int_equal(r.n, 2);
	r.n = 0;
	assert_int_equal(
	    S->ops->report_campaigns(S, &march, on_campaign, &r, &err), 7);
	r.n = 0;
	assert_int_equal(S->ops->report_links(S, &march, 0, on_link, &r, &err),
			 7);
	r.n = 0;
	assert_int_equal(S->ops->report_lists(S, &march, on_list, &r, &err), 7);
	r.n = 0;
	r.stop_at = 1;
	assert_int_equal(
	    S->ops->report_accounts(S, &march, on_account, &r, &err), 7);
}

/* `export csv --combined`: each_participant inside each_campaign reads the
 * participants of every campaign (a backend must allow the nesting). */
struct nested {
	struct rows out;
	const char *campaign;
};

static int on_participant(void *ctx, const struct export_row *row)
{
	struct nested *n = ctx;

	addf(&n->out, "%s:%s;", n->campaign, row->email);
	return 0;
}

static int on_any_campaign(void *ctx, const char *provider, const char *account,
			   const struct rec_campaign *c)
{
	struct nested *n = ctx;
	struct err err = ERR_INIT;

	n->campaign = c->campaign_id;
	return S->ops->each_participant(S, provider, account, c->campaign_id,
					on_participant, n, &err);
}

static void test_participants_of_all_campaigns(void **state)
{
	struct nested n;
	struct err err = ERR_INIT;

	(void)state;
	memset(&n, 0, sizeof(n));
	assert_int_equal(
	    S->ops->each_campaign(S, NULL, NULL, on_any_campaign, &n, &err), 0);
	assert_string_equal(n.out.text, "c1:a@x;c1:b@x;d1:c@x;");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_store),
	    cmocka_unit_test(test_no_events),
	    cmocka_unit_test(test_totals),
	    cmocka_unit_test(test_reads),
	    cmocka_unit_test(test_filters_and_limit),
	    cmocka_unit_test(test_stop),
	    cmocka_unit_test(test_participants_of_all_campaigns),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

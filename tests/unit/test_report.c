/* The HTML report from a temporary SQLite store written through
 * write_batch: the figures (headline, events, funnel, best and worst,
 * deliverability flags), the explanations of an empty store, hostile names
 * kept as text, a failure at the buffer maximum, and --since/--until
 * dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "export/report.h"
#include "store/sqlite.h"
#include "util/buf.h"

#define DAY 86400
/* 2026-01-05 00:00 UTC, a Monday */
#define T0 ((int64_t)1767571200)

struct fixture {
	char dir[64];
	struct store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[128];

	snprintf(f->dir, sizeof(f->dir), "/tmp/espsync-report-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/t.db", f->dir);
	if (sqlite_store_ops.open(&f->s, path, NULL, NULL) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[200];

	store_close(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct rec_campaign *campaign(struct batch *b, const char *id,
				     const char *name, int64_t sent_at,
				     int64_t sent, int64_t opened,
				     int64_t clicked)
{
	struct rec_campaign *c = batch_add_campaign(b);

	c->campaign_id = id;
	c->name = name;
	c->status = "sent";
	c->sent_at = sent_at;
	c->has_stats = 1;
	c->stats.sent = sent;
	c->stats.opened_unique = opened;
	c->stats.opened_total = opened;
	c->stats.clicked_unique = clicked;
	c->stats.clicked_total = clicked;
	return c;
}

static void event(struct batch *b, const char *cid, const char *contact,
		  enum event_type type, int64_t ts, const char *url)
{
	struct rec_event *e = batch_add_event(b);

	e->campaign_id = cid;
	e->contact_id = contact;
	e->contact_email = contact;
	e->type = type;
	e->ts = ts;
	e->times = 1;
	e->link_url = url;
	event_make_id(e, b->provider, b->account);
}

/* Three campaigns in the week of T0 (one hostile name, one without
 * statistics), one in the week before, events, a link and a list. */
static void seed(struct store *s)
{
	struct batch b;
	struct rec_campaign *c;
	struct rec_link *l;
	struct rec_list *li;
	struct err err = ERR_INIT;

	batch_init(&b, "emailoctopus", "default");
	c = campaign(&b, "c1", "<script>alert(1)</script>", T0 + 3600, 1000,
		     400, 100);
	c->verified_unique_opens = 250; /* 25.0 % of 1000 */
	c = campaign(&b, "c2", "Spring & \"sale\"", T0 + DAY + 3600, 500, 100,
		     10);
	c->stats.bounced_hard = 8;
	c->stats.bounced_soft = 4; /* 2.4 %: flagged */
	c->stats.complained = 1;   /* 0.2 %: flagged */
	c->stats.unsubscribed = 5;
	c = campaign(&b, "c3", NULL, T0 + 2 * DAY, 0, 0, 0);
	c->has_stats = 0;
	campaign(&b, "c0", "Last week", T0 - 5 * DAY, 1000, 300, 50);
	c = batch_add_campaign(&b);
	c->campaign_id = "d1";
	c->name = "Draft";
	c->status = "draft";
	event(&b, "c1", "a@x", EV_OPEN, T0 + 7200, NULL);
	event(&b, "c1", "b@x", EV_OPEN, T0 + DAY + 60, NULL);
	event(&b, "c1", "a@x", EV_CLICK, T0 + 7300,
	      "https://x.test/\"><img src=x onerror=alert(2)>");
	event(&b, "c2", "c@x", EV_BOUNCE, T0 + DAY + 7200, NULL);
	event(&b, "c0", "a@x", EV_OPEN, T0 - 5 * DAY + 60, NULL);
	l = batch_add_link(&b);
	l->campaign_id = "c1";
	l->url = "https://x.test/\"><img src=x onerror=alert(2)>";
	l->clicked_total = 7;
	l->clicked_unique = 5;
	li = batch_add_list(&b);
	li->list_id = "l1";
	li->name = "<b>Customers</b>";
	li->subscribed = 40;
	li->unsubscribed = -1;
	li->pending = 2;
	assert_int_equal(s->ops->write_batch(s, &b, NULL, &err), 0);
	batch_release(&b);
}

static struct report_options options(int64_t since, int64_t until)
{
	struct report_options o;

	memset(&o, 0, sizeof(o));
	o.since = since;
	o.until = until;
	o.now = T0 + 30 * DAY;
	o.store_name = "sqlite:<t>.db";
	return o;
}

/* The text of the element with id="id", up to the next tag. */
static const char *by_id(const char *doc, const char *id, char *out,
			 size_t size)
{
	char key[64];
	const char *p, *end;

	snprintf(key, sizeof(key), "id=\"%s\">", id);
	p = strstr(doc, key);
	if (!p)
		fail_msg("no element with id '%s'", id);
	p += strlen(key);
	end = strchr(p, '<');
	snprintf(out, size, "%.*s", (int)(end - p), p);
	return out;
}

static void assert_inert(const char *doc)
{
	assert_null(strstr(doc, "<script"));
	assert_null(strstr(doc, "<img"));
	assert_null(strstr(doc, "<b>"));
	assert_null(strstr(doc, " href=\""));
	assert_null(strstr(doc, " src=\""));
	assert_null(strstr(doc, "url("));
	assert_null(strstr(doc, "@import"));
	assert_null(strstr(doc, "nan"));
	assert_null(strstr(doc, "inf%"));
	assert_non_null(strstr(doc, "Content-Security-Policy"));
	assert_string_equal(doc + strlen(doc) - 15, "</body></html>\n");
}

static void test_figures(void **state)
{
	struct fixture *f = *state;
	struct report_options o = options(T0, T0 + 7 * DAY);
	struct report_result res;
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	char v[64];
	const char *doc;

	seed(f->s);
	assert_int_equal(report_html(&b, f->s, &o, &res, &err), 0);
	doc = buf_str(&b);
	assert_int_equal(res.campaigns, 3);
	assert_int_equal(res.events, 4);
	assert_string_equal(by_id(doc, "m-campaigns", v, sizeof(v)), "3");
	assert_string_equal(by_id(doc, "m-recipients", v, sizeof(v)), "1,500");
	/* 500 / 1500 opened, 110 / 1500 clicked, 110 / 500 of openers */
	assert_string_equal(by_id(doc, "m-open-rate", v, sizeof(v)), "33.3%");
	assert_string_equal(by_id(doc, "m-click-rate", v, sizeof(v)), "7.3%");
	assert_string_equal(by_id(doc, "m-ctor", v, sizeof(v)), "22.0%");
	assert_string_equal(by_id(doc, "m-bounce-rate", v, sizeof(v)), "0.8%");
	assert_string_equal(by_id(doc, "ev-open", v, sizeof(v)), "2");
	assert_string_equal(by_id(doc, "ev-click", v, sizeof(v)), "1");
	assert_string_equal(by_id(doc, "ev-bounce", v, sizeof(v)), "1");
	assert_string_equal(by_id(doc, "ev-sent", v, sizeof(v)), "0");
	assert_string_equal(by_id(doc, "funnel-opened", v, sizeof(v)), "500");
	assert_string_equal(by_id(doc, "funnel-clicked", v, sizeof(v)), "110");
	assert_string_equal(by_id(doc, "flagged", v, sizeof(v)),
			    "1 of 2 campaigns flagged.");
	/* previous week: one campaign of 1000, 30 % opened */
	assert_non_null(strstr(doc, "\xe2\x96\xb2 +200.0% vs previous"));
	assert_non_null(strstr(doc, "\xe2\x96\xb2 +3.3 pts vs previous"));
	/* c1 clicks 10 %, c2 2 %: best and worst */
	assert_non_null(strstr(doc, "&lt;script&gt;alert(1)&lt;/script&gt;"
				    "<span class=\"badge best\">"));
	assert_non_null(strstr(doc, "Spring &amp; &quot;sale&quot;<span "
				    "class=\"badge worst\">"));
	assert_non_null(strstr(doc, "no statistics"));
	assert_non_null(strstr(doc, "1 of the period&#39;s") ||
			strstr(doc, "1 of the period's campaigns"));
	assert_non_null(strstr(doc, "&lt;img src=x onerror=alert(2)&gt;"));
	assert_non_null(strstr(doc, "&lt;b&gt;Customers&lt;/b&gt;"));
	assert_non_null(strstr(doc, "sqlite:&lt;t&gt;.db"));
	assert_non_null(strstr(doc, "complaint rate of 0.1% or more"));
	assert_non_null(strstr(doc, "bounce rate (hard and soft) of 2% or"));
	assert_non_null(strstr(doc, "\xe2\x9a\xa0 bounces, complaints"));
	/* no sent events, but recipients: explained */
	assert_non_null(strstr(doc, "No per-recipient sent events"));
	assert_null(strstr(doc, ">Draft<"));
	assert_null(strstr(doc, "Last week"));
	/* verified opens: labelled, 25.0 % for c1, a dash where unknown */
	assert_non_null(strstr(doc, "<th class=\"num\">Verified open rate"));
	assert_non_null(strstr(doc, "<td class=\"num\">25.0%</td>"));
	assert_non_null(strstr(doc, "<td class=\"num\">\xe2\x80\x94</td>"));
	assert_non_null(strstr(doc, "does not count as machine opens"));
	assert_inert(doc);
	buf_release(&b);
}

static void test_default_period(void **state)
{
	struct fixture *f = *state;
	struct report_options o = options(TIME_NULL, TIME_NULL);
	struct report_result res;
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	char v[64];

	seed(f->s);
	assert_int_equal(report_html(&b, f->s, &o, &res, &err), 0);
	/* from the first day with data to the last, everything */
	assert_int_equal(res.since, T0 - 5 * DAY);
	assert_int_equal(res.until, T0 + 3 * DAY);
	assert_int_equal(res.campaigns, 4);
	assert_int_equal(res.events, 5);
	assert_string_equal(by_id(buf_str(&b), "ev-open", v, sizeof(v)), "3");
	assert_non_null(strstr(buf_str(&b), "no data in the previous period"));
	assert_inert(buf_str(&b));
	buf_release(&b);
}

static void test_empty_store(void **state)
{
	struct fixture *f = *state;
	struct report_options o = options(TIME_NULL, TIME_NULL);
	struct report_result res;
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	char v[64];
	const char *doc;

	assert_int_equal(report_html(&b, f->s, &o, &res, &err), 0);
	doc = buf_str(&b);
	/* the 30 days up to now */
	assert_int_equal(res.until - res.since, 30 * DAY);
	assert_string_equal(by_id(doc, "m-recipients", v, sizeof(v)), "0");
	assert_string_equal(by_id(doc, "m-open-rate", v, sizeof(v)),
			    "\xe2\x80\x94");
	assert_non_null(strstr(doc, "No events in this period"));
	assert_non_null(strstr(doc, "No campaign was sent in this period"));
	assert_non_null(strstr(doc, "No trend to draw"));
	assert_non_null(strstr(doc, "No funnel"));
	assert_non_null(strstr(doc, "No clicked link"));
	assert_non_null(strstr(doc, "holds no list"));
	assert_non_null(strstr(doc, "holds no account yet"));
	assert_null(strstr(doc, "<svg xmlns"));
	assert_inert(doc);
	buf_release(&b);
}

static void test_buffer_maximum(void **state)
{
	struct fixture *f = *state;
	struct report_options o = options(TIME_NULL, TIME_NULL);
	struct err err = ERR_INIT;
	struct buf b;

	seed(f->s);
	buf_init(&b, 4096);
	assert_int_equal(report_html(&b, f->s, &o, NULL, &err), -1);
	assert_int_equal(err.kind, ERR_RUNTIME);
	assert_non_null(strstr(err.msg, "report too large"));
	buf_release(&b);
}

static void test_file(void **state)
{
	struct fixture *f = *state;
	struct report_options o = options(TIME_NULL, TIME_NULL);
	struct report_result res;
	struct err err = ERR_INIT;
	char path[128];
	FILE *fp;
	long size;

	seed(f->s);
	snprintf(path, sizeof(path), "%s/new/dir/report.html", f->dir);
	assert_int_equal(report_html_file(path, f->s, &o, &res, &err), 0);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	fclose(fp);
	assert_int_equal(size, res.bytes);
}

static void test_parse_date(void **state)
{
	int64_t t = 0;

	(void)state;
	assert_int_equal(report_parse_date("2026-01-05", 0, &t), 0);
	assert_int_equal(t, T0);
	assert_int_equal(report_parse_date("2026-01-05", 1, &t), 0);
	assert_int_equal(t, T0 + DAY);
	assert_int_equal(report_parse_date("2026-1-05", 0, &t), -1);
	assert_int_equal(report_parse_date("2026-01-05T00:00", 0, &t), -1);
	assert_int_equal(report_parse_date("2026-13-01", 0, &t), -1);
	assert_int_equal(report_parse_date("yesterday!", 0, &t), -1);
	assert_int_equal(report_parse_date("", 0, &t), -1);
	assert_int_equal(report_parse_date(NULL, 0, &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_figures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_default_period, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_empty_store, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_buffer_maximum, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_file, setup, teardown),
	    cmocka_unit_test(test_parse_date),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

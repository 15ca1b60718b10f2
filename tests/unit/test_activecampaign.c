/* Tests of the ActiveCampaign source: v3 campaign pages (string numbers,
 * sentinel dates, status codes, offset paging), the v1 report envelope
 * (numbered rows, the "Nothing is returned" end, XML auth errors on 200),
 * link-list info as array or numbered object, bounce dates, naive times in
 * the account zone, the newest-first window cutoff and error statuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "source/activecampaign.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/timeparse.h"
#include "util/tz.h"

#define API "https://acct.api-us1.com"

static const struct source *ac = &source_activecampaign;

struct fixture {
	struct batch b;
	struct source_map m;
	struct json_doc *doc;
	struct tz *tz;
};

static void fx_init(struct fixture *f, const char *kind)
{
	size_t i;
	struct err e = ERR_INIT;

	memset(f, 0, sizeof(*f));
	batch_init(&f->b, "activecampaign", "acct");
	f->m.batch = &f->b;
	f->m.campaign_id = "7";
	f->m.campaign_name = "Spring";
	f->m.want_events = 1;
	f->m.cutoff = TIME_NULL;
	f->m.newest_updated_at = TIME_NULL;
	assert_int_equal(tz_load(&f->tz, NULL, "America/Chicago", &e), 0);
	f->m.tz = f->tz;
	for (i = 0; kind && i < ac->n_report_kinds; i++)
		if (!strcmp(ac->report_kinds[i].status, kind))
			f->m.kind = &ac->report_kinds[i];
	if (kind)
		assert_non_null(f->m.kind);
}

static const struct json *fx_parse(struct fixture *f, const char *text)
{
	assert_int_equal(json_parse(&f->doc, text, strlen(text), NULL), 0);
	return json_root(f->doc);
}

static void fx_release(struct fixture *f)
{
	json_doc_free(f->doc);
	batch_release(&f->b);
	tz_free(f->tz);
}

static const char campaigns_page[] =
    "{\"campaigns\":[{\"id\":\"1\",\"name\":\"Sent one\",\"status\":\"5\","
    "\"cdate\":\"2025-09-18T05:02:28-05:00\",\"sdate\":\"2025-09-22 "
    "10:27:33\",\"send_amt\":\"277\",\"opens\":\"208\",\"uniqueopens\":"
    "\"129\",\"linkclicks\":\"58\",\"uniquelinkclicks\":\"43\","
    "\"hardbounces\":\"5\",\"softbounces\":\"4\",\"unsubscribes\":\"2\"},"
    "{\"id\":\"2\",\"name\":\"Draft\",\"status\":\"0\",\"cdate\":\"\","
    "\"sdate\":\"0000-00-00 00:00:00\",\"send_amt\":\"0\",\"opens\":null},"
    "{\"id\":\"3\",\"status\":\"42\",\"sdate\":null},{\"name\":\"no id\"}],"
    "\"meta\":{\"total\":\"4\"}}";

static void test_campaigns_page(void **state)
{
	struct fixture f;
	struct err e = ERR_INIT;
	const struct rec_campaign *c;

	(void)state;
	fx_init(&f, NULL);
	assert_int_equal(
	    ac->map_campaigns(&f.m, fx_parse(&f, campaigns_page), &e), 0);
	assert_int_equal(f.b.n_campaigns, 3);
	assert_int_equal(f.m.n_skipped, 1);
	c = &f.b.campaigns[0];
	assert_string_equal(c->campaign_id, "1");
	assert_string_equal(c->status, "sent");
	assert_true(ac->is_reportable(c->status));
	assert_int_equal(c->created_at, 1758189748); /* 10:02:28Z */
	/* Naive sdate read in Chicago (CDT): 15:27:33Z. */
	assert_int_equal(c->sent_at, 1758554853);
	assert_true(c->has_stats);
	assert_int_equal(c->stats.sent, 277);
	assert_int_equal(c->stats.opened_total, 208);
	assert_int_equal(c->stats.opened_unique, 129);
	assert_int_equal(c->stats.clicked_total, 58);
	assert_int_equal(c->stats.clicked_unique, 43);
	assert_int_equal(c->stats.bounced_hard, 5);
	assert_int_equal(c->stats.bounced_soft, 4);
	assert_int_equal(c->stats.unsubscribed, 2);
	c = &f.b.campaigns[1];
	assert_string_equal(c->status, "draft");
	assert_false(ac->is_reportable(c->status));
	assert_int_equal(c->created_at, TIME_NULL);
	assert_int_equal(c->sent_at, TIME_NULL);
	assert_int_equal(c->stats.opened_total, 0);
	c = &f.b.campaigns[2];
	assert_string_equal(c->status, "status-42");
	assert_int_equal(c->sent_at, TIME_NULL);
	fx_release(&f);
}

static void next_of(struct source_next *n, const char *page,
		    const struct source_query *q)
{
	struct json_doc *doc = NULL;

	assert_int_equal(json_parse(&doc, page, strlen(page), NULL), 0);
	buf_init(&n->url, 4096);
	buf_init(&n->cursor, 64);
	ac->next_page(n, json_root(doc), API, q);
	json_doc_free(doc);
}

static void next_release(struct source_next *n)
{
	buf_release(&n->url);
	buf_release(&n->cursor);
}

static void test_campaign_paging(void **state)
{
	struct buf page = BUF_INIT;
	struct source_query q = {.endpoint = SRC_CAMPAIGNS};
	struct source_next n;
	int i, rc;

	(void)state;
	rc = buf_puts(&page, "{\"campaigns\":[");
	for (i = 0; i < 100; i++)
		rc |=
		    buf_printf(&page, "%s{\"id\":\"%d\"}", i ? "," : "", i + 1);
	rc |= buf_puts(&page, "],\"meta\":{\"total\":\"250\"}}");
	assert_int_equal(rc, 0);
	next_of(&n, buf_str(&page), &q);
	assert_true(n.has_next);
	assert_string_equal(buf_str(&n.cursor), "100");
	assert_string_equal(buf_str(&n.url),
			    API "/api/3/campaigns?limit=100&offset=100");
	next_release(&n);
	/* The third page would start at 300 > total. */
	q.cursor = "200";
	next_of(&n, buf_str(&page), &q);
	assert_false(n.has_next);
	next_release(&n);
	/* A short page ends. */
	q.cursor = NULL;
	next_of(&n, campaigns_page, &q);
	assert_false(n.has_next);
	next_release(&n);
	buf_release(&page);
}

/* Campaign details (issue 15): the campaign's message link (Singer's
 * campaign_messages shape, or only relation keys), the message (the
 * reference's /messages example) and the campaign lists, in steps named by
 * the cursor. */
static const char detail_messages[] =
    "{\"campaignMessages\":[{\"campaignid\":\"7\",\"messageid\":\"107\","
    "\"percentage\":\"100\",\"sourcesize\":\"0\",\"send_amt\":\"277\","
    "\"subject\":\"Spring sale\",\"screenshot\":null,\"id\":\"107\","
    "\"campaign\":\"7\",\"message\":\"107\"}]}";
static const char detail_message_lean[] =
    "{\"campaignMessage\":{\"links\":{},\"id\":\"9\",\"campaign\":\"7\","
    "\"message\":\"108\"}}";
static const char detail_message[] =
    "{\"message\":{\"userid\":\"1\",\"cdate\":\"2018-08-17T13:48:45-05:00\","
    "\"mdate\":\"2018-08-17T13:48:45-05:00\",\"name\":\"testing\","
    "\"fromname\":\"John Doe\",\"fromemail\":\"noreply@example.com\","
    "\"subject\":\"testing\",\"html\":\"<br>\\ntesting testing testing\","
    "\"preview_data\":null,\"id\":\"4\",\"user\":\"1\"}}";
static const char detail_lists[] =
    "{\"campaignLists\":[{\"campaignid\":\"7\",\"listid\":\"1\","
    "\"userid\":\"1\",\"list_amt\":\"277\",\"name\":\"Newsletter\","
    "\"id\":\"71\",\"user\":\"1\",\"list\":\"1\",\"campaign\":\"7\"},"
    "{\"id\":\"72\",\"list\":\"3\",\"campaign\":\"7\"},{\"listid\":\"2\"},"
    "{\"list\":\"0\"}]}";

static const struct rec_campaign *detail_of(struct fixture *f, const char *body)
{
	struct err e = ERR_INIT;

	f->m.n_rows = 0;
	assert_int_equal(ac->map_campaign_detail(&f->m, fx_parse(f, body), &e),
			 0);
	assert_int_equal(f->b.n_campaigns, 1);
	assert_string_equal(f->b.campaigns[0].campaign_id, "7");
	return &f->b.campaigns[0];
}

static void detail_next_is(const char *body, const char *cursor,
			   const char *want_cursor, const char *want_url)
{
	struct source_query q = {.endpoint = SRC_CAMPAIGN_DETAIL,
				 .campaign_id = "7"};
	struct source_next n;

	q.cursor = cursor;
	if (body) {
		next_of(&n, body, &q);
	} else { /* the step answered 404 */
		buf_init(&n.url, 4096);
		buf_init(&n.cursor, 64);
		ac->next_page(&n, NULL, API, &q);
	}
	assert_int_equal(n.has_next, want_cursor != NULL);
	if (want_cursor) {
		assert_string_equal(buf_str(&n.cursor), want_cursor);
		assert_string_equal(buf_str(&n.url), want_url);
	}
	next_release(&n);
}

static void test_campaign_details(void **state)
{
	struct fixture f;
	const struct rec_campaign *r;
	struct source_query q = {.endpoint = SRC_CAMPAIGN_DETAIL,
				 .campaign_id = "7"};
	struct buf u = BUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	assert_non_null(ac->map_campaign_detail);
	assert_int_equal(ac->url(&u, API, &q), 0);
	assert_string_equal(buf_str(&u),
			    API "/api/3/campaigns/7/campaignMessages");
	buf_reset(&u);
	q.cursor = "message:x";
	assert_int_equal(ac->url(&u, API, &q), -1);
	buf_release(&u);

	fx_init(&f, NULL);
	r = detail_of(&f, detail_messages);
	assert_string_equal(r->subject, "Spring sale");
	assert_null(r->from_name);
	assert_null(r->to_lists_json);
	detail_next_is(detail_messages, NULL, "message:107",
		       API "/api/3/messages/107");
	json_doc_free(f.doc);
	batch_clear(&f.b);

	/* Relation keys only: the message id from "message", no subject. */
	r = detail_of(&f, detail_message_lean);
	assert_null(r->subject);
	detail_next_is(detail_message_lean, "campaignMessage", "message:108",
		       API "/api/3/messages/108");
	json_doc_free(f.doc);
	batch_clear(&f.b);

	r = detail_of(&f, detail_message);
	assert_string_equal(r->subject, "testing");
	assert_string_equal(r->from_name, "John Doe");
	assert_string_equal(r->from_email, "noreply@example.com");
	assert_null(r->to_lists_json);
	detail_next_is(detail_message, "message:4", "lists",
		       API "/api/3/campaigns/7/campaignLists");
	json_doc_free(f.doc);
	batch_clear(&f.b);

	/* "list", else "listid"; "0" is no list. The last step. */
	r = detail_of(&f, detail_lists);
	assert_string_equal(r->to_lists_json, "[\"1\",\"3\",\"2\"]");
	assert_null(r->subject);
	detail_next_is(detail_lists, "lists", NULL, NULL);
	json_doc_free(f.doc);
	batch_clear(&f.b);

	r = detail_of(&f, "{\"campaignLists\":[]}");
	assert_string_equal(r->to_lists_json, "[]");
	json_doc_free(f.doc);
	batch_clear(&f.b);

	/* No message row: straight to the lists. */
	r = detail_of(&f, "{\"campaignMessages\":[]}");
	assert_null(r->subject);
	detail_next_is("{\"campaignMessages\":[]}", NULL, "lists",
		       API "/api/3/campaigns/7/campaignLists");
	json_doc_free(f.doc);
	batch_clear(&f.b);

	/* 404s: the plural link falls back to the singular one, that one
	 * and the message to the lists; the lists end. */
	detail_next_is(NULL, NULL, "campaignMessage",
		       API "/api/3/campaigns/7/campaignMessage");
	detail_next_is(NULL, "campaignMessage", "lists",
		       API "/api/3/campaigns/7/campaignLists");
	detail_next_is(NULL, "message:4", "lists",
		       API "/api/3/campaigns/7/campaignLists");
	detail_next_is(NULL, "lists", NULL, NULL);

	/* Anything else is not a detail answer (the page is retried). */
	f.doc = NULL;
	assert_int_equal(ac->map_campaign_detail(
			     &f.m, fx_parse(&f, "{\"campaign\":{}}"), &e),
			 -1);
	assert_int_equal(e.kind, ERR_PARSE);
	fx_release(&f);
}

static void test_report_url_has_no_key(void **state)
{
	struct buf u = BUF_INIT;
	struct source_query q = {.endpoint = SRC_REPORT,
				 .campaign_id = "7",
				 .status = "bounce",
				 .cursor = "3"};

	(void)state;
	assert_int_equal(ac->url(&u, API, &q), 0);
	assert_string_equal(buf_str(&u),
			    API "/admin/api.php?api_action="
				"campaign_report_bounce_list&api_output=json&"
				"campaignid=7&page=3&sort_direction=DESC");
	assert_null(strstr(buf_str(&u), "api_key"));
	buf_release(&u);
	q.status = "nonsense";
	assert_int_equal(ac->url(&u, API, &q), -1);
	buf_release(&u);
	assert_int_equal(ac->auth_header(&u, "KEY"), 0);
	assert_string_equal(buf_str(&u), "Api-Token: KEY");
	buf_release(&u);
}

static const char open_page[] =
    "{\"0\":{\"subscriberid\":\"111\",\"email\":\"a@x.com\",\"tstamp\":"
    "\"2023-08-28 08:37:19\",\"times\":\"3\",\"tstamp_iso\":"
    "\"2023-08-28T07:37:19-05:00\"},"
    "\"1\":{\"subscriberid\":\"222\",\"email\":\"b@x.com\",\"tstamp\":"
    "\"2023-08-27 07:37:19\",\"times\":\"1\"},"
    "\"2\":{\"email\":\"noid@x.com\",\"tstamp\":\"2023-08-27 07:00:00\"},"
    "\"result_code\":1,\"result_message\":\"Success: Something is "
    "returned\",\"result_output\":\"json\"}";

static void test_open_rows(void **state)
{
	struct fixture f;
	struct err e = ERR_INIT;

	(void)state;
	fx_init(&f, "open");
	assert_int_equal(ac->map_report(&f.m, fx_parse(&f, open_page), &e), 0);
	assert_int_equal(f.m.n_rows, 3);
	assert_int_equal(f.m.n_skipped, 0);
	assert_int_equal(f.b.n_events, 3);
	assert_int_equal(f.b.n_participants, 3);
	/* tstamp_iso wins over the naive tstamp. */
	assert_int_equal(f.b.events[0].ts, 1693226239);
	assert_int_equal(f.b.events[0].times, 3);
	assert_int_equal(f.b.events[0].type, EV_OPEN);
	assert_string_equal(f.b.events[0].campaign_id, "7");
	assert_string_equal(f.b.events[0].contact_id, "111");
	/* Naive only: the page's own offset (08:37:19 beside
	 * 07:37:19-05:00, so -04:00), not Chicago's CDT: 11:37:19Z. */
	assert_int_equal(f.b.events[1].ts, 1693136239);
	assert_int_equal(f.b.participants[1].flags, ENG_OPENED);
	/* No subscriberid and no id: the lower-cased email. */
	assert_string_equal(f.b.participants[2].contact_id, "noid@x.com");
	assert_int_equal(f.m.newest_updated_at, 1693226239);
	assert_false(f.m.is_past_cutoff);
	fx_release(&f);
}

/* Issue 15, gap 1: a live automation campaign (values as captured). */
static const char automation_campaign[] =
    "{\"campaign\":{\"type\":\"single\",\"name\":\"Welcome 1\","
    "\"cdate\":\"2023-02-01T10:00:00+10:30\",\"sdate\":null,"
    "\"ldate\":null,\"send_amt\":\"1236\",\"total_amt\":\"1236\","
    "\"opens\":\"801\",\"uniqueopens\":\"590\",\"linkclicks\":\"75\","
    "\"uniquelinkclicks\":\"61\",\"status\":\"1\",\"id\":\"44\","
    "\"automation\":\"132\"}}";

static void test_automation_campaign(void **state)
{
	struct fixture f;
	struct err e = ERR_INIT;

	(void)state;
	fx_init(&f, NULL);
	assert_int_equal(
	    ac->map_campaign(&f.m, fx_parse(&f, automation_campaign), &e), 0);
	assert_int_equal(f.b.n_campaigns, 1);
	assert_string_equal(f.b.campaigns[0].status, "automation");
	assert_int_equal(f.b.campaigns[0].stats.sent, 1236);
	assert_true(f.b.campaigns[0].has_sends);
	assert_true(ac->is_reportable("automation"));
	fx_release(&f);
	/* Status "1" without an automation id but with sends: still the
	 * web app's word, and reportable from what was sent. */
	fx_init(&f, NULL);
	assert_int_equal(
	    ac->map_campaign(&f.m,
			     fx_parse(&f, "{\"campaign\":{\"id\":\"45\","
					  "\"status\":\"1\",\"automation\":"
					  "null,\"send_amt\":\"0\",\"opens\":"
					  "\"0\",\"sdate\":\"2023-02-02T10:00:"
					  "00+10:30\"}}"),
			     &e),
	    0);
	assert_string_equal(f.b.campaigns[0].status, "scheduled");
	assert_true(f.b.campaigns[0].has_sends);
	fx_release(&f);
	/* A scheduled campaign that sent nothing has no reports. */
	fx_init(&f, NULL);
	assert_int_equal(
	    ac->map_campaign(&f.m,
			     fx_parse(&f, "{\"campaign\":{\"id\":\"46\","
					  "\"status\":\"1\",\"automation\":"
					  "\"0\",\"send_amt\":\"0\",\"sdate\":"
					  "null,\"ldate\":\"0000-00-00 00:00:"
					  "00\"}}"),
			     &e),
	    0);
	assert_string_equal(f.b.campaigns[0].status, "scheduled");
	assert_false(f.b.campaigns[0].has_sends);
	fx_release(&f);
}

/* Gap 2: the real campaign's verified opens. */
static void test_verified_opens(void **state)
{
	struct fixture f;
	struct err e = ERR_INIT;

	(void)state;
	fx_init(&f, NULL);
	assert_int_equal(
	    ac->map_campaign(
		&f.m,
		fx_parse(&f,
			 "{\"campaign\":{\"status\":\"5\",\"send_amt\":"
			 "\"23928\",\"opens\":\"11271\",\"uniqueopens\":"
			 "\"7232\",\"verified_opens\":\"9594\","
			 "\"verified_unique_opens\":\"6355\",\"id\":\"6801\","
			 "\"automation\":null}}"),
		&e),
	    0);
	assert_int_equal(f.b.campaigns[0].verified_opens, 9594);
	assert_int_equal(f.b.campaigns[0].verified_unique_opens, 6355);
	assert_int_equal(f.b.campaigns[0].stats.opened_total, 11271);
	fx_release(&f);
	/* Absent: unknown (-1), never 0. */
	fx_init(&f, NULL);
	assert_int_equal(
	    ac->map_campaign(&f.m,
			     fx_parse(&f, "{\"campaign\":{\"id\":"
					  "\"1\",\"status\":\"5\"}}"),
			     &e),
	    0);
	assert_int_equal(f.b.campaigns[0].verified_opens, -1);
	assert_int_equal(f.b.campaigns[0].verified_unique_opens, -1);
	fx_release(&f);
}

/* Gap 4: naive tstamp at +09:30 while the ISO values say +10:30 (a
 * daylight-saving account), an invalid tstamp_iso ("2023-30-28T...") and
 * the other live v1 keys (tstamp_settings, sdate_iso, email_source,
 * result_message "Success!"). The zone configured is Chicago: it must
 * not be used when the page tells the offset. */
static const char live_open_page[] =
    "{\"0\":{\"subscriberid\":\"1\",\"email\":\"a@x.com\",\"tstamp\":"
    "\"2024-01-10 19:30:00\",\"tstamp_iso\":\"2024-01-10T20:30:00+10:30\","
    "\"tstamp_settings\":\"2024-01-10 19:30:00\",\"sdate\":\"2024-01-10 "
    "08:00:00\",\"sdate_iso\":\"2024-01-10T09:00:00+10:30\","
    "\"email_source\":\"1\",\"times\":\"1\"},"
    "\"1\":{\"subscriberid\":\"2\",\"email\":\"b@x.com\",\"tstamp\":"
    "\"2024-01-11 09:30:00\",\"times\":\"2\"},"
    "\"2\":{\"subscriberid\":\"3\",\"email\":\"c@x.com\",\"tstamp\":"
    "\"2023-08-28 23:30:00\",\"tstamp_iso\":\"2023-30-28T00:30:00+10:30\","
    "\"times\":\"1\"},"
    "\"result_code\":1,\"result_message\":\"Success!\","
    "\"result_output\":\"json\"}";

static void test_learned_offset(void **state)
{
	struct fixture f;
	struct err e = ERR_INIT;

	(void)state;
	fx_init(&f, "open");
	assert_int_equal(ac->map_report(&f.m, fx_parse(&f, live_open_page), &e),
			 0);
	assert_int_equal(f.b.n_events, 3);
	/* tstamp_iso as given: 10:00Z. */
	assert_int_equal(f.b.events[0].ts, 1704880800);
	/* Naive only, at the learnt +09:30: 00:00Z (Chicago: 15:30Z). */
	assert_int_equal(f.b.events[1].ts, 1704931200);
	/* Invalid tstamp_iso: the naive tstamp at +09:30, 14:00Z. */
	assert_int_equal(f.b.events[2].ts, 1693231200);
	fx_release(&f);
}

/* Gap 5: a live bounce row whose ISO value lost the time of day. */
static void test_bounce_midnight_iso(void **state)
{
	struct fixture f;
	struct err e = ERR_INIT;

	(void)state;
	fx_init(&f, "bounce");
	assert_int_equal(
	    ac->map_report(
		&f.m,
		fx_parse(&f, "{\"0\":{\"id\":\"9\",\"subscriberid\":\"4\","
			     "\"email\":\"d@x.com\",\"campaignid\":\"7\","
			     "\"tstamp\":\"2019-03-09 14:30:00\","
			     "\"tstamp_iso\":\"2019-03-09T00:00:00-06:00\","
			     "\"type\":\"hard\"},\"result_code\":1,"
			     "\"result_message\":\"Success!\","
			     "\"result_output\":\"json\"}"),
		&e),
	    0);
	assert_int_equal(f.b.n_events, 1);
	/* 14:30 at -06:00: 20:30Z. */
	assert_int_equal(f.b.events[0].ts, 1552163400);
	assert_string_equal(f.b.events[0].contact_id, "4");
	fx_release(&f);
}

/* Gap 6: rows naming the contact by id + email or by email only, and
 * a row naming no contact (counted, not stored, not "skipped"); the
 * live unsubscribe keys a_unsub_date / a_unsub_time are ignored. */
static void test_row_contacts(void **state)
{
	struct fixture f;
	struct err e = ERR_INIT;

	(void)state;
	fx_init(&f, "unsubscribe");
	assert_int_equal(
	    ac->map_report(
		&f.m,
		fx_parse(&f,
			 "{\"0\":{\"id\":\"555\",\"email\":\"A@X.com\","
			 "\"tstamp\":\"2023-08-28 08:37:19\",\"tstamp_iso\":"
			 "\"2023-08-28T07:37:19-05:00\",\"a_unsub_date\":"
			 "\"2023-08-28\",\"a_unsub_time\":\"08:37:19\"},"
			 "\"1\":{\"email\":\"Mixed@X.COM\",\"tstamp\":"
			 "\"2023-08-28 09:00:00\"},"
			 "\"2\":{\"tstamp\":\"2023-08-28 09:10:00\"},"
			 "\"result_code\":1,\"result_message\":\"Success!\","
			 "\"result_output\":\"json\"}"),
		&e),
	    0);
	assert_int_equal(f.m.n_rows, 3);
	assert_int_equal(f.b.n_participants, 2);
	assert_string_equal(f.b.participants[0].contact_id, "555");
	assert_string_equal(f.b.participants[1].contact_id, "mixed@x.com");
	assert_int_equal(f.b.n_events, 2);
	fx_release(&f);
}

static void test_report_end_and_bad_envelopes(void **state)
{
	static const char end[] =
	    "{\"result_code\":0,\"result_message\":\"Failed: Nothing is "
	    "returned\",\"result_output\":\"json\"}";
	struct fixture f;
	struct err e = ERR_INIT;
	struct source_query q = {
	    .endpoint = SRC_REPORT, .campaign_id = "7", .status = "open"};
	struct source_next n;

	(void)state;
	fx_init(&f, "open");
	assert_int_equal(ac->map_report(&f.m, fx_parse(&f, end), &e), 0);
	assert_int_equal(f.m.n_rows, 0);
	assert_int_equal(f.b.n_events, 0);
	json_doc_free(f.doc);
	f.doc = NULL;
	assert_int_equal(ac->map_report(&f.m, fx_parse(&f, "{\"0\":{}}"), &e),
			 -1);
	assert_int_equal(e.kind, ERR_PARSE);
	json_doc_free(f.doc);
	f.doc = NULL;
	assert_int_equal(ac->map_report(&f.m, fx_parse(&f, "[1,2]"), &e), -1);
	fx_release(&f);
	next_of(&n, end, &q);
	assert_false(n.has_next);
	next_release(&n);
	/* 3 rows is a short page: the end. */
	next_of(&n, open_page, &q);
	assert_false(n.has_next);
	next_release(&n);
}

static void test_report_full_page_continues(void **state)
{
	struct buf page = BUF_INIT;
	struct source_query q = {.endpoint = SRC_REPORT,
				 .campaign_id = "7",
				 .status = "open",
				 .cursor = "2"};
	struct source_next n;
	int i, rc;

	(void)state;
	rc = buf_putc(&page, '{');
	for (i = 0; i < 20; i++)
		rc |= buf_printf(&page,
				 "\"%d\":{\"subscriberid\":\"%d\","
				 "\"tstamp\":\"2024-01-01 00:00:00\"},",
				 i, i + 1);
	rc |= buf_puts(&page, "\"result_code\":1}");
	assert_int_equal(rc, 0);
	next_of(&n, buf_str(&page), &q);
	assert_true(n.has_next);
	assert_string_equal(buf_str(&n.cursor), "3");
	assert_non_null(strstr(buf_str(&n.url), "&page=3&"));
	next_release(&n);
	buf_release(&page);
}

static void check_link_page(const char *page)
{
	struct fixture f;
	struct err e = ERR_INIT;

	fx_init(&f, "click");
	assert_int_equal(ac->map_report(&f.m, fx_parse(&f, page), &e), 0);
	assert_int_equal(f.b.n_links, 1);
	assert_string_equal(f.b.links[0].url, "https://x.com/a");
	assert_int_equal(f.b.links[0].clicked_unique, 2);
	assert_int_equal(f.b.links[0].clicked_total, 5);
	assert_int_equal(f.b.n_events, 2);
	assert_int_equal(f.b.events[0].type, EV_CLICK);
	assert_string_equal(f.b.events[0].link_url, "https://x.com/a");
	assert_int_equal(f.b.events[0].times, 4);
	assert_int_equal(f.b.events[1].ts, 1693312639);
	assert_int_equal(f.b.participants[0].flags, ENG_CLICKED);
	fx_release(&f);
}

static void test_link_info_array_or_object(void **state)
{
	(void)state;
	check_link_page(
	    "{\"0\":{\"id\":\"1\",\"link\":\"https://x.com/a\",\"a_unique\":"
	    "\"2\",\"a_total\":\"5\",\"info\":[{\"subscriberid\":\"1\","
	    "\"email\":\"a@x.com\",\"tstamp\":\"2023-08-28 07:37:19\","
	    "\"times\":\"4\"},{\"subscriberid\":\"2\",\"tstamp_iso\":"
	    "\"2023-08-29T07:37:19-05:00\"}]},\"1\":{\"id\":\"2\",\"link\":"
	    "\"open\",\"name\":\"Read Tracker\",\"a_unique\":\"9\",\"info\":[{"
	    "\"subscriberid\":\"3\",\"tstamp\":\"2023-08-28 07:00:00\"}]},"
	    "\"result_code\":1}");
	check_link_page(
	    "{\"0\":{\"id\":\"1\",\"link\":\"https://x.com/a\",\"a_unique\":"
	    "\"2\",\"a_total\":\"5\",\"info\":{\"0\":{\"subscriberid\":\"1\","
	    "\"email\":\"a@x.com\",\"tstamp\":\"2023-08-28 07:37:19\","
	    "\"times\":\"4\"},\"1\":{\"subscriberid\":\"2\",\"tstamp_iso\":"
	    "\"2023-08-29T07:37:19-05:00\"}}},\"result_code\":1}");
}

static void test_bounce_date_only(void **state)
{
	struct fixture f;
	struct err e = ERR_INIT;

	(void)state;
	fx_init(&f, "bounce");
	assert_int_equal(
	    ac->map_report(
		&f.m,
		fx_parse(&f, "{\"0\":{\"subscriberid\":\"5\",\"email\":"
			     "\"z@x.com\",\"campaignid\":\"7\",\"tstamp\":"
			     "\"2025-09-22\",\"type\":\"hard\",\"code\":"
			     "\"5.1.1\"},\"1\":{\"subscriberid\":\"6\","
			     "\"tstamp\":\"2025-09-22\",\"type\":\"SOFTISH\"},"
			     "\"result_code\":1}"),
		&e),
	    0);
	assert_int_equal(f.b.n_events, 2);
	/* Local midnight in Chicago (CDT). */
	assert_int_equal(f.b.events[0].ts, 1758517200);
	assert_string_equal(f.b.events[0].bounce_type, "hard");
	assert_null(f.b.events[1].bounce_type);
	assert_int_equal(f.b.participants[0].flags, ENG_BOUNCED);
	/* A window starting later that day still keeps both. */
	batch_clear(&f.b);
	f.m.cutoff = 1758517200 + 15 * 3600;
	assert_int_equal(ac->map_report(&f.m, json_root(f.doc), &e), 0);
	assert_int_equal(f.b.n_events, 2);
	assert_false(f.m.is_past_cutoff);
	fx_release(&f);
}

static void test_cutoff_newest_first(void **state)
{
	static const char desc[] =
	    "{\"0\":{\"subscriberid\":\"1\",\"tstamp_iso\":"
	    "\"2024-01-03T00:00:00Z\"},\"1\":{\"subscriberid\":\"2\","
	    "\"tstamp_iso\":\"2024-01-02T00:00:00Z\"},\"2\":{\"subscriberid\":"
	    "\"3\",\"tstamp_iso\":\"2024-01-01T00:00:00Z\"},\"result_code\":1}";
	static const char asc[] =
	    "{\"0\":{\"subscriberid\":\"3\",\"tstamp_iso\":"
	    "\"2024-01-01T00:00:00Z\"},\"1\":{\"subscriberid\":\"1\","
	    "\"tstamp_iso\":\"2024-01-03T00:00:00Z\"},\"result_code\":1}";
	struct fixture f;
	struct err e = ERR_INIT;

	(void)state;
	fx_init(&f, "unsubscribe");
	assert_int_equal(time_parse("2024-01-02T00:00:00Z", 0, &f.m.cutoff), 0);
	assert_int_equal(ac->map_report(&f.m, fx_parse(&f, desc), &e), 0);
	assert_true(f.m.is_past_cutoff);
	assert_int_equal(f.b.n_events, 2); /* the row at the cutoff stays */
	json_doc_free(f.doc);
	f.doc = NULL;
	batch_clear(&f.b);
	f.m.is_past_cutoff = 0;
	/* A server that ignored sort_direction must not end the stream. */
	assert_int_equal(ac->map_report(&f.m, fx_parse(&f, asc), &e), 0);
	assert_false(f.m.is_past_cutoff);
	assert_int_equal(f.b.n_events, 1);
	fx_release(&f);
}

static void test_xml_auth_body(void **state)
{
	static const char xml[] =
	    "<?xml version='1.0' encoding='utf-8'?>\n<not_allowed><error>You "
	    "are not authorized to access this file</error></not_allowed>";
	static const char root[] = "<root><error>You are not authorized to "
				   "access this file</error></root>";
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(ac->body_error(&e, xml, strlen(xml)), -1);
	assert_int_equal(e.kind, ERR_AUTH);
	err_clear(&e);
	assert_int_equal(ac->body_error(&e, root, strlen(root)), -1);
	assert_int_equal(e.kind, ERR_AUTH);
	assert_int_equal(ac->body_error(&e, "{\"result_code\":0}", 17), 0);
	assert_int_equal(ac->body_error(&e, "", 0), 0);
	assert_int_equal(ac->body_error(&e, "<html>gateway</html>", 20), 0);
}

static void test_http_errors(void **state)
{
	static const char inactive[] =
	    "{\"message\":\"Payment Required: this account is inactive\"}";
	struct err e = ERR_INIT;

	(void)state;
	ac->http_error(&e, 402, inactive, strlen(inactive), "the campaigns");
	assert_int_equal(e.kind, ERR_INACTIVE);
	assert_non_null(strstr(e.msg, "inactive"));
	ac->http_error(&e, 403, "{\"message\":\"Forbidden\"}", 23, "x");
	assert_int_equal(e.kind, ERR_AUTH);
	ac->http_error(&e, 401, NULL, 0, "x");
	assert_int_equal(e.kind, ERR_AUTH);
	ac->http_error(&e, 404, "{\"message\":\"No Result found\"}", 29,
		       "campaign '9'");
	assert_int_equal(e.kind, ERR_NOT_FOUND);
	ac->http_error(&e, 500, "<html>", 6, "x");
	assert_int_equal(e.kind, ERR_HTTP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_campaigns_page),
	    cmocka_unit_test(test_campaign_paging),
	    cmocka_unit_test(test_campaign_details),
	    cmocka_unit_test(test_report_url_has_no_key),
	    cmocka_unit_test(test_open_rows),
	    cmocka_unit_test(test_automation_campaign),
	    cmocka_unit_test(test_verified_opens),
	    cmocka_unit_test(test_learned_offset),
	    cmocka_unit_test(test_bounce_midnight_iso),
	    cmocka_unit_test(test_row_contacts),
	    cmocka_unit_test(test_report_end_and_bad_envelopes),
	    cmocka_unit_test(test_report_full_page_continues),
	    cmocka_unit_test(test_link_info_array_or_object),
	    cmocka_unit_test(test_bounce_date_only),
	    cmocka_unit_test(test_cutoff_newest_first),
	    cmocka_unit_test(test_xml_auth_body),
	    cmocka_unit_test(test_http_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Tests of the Mailchimp source: the data center of a key, the base URL
 * and credentials, URL building, offset paging (short page, the /reports
 * then /campaigns listing, re-anchored members), a table of JSON pages in
 * the shapes of the API reference and the records they map to, and the
 * problem+json errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "source/mailchimp.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/timeparse.h"

#define API "https://us6.api.mailchimp.com/3.0"

static const struct source *mc = &source_mailchimp;

static void put_time(struct buf *b, int64_t t)
{
	char iso[21];

	if (t == TIME_NULL) {
		assert_int_equal(buf_puts(b, "-"), 0);
		return;
	}
	time_format_iso(t, iso);
	assert_int_equal(buf_puts(b, iso), 0);
}

static const char *s_(const char *s)
{
	return s ? s : "-";
}

/* One line per record, in batch order. */
static void dump_batch(struct buf *b, const struct batch *bt)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < bt->n_campaigns; i++) {
		const struct rec_campaign *c = &bt->campaigns[i];
		const struct campaign_stats *s = &c->stats;

		rc |= buf_printf(b,
				 "campaign %s name=%s subject=%s from=%s<%s> "
				 "status=%s created=",
				 c->campaign_id, s_(c->name), s_(c->subject),
				 s_(c->from_name), s_(c->from_email),
				 s_(c->status));
		put_time(b, c->created_at);
		rc |= buf_puts(b, " sent=");
		put_time(b, c->sent_at);
		rc |= buf_printf(b, " to=%s", s_(c->to_lists_json));
		if (c->has_stats)
			rc |= buf_printf(b,
					 " stats=%lld,%lld/%lld,%lld/%lld,%lld/"
					 "%lld,%lld,%lld",
					 (long long)s->sent,
					 (long long)s->opened_unique,
					 (long long)s->opened_total,
					 (long long)s->clicked_unique,
					 (long long)s->clicked_total,
					 (long long)s->bounced_hard,
					 (long long)s->bounced_soft,
					 (long long)s->complained,
					 (long long)s->unsubscribed);
		rc |= buf_putc(b, '\n');
	}
	for (i = 0; i < bt->n_links; i++)
		rc |= buf_printf(b, "link %s %s %lld/%lld\n",
				 bt->links[i].campaign_id, bt->links[i].url,
				 (long long)bt->links[i].clicked_total,
				 (long long)bt->links[i].clicked_unique);
	for (i = 0; i < bt->n_participants; i++)
		rc |= buf_printf(b, "participant %s %s %s flags=%u\n",
				 bt->participants[i].campaign_id,
				 bt->participants[i].contact_id,
				 s_(bt->participants[i].email),
				 bt->participants[i].flags);
	for (i = 0; i < bt->n_events; i++) {
		const struct rec_event *e = &bt->events[i];

		rc |= buf_printf(b, "event %s %s %s %s/%s ",
				 event_type_name(e->type), e->campaign_id,
				 s_(e->campaign_name), e->contact_id,
				 s_(e->contact_email));
		put_time(b, e->ts);
		rc |= buf_printf(
		    b, " x%lld url=%s bounce=%s id=%s\n", (long long)e->times,
		    s_(e->link_url), s_(e->bounce_type),
		    strlen(e->event_id) == EVENT_ID_HEX ? "ok" : "bad");
	}
	for (i = 0; i < bt->n_contacts; i++) {
		const struct rec_contact *c = &bt->contacts[i];

		rc |= buf_printf(b,
				 "contact %s %s %s %s phone=%s status=%s "
				 "fields=%s tags=%s lists=%s created=",
				 c->contact_id, s_(c->email), s_(c->first_name),
				 s_(c->last_name), s_(c->phone), s_(c->status),
				 s_(c->fields_json), s_(c->tags_json),
				 s_(c->lists_json));
		put_time(b, c->created_at);
		rc |= buf_puts(b, " updated=");
		put_time(b, c->updated_at);
		rc |= buf_putc(b, '\n');
	}
	for (i = 0; i < bt->n_lists; i++) {
		const struct rec_list *l = &bt->lists[i];

		rc |= buf_printf(b,
				 "list %s name=%s fields=%s tags=%s "
				 "counts=%lld/%lld/%lld created=",
				 l->list_id, s_(l->name), s_(l->fields_json),
				 s_(l->tags_json), (long long)l->subscribed,
				 (long long)l->unsubscribed,
				 (long long)l->pending);
		put_time(b, l->created_at);
		rc |= buf_putc(b, '\n');
	}
	assert_int_equal(rc, 0);
}

/* Key and data center. */

static void test_key_dc(void **state)
{
	static const struct {
		const char *key, *dc;
	} cases[] = {
	    {"0123456789abcdef0123456789abcdef-us6", "us6"},
	    {"abc-def-us21", "us21"},
	    {"abc-US6", NULL},
	    {"abc-us", NULL},
	    {"abc-6", NULL},
	    {"abc-", NULL},
	    {"abcus6", NULL},
	    {"abc-us6x", NULL},
	    {"abc-us6 ", NULL},
	    {"", NULL},
	};
	char dc[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = mc_key_dc(cases[i].key, dc, sizeof(dc));

		if (!cases[i].dc) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(dc, cases[i].dc);
	}
	assert_int_equal(mc_key_dc(NULL, dc, sizeof(dc)), -1);
	assert_int_equal(mc_key_dc("k-us6", dc, 3), -1);
}

static void test_api_url_for(void **state)
{
	struct buf b = BUF_INIT;
	struct err err = ERR_INIT;

	(void)state;
	assert_int_equal(mc->api_url_for(&b, "secret-us6", NULL, &err), 0);
	assert_string_equal(buf_str(&b), "https://us6.api.mailchimp.com/3.0");
	/* the server prefix wins (an OAuth token has no suffix) */
	assert_int_equal(mc->api_url_for(&b, "oauthtoken", "us19", &err), 0);
	assert_string_equal(buf_str(&b), "https://us19.api.mailchimp.com/3.0");
	assert_int_equal(mc->api_url_for(&b, "secret-us6", "us2", &err), 0);
	assert_string_equal(buf_str(&b), "https://us2.api.mailchimp.com/3.0");
	assert_int_equal(mc->api_url_for(&b, "oauthtoken", NULL, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "MAILCHIMP_SERVER_PREFIX"));
	assert_null(strstr(err.msg, "oauthtoken"));
	assert_int_equal(mc->api_url_for(&b, "secret-us6", "evil.com/x?", &err),
			 -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	buf_release(&b);
}

static void test_auth_header(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	/* base64("espsync:k-us6") */
	assert_int_equal(mc->auth_header(&b, "k-us6"), 0);
	assert_string_equal(buf_str(&b),
			    "Authorization: Basic ZXNwc3luYzprLXVzNg==");
	buf_reset(&b);
	assert_int_equal(mc->auth_header(&b, "ab-us1"), 0);
	assert_string_equal(buf_str(&b),
			    "Authorization: Basic ZXNwc3luYzphYi11czE=");
	buf_reset(&b);
	assert_int_equal(mc->auth_header(&b, "abc-us1"), 0);
	assert_string_equal(buf_str(&b),
			    "Authorization: Basic ZXNwc3luYzphYmMtdXMx");
	buf_reset(&b);
	assert_int_equal(mc->auth_header(&b, "oauth-token"), 0);
	assert_string_equal(buf_str(&b), "Authorization: Bearer oauth-token");
	buf_release(&b);
}

/* URLs. */

static void test_urls(void **state)
{
	static const struct {
		enum source_endpoint ep;
		const char *list, *campaign, *status, *since, *cursor, *want;
	} cases[] = {
	    {SRC_PROBE, NULL, NULL, NULL, NULL, NULL,
	     API "/reports?count=1000&offset=0&exclude_fields=reports._links%"
		 "2Creports.timeseries%2Creports.industry_stats%2Creports.list_"
		 "stats%2Creports.timewarp%2C_links"},
	    {SRC_LISTS, NULL, NULL, NULL, NULL, NULL,
	     API "/lists?count=1000&offset=0&exclude_fields=lists._links%2C_"
		 "links"},
	    {SRC_LISTS, NULL, NULL, NULL, NULL, "1000",
	     API "/lists?count=1000&offset=1000&exclude_fields=lists._links%"
		 "2C_links"},
	    {SRC_CONTACTS, "l1", NULL, MC_ST_MEMBERS, NULL, NULL,
	     API "/lists/l1/members?count=1000&offset=0&sort_field=last_"
		 "changed&sort_dir=ASC&exclude_fields=members._links%2C_links"},
	    {SRC_CONTACTS, "l1", NULL, MC_ST_ARCHIVED, "2026-01-02T03:04:05Z",
	     NULL,
	     API "/lists/l1/members?count=1000&offset=0&status=archived&sort_"
		 "field=last_changed&sort_dir=ASC&since_last_changed=2026-01-"
		 "02T03%3A04%3A05Z&exclude_fields=members._links%2C_links"},
	    /* re-anchored: since = anchor - 1 s, offset = rows of that
	       second already read */
	    {SRC_CONTACTS, "l1", NULL, MC_ST_MEMBERS, "2026-01-02T03:04:05Z",
	     "1767323045.3",
	     API "/lists/l1/members?count=1000&offset=3&sort_field=last_"
		 "changed&sort_dir=ASC&since_last_changed=2026-01-02T03%3A04%"
		 "3A04Z&exclude_fields=members._links%2C_links"},
	    {SRC_CONTACTS, "l1", NULL, MC_ST_MEMBERS, "2026-01-02T03:04:05Z",
	     "x.2000",
	     API "/lists/l1/members?count=1000&offset=2000&sort_field=last_"
		 "changed&sort_dir=ASC&since_last_changed=2026-01-02T03%3A04%"
		 "3A05Z&exclude_fields=members._links%2C_links"},
	    {SRC_CONTACTS, "l 1", NULL, MC_ST_FIELDS, "2026-01-02T03:04:05Z",
	     NULL,
	     API "/lists/l%201/merge-fields?count=1000&offset=0&exclude_"
		 "fields=merge_fields._links%2C_links"},
	    {SRC_CONTACTS, "l1", NULL, MC_ST_TAGS, NULL, NULL,
	     API "/lists/l1/tag-search?count=1000&offset=0"},
	    {SRC_CAMPAIGNS, NULL, NULL, NULL, NULL, NULL,
	     API "/reports?count=1000&offset=0&exclude_fields=reports._links%"
		 "2Creports.timeseries%2Creports.industry_stats%2Creports."
		 "list_stats%2Creports.timewarp%2C_links"},
	    {SRC_CAMPAIGNS, NULL, NULL, NULL, NULL, "c1000",
	     API "/campaigns?count=1000&offset=1000&exclude_fields=campaigns."
		 "_links%2C_links"},
	    {SRC_CAMPAIGN, NULL, "c/1", NULL, NULL, NULL,
	     API "/campaigns/c%2F1?exclude_fields=_links"},
	    {SRC_SUMMARY, NULL, "c1", NULL, NULL, NULL,
	     API "/reports/c1?exclude_fields=_links%2Ctimeseries%2Cindustry_"
		 "stats%2Clist_stats%2Ctimewarp"},
	    {SRC_LINKS, NULL, "c1", NULL, NULL, NULL,
	     API "/reports/c1/click-details?count=1000&offset=0&exclude_"
		 "fields=urls_clicked._links%2C_links"},
	    {SRC_REPORT, NULL, "c1", MC_RK_ACTIVITY, NULL, NULL,
	     API "/reports/c1/email-activity?count=1000&offset=0&fields="
		 "emails.email_id%2Cemails.email_address%2Cemails.activity%"
		 "2Ctotal_items"},
	    {SRC_REPORT, NULL, "c1", MC_RK_ACTIVITY, "2026-07-08T17:46:26Z",
	     "2000",
	     API "/reports/c1/email-activity?count=1000&offset=2000&since="
		 "2026-07-08T17%3A46%3A26Z&fields=emails.email_id%2Cemails."
		 "email_address%2Cemails.activity%2Ctotal_items"},
	    {SRC_REPORT, NULL, "c1", MC_RK_UNSUBSCRIBED, "2026-07-08T17:46:26Z",
	     NULL,
	     API "/reports/c1/unsubscribed?count=1000&offset=0&exclude_fields="
		 "unsubscribes._links%2C_links"},
	    {SRC_REPORT, NULL, "c1", MC_RK_ABUSE, NULL, NULL,
	     API "/reports/c1/abuse-reports?exclude_fields=abuse_reports._"
		 "links%2C_links"},
	};
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct source_query q = {.endpoint = cases[i].ep};

		q.list_id = cases[i].list;
		q.campaign_id = cases[i].campaign;
		q.status = cases[i].status;
		q.since_iso = cases[i].since;
		q.cursor = cases[i].cursor;
		buf_reset(&b);
		assert_int_equal(mc->url(&b, API, &q), 0);
		assert_string_equal(buf_str(&b), cases[i].want);
	}
	{
		struct source_query q = {.endpoint = SRC_FIELDS};

		buf_reset(&b);
		assert_int_equal(mc->url(&b, API, &q), -1);
	}
	buf_release(&b);
}

/* Paging. */

/* A page of n items under key; each member row gets last_changed from
 * times (cycled) when given. */
static char *page_of(const char *key, size_t n, const char *const *times,
		     size_t n_times)
{
	struct buf b;
	size_t i;
	int rc;

	buf_init(&b, (size_t)8 << 20);
	rc = buf_printf(&b, "{\"%s\":[", key);
	for (i = 0; i < n; i++) {
		rc |= buf_printf(&b, "%s{\"id\":\"r%zu\"", i ? "," : "", i);
		if (n_times)
			rc |= buf_printf(&b, ",\"last_changed\":\"%s\"",
					 times[i < n_times ? i : n_times - 1]);
		rc |= buf_putc(&b, '}');
	}
	rc |= buf_printf(&b, "],\"total_items\":5}");
	assert_int_equal(rc, 0);
	return buf_detach(&b, NULL);
}

static void next_of(struct source_next *nx, const char *body,
		    const struct source_query *q)
{
	struct json_doc *doc = NULL;

	assert_int_equal(json_parse(&doc, body, strlen(body), NULL), 0);
	mc->next_page(nx, json_root(doc), API, q);
	json_doc_free(doc);
}

static void test_paging(void **state)
{
	struct source_next nx;
	struct source_query q = {.endpoint = SRC_LISTS};
	char *full = page_of("lists", MC_PAGE, NULL, 0);
	char *small = page_of("lists", 3, NULL, 0);
	char *reports = page_of("reports", 2, NULL, 0);
	char *campaigns = page_of("campaigns", MC_PAGE, NULL, 0);
	char *emails = page_of("emails", MC_PAGE, NULL, 0);
	char *abuse = page_of("abuse_reports", MC_PAGE, NULL, 0);
	char *links = page_of("urls_clicked", MC_PAGE, NULL, 0);

	(void)state;
	memset(&nx, 0, sizeof(nx));
	buf_init(&nx.url, 64 * 1024);
	buf_init(&nx.cursor, 1024);

	/* a full page continues at the next offset; total_items ignored */
	next_of(&nx, full, &q);
	assert_true(nx.has_next);
	assert_string_equal(buf_str(&nx.cursor), "1000");
	assert_string_equal(buf_str(&nx.url),
			    API "/lists?count=1000&offset=1000&exclude_fields="
				"lists._links%2C_links");
	/* a short page ends */
	next_of(&nx, small, &q);
	assert_false(nx.has_next);
	/* no items array: no next (the mapping rejects the page) */
	next_of(&nx, "{\"total_items\":3000}", &q);
	assert_false(nx.has_next);

	/* the campaign listing: /reports, then /campaigns */
	q.endpoint = SRC_CAMPAIGNS;
	next_of(&nx, reports, &q);
	assert_true(nx.has_next);
	assert_string_equal(buf_str(&nx.cursor), "c0");
	assert_non_null(strstr(buf_str(&nx.url), API "/campaigns?"));
	q.cursor = "c0";
	next_of(&nx, campaigns, &q);
	assert_true(nx.has_next);
	assert_string_equal(buf_str(&nx.cursor), "c1000");
	q.cursor = "c1000";
	next_of(&nx, "{\"campaigns\":[]}", &q);
	assert_false(nx.has_next);

	q.endpoint = SRC_REPORT;
	q.campaign_id = "c1";
	q.status = MC_RK_ACTIVITY;
	q.cursor = "1000";
	q.since_iso = "2026-07-08T17:46:26Z";
	next_of(&nx, emails, &q);
	assert_true(nx.has_next);
	assert_string_equal(buf_str(&nx.cursor), "2000");
	assert_non_null(strstr(buf_str(&nx.url), "since=2026-07-08T17%3A46"));
	/* abuse reports are one answer */
	q.status = MC_RK_ABUSE;
	next_of(&nx, abuse, &q);
	assert_false(nx.has_next);
	/* click-details past its first 1000 links */
	q.endpoint = SRC_LINKS;
	q.status = NULL;
	q.since_iso = NULL;
	q.cursor = NULL;
	next_of(&nx, links, &q);
	assert_true(mc->is_links_paged);
	assert_true(nx.has_next);
	assert_string_equal(buf_str(&nx.cursor), "1000");
	assert_string_equal(buf_str(&nx.url),
			    API "/reports/c1/click-details?count=1000&"
				"offset=1000&exclude_fields=urls_clicked."
				"_links%2C_links");
	q.cursor = "1000";
	next_of(&nx, "{\"urls_clicked\":[]}", &q);
	assert_false(nx.has_next);

	free(full);
	free(small);
	free(reports);
	free(campaigns);
	free(emails);
	free(abuse);
	free(links);
	buf_release(&nx.url);
	buf_release(&nx.cursor);
}

static void test_members_anchor(void **state)
{
	static const char *const sorted[] = {"2026-01-01T00:00:00+00:00",
					     "2026-01-01T00:00:01+00:00",
					     "2026-01-02T03:04:05+00:00"};
	static const char *const same[] = {"2026-01-02T03:04:05+00:00"};
	static const char *const unsorted[] = {"2026-01-03T00:00:00+00:00",
					       "2026-01-01T00:00:00+00:00",
					       "2026-01-02T00:00:00+00:00"};
	struct source_next nx;
	struct source_query q = {.endpoint = SRC_CONTACTS};
	char *p;

	(void)state;
	memset(&nx, 0, sizeof(nx));
	buf_init(&nx.url, 64 * 1024);
	buf_init(&nx.cursor, 1024);
	q.list_id = "l1";
	q.status = MC_ST_MEMBERS;

	/* the last 998 rows share the last row's second: the next page
	 * starts at that second, past them */
	p = page_of("members", MC_PAGE, sorted, 3);
	next_of(&nx, p, &q);
	assert_true(nx.has_next);
	assert_string_equal(buf_str(&nx.cursor), "1767323045.998");
	assert_non_null(strstr(buf_str(&nx.url),
			       "offset=998&sort_field=last_changed&sort_dir="
			       "ASC&since_last_changed=2026-01-02T03%3A04%"
			       "3A04Z"));
	free(p);
	/* a whole page in that same second: the offset grows */
	q.cursor = "1767323045.998";
	p = page_of("members", MC_PAGE, same, 1);
	next_of(&nx, p, &q);
	assert_string_equal(buf_str(&nx.cursor), "1767323045.1998");
	free(p);
	/* out of order (sort ignored): the same filter, offset paging */
	q.cursor = NULL;
	q.since_iso = "2025-12-31T00:00:00Z";
	p = page_of("members", MC_PAGE, unsorted, 3);
	next_of(&nx, p, &q);
	assert_string_equal(buf_str(&nx.cursor), "x.1000");
	assert_non_null(strstr(buf_str(&nx.url),
			       "offset=1000&sort_field=last_changed&"
			       "sort_dir=ASC&since_last_changed=2025-12-"
			       "31T00%3A00%3A00Z"));
	free(p);
	/* a short page ends */
	p = page_of("members", 5, sorted, 3);
	next_of(&nx, p, &q);
	assert_false(nx.has_next);
	free(p);
	buf_release(&nx.url);
	buf_release(&nx.cursor);
}

/* Mapping: a table of pages. */

struct map_case {
	const char *name;
	source_map_fn fn;
	const char *status; /* m->status (contacts) or report kind */
	int64_t cutoff;	    /* TIME_NULL: none */
	const char *json;
	const char *want;    /* dump_batch of the result */
	int64_t want_newest; /* TIME_NULL: none */
};

static const struct source_report_kind *kind_named(const char *name)
{
	size_t i;

	for (i = 0; name && i < mc->n_report_kinds; i++)
		if (!strcmp(mc->report_kinds[i].status, name))
			return &mc->report_kinds[i];
	return NULL;
}

static int64_t iso(const char *s)
{
	int64_t t;

	assert_int_equal(time_parse(s, 0, &t), 0);
	return t;
}

static void run_map_case(const struct map_case *c)
{
	struct json_doc *doc = NULL;
	struct source_map m;
	struct batch bt;
	struct buf out = BUF_INIT;
	struct err err = ERR_INIT;

	batch_init(&bt, "mailchimp", "default");
	memset(&m, 0, sizeof(m));
	m.batch = &bt;
	m.list_id = "l1";
	m.campaign_id = "c1";
	m.campaign_name = "Spring";
	m.status = c->status;
	m.kind = kind_named(c->status);
	m.want_events = 1;
	m.cutoff = c->cutoff;
	m.newest_updated_at = TIME_NULL;
	assert_int_equal(json_parse(&doc, c->json, strlen(c->json), NULL), 0);
	if (c->fn(&m, json_root(doc), &err) < 0)
		fail_msg("%s: %s", c->name, err.msg);
	dump_batch(&out, &bt);
	if (strcmp(buf_str(&out), c->want) != 0)
		fail_msg("%s:\n got:\n%s want:\n%s", c->name, buf_str(&out),
			 c->want);
	assert_true(m.newest_updated_at == c->want_newest);
	json_doc_free(doc);
	buf_release(&out);
	batch_release(&bt);
}

#define NONE TIME_NULL

static void test_map_pages(void **state)
{
	const struct map_case cases[] = {
	    {"lists", mc_map_lists, NULL, NONE,
	     "{\"lists\":[{\"id\":\"l1\",\"web_id\":1,\"name\":\"Main\","
	     "\"date_created\":\"2024-01-02T03:04:05+00:00\",\"stats\":{"
	     "\"member_count\":10,\"unsubscribe_count\":2,\"cleaned_count\":1}"
	     ",\"_links\":[]},{\"name\":\"no id\"}],\"total_items\":2,"
	     "\"constraints\":{\"may_create\":true}}",
	     "list l1 name=Main fields=- tags=- counts=10/2/-1 "
	     "created=2024-01-02T03:04:05Z\n",
	     NONE},
	    {"merge fields", mc_map_contacts, MC_ST_FIELDS, NONE,
	     "{\"merge_fields\":[{\"merge_id\":1,\"tag\":\"FNAME\",\"name\":"
	     "\"First Name\",\"type\":\"text\"},{\"merge_id\":4,\"tag\":"
	     "\"ADDRESS\",\"name\":\"Address\",\"type\":\"Address\"}],"
	     "\"list_id\":\"l1\",\"total_items\":2}",
	     "list l1 name=- fields=[{\"tag\":\"FNAME\",\"label\":\"First "
	     "Name\",\"type\":\"text\"},{\"tag\":\"ADDRESS\",\"label\":"
	     "\"Address\",\"type\":\"address\"}] tags=- counts=-1/-1/-1 "
	     "created=-\n",
	     NONE},
	    {"list tags", mc_map_contacts, MC_ST_TAGS, NONE,
	     "{\"tags\":[{\"id\":1,\"name\":\"vip\"},{\"id\":2,\"name\":"
	     "\"b2b\"}],\"total_items\":2}",
	     "list l1 name=- fields=- tags=[\"vip\",\"b2b\"] "
	     "counts=-1/-1/-1 created=-\n",
	     NONE},
	    {"members", mc_map_contacts, MC_ST_MEMBERS, NONE,
	     "{\"members\":[{\"id\":\"h1\",\"email_address\":\"a@x.io\","
	     "\"status\":\"subscribed\",\"merge_fields\":{\"FNAME\":\"Ann\","
	     "\"LNAME\":\"\",\"PHONE\":\"\",\"ADDRESS\":{\"addr1\":\"1 Road\","
	     "\"city\":\"X\"}},\"timestamp_signup\":\"\",\"timestamp_opt\":"
	     "\"2024-01-02T03:04:05+00:00\",\"last_changed\":\"2024-02-02T00:"
	     "00:00+00:00\",\"tags_count\":1,\"tags\":[{\"id\":7,\"name\":"
	     "\"vip\"}],\"list_id\":\"l1\"},{\"id\":\"h2\",\"email_address\":"
	     "\"b@x.io\",\"status\":\"cleaned\",\"merge_fields\":{\"ADDRESS\":"
	     "\"\"},\"last_changed\":\"2024-03-01T00:00:00+00:00\",\"tags\":[]}"
	     ",{\"email_address\":\"no-id@x.io\"}],\"list_id\":\"l1\","
	     "\"total_items\":99}",
	     "contact h1 a@x.io Ann  phone= status=subscribed "
	     "fields={\"FNAME\":\"Ann\",\"LNAME\":\"\",\"PHONE\":\"\","
	     "\"ADDRESS\":{\"addr1\":\"1 Road\",\"city\":\"X\"}} "
	     "tags=[\"vip\"] lists=[\"l1\"] created=2024-01-02T03:04:05Z "
	     "updated=2024-02-02T00:00:00Z\n"
	     "contact h2 b@x.io - - phone=- status=cleaned "
	     "fields={\"ADDRESS\":\"\"} tags=[] lists=[\"l1\"] created=- "
	     "updated=2024-03-01T00:00:00Z\n",
	     1709251200},
	    {"archived", mc_map_contacts, MC_ST_ARCHIVED, NONE,
	     "{\"members\":[{\"id\":\"h3\",\"email_address\":\"c@x.io\","
	     "\"status\":\"archived\",\"last_changed\":\"\"}]}",
	     "contact h3 c@x.io - - phone=- status=archived fields={} "
	     "tags=[] lists=[\"l1\"] created=- updated=-\n",
	     NONE},
	    {"reports listing", mc_map_campaigns, NULL, NONE,
	     "{\"reports\":[{\"id\":\"c1\",\"campaign_title\":\"Spring\","
	     "\"type\":\"regular\",\"list_id\":\"l1\",\"subject_line\":\"Hi\","
	     "\"emails_sent\":100,\"abuse_reports\":1,\"unsubscribed\":2,"
	     "\"send_time\":\"2026-07-08T17:00:00+00:00\",\"bounces\":{"
	     "\"hard_bounces\":3,\"soft_bounces\":4,\"syntax_errors\":0},"
	     "\"opens\":{\"opens_total\":50,\"unique_opens\":40,\"open_rate\":"
	     "0.4,\"last_open\":\"2026-07-08T18:00:00+00:00\"},\"clicks\":{"
	     "\"clicks_total\":20,\"unique_clicks\":12,"
	     "\"unique_subscriber_clicks\":10,\"last_click\":\"\"},"
	     "\"delivery_status\":{\"enabled\":false}},{\"id\":\"c2\","
	     "\"campaign_title\":\"Live\",\"emails_sent\":5,\"send_time\":"
	     "\"2026-07-09T00:00:00+00:00\",\"opens\":{},\"clicks\":{"
	     "\"unique_clicks\":1},\"delivery_status\":{\"status\":"
	     "\"delivering\"}}],\"total_items\":2}",
	     "campaign c1 name=Spring subject=Hi from=-<-> status=sent "
	     "created=- sent=2026-07-08T17:00:00Z to=[\"l1\"] "
	     "stats=100,40/50,10/20,3/4,1,2\n"
	     "campaign c2 name=Live subject=- from=-<-> status=sending "
	     "created=- sent=2026-07-09T00:00:00Z to=- "
	     "stats=5,0/0,1/0,0/0,0,0\n",
	     NONE},
	    {"campaigns listing", mc_map_campaigns, NULL, NONE,
	     "{\"campaigns\":[{\"id\":\"c1\",\"type\":\"regular\",\"status\":"
	     "\"sent\",\"create_time\":\"2026-07-01T00:00:00+00:00\","
	     "\"send_time\":\"2026-07-08T17:00:00+00:00\",\"recipients\":{"
	     "\"list_id\":\"l1\"},\"settings\":{\"subject_line\":\"Hi\","
	     "\"title\":\"Spring\",\"from_name\":\"Shop\",\"reply_to\":"
	     "\"shop@x.io\"}},{\"id\":\"c3\",\"status\":\"save\","
	     "\"create_time\":\"2026-07-02T00:00:00+00:00\",\"send_time\":\"\","
	     "\"settings\":{\"title\":\"Draft\",\"reply_to\":\"\"}}],"
	     "\"total_items\":2}",
	     "campaign c1 name=Spring subject=Hi from=Shop<shop@x.io> "
	     "status=- created=2026-07-01T00:00:00Z "
	     "sent=2026-07-08T17:00:00Z to=[\"l1\"]\n"
	     "campaign c3 name=Draft subject=- from=-<-> status=save "
	     "created=2026-07-02T00:00:00Z sent=- to=-\n",
	     NONE},
	    {"one campaign", mc_map_campaign, NULL, NONE,
	     "{\"id\":\"c1\",\"status\":\"sent\",\"settings\":{\"title\":"
	     "\"Spring\"}}",
	     "campaign c1 name=Spring subject=- from=-<-> status=sent "
	     "created=- sent=- to=-\n",
	     NONE},
	    {"click details", mc_map_links, NULL, NONE,
	     "{\"urls_clicked\":[{\"id\":\"u1\",\"url\":\"https://x.io/a\","
	     "\"total_clicks\":5,\"unique_clicks\":3,\"last_click\":\"\"},"
	     "{\"id\":\"u2\"}],\"campaign_id\":\"c1\",\"total_items\":2}",
	     "link c1 https://x.io/a 5/3\n", NONE},
	    {"email activity", mc_map_report, MC_RK_ACTIVITY, NONE,
	     "{\"emails\":[{\"campaign_id\":\"c1\",\"list_id\":\"l1\","
	     "\"email_id\":\"h1\",\"email_address\":\"a@x.io\",\"activity\":["
	     "{\"action\":\"open\",\"timestamp\":\"2026-07-08T17:56:26+00:00\","
	     "\"ip\":\"1.2.3.4\"},{\"action\":\"click\",\"timestamp\":"
	     "\"2026-07-08T17:57:00+00:00\",\"url\":\"https://x.io/a\",\"ip\":"
	     "\"1.2.3.4\"},{\"action\":\"click\",\"timestamp\":"
	     "\"2026-07-08T17:57:00+00:00\",\"url\":\"https://x.io/a\"},{"
	     "\"action\":\"click\",\"timestamp\":\"2026-07-08T17:57:00+00:00\","
	     "\"url\":\"https://x.io/b\"}]},{\"email_id\":\"h2\","
	     "\"email_address\":\"b@x.io\",\"activity\":[{\"action\":"
	     "\"bounce\",\"type\":\"hard\",\"timestamp\":"
	     "\"2026-07-08T17:01:00+00:00\"}]},{\"email_id\":\"h3\","
	     "\"email_address\":\"c@x.io\",\"activity\":[]},{\"email_address\":"
	     "\"nobody@x.io\"}],\"campaign_id\":\"c1\",\"total_items\":4}",
	     "participant c1 h1 a@x.io flags=35\n"
	     "participant c1 h2 b@x.io flags=36\n"
	     "participant c1 h3 c@x.io flags=32\n"
	     "event open c1 Spring h1/a@x.io 2026-07-08T17:56:26Z x1 url=- "
	     "bounce=- id=ok\n"
	     "event click c1 Spring h1/a@x.io 2026-07-08T17:57:00Z x2 "
	     "url=https://x.io/a bounce=- id=ok\n"
	     "event click c1 Spring h1/a@x.io 2026-07-08T17:57:00Z x1 "
	     "url=https://x.io/b bounce=- id=ok\n"
	     "event bounce c1 Spring h2/b@x.io 2026-07-08T17:01:00Z x1 url=- "
	     "bounce=hard id=ok\n",
	     1783533420},
	    {"email activity window", mc_map_report, MC_RK_ACTIVITY,
	     1783533000, /* 2026-07-08T17:50:00Z */
	     "{\"emails\":[{\"email_id\":\"h1\",\"email_address\":\"a@x.io\","
	     "\"activity\":[{\"action\":\"open\",\"timestamp\":"
	     "\"2026-07-08T17:56:26+00:00\"},{\"action\":\"bounce\",\"type\":"
	     "\"soft\",\"timestamp\":\"2026-07-08T17:01:00+00:00\"}]}]}",
	     "participant c1 h1 a@x.io flags=37\n"
	     "event open c1 Spring h1/a@x.io 2026-07-08T17:56:26Z x1 url=- "
	     "bounce=- id=ok\n",
	     1783533386},
	    {"unsubscribed", mc_map_report, MC_RK_UNSUBSCRIBED, NONE,
	     "{\"unsubscribes\":[{\"email_id\":\"h1\",\"email_address\":"
	     "\"a@x.io\",\"merge_fields\":{},\"vip\":false,\"timestamp\":"
	     "\"2026-07-09T10:00:00+00:00\",\"reason\":\"N/A\",\"campaign_id\":"
	     "\"c1\",\"list_id\":\"l1\"}],\"campaign_id\":\"c1\","
	     "\"total_items\":1}",
	     "participant c1 h1 a@x.io flags=16\n"
	     "event unsubscribe c1 Spring h1/a@x.io 2026-07-09T10:00:00Z x1 "
	     "url=- bounce=- id=ok\n",
	     1783591200},
	    {"abuse reports", mc_map_report, MC_RK_ABUSE, NONE,
	     "{\"abuse_reports\":[{\"id\":42,\"campaign_id\":\"c1\","
	     "\"list_id\":\"l1\",\"email_id\":\"h2\",\"email_address\":"
	     "\"b@x.io\",\"date\":\"2026-07-09T11:00:00+00:00\"}],"
	     "\"campaign_id\":\"c1\",\"total_items\":1}",
	     "participant c1 h2 b@x.io flags=8\n"
	     "event complaint c1 Spring h2/b@x.io 2026-07-09T11:00:00Z x1 "
	     "url=- bounce=- id=ok\n",
	     1783594800},
	};
	size_t i;

	(void)state;
	assert_true(iso("2026-07-08T17:57:00Z") == 1783533420);
	assert_true(iso("2026-07-08T17:50:00Z") == 1783533000);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_map_case(&cases[i]);
}

static void test_map_rejects(void **state)
{
	static const struct {
		source_map_fn fn;
		const char *status, *json;
	} cases[] = {
	    {mc_map_lists, NULL, "{\"type\":\"x\",\"title\":\"Oops\"}"},
	    {mc_map_contacts, MC_ST_MEMBERS, "{\"members\":{}}"},
	    {mc_map_contacts, MC_ST_FIELDS, "[]"},
	    {mc_map_campaigns, NULL, "{\"total_items\":0}"},
	    {mc_map_campaign, NULL, "{\"status\":\"sent\"}"},
	    {mc_map_links, NULL, "{}"},
	    {mc_map_report, MC_RK_ACTIVITY, "{\"unsubscribes\":[]}"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_doc *doc = NULL;
		struct source_map m;
		struct batch bt;
		struct err err = ERR_INIT;

		batch_init(&bt, "mailchimp", "default");
		memset(&m, 0, sizeof(m));
		m.batch = &bt;
		m.list_id = "l1";
		m.campaign_id = "c1";
		m.status = cases[i].status;
		m.kind = kind_named(cases[i].status);
		m.cutoff = TIME_NULL;
		m.newest_updated_at = TIME_NULL;
		assert_int_equal(json_parse(&doc, cases[i].json,
					    strlen(cases[i].json), NULL),
				 0);
		assert_int_equal(cases[i].fn(&m, json_root(doc), &err), -1);
		assert_int_equal(err.kind, ERR_PARSE);
		json_doc_free(doc);
		batch_release(&bt);
	}
}

static void test_summary(void **state)
{
	const char *body =
	    "{\"id\":\"c1\",\"emails_sent\":7,\"abuse_reports\":0,"
	    "\"unsubscribed\":1,\"bounces\":{\"hard_bounces\":1,"
	    "\"soft_bounces\":0},\"opens\":{\"opens_total\":9,\"unique_opens\":"
	    "5},\"clicks\":{\"clicks_total\":3,\"unique_clicks\":2}}";
	struct json_doc *doc = NULL;
	struct campaign_stats st;
	struct err err = ERR_INIT;

	(void)state;
	assert_int_equal(json_parse(&doc, body, strlen(body), NULL), 0);
	assert_int_equal(mc->map_summary(&st, json_root(doc), &err), 0);
	assert_true(st.sent == 7 && st.opened_total == 9 &&
		    st.opened_unique == 5 && st.clicked_total == 3 &&
		    st.clicked_unique == 2 && st.bounced_hard == 1 &&
		    st.unsubscribed == 1 && st.complained == 0);
	json_doc_free(doc);
	assert_int_equal(json_parse(&doc, "[1]", 3, NULL), 0);
	assert_int_equal(mc->map_summary(&st, json_root(doc), &err), -1);
	json_doc_free(doc);
}

/* Errors. */

static void test_errors(void **state)
{
	static const struct {
		long status;
		const char *body;
		enum err_kind kind;
		const char *has, *also;
	} cases[] = {
	    {401,
	     "{\"type\":\"https://mailchimp.com/developer/marketing/docs/"
	     "errors/\",\"title\":\"API Key Invalid\",\"status\":401,"
	     "\"detail\":\"Your API key may be invalid, or you've attempted to "
	     "access the wrong datacenter.\",\"instance\":\"abc\"}",
	     ERR_AUTH, "API Key Invalid: Your API key may be invalid",
	     "MAILCHIMP_API_KEY"},
	    {401, "", ERR_AUTH, "API Key Invalid", "data center"},
	    {403,
	     "{\"title\":\"Wrong Datacenter\",\"status\":403,\"detail\":\"The "
	     "API key provided is linked to a different data center.\"}",
	     ERR_AUTH, "Wrong Datacenter: The API key", "data center"},
	    {403,
	     "{\"title\":\"User Disabled\",\"status\":403,\"detail\":\"This "
	     "account has been deactivated.\"}",
	     ERR_AUTH, "User Disabled", "campaign 'c1'"},
	    {403, "", ERR_HTTP, "403 without a body",
	     "ESPSYNC_CONNECTIONS_MAILCHIMP"},
	    {403, "<html>Forbidden</html>", ERR_HTTP, "403 without a body",
	     "campaign 'c1'"},
	    {429,
	     "{\"title\":\"Too Many Requests\",\"status\":429,\"detail\":"
	     "\"You have exceeded the limit of 10 simultaneous "
	     "connections.\"}",
	     ERR_HTTP, "simultaneous connections", "10 connections"},
	    {429, "", ERR_HTTP, "Too Many Requests", "CONNECTIONS"},
	    {404,
	     "{\"title\":\"Resource Not Found\",\"status\":404,\"detail\":"
	     "\"The requested resource could not be found.\"}",
	     ERR_NOT_FOUND, "campaign 'c1' not found on mailchimp",
	     "Resource Not Found"},
	    {500, "{\"title\":\"Internal Server Error\",\"status\":500}",
	     ERR_HTTP, "answered 500", "Internal Server Error"},
	    {0, "{\"title\":\"API Key Missing\",\"status\":401}", ERR_AUTH,
	     "API Key Missing", "401"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct err err = ERR_INIT;

		mc->http_error(&err, cases[i].status, cases[i].body,
			       strlen(cases[i].body), "campaign 'c1'");
		if (err.kind != cases[i].kind ||
		    !strstr(err.msg, cases[i].has) ||
		    !strstr(err.msg, cases[i].also))
			fail_msg("case %zu: kind %d: %s", i, (int)err.kind,
				 err.msg);
	}
}

static void test_problem(void **state)
{
	const char *d = "{\"detail\":\"d\",\"status\":\"x\"}";
	const char *t = "{\"title\":\"t\\u0007\"}";
	char out[64];
	long st;

	(void)state;
	assert_int_equal(mc_problem(d, strlen(d), &st, out, sizeof(out)), 0);
	assert_string_equal(out, "d");
	assert_int_equal(st, 0);
	assert_int_equal(mc_problem(t, strlen(t), &st, out, sizeof(out)), 0);
	assert_string_equal(out, "t?");
	assert_int_equal(mc_problem("nope", 4, &st, out, sizeof(out)), -1);
	assert_int_equal(mc_problem("{}", 2, &st, out, sizeof(out)), -1);
	assert_int_equal(mc_problem(NULL, 0, &st, out, sizeof(out)), -1);
}

/* A member with more tags than its row lists is read again for them. */
static void test_member_tags_followup(void **state)
{
	const char *page =
	    "{\"members\":[{\"id\":\"h1\",\"status\":\"subscribed\","
	    "\"tags_count\":52,\"tags\":[{\"id\":1,\"name\":\"a\"}]},"
	    "{\"id\":\"h2\",\"tags_count\":1,\"tags\":[{\"id\":1,"
	    "\"name\":\"a\"}]}]}";
	const char *tags = "{\"tags\":[{\"id\":1,\"name\":\"a\","
			   "\"date_added\":\"\"},{\"id\":2,\"name\":\"b\"}],"
			   "\"total_items\":2}";
	struct source_query q = {.endpoint = SRC_CONTACT_PART};
	struct json_doc *doc = NULL;
	struct source_map m;
	struct batch bt;
	struct buf b = BUF_INIT;
	struct err err = ERR_INIT;

	(void)state;
	q.list_id = "l1";
	q.contact_id = "h1";
	assert_int_equal(mc->url(&b, API, &q), 0);
	assert_string_equal(buf_str(&b),
			    API "/lists/l1/members/h1/tags?count=1000&offset=0&"
				"exclude_fields=tags._links%2C_links");
	batch_init(&bt, "mailchimp", "default");
	memset(&m, 0, sizeof(m));
	m.batch = &bt;
	m.list_id = "l1";
	m.status = MC_ST_MEMBERS;
	m.cutoff = m.newest_updated_at = TIME_NULL;
	assert_int_equal(json_parse(&doc, page, strlen(page), NULL), 0);
	assert_int_equal(mc->map_contacts(&m, json_root(doc), &err), 0);
	assert_int_equal(m.n_follow, 1);
	assert_string_equal(m.follow_ids[0], "h1");
	json_doc_free(doc);
	batch_clear(&bt);
	memset(&m, 0, sizeof(m));
	m.batch = &bt;
	m.list_id = "l1";
	m.status = MC_ST_MEMBERS;
	m.contact_id = "h1";
	m.cutoff = m.newest_updated_at = TIME_NULL;
	assert_int_equal(json_parse(&doc, tags, strlen(tags), NULL), 0);
	assert_int_equal(mc->map_contacts(&m, json_root(doc), &err), 0);
	assert_int_equal(bt.n_contacts, 1);
	assert_string_equal(bt.contacts[0].contact_id, "h1");
	assert_string_equal(bt.contacts[0].tags_json, "[\"a\",\"b\"]");
	assert_null(bt.contacts[0].status);
	assert_null(bt.contacts[0].email);
	json_doc_free(doc);
	batch_release(&bt);
	buf_release(&b);
}

static void test_descriptor(void **state)
{
	char probe[160];
	struct json_doc *doc = NULL;
	const char *ping = "{\"reports\":[],\"total_items\":3}";

	(void)state;
	assert_true(mc->is_throttle_connections);
	assert_true(mc->is_bare_403_throttle);
	assert_true(mc->is_summary_in_listing);
	assert_true(mc->is_report_windowed);
	/* the server cuts calls at 120 s: the client waits longer */
	assert_true(mc->timeout_s >= 130);
	assert_true(mc->is_reportable("sent"));
	assert_true(mc->is_reportable("sending"));
	assert_false(mc->is_reportable("save"));
	assert_false(mc->is_reportable(NULL));
	assert_string_equal(source_key(mc->keys, PROLE_CONNECTIONS)->def, "6");
	assert_true(source_key(mc->keys, PROLE_CONNECTIONS)->max == 10);
	assert_non_null(source_key(mc->keys, PROLE_REGION));
	assert_null(source_key(mc->keys, PROLE_API_URL)->def);
	assert_int_equal(json_parse(&doc, ping, strlen(ping), NULL), 0);
	mc->probe_detail(probe, sizeof(probe), json_root(doc));
	assert_string_equal(probe, "reached, 3 sent campaigns");
	assert_true(mc->is_probe_campaigns_page);
	json_doc_free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_dc),
	    cmocka_unit_test(test_api_url_for),
	    cmocka_unit_test(test_auth_header),
	    cmocka_unit_test(test_urls),
	    cmocka_unit_test(test_paging),
	    cmocka_unit_test(test_members_anchor),
	    cmocka_unit_test(test_map_pages),
	    cmocka_unit_test(test_map_rejects),
	    cmocka_unit_test(test_summary),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_problem),
	    cmocka_unit_test(test_member_tags_followup),
	    cmocka_unit_test(test_descriptor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

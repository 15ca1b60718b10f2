/* Tests of the EmailOctopus source: a table of JSON pages and the records
 * they map to (dumped as text lines), the paging end variants and hostile
 * next links, URL building and error envelopes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "source/emailoctopus.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/log.h"

#define API "https://api.emailoctopus.com"

static const struct source *eo = &source_emailoctopus;

static int put_time(struct buf *b, int64_t t)
{
	if (t == TIME_NULL)
		return buf_puts(b, "-");
	return buf_printf(b, "%lld", (long long)t);
}

static const char *s_or_dash(const char *s)
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

		rc |=
		    buf_printf(b,
			       "campaign %s name=%s subject=%s from=%s<%s> "
			       "status=%s created=",
			       c->campaign_id, s_or_dash(c->name),
			       s_or_dash(c->subject), s_or_dash(c->from_name),
			       s_or_dash(c->from_email), s_or_dash(c->status));
		rc |= put_time(b, c->created_at);
		rc |= buf_puts(b, " sent=");
		rc |= put_time(b, c->sent_at);
		rc |= buf_printf(b, " to=%s\n", s_or_dash(c->to_lists_json));
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
				 s_or_dash(bt->participants[i].email),
				 bt->participants[i].flags);
	for (i = 0; i < bt->n_events; i++) {
		const struct rec_event *e = &bt->events[i];

		rc |= buf_printf(b, "event %s %s %s %s/%s ",
				 event_type_name(e->type), e->campaign_id,
				 s_or_dash(e->campaign_name), e->contact_id,
				 s_or_dash(e->contact_email));
		rc |= put_time(b, e->ts);
		rc |= buf_printf(b, " x%lld id=%s\n", (long long)e->times,
				 strlen(e->event_id) == EVENT_ID_HEX ? "ok"
								     : "bad");
	}
	for (i = 0; i < bt->n_contacts; i++) {
		const struct rec_contact *c = &bt->contacts[i];

		rc |= buf_printf(
		    b,
		    "contact %s %s %s %s phone=%s status=%s "
		    "fields=%s tags=%s lists=%s created=",
		    c->contact_id, s_or_dash(c->email),
		    s_or_dash(c->first_name), s_or_dash(c->last_name),
		    s_or_dash(c->phone), s_or_dash(c->status),
		    s_or_dash(c->fields_json), s_or_dash(c->tags_json),
		    s_or_dash(c->lists_json));
		rc |= put_time(b, c->created_at);
		rc |= buf_puts(b, " updated=");
		rc |= put_time(b, c->updated_at);
		rc |= buf_puts(b, "\n");
	}
	for (i = 0; i < bt->n_lists; i++) {
		const struct rec_list *l = &bt->lists[i];

		rc |= buf_printf(
		    b,
		    "list %s %s fields=%s tags=%s counts=%lld/%lld/%lld "
		    "created=",
		    l->list_id, s_or_dash(l->name), s_or_dash(l->fields_json),
		    s_or_dash(l->tags_json), (long long)l->subscribed,
		    (long long)l->unsubscribed, (long long)l->pending);
		rc |= put_time(b, l->created_at);
		rc |= buf_puts(b, " updated=");
		rc |= put_time(b, l->updated_at);
		rc |= buf_puts(b, "\n");
	}
	assert_int_equal(rc, 0);
}

enum mapper { M_CAMPAIGNS, M_CAMPAIGN, M_LINKS, M_REPORT, M_CONTACTS, M_LISTS };

struct map_case {
	const char *name;
	enum mapper mapper;
	size_t kind; /* report kind index */
	int want_events;
	const char *page;
	int rc;
	const char *want; /* dump of the batch */
	size_t skipped;
};

static const struct map_case map_cases[] = {
    {"campaign page with a draft full of nulls", M_CAMPAIGNS, 0, 1,
     "{\"data\":[{\"id\":\"c1\",\"status\":\"sent\",\"name\":\"Nov\","
     "\"subject\":\"Hi\",\"to\":[\"l1\",\"l2\"],"
     "\"from\":{\"name\":\"Otto\",\"email_address\":\"o@x.com\"},"
     "\"content\":{\"html\":\"<p>\"},\"unknown\":{\"deep\":[1]},"
     "\"created_at\":\"2015-12-01T12:59:37+00:00\","
     "\"sent_at\":\"2015-12-01T14:59:37+02:00\"},"
     "{\"id\":\"c2\",\"status\":\"DRAFT\",\"name\":null,"
     "\"subject\":null,\"to\":[],\"from\":null,"
     "\"created_at\":\"2015-12-01T12:59:37+00:00\",\"sent_at\":null},"
     "{\"status\":\"sent\",\"name\":\"no id\"},"
     "{\"id\":\"\",\"status\":\"sent\"}],"
     "\"paging\":{\"next\":null}}",
     0,
     "campaign c1 name=Nov subject=Hi from=Otto<o@x.com> status=sent "
     "created=1448974777 sent=1448974777 to=[\"l1\",\"l2\"]\n"
     "campaign c2 name=- subject=- from=-<-> status=draft "
     "created=1448974777 sent=- to=[]\n",
     2},
    {"single campaign, sending, to missing", M_CAMPAIGN, 0, 1,
     "{\"id\":\"c3\",\"status\":\"Sending\",\"name\":\"N\","
     "\"subject\":\"S\",\"sent_at\":\"garbage\"}",
     0,
     "campaign c3 name=N subject=S from=-<-> status=sending created=- "
     "sent=- to=-\n",
     0},
    {"single campaign without id", M_CAMPAIGN, 0, 1, "{\"status\":\"sent\"}",
     -1, "", 0},
    {"links, with a row missing its url and a v1 clicked object", M_LINKS, 0, 1,
     "{\"data\":[{\"url\":\"https://e.com/a\",\"clicked_total\":10,"
     "\"clicked_unique\":\"7\"},{\"clicked_total\":3},"
     "{\"url\":\"https://e.com/b\",\"clicked\":{\"total\":5,"
     "\"unique\":4}}]}",
     0,
     "link c9 https://e.com/a 10/7\n"
     "link c9 https://e.com/b 5/4\n",
     1},
    {"opened report: repeats, missing and null occurred_at, v1 rows", M_REPORT,
     1, 1,
     "{\"status\":\"opened\",\"data\":["
     "{\"contact_id\":\"k1\",\"contact_email_address\":\"a@x.com\","
     "\"occurred_at\":\"2015-12-01T12:59:37+00:00\"},"
     "{\"contact_id\":\"k1\",\"contact_email_address\":\"a@x.com\","
     "\"occurred_at\":\"2015-12-01T13:59:37+00:00\"},"
     "{\"contact_id\":\"k1\",\"contact_email_address\":\"a@x.com\","
     "\"occurred_at\":\"2015-12-01T12:59:37+00:00\"},"
     "{\"contact_id\":\"k2\",\"contact_email_address\":\"b@x.com\"},"
     "{\"contact_id\":\"k3\",\"contact_email_address\":null,"
     "\"occurred_at\":null},"
     "{\"contact\":{\"id\":\"k4\",\"email_address\":\"d@x.com\"},"
     "\"occurred_at\":\"2015-12-01T12:59:37Z\"},"
     "{\"contact_email_address\":\"nobody@x.com\"},"
     "\"not an object\"],"
     "\"paging\":{\"next\":null}}",
     0,
     "participant c9 k1 a@x.com flags=1\n"
     "participant c9 k1 a@x.com flags=1\n"
     "participant c9 k1 a@x.com flags=1\n"
     "participant c9 k2 b@x.com flags=1\n"
     "participant c9 k3 - flags=1\n"
     "participant c9 k4 d@x.com flags=1\n"
     "event open c9 Launch k1/a@x.com 1448974777 x1 id=ok\n"
     "event open c9 Launch k1/a@x.com 1448978377 x1 id=ok\n"
     "event open c9 Launch k1/a@x.com 1448974777 x1 id=ok\n"
     "event open c9 Launch k4/d@x.com 1448974777 x1 id=ok\n",
     2},
    {"bounced report, participants only", M_REPORT, 3, 0,
     "{\"data\":[{\"contact_id\":\"k1\",\"contact_email_address\":"
     "\"a@x.com\",\"occurred_at\":\"2015-12-01T12:59:37+00:00\"}]}",
     0, "participant c9 k1 a@x.com flags=4\n", 0},
    {"report page that is an error envelope", M_REPORT, 0, 1,
     "{\"title\":\"An error occurred.\",\"detail\":\"Bad request.\","
     "\"status\":400}",
     -1, "", 0},
    {"report page with data not an array", M_REPORT, 0, 1,
     "{\"data\":{\"contact_id\":\"k1\"}}", -1, "", 0},
    {"contacts with every field type", M_CONTACTS, 0, 1,
     "{\"data\":[{\"id\":\"k1\",\"email_address\":\"a@x.com\","
     "\"fields\":{\"FirstName\":\"Ann\",\"LastName\":\"Lee\","
     "\"Birthday\":\"2015-12-01\",\"Pets\":2,"
     "\"Interests\":[\"Solar\",\"EV\"],\"Empty\":null,"
     "\"Phone\":\"555\"},"
     "\"tags\":[\"vip\"],\"status\":\"SUBSCRIBED\","
     "\"created_at\":\"2015-12-01T12:59:37+00:00\","
     "\"last_updated_at\":\"2015-12-02T12:59:37+00:00\"},"
     "{\"id\":\"k2\",\"email_address\":\"b@x.com\",\"fields\":[],"
     "\"tags\":null,\"created_at\":\"0000-00-00 00:00:00\","
     "\"last_updated_at\":\"2015-12-01T12:59:37+00:00\"},"
     "{\"id\":\"k3\",\"fields\":{\"FirstName\":7},\"tags\":[],"
     "\"status\":\"pending\"},"
     "{\"email_address\":\"noid@x.com\"}]}",
     0,
     "contact k1 a@x.com Ann Lee phone=555 status=subscribed "
     "fields={\"FirstName\":\"Ann\",\"LastName\":\"Lee\","
     "\"Birthday\":\"2015-12-01\",\"Pets\":2,"
     "\"Interests\":[\"Solar\",\"EV\"],\"Empty\":null,"
     "\"Phone\":\"555\"} tags=[\"vip\"] lists=[\"l1\"] "
     "created=1448974777 updated=1449061177\n"
     "contact k2 b@x.com - - phone=- status=unsubscribed fields={} "
     "tags=[] lists=[\"l1\"] created=- updated=1448974777\n"
     "contact k3 - - - phone=- status=pending "
     "fields={\"FirstName\":7} tags=[] lists=[\"l1\"] created=- "
     "updated=-\n",
     1},
    {"lists with counts as object, array and missing", M_LISTS, 0, 1,
     "{\"data\":[{\"id\":\"l1\",\"name\":\"Customers\","
     "\"double_opt_in\":false,\"fields\":["
     "{\"label\":\"First name\",\"tag\":\"FirstName\",\"type\":\"TEXT\","
     "\"fallback\":null},"
     "{\"label\":\"Pick\",\"tag\":\"Pick\",\"type\":\"choice_single\","
     "\"choices\":[\"One\",\"Two\"],\"fallback\":\"One\"},"
     "{\"label\":\"no tag\"}],"
     "\"tags\":[\"welcome\"],"
     "\"counts\":{\"pending\":1,\"subscribed\":24,\"unsubscribed\":2},"
     "\"created_at\":\"2015-12-01T12:59:37+00:00\","
     "\"last_updated_at\":\"2015-12-01T12:59:38+00:00\"},"
     "{\"id\":\"l2\",\"name\":null,\"fields\":[],"
     "\"counts\":[{\"pending\":0,\"subscribed\":\"5\","
     "\"unsubscribed\":0}]},"
     "{\"id\":\"l3\",\"name\":\"L3\"}],"
     "\"paging\":{}}",
     0,
     "list l1 Customers fields=[{\"tag\":\"FirstName\","
     "\"label\":\"First name\",\"type\":\"text\"},{\"tag\":\"Pick\","
     "\"label\":\"Pick\",\"type\":\"choice_single\"}] tags=[\"welcome\"] "
     "counts=24/2/1 created=1448974777 updated=1448974778\n"
     "list l2 - fields=[] tags=[] counts=5/0/0 created=- updated=-\n"
     "list l3 L3 fields=[] tags=[] counts=-1/-1/-1 created=- "
     "updated=-\n",
     0},
    {"lists page that is an array", M_LISTS, 0, 1, "[]", -1, "", 0},
};

static void test_map_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(map_cases) / sizeof(map_cases[0]); i++) {
		const struct map_case *c = &map_cases[i];
		struct json_doc *doc = NULL;
		struct batch b;
		struct source_map m;
		struct buf got = BUF_INIT;
		struct err err = ERR_INIT;
		int rc = -1;

		batch_init(&b, "emailoctopus", "default");
		memset(&m, 0, sizeof(m));
		m.batch = &b;
		m.list_id = "l1";
		m.campaign_id = "c9";
		m.campaign_name = "Launch";
		m.kind = &eo->report_kinds[c->kind];
		m.status = "unsubscribed";
		m.want_events = c->want_events;
		m.newest_updated_at = TIME_NULL;
		assert_int_equal(
		    json_parse(&doc, c->page, strlen(c->page), NULL), 0);
		switch (c->mapper) {
		case M_CAMPAIGNS:
			rc = eo->map_campaigns(&m, json_root(doc), &err);
			break;
		case M_CAMPAIGN:
			rc = eo->map_campaign(&m, json_root(doc), &err);
			break;
		case M_LINKS:
			rc = eo->map_links(&m, json_root(doc), &err);
			break;
		case M_REPORT:
			rc = eo->map_report(&m, json_root(doc), &err);
			break;
		case M_CONTACTS:
			rc = eo->map_contacts(&m, json_root(doc), &err);
			break;
		case M_LISTS:
			rc = eo->map_lists(&m, json_root(doc), &err);
			break;
		}
		json_doc_free(doc);
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d", c->name, rc, c->rc);
		if (rc < 0)
			assert_int_equal(err.kind, ERR_PARSE);
		dump_batch(&got, &b);
		if (strcmp(buf_str(&got), c->want) != 0)
			fail_msg("%s:\n got: %s\nwant: %s", c->name,
				 buf_str(&got), c->want);
		if (m.n_skipped != c->skipped)
			fail_msg("%s: skipped %zu, want %zu", c->name,
				 m.n_skipped, c->skipped);
		buf_release(&got);
		batch_release(&b);
	}
}

static void test_identical_rows_share_event_id(void **state)
{
	const char *page =
	    "{\"data\":[{\"contact_id\":\"k1\",\"occurred_at\":"
	    "\"2015-12-01T12:59:37+00:00\"},{\"contact_id\":\"k1\","
	    "\"occurred_at\":\"2015-12-01T12:59:37Z\"},{\"contact_id\":"
	    "\"k1\",\"occurred_at\":\"2015-12-01T12:59:38Z\"}]}";
	struct json_doc *doc = NULL;
	struct batch b;
	struct source_map m;
	struct err err = ERR_INIT;

	(void)state;
	batch_init(&b, "emailoctopus", "default");
	memset(&m, 0, sizeof(m));
	m.batch = &b;
	m.campaign_id = "c9";
	m.kind = &eo->report_kinds[2];
	m.want_events = 1;
	assert_int_equal(json_parse(&doc, page, strlen(page), NULL), 0);
	assert_int_equal(eo->map_report(&m, json_root(doc), &err), 0);
	assert_int_equal(b.n_events, 3);
	assert_int_equal(b.events[0].type, EV_CLICK);
	assert_string_equal(b.events[0].event_id, b.events[1].event_id);
	assert_string_not_equal(b.events[0].event_id, b.events[2].event_id);
	json_doc_free(doc);
	batch_release(&b);
}

static void test_newest_updated_at(void **state)
{
	const char *page = "{\"data\":[{\"id\":\"a\",\"last_updated_at\":"
			   "\"2015-12-01T12:59:37+00:00\"},{\"id\":\"b\","
			   "\"last_updated_at\":\"2016-12-01T12:59:37+01:00\"},"
			   "{\"id\":\"c\",\"last_updated_at\":\"bad\"}]}";
	struct json_doc *doc = NULL;
	struct batch b;
	struct source_map m;

	(void)state;
	batch_init(&b, "emailoctopus", "default");
	memset(&m, 0, sizeof(m));
	m.batch = &b;
	m.list_id = "l1";
	m.status = "subscribed";
	m.newest_updated_at = TIME_NULL;
	assert_int_equal(json_parse(&doc, page, strlen(page), NULL), 0);
	assert_int_equal(eo->map_contacts(&m, json_root(doc), NULL), 0);
	assert_true(m.newest_updated_at == 1480593577);
	json_doc_free(doc);
	batch_release(&b);
}

/* A list id whose JSON passes the buffer maximum (each invalid byte
 * becomes \ufffd) fails the page instead of storing a cut lists_json. */
static void test_list_id_too_long(void **state)
{
	const char *page = "{\"data\":[{\"id\":\"a\"}]}";
	size_t n = BUF_DEFAULT_MAX / 6 + 1;
	char *list_id = malloc(n + 1);
	struct json_doc *doc = NULL;
	struct err err = ERR_INIT;
	struct batch b;
	struct source_map m;

	(void)state;
	assert_non_null(list_id);
	memset(list_id, 0xff, n);
	list_id[n] = '\0';
	batch_init(&b, "emailoctopus", "default");
	memset(&m, 0, sizeof(m));
	m.batch = &b;
	m.list_id = list_id;
	m.status = "subscribed";
	m.newest_updated_at = TIME_NULL;
	assert_int_equal(json_parse(&doc, page, strlen(page), NULL), 0);
	assert_int_equal(eo->map_contacts(&m, json_root(doc), &err), -1);
	assert_string_equal(err.msg,
			    "list id too long: more than 67108864 bytes");
	json_doc_free(doc);
	batch_release(&b);
	free(list_id);
}

static void test_summary(void **state)
{
	static const char *const pages[] = {
	    "{\"id\":\"c1\",\"sent\":200,\"bounced\":{\"hard\":10,"
	    "\"soft\":5},\"opened\":{\"total\":110,\"unique\":85},"
	    "\"clicked\":{\"total\":12,\"unique\":9},\"complained\":3,"
	    "\"unsubscribed\":\"25\",\"extra\":true}",
	    "{\"sent\":200,\"bounced\":15,\"opened\":85,\"clicked\":null}",
	};
	struct campaign_stats st;
	struct json_doc *doc = NULL;

	(void)state;
	assert_int_equal(json_parse(&doc, pages[0], strlen(pages[0]), NULL), 0);
	assert_int_equal(eo->map_summary(&st, json_root(doc), NULL), 0);
	assert_true(st.sent == 200 && st.bounced_hard == 10 &&
		    st.bounced_soft == 5 && st.opened_total == 110 &&
		    st.opened_unique == 85 && st.clicked_total == 12 &&
		    st.clicked_unique == 9 && st.complained == 3 &&
		    st.unsubscribed == 25);
	json_doc_free(doc);
	assert_int_equal(json_parse(&doc, pages[1], strlen(pages[1]), NULL), 0);
	assert_int_equal(eo->map_summary(&st, json_root(doc), NULL), 0);
	assert_true(st.sent == 200 && st.bounced_hard == 15 &&
		    st.bounced_soft == 0 && st.opened_total == 85 &&
		    st.opened_unique == 85 && st.clicked_total == 0);
	json_doc_free(doc);
	assert_int_equal(json_parse(&doc, "[]", 2, NULL), 0);
	assert_int_equal(eo->map_summary(&st, json_root(doc), NULL), -1);
	json_doc_free(doc);
}

struct next_case {
	const char *name;
	const char *page;
	const char *cursor_used; /* cursor of the page just read */
	int has_next;
	const char *url, *cursor;
};

static const struct next_case next_cases[] = {
    {"no paging", "{\"data\":[]}", NULL, 0, "", ""},
    {"paging null", "{\"data\":[],\"paging\":null}", NULL, 0, "", ""},
    {"paging empty", "{\"data\":[],\"paging\":{}}", NULL, 0, "", ""},
    {"paging array (v1)", "{\"data\":[],\"paging\":[]}", NULL, 0, "", ""},
    {"next null", "{\"paging\":{\"next\":null}}", NULL, 0, "", ""},
    {"next empty", "{\"paging\":{\"next\":{}}}", NULL, 0, "", ""},
    {"next url and cursor empty",
     "{\"paging\":{\"next\":{\"url\":\"\",\"starting_after\":\"\"}}}", NULL, 0,
     "", ""},
    {"next as a v1 string",
     "{\"paging\":{\"next\":\"/api/1.6/campaigns?page=2\"}}", NULL, 0, "", ""},
    {"repeated cursor",
     "{\"paging\":{\"next\":{\"url\":\"" API
     "/campaigns?limit=100&starting_after=AAA\","
     "\"starting_after\":\"AAA\"}}}",
     "AAA", 0, "", ""},
    {"on-origin url followed verbatim",
     "{\"paging\":{\"next\":{\"url\":\"" API
     "/campaigns?starting_after=B_1&limit=100\","
     "\"starting_after\":\"B_1\"}}}",
     "AAA", 1, API "/campaigns?starting_after=B_1&limit=100", "B_1"},
    {"on-origin url, case of the host differs",
     "{\"paging\":{\"next\":{\"url\":\"HTTPS://API.EmailOctopus.com"
     "/campaigns?starting_after=B\"}}}",
     NULL, 1, "HTTPS://API.EmailOctopus.com/campaigns?starting_after=B", "B"},
    {"cursor only", "{\"paging\":{\"next\":{\"starting_after\":\"C+/=\"}}}",
     "AAA", 1, API "/campaigns?limit=100&starting_after=C%2B%2F%3D", "C+/="},
    {"hostile host gets our own url",
     "{\"paging\":{\"next\":{\"url\":\"https://evil.example/steal\","
     "\"starting_after\":\"D\"}}}",
     NULL, 1, API "/campaigns?limit=100&starting_after=D", "D"},
    {"hostile host suffix",
     "{\"paging\":{\"next\":{\"url\":\"https://api.emailoctopus.com."
     "evil.example/x\",\"starting_after\":\"E\"}}}",
     NULL, 1, API "/campaigns?limit=100&starting_after=E", "E"},
    {"hostile userinfo",
     "{\"paging\":{\"next\":{\"url\":\"https://api.emailoctopus.com@"
     "evil.example/x\",\"starting_after\":\"F\"}}}",
     NULL, 1, API "/campaigns?limit=100&starting_after=F", "F"},
    {"plain http downgrade",
     "{\"paging\":{\"next\":{\"url\":\"http://api.emailoctopus.com/"
     "campaigns?starting_after=G\"}}}",
     NULL, 1, API "/campaigns?limit=100&starting_after=G", "G"},
    {"other port",
     "{\"paging\":{\"next\":{\"url\":\"https://api.emailoctopus.com:8443"
     "/campaigns\",\"starting_after\":\"H\"}}}",
     NULL, 1, API "/campaigns?limit=100&starting_after=H", "H"},
    {"control bytes in an on-origin url",
     "{\"paging\":{\"next\":{\"url\":\"" API
     "/campaigns?x=\\r\\nHost: evil\",\"starting_after\":\"I\"}}}",
     NULL, 1, API "/campaigns?limit=100&starting_after=I", "I"},
    {"hostile url without cursor field, cursor in its query",
     "{\"paging\":{\"next\":{\"url\":\"https://evil.example/campaigns?"
     "limit=100&starting_after=J%2Fk\"}}}",
     NULL, 1, API "/campaigns?limit=100&starting_after=J%2Fk", "J/k"},
    {"hostile url and no cursor anywhere",
     "{\"paging\":{\"next\":{\"url\":\"https://evil.example/x\"}}}", NULL, 0,
     "", ""},
    {"repeated cursor found in the url",
     "{\"paging\":{\"next\":{\"url\":\"" API
     "/campaigns?starting_after=AAA\"}}}",
     "AAA", 0, "", ""},
};

static void test_next_page_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(next_cases) / sizeof(next_cases[0]); i++) {
		const struct next_case *c = &next_cases[i];
		struct source_query q = {.endpoint = SRC_CAMPAIGNS};
		struct source_next n = {0, BUF_INIT, BUF_INIT};
		struct json_doc *doc = NULL;

		q.cursor = c->cursor_used;
		if (json_parse(&doc, c->page, strlen(c->page), NULL) < 0)
			fail_msg("%s: page does not parse", c->name);
		eo->next_page(&n, json_root(doc), API, &q);
		if (n.has_next != c->has_next)
			fail_msg("%s: has_next %d", c->name, n.has_next);
		if (strcmp(buf_str(&n.url), c->url) != 0)
			fail_msg("%s: url '%s'", c->name, buf_str(&n.url));
		if (strcmp(buf_str(&n.cursor), c->cursor) != 0)
			fail_msg("%s: cursor '%s'", c->name,
				 buf_str(&n.cursor));
		json_doc_free(doc);
		buf_release(&n.url);
		buf_release(&n.cursor);
	}
}

struct url_case {
	struct source_query q;
	const char *want;
};

static const struct url_case url_cases[] = {
    {{.endpoint = SRC_PROBE}, API "/lists?limit=1"},
    {{.endpoint = SRC_LISTS}, API "/lists?limit=100"},
    {{.endpoint = SRC_CAMPAIGNS, .cursor = "WzE3MjJd"},
     API "/campaigns?limit=100&starting_after=WzE3MjJd"},
    {{.endpoint = SRC_CAMPAIGN, .campaign_id = "c/../x?y"},
     API "/campaigns/c%2F..%2Fx%3Fy"},
    {{.endpoint = SRC_SUMMARY, .campaign_id = "c1"},
     API "/campaigns/c1/reports/summary"},
    {{.endpoint = SRC_LINKS, .campaign_id = "c1"},
     API "/campaigns/c1/reports/links"},
    {{.endpoint = SRC_REPORT,
      .campaign_id = "c1",
      .status = "opened",
      .cursor = "a b"},
     API "/campaigns/c1/reports?status=opened&limit=100&starting_after="
	 "a%20b"},
    {{.endpoint = SRC_CONTACTS,
      .list_id = "l1",
      .status = "pending",
      .since_iso = "2024-01-19T12:14:28Z"},
     API "/lists/l1/contacts?status=pending&limit=100&last_updated_at."
	 "gte=2024-01-19T12%3A14%3A28Z"},
    {{.endpoint = SRC_CONTACTS,
      .list_id = "l1",
      .status = "subscribed",
      .cursor = "Wz"},
     API "/lists/l1/contacts?status=subscribed&limit=100&starting_after="
	 "Wz"},
};

static void test_url_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		struct buf u = BUF_INIT;

		assert_int_equal(eo->url(&u, API, &url_cases[i].q), 0);
		assert_string_equal(buf_str(&u), url_cases[i].want);
		buf_release(&u);
	}
}

struct error_case {
	long http_status;
	const char *body;
	enum err_kind kind;
	const char *needle; /* must occur in the message */
};

static const struct error_case error_cases[] = {
    {401,
     "{\"title\":\"An error occurred.\",\"detail\":\"Invalid key.\","
     "\"status\":401,\"type\":\"https://emailoctopus.com/"
     "api-documentation/v2#unauthorized\"}",
     ERR_AUTH,
     "emailoctopus rejected the API key (401 \"Invalid key.\"): keys "
     "created before October 2024 are legacy and only work with API v1; "
     "create a new key in EmailOctopus and set EMAILOCTOPUS_API_KEY"},
    {401, "", ERR_AUTH, "(401 \"Invalid key.\")"},
    {403, "{\"detail\":\"Access denied.\",\"status\":\"403\"}", ERR_AUTH,
     "denied access to campaign 'c1' (403 \"Access denied.\")"},
    {404, "{\"detail\":\"Resource not found.\",\"status\":404}", ERR_NOT_FOUND,
     "campaign 'c1' not found on emailoctopus"},
    {500, "<html>oops</html>", ERR_HTTP,
     "emailoctopus answered 500 for campaign 'c1'"},
    {422, "{\"detail\":\"bad\\u0007\\nline\",\"status\":422}", ERR_HTTP,
     "(\"bad??line\")"},
    {0, "{\"detail\":\"Invalid key.\",\"status\":\"401\"}", ERR_AUTH,
     "rejected the API key"},
};

static void test_error_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *c = &error_cases[i];
		struct err err = ERR_INIT;

		eo->http_error(&err, c->http_status, c->body, strlen(c->body),
			       "campaign 'c1'");
		assert_int_equal(err.kind, c->kind);
		if (!strstr(err.msg, c->needle))
			fail_msg("message '%s' lacks '%s'", err.msg, c->needle);
	}
}

static int envelope(const char *body, long *status, char *detail)
{
	return eo_error_parse(body, strlen(body), status, detail, 64);
}

static void test_error_envelope_status_forms(void **state)
{
	char detail[64];
	long status;

	(void)state;
	assert_int_equal(
	    envelope("{\"status\":\"429\",\"title\":\"T\"}", &status, detail),
	    0);
	assert_int_equal(status, 429);
	assert_string_equal(detail, "T");
	assert_int_equal(envelope("{\"status\":404}", &status, detail), 0);
	assert_int_equal(status, 404);
	assert_string_equal(detail, "");
	assert_int_equal(envelope("{\"error\":{\"code\":\"X\",\"message\":"
				  "\"Invalid API key\"}}",
				  &status, detail),
			 0);
	assert_string_equal(detail, "Invalid API key");
	assert_int_equal(envelope("nope", &status, detail), -1);
	assert_int_equal(status, 0);
	assert_int_equal(envelope("{\"status\":\"teapot\"}", &status, detail),
			 -1);
}

static void test_reportable(void **state)
{
	(void)state;
	assert_true(eo->is_reportable("sent"));
	assert_true(eo->is_reportable("sending"));
	assert_false(eo->is_reportable("draft"));
	assert_false(eo->is_reportable("error"));
	assert_false(eo->is_reportable(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_map_table),
	    cmocka_unit_test(test_identical_rows_share_event_id),
	    cmocka_unit_test(test_newest_updated_at),
	    cmocka_unit_test(test_list_id_too_long),
	    cmocka_unit_test(test_summary),
	    cmocka_unit_test(test_next_page_table),
	    cmocka_unit_test(test_url_table),
	    cmocka_unit_test(test_error_table),
	    cmocka_unit_test(test_error_envelope_status_forms),
	    cmocka_unit_test(test_reportable),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Tests of the ActiveCampaign contacts side: keyset and offset URLs and
 * their next pages, the field and tag dictionaries, contact pages with
 * side-loads and hostile scalars mapped to records, the id spans of the
 * store's reconciliation and the SQLite reconcile_contacts itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "source/ac_contacts.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/log.h"

#define API "https://acct.api-us1.com"

struct fixture {
	struct batch batch;
	struct source_names fields, tags;
	struct source_map m;
	struct json_doc *doc;
};

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	batch_init(&f->batch, "activecampaign", "acct");
	f->m.batch = &f->batch;
	f->m.field_names = &f->fields;
	f->m.tag_names = &f->tags;
	f->m.newest_updated_at = TIME_NULL;
	f->m.cutoff = TIME_NULL;
}

static void fixture_release(struct fixture *f)
{
	json_doc_free(f->doc);
	batch_release(&f->batch);
	source_names_release(&f->fields);
	source_names_release(&f->tags);
}

static const struct json *parse(struct fixture *f, const char *text)
{
	json_doc_free(f->doc);
	f->doc = NULL;
	assert_int_equal(json_parse(&f->doc, text, strlen(text), NULL), 0);
	return json_root(f->doc);
}

static const char *s_or_dash(const char *s)
{
	return s ? s : "-";
}

static int put_time(struct buf *b, int64_t t)
{
	char iso[21] = "-";

	if (t != TIME_NULL)
		time_format_iso(t, iso);
	return buf_puts(b, iso);
}

static void dump_contacts(struct buf *b, const struct batch *bt)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < bt->n_contacts; i++) {
		const struct rec_contact *c = &bt->contacts[i];

		rc |= buf_printf(
		    b,
		    "%s %s %s/%s phone=%s status=%s fields=%s tags=%s "
		    "lists=%s c=",
		    c->contact_id, s_or_dash(c->email),
		    s_or_dash(c->first_name), s_or_dash(c->last_name),
		    s_or_dash(c->phone), s_or_dash(c->status),
		    s_or_dash(c->fields_json), s_or_dash(c->tags_json),
		    s_or_dash(c->lists_json));
		rc |= put_time(b, c->created_at);
		rc |= buf_puts(b, " u=");
		rc |= put_time(b, c->updated_at);
		rc |= buf_puts(b, " d=");
		rc |= put_time(b, c->deleted_at);
		rc |= buf_putc(b, '\n');
	}
	assert_int_equal(rc, 0);
}

static void test_contacts_url(void **state)
{
	struct buf b = BUF_INIT;
	struct source_query q = {.endpoint = SRC_CONTACTS};

	(void)state;
	assert_int_equal(ac_contacts_url(&b, API, &q), 0);
	assert_string_equal(buf_str(&b),
			    API "/api/3/contacts?orders%5Bid%5D=ASC"
				"&id_greater=0&limit=100&offset=0"
				"&include=fieldValues%2CcontactTags%2C"
				"contactLists");
	buf_reset(&b);
	q.cursor = "4711";
	q.since_iso = "2026-01-14T12:00:00Z";
	assert_int_equal(ac_contacts_url(&b, API, &q), 0);
	assert_non_null(strstr(buf_str(&b), "&id_greater=4711&"));
	assert_non_null(strstr(buf_str(&b), "&offset=0&"));
	assert_non_null(strstr(buf_str(&b), "&filters%5Bupdated_after%5D="
					    "2026-01-14T12%3A00%3A00Z"));
	/* A cursor that is not a number never reaches the URL. */
	buf_reset(&b);
	q.cursor = "1&offset=5000";
	q.since_iso = NULL;
	assert_int_equal(ac_contacts_url(&b, API, &q), 0);
	assert_non_null(strstr(buf_str(&b), "&id_greater=0&"));
	assert_null(strstr(buf_str(&b), "5000"));
	buf_reset(&b);
	q.endpoint = SRC_TAGS;
	q.cursor = "200";
	assert_int_equal(ac_contacts_url(&b, API, &q), 0);
	assert_string_equal(buf_str(&b),
			    API "/api/3/tags?limit=100&offset=200");
	buf_reset(&b);
	q.endpoint = SRC_CAMPAIGNS;
	assert_int_equal(ac_contacts_url(&b, API, &q), -1);
	assert_int_equal(ac_contacts_handles(SRC_CAMPAIGNS), 0);
	assert_int_equal(ac_contacts_handles(SRC_FIELDS), 1);
	buf_release(&b);
}

/* n contacts with ids start, start+step, ... and meta (its members). */
static char *contacts_page(int n, long start, long step, const char *meta)
{
	struct buf b = BUF_INIT;
	int i, rc;

	rc = buf_puts(&b, "{\"contacts\":[");
	for (i = 0; i < n; i++)
		rc |= buf_printf(&b, "%s{\"id\":\"%ld\"}", i ? "," : "",
				 start + i * step);
	rc |= buf_printf(&b, "],\"meta\":{%s}}", meta);
	assert_int_equal(rc, 0);
	return buf_detach(&b, NULL);
}

struct next_case {
	int n;
	long start, step;
	const char *meta, *cursor;
	int has_next;
	const char *next_cursor;
};

static void test_keyset_next_page(void **state)
{
	static const struct next_case cases[] = {
	    /* a full page goes on from its greatest id */
	    {100, 5, 2, "\"total\":\"1000\"", "0", 1, "203"},
	    /* full and total a number */
	    {100, 5, 2, "\"total\":100", NULL, 1, "203"},
	    /* a short page ends the pass, total or not */
	    {40, 1, 1, "\"total\":\"40\"", "0", 0, NULL},
	    {40, 1, 1, "", "0", 0, NULL},
	    /* unless meta.total says the server clamped limit */
	    {20, 301, 1, "\"total\":\"57\"", "300", 1, "320"},
	    /* or the page_input echo does */
	    {20, 301, 1, "\"page_input\":{\"limit\":20}", "300", 1, "320"},
	    {19, 301, 1, "\"page_input\":{\"limit\":20}", "300", 0, NULL},
	    /* an empty page ends it */
	    {0, 1, 1, "\"total\":\"0\"", "500", 0, NULL},
	    /* ids that do not pass the cursor end it (no endless loop) */
	    {100, 1, 1, "\"total\":\"5000\"", "100", 0, NULL},
	};
	struct fixture f;
	struct source_next next;
	size_t i;

	(void)state;
	fixture_init(&f);
	buf_init(&next.url, 1 << 16);
	buf_init(&next.cursor, 1 << 10);
	log_set_level(LOG_QUIET);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct next_case *c = &cases[i];
		char *page = contacts_page(c->n, c->start, c->step, c->meta);
		struct source_query q = {.endpoint = SRC_CONTACTS,
					 .cursor = c->cursor};

		ac_contacts_next_page(&next, parse(&f, page), API, &q);
		free(page);
		assert_int_equal(next.has_next, c->has_next);
		if (!c->has_next)
			continue;
		assert_string_equal(buf_str(&next.cursor), c->next_cursor);
		assert_non_null(strstr(buf_str(&next.url), "&id_greater="));
		assert_non_null(strstr(buf_str(&next.url), c->next_cursor));
	}
	buf_release(&next.url);
	buf_release(&next.cursor);
	fixture_release(&f);
}

static void test_offset_next_page(void **state)
{
	struct fixture f;
	struct source_next next;
	struct source_query q = {.endpoint = SRC_LISTS, .cursor = NULL};
	struct buf page = BUF_INIT;
	int i, rc;

	(void)state;
	fixture_init(&f);
	buf_init(&next.url, 1 << 16);
	buf_init(&next.cursor, 1 << 10);
	rc = buf_puts(&page, "{\"lists\":[");
	for (i = 0; i < 100; i++)
		rc |=
		    buf_printf(&page, "%s{\"id\":\"%d\"}", i ? "," : "", i + 1);
	rc |= buf_puts(&page, "],\"meta\":{\"total\":\"250\"}}");
	assert_int_equal(rc, 0);
	ac_contacts_next_page(&next, parse(&f, buf_str(&page)), API, &q);
	assert_int_equal(next.has_next, 1);
	assert_string_equal(buf_str(&next.cursor), "100");
	assert_string_equal(buf_str(&next.url),
			    API "/api/3/lists?limit=100&offset=100");
	q.cursor = "200";
	ac_contacts_next_page(
	    &next, parse(&f, "{\"lists\":[{\"id\":\"1\"}],\"meta\":{}}"), API,
	    &q);
	assert_int_equal(next.has_next, 0);
	/* No array at all (an error body that parsed): no next page. */
	ac_contacts_next_page(&next, parse(&f, "{\"message\":\"x\"}"), API, &q);
	assert_int_equal(next.has_next, 0);
	buf_release(&page);
	buf_release(&next.url);
	buf_release(&next.cursor);
	fixture_release(&f);
}

static void test_fields_and_tags(void **state)
{
	struct fixture f;
	struct err e = ERR_INIT;

	(void)state;
	fixture_init(&f);
	assert_int_equal(
	    ac_map_fields(&f.m,
			  parse(&f,
				"{\"fields\":[{\"id\":\"1\",\"title\":"
				"\"Company\",\"perstag\":\"COMPANY\"},"
				"{\"id\":2,\"title\":\"\",\"perstag\":"
				"\"CITY\"},{\"id\":\"3\",\"title\":"
				"\"Company\",\"perstag\":\"COMPANY2\"},"
				"{\"title\":\"no id\"}],\"meta\":{\"total\":"
				"\"4\"}}"),
			  &e),
	    0);
	assert_string_equal(source_names_get(&f.fields, "1"), "Company");
	assert_string_equal(source_names_get(&f.fields, "2"), "CITY");
	assert_string_equal(source_names_get(&f.fields, "3"), "COMPANY2");
	assert_int_equal(f.m.n_skipped, 1);
	assert_int_equal(ac_map_tags(&f.m,
				     parse(&f, "{\"tags\":[{\"id\":\"7\","
					       "\"tag\":\"vip\"},{\"id\":\"8\","
					       "\"tag\":\"\"}]}"),
				     &e),
			 0);
	assert_string_equal(source_names_get(&f.tags, "7"), "vip");
	assert_string_equal(source_names_get(&f.tags, "8"), "");
	assert_null(source_names_get(&f.tags, "9"));
	assert_int_equal(ac_map_tags(&f.m, parse(&f, "{\"tag\":{}}"), &e), -1);
	assert_int_equal(e.kind, ERR_PARSE);
	fixture_release(&f);
}

/* Keys seen in live bodies that nothing models (issue 15): tag rows'
 * subscriber_count, /fields fieldOptions and fieldRels side arrays. */
static void test_live_extra_keys(void **state)
{
	struct fixture f;
	struct err e = ERR_INIT;

	(void)state;
	fixture_init(&f);
	assert_int_equal(
	    ac_map_fields(
		&f.m,
		parse(&f, "{\"fieldOptions\":[{\"field\":\"4\",\"orderid\":"
			  "\"1\",\"value\":\"Basic\",\"label\":\"Basic\","
			  "\"isdefault\":\"0\",\"id\":\"11\"}],\"fieldRels\":"
			  "[{\"field\":\"4\",\"relid\":\"0\",\"dorder\":"
			  "\"0\",\"id\":\"4\"}],\"fields\":[{\"id\":\"4\","
			  "\"title\":\"Plan\",\"perstag\":\"PLAN\","
			  "\"options\":[\"11\"],\"relations\":[\"4\"]}],"
			  "\"meta\":{\"total\":\"1\"}}"),
		&e),
	    0);
	assert_string_equal(source_names_get(&f.fields, "4"), "Plan");
	assert_int_equal(
	    ac_map_tags(&f.m,
			parse(&f,
			      "{\"tags\":[{\"tagType\":\"contact\","
			      "\"tag\":\"vip\",\"description\":\"\","
			      "\"subscriber_count\":\"1532\",\"cdate\":"
			      "\"2018-08-17T09:43:15-05:00\",\"id\":\"7\"}],"
			      "\"meta\":{\"total\":\"1\"}}"),
			&e),
	    0);
	assert_string_equal(source_names_get(&f.tags, "7"), "vip");
	fixture_release(&f);
}

/* Hostile page: out of id order, a repeated id (the older copy must
 * lose), string and number ids, sentinels, missing keys, a contact
 * deleted upstream, unknown field and tag ids, side rows of contacts
 * not on the page. */
static const char *const hostile_page =
    "{\"scoreValues\":[],\"contacts\":["
    "{\"id\":\"12\",\"email\":\"B@x.org\",\"firstName\":\"O'Brien\","
    "\"lastName\":\"\",\"phone\":null,\"cdate\":\"2025-11-01T10:00:00-05:00\","
    "\"udate\":\"2025-11-01T10:00:00-05:00\",\"edate\":"
    "\"2026-01-10T08:00:00-06:00\",\"deleted\":\"0\",\"deleted_at\":"
    "\"0000-00-00 00:00:00\",\"bounced_date\":\"0000-00-00\"},"
    "{\"id\":5,\"email\":\"a@x.org\",\"cdate\":\"\",\"created_timestamp\":"
    "\"2025-06-01 09:30:00\",\"updated_timestamp\":\"2025-06-02 "
    "09:30:00\",\"deleted\":\"0\"},"
    "{\"id\":\"12\",\"email\":\"old@x.org\",\"edate\":"
    "\"2025-12-01T08:00:00-06:00\"},"
    "{\"id\":\"30\",\"email\":\"gone@x.org\",\"cdate\":"
    "\"2025-01-01T00:00:00Z\",\"edate\":\"2026-01-02T00:00:00Z\","
    "\"deleted\":\"1\",\"deleted_at\":null},"
    "{\"email\":\"no id\"}],"
    "\"fieldValues\":["
    "{\"contact\":\"12\",\"field\":\"2\",\"value\":\"Austin\"},"
    "{\"contact\":\"12\",\"field\":\"1\",\"value\":\"Acme \\\"Q\\\"\"},"
    "{\"contact\":\"12\",\"field\":\"9\",\"value\":\"\"},"
    "{\"contact\":\"12\",\"field\":\"1\",\"value\":\"dup\"},"
    "{\"contact\":\"5\",\"field\":\"2\",\"value\":null},"
    "{\"contact\":\"99\",\"field\":\"1\",\"value\":\"other page\"}],"
    "\"contactTags\":["
    "{\"contact\":\"12\",\"tag\":\"8\"},{\"contact\":\"12\",\"tag\":\"7\"},"
    "{\"contact\":\"12\",\"tag\":\"7\"},{\"contact\":5,\"tag\":\"40\"}],"
    "\"contactLists\":["
    "{\"contact\":\"12\",\"list\":\"3\",\"status\":\"2\"},"
    "{\"contact\":\"12\",\"list\":\"1\",\"status\":\"3\"},"
    "{\"contact\":\"5\",\"list\":\"2\",\"status\":\"1\"},"
    "{\"contact\":\"5\",\"list\":\"1\",\"status\":\"91\"},"
    "{\"contact\":\"30\",\"list\":\"1\",\"status\":\"91\"}],"
    "\"meta\":{\"total\":\"4\"}}";

static void test_map_contacts_side_loads(void **state)
{
	struct fixture f;
	struct err e = ERR_INIT;
	struct buf out = BUF_INIT;

	(void)state;
	fixture_init(&f);
	source_names_put(&f.fields, "1", "Company");
	source_names_put(&f.fields, "2", "City");
	source_names_put(&f.tags, "7", "vip");
	source_names_put(&f.tags, "8", "lead");
	assert_int_equal(ac_map_contacts(&f.m, parse(&f, hostile_page), &e), 0);
	assert_int_equal(f.m.n_rows, 5);
	assert_int_equal(f.m.n_skipped, 1);
	dump_contacts(&out, &f.batch);
	assert_string_equal(
	    buf_str(&out),
	    "5 a@x.org -/- phone=- status=active fields={\"City\":null} "
	    "tags=[\"40\"] lists=[{\"id\":\"1\",\"status\":\"91\"},{\"id\":"
	    "\"2\",\"status\":\"1\"}] c=2025-06-01T09:30:00Z "
	    "u=2025-06-02T09:30:00Z d=-\n"
	    "12 B@x.org O'Brien/ phone=- status=bounced fields={\"Company\":"
	    "\"Acme \\\"Q\\\"\",\"City\":\"Austin\",\"9\":\"\"} "
	    "tags=[\"vip\",\"lead\"] lists=[{\"id\":\"1\",\"status\":\"3\"},"
	    "{\"id\":\"3\",\"status\":\"2\"}] c=2025-11-01T15:00:00Z "
	    "u=2026-01-10T14:00:00Z d=-\n"
	    "30 gone@x.org -/- phone=- status=none fields={} tags=[] "
	    "lists=[{\"id\":\"1\",\"status\":\"91\"}] c=2025-01-01T00:00:00Z "
	    "u=2026-01-02T00:00:00Z d=2026-01-02T00:00:00Z\n");
	assert_int_equal(f.m.newest_updated_at, 1768053600); /* 01-10 14:00Z */
	buf_release(&out);
	fixture_release(&f);
}

/* Naive times are read in the account's offset when no zone is loaded. */
static void test_map_contacts_naive_offset(void **state)
{
	struct fixture f;
	struct err e = ERR_INIT;

	(void)state;
	fixture_init(&f);
	f.m.naive_offset_s = -6 * 3600;
	assert_int_equal(
	    ac_map_contacts(&f.m,
			    parse(&f, "{\"contacts\":[{\"id\":\"1\","
				      "\"created_timestamp\":\"2026-01-01 "
				      "00:00:00\",\"updated_timestamp\":"
				      "\"2026-01-02 00:00:00\"}]}"),
			    &e),
	    0);
	assert_int_equal(f.batch.n_contacts, 1);
	assert_int_equal(f.batch.contacts[0].created_at, 1767247200);
	assert_int_equal(f.batch.contacts[0].updated_at, 1767333600);
	/* Without side-loads nothing is known about fields, tags, lists. */
	assert_null(f.batch.contacts[0].fields_json);
	assert_null(f.batch.contacts[0].tags_json);
	assert_null(f.batch.contacts[0].lists_json);
	assert_null(f.batch.contacts[0].status);
	fixture_release(&f);
}

static void test_map_contacts_rejects_shape(void **state)
{
	struct fixture f;
	struct err e = ERR_INIT;
	int64_t id = 0;

	(void)state;
	fixture_init(&f);
	assert_int_equal(
	    ac_map_contacts(&f.m, parse(&f, "{\"contacts\":{}}"), &e), -1);
	assert_int_equal(e.kind, ERR_PARSE);
	assert_int_equal(ac_map_contacts(&f.m, parse(&f, "[]"), &e), -1);
	assert_int_equal(ac_map_lists(&f.m, parse(&f, "{}"), &e), -1);
	assert_int_equal(ac_contacts_page_max_id(parse(&f, hostile_page), &id),
			 0);
	assert_int_equal(id, 30);
	assert_int_equal(ac_contacts_page_max_id(
			     parse(&f, "{\"contacts\":[{\"id\":\"x\"}]}"), &id),
			 -1);
	fixture_release(&f);
}

static void test_map_lists(void **state)
{
	struct fixture f;
	struct err e = ERR_INIT;

	(void)state;
	fixture_init(&f);
	source_names_put(&f.fields, "10", "Notes");
	source_names_put(&f.fields, "2", "City");
	source_names_put(&f.fields, "1", "Company");
	assert_int_equal(
	    ac_map_lists(&f.m,
			 parse(&f, "{\"lists\":[{\"id\":\"1\",\"name\":"
				   "\"Newsletter\",\"cdate\":"
				   "\"2025-01-01T00:00:00-06:00\",\"udate\":"
				   "null,\"updated_timestamp\":\"2025-01-02 "
				   "00:00:00\"},{\"name\":\"no id\"}],"
				   "\"meta\":{\"total\":\"2\"}}"),
			 &e),
	    0);
	assert_int_equal(f.batch.n_lists, 1);
	assert_string_equal(f.batch.lists[0].name, "Newsletter");
	/* Numeric id order: 1, 2, 10. */
	assert_string_equal(f.batch.lists[0].fields_json,
			    "[{\"tag\":\"Company\",\"label\":\"Company\"},"
			    "{\"tag\":\"City\",\"label\":\"City\"},"
			    "{\"tag\":\"Notes\",\"label\":\"Notes\"}]");
	assert_int_equal(f.batch.lists[0].created_at, 1735711200);
	assert_int_equal(f.batch.lists[0].updated_at, 1735776000);
	assert_int_equal(f.batch.lists[0].subscribed, -1);
	fixture_release(&f);
}

static void test_id_spans(void **state)
{
	struct store_id_span s[STORE_ID_SPANS];
	size_t n;

	(void)state;
	n = store_id_spans(s, 95, 130);
	assert_int_equal(n, 2);
	assert_int_equal(s[0].digits, 2);
	assert_string_equal(s[0].lo, "96");
	assert_string_equal(s[0].hi, "99");
	assert_int_equal(s[1].digits, 3);
	assert_string_equal(s[1].lo, "100");
	assert_string_equal(s[1].hi, "130");
	assert_int_equal(store_id_spans(s, 130, 130), 0);
	assert_int_equal(store_id_spans(s, 200, 100), 0);
	n = store_id_spans(s, 0, INT64_MAX);
	assert_int_equal(n, STORE_ID_SPANS);
	assert_string_equal(s[0].lo, "1");
	assert_string_equal(s[0].hi, "9");
	assert_string_equal(s[17].hi, "999999999999999999");
}

static void add_contact(struct batch *b, const char *id, int64_t deleted_at)
{
	struct rec_contact *c = batch_add_contact(b);

	c->contact_id = id;
	c->email = "x@example.org";
	c->deleted_at = deleted_at;
}

static void test_sqlite_reconcile(void **state)
{
	char dir[] = "/tmp/espsync-ac-XXXXXX", url[64];
	static const char *const ids[] = {"7",	 "99",	"100", "101",
					  "150", "abc", "0150"};
	const char *live[] = {"100", "101"};
	struct store *s = NULL;
	struct batch b;
	struct store_counts c;
	struct err e = ERR_INIT;
	int64_t changed = -1;
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/t.db", dir);
	assert_int_equal(store_open(&s, url, &e), 0);
	batch_init(&b, "activecampaign", "acct");
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		add_contact(&b, ids[i], TIME_NULL);
	assert_int_equal(s->ops->write_batch(s, &b, &c, &e), 0);
	/* Page (95, 150] showed 100 and 101: 99 and 150 are gone; 7, abc and
	 * 0150 are outside any canonical range. */
	assert_int_equal(s->ops->reconcile_contacts(s, "activecampaign", "acct",
						    95, 150, live, 2,
						    1767225600, &changed, &e),
			 0);
	assert_int_equal(changed, 2);
	/* Again: nothing more to mark. Another account: nothing at all. */
	assert_int_equal(s->ops->reconcile_contacts(s, "activecampaign", "acct",
						    95, 150, live, 2,
						    1767225600, &changed, &e),
			 0);
	assert_int_equal(changed, 0);
	assert_int_equal(s->ops->reconcile_contacts(
			     s, "activecampaign", "other", 0, INT64_MAX, NULL,
			     0, 1767225600, &changed, &e),
			 0);
	assert_int_equal(changed, 0);
	/* 150 comes back (a delta page: no range): its deleted_at goes. */
	live[0] = "150";
	assert_int_equal(s->ops->reconcile_contacts(s, "activecampaign", "acct",
						    0, 0, live, 1, 1767225600,
						    &changed, &e),
			 0);
	assert_int_equal(changed, 1);
	/* The last page of a pass: everything past 100 but 150 is gone. */
	assert_int_equal(s->ops->reconcile_contacts(s, "activecampaign", "acct",
						    100, INT64_MAX, live, 1,
						    1767225600, &changed, &e),
			 0);
	assert_int_equal(changed, 1); /* 101 */
	batch_release(&b);
	store_close(s);
	snprintf(url, sizeof(url), "%s/t.db", dir);
	unlink(url);
	snprintf(url, sizeof(url), "%s/t.db-wal", dir);
	unlink(url);
	snprintf(url, sizeof(url), "%s/t.db-shm", dir);
	unlink(url);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_contacts_url),
	    cmocka_unit_test(test_keyset_next_page),
	    cmocka_unit_test(test_offset_next_page),
	    cmocka_unit_test(test_fields_and_tags),
	    cmocka_unit_test(test_live_extra_keys),
	    cmocka_unit_test(test_map_contacts_side_loads),
	    cmocka_unit_test(test_map_contacts_naive_offset),
	    cmocka_unit_test(test_map_contacts_rejects_shape),
	    cmocka_unit_test(test_map_lists),
	    cmocka_unit_test(test_id_spans),
	    cmocka_unit_test(test_sqlite_reconcile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Tests of the sync entry points that need no network: stream names and
 * the request checks done before any request or store write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/sync.h"
#include "source/source.h"

struct streams_case {
	const char *in;
	int rc;
	unsigned want;
};

static const struct streams_case streams_cases[] = {
    {"campaigns", 0, STREAM_CAMPAIGNS},
    {"reports,participants", 0, STREAM_REPORTS | STREAM_PARTICIPANTS},
    {" activities , contacts ,lists", 0,
     STREAM_ACTIVITIES | STREAM_CONTACTS | STREAM_LISTS},
    {"all", 0, STREAM_ALL},
    {"lists,lists", 0, STREAM_LISTS},
    {"campaigns,", 0, STREAM_CAMPAIGNS},
    {"", -1, 0},
    {"events", -1, 0},
    {"campaigns,bogus", -1, 0},
    {"Campaigns", -1, 0},
};

static void test_streams_parse_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(streams_cases) / sizeof(streams_cases[0]); i++) {
		const struct streams_case *c = &streams_cases[i];
		struct err err = ERR_INIT;
		unsigned got = 12345;

		assert_int_equal(sync_streams_parse(c->in, &got, &err), c->rc);
		if (c->rc == 0) {
			assert_int_equal(got, c->want);
		} else {
			assert_int_equal(err.kind, ERR_USAGE);
			assert_int_equal(got, 12345);
		}
	}
}

static void test_unknown_stream_message(void **state)
{
	struct err err = ERR_INIT;
	unsigned got;

	(void)state;
	sync_streams_parse("lists,evnts", &got, &err);
	assert_non_null(strstr(err.msg, "unknown stream 'evnts'"));
}

static struct sync_request good_request(void)
{
	struct sync_request r;

	memset(&r, 0, sizeof(r));
	r.source = source_find("emailoctopus");
	r.api_url = "https://api.emailoctopus.com";
	r.api_key = "secret-key-123";
	r.streams = STREAM_ALL;
	return r;
}

struct request_case {
	const char *name;
	void (*edit)(struct sync_request *r);
	enum err_kind kind;
	const char *needle;
};

static void no_key(struct sync_request *r)
{
	r->api_key = "";
}

static void key_with_newline(struct sync_request *r)
{
	r->api_key = "abc\r\nX-Evil: 1";
}

static void bad_url(struct sync_request *r)
{
	r->api_url = "ftp://api.emailoctopus.com";
}

static void no_url(struct sync_request *r)
{
	r->api_url = NULL;
}

static void activecampaign_no_key(struct sync_request *r)
{
	r->source = source_find("activecampaign");
	r->api_key = "";
}

static void no_source(struct sync_request *r)
{
	r->source = NULL;
}

/* A provider outside the registry: the hint names its own key. */
static const struct option_def acme_key_defs[] = {
    {.key = "ACME_TOKEN", .kind = OPTK_SECRET, .role = PROLE_API_KEY},
};
static const struct source_keys acme_keys = {
    .name = "acme",
    .title = "Acme",
    .keys = acme_key_defs,
    .n_keys = 1,
    .required_roles = 1u << PROLE_API_KEY,
};
static const struct source acme = {.name = "acme", .keys = &acme_keys};

static void acme_no_key(struct sync_request *r)
{
	r->source = &acme;
	r->api_key = NULL;
}

static void empty_campaign(struct sync_request *r)
{
	r->campaign_id = "";
}

static void negative_hours(struct sync_request *r)
{
	r->hours = -1;
}

static const struct request_case request_cases[] = {
    {"no key", no_key, ERR_CONFIG, "set EMAILOCTOPUS_API_KEY"},
    {"key with newline", key_with_newline, ERR_CONFIG, "control characters"},
    {"bad url", bad_url, ERR_CONFIG, "invalid emailoctopus api url"},
    {"no url", no_url, ERR_CONFIG, "invalid emailoctopus api url"},
    {"activecampaign without key", activecampaign_no_key, ERR_CONFIG,
     "set ACTIVECAMPAIGN_API_KEY"},
    {"no source", no_source, ERR_CONFIG, "no provider"},
    {"other provider without key", acme_no_key, ERR_CONFIG,
     "no api key for acme: set ACME_TOKEN"},
    {"empty campaign", empty_campaign, ERR_USAGE, "invalid campaign id"},
    {"negative hours", negative_hours, ERR_USAGE, "negative"},
};

static void test_request_checks_table(void **state)
{
	static const struct store_ops no_ops = {.name = "none"};
	struct store store = {&no_ops};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(request_cases) / sizeof(request_cases[0]); i++) {
		const struct request_case *c = &request_cases[i];
		struct sync_request r = good_request();
		struct sync_report rep;
		struct probe_result pr;
		struct err err = ERR_INIT;

		c->edit(&r);
		/* Fails before any request or store call: the store has no
		 * functions at all. */
		assert_int_equal(sync_run(&store, &r, &rep, &err), -1);
		if (err.kind != c->kind || !strstr(err.msg, c->needle))
			fail_msg("%s: got %d '%s'", c->name, err.kind, err.msg);
		assert_null(strstr(err.msg, "secret-key-123"));
		err_clear(&err);
		assert_int_equal(sync_probe(&r, &pr, &err), -1);
		assert_int_equal(err.kind, c->kind);
	}
}

static void test_no_store(void **state)
{
	struct sync_request r = good_request();
	struct sync_report rep;
	struct err err = ERR_INIT;

	(void)state;
	assert_int_equal(sync_run(NULL, &r, &rep, &err), -1);
	assert_int_equal(err.kind, ERR_STORE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_streams_parse_table),
	    cmocka_unit_test(test_unknown_stream_message),
	    cmocka_unit_test(test_request_checks_table),
	    cmocka_unit_test(test_no_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Tests of the checkpoint values: campaign state with its done list, report
 * cursors, contacts windows, and the next window's lookback arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/checkpoint.h"
#include "util/timeparse.h"

static const char *const names[] = {"sent", "opened", "clicked", "links"};

static void test_campaign_round_trip(void **state)
{
	struct ckpt_campaign c, back;
	struct buf b = BUF_INIT;

	(void)state;
	memset(&c, 0, sizeof(c));
	memcpy(c.counters, "1,2,3", 6);
	c.checked_at = 1700000000;
	c.is_complete = 0;
	c.done_mask = 1u << 1 | 1u << 3;
	assert_int_equal(ckpt_campaign_format(&b, &c, names, 4), 0);
	assert_string_equal(
	    buf_str(&b), "{\"counters\":\"1,2,3\",\"checked_at\":1700000000,"
			 "\"complete\":false,\"done\":[\"opened\",\"links\"]}");
	ckpt_campaign_parse(&back, buf_str(&b), names, 4);
	assert_true(back.has_state);
	assert_string_equal(back.counters, "1,2,3");
	assert_true(back.checked_at == 1700000000);
	assert_false(back.is_complete);
	assert_int_equal(back.done_mask, c.done_mask);
	buf_reset(&b);
	c.is_complete = 1;
	assert_int_equal(ckpt_campaign_format(&b, &c, names, 4), 0);
	assert_string_equal(buf_str(&b),
			    "{\"counters\":\"1,2,3\",\"checked_at\":1700000000,"
			    "\"complete\":true}");
	buf_release(&b);
}

/* ActiveCampaign report windows: written only with has_window, times as
 * ISO strings, and parsed back (an old value without them has none). */
static void test_campaign_window(void **state)
{
	struct ckpt_campaign c, back;
	struct buf b = BUF_INIT;

	(void)state;
	memset(&c, 0, sizeof(c));
	memcpy(c.counters, "9", 2);
	c.checked_at = 1700000000;
	c.is_complete = 1;
	c.has_window = 1;
	c.since = 1699800000;
	c.pass_started_at = 1700000000;
	c.newest = TIME_NULL;
	assert_int_equal(ckpt_campaign_format(&b, &c, names, 4), 0);
	assert_string_equal(buf_str(&b),
			    "{\"counters\":\"9\",\"checked_at\":1700000000,"
			    "\"complete\":true,\"since\":"
			    "\"2023-11-12T14:40:00Z\",\"pass_started_at\":"
			    "\"2023-11-14T22:13:20Z\",\"newest\":null}");
	ckpt_campaign_parse(&back, buf_str(&b), names, 4);
	assert_true(back.has_window);
	assert_true(back.since == 1699800000);
	assert_true(back.pass_started_at == 1700000000);
	assert_true(back.newest == TIME_NULL);
	/* A window that reads everything stays a window (since null). */
	buf_reset(&b);
	c.since = TIME_NULL;
	assert_int_equal(ckpt_campaign_format(&b, &c, names, 4), 0);
	ckpt_campaign_parse(&back, buf_str(&b), names, 4);
	assert_true(back.has_window);
	assert_true(back.since == TIME_NULL);
	ckpt_campaign_parse(&back, "{\"complete\":true}", names, 4);
	assert_false(back.has_window);
	assert_true(back.since == TIME_NULL);
	buf_release(&b);
}

static void test_today(void **state)
{
	struct buf b = BUF_INIT;
	int64_t day, count;

	(void)state;
	assert_int_equal(ckpt_today_format(&b, 20426, 1672), 0);
	assert_string_equal(buf_str(&b),
			    "{\"date\":\"2025-12-04\",\"count\":1672}");
	ckpt_today_parse(&day, &count, buf_str(&b));
	assert_true(day == 20426 && count == 1672);
	ckpt_today_parse(&day, &count, "{\"date\":\"x\",\"count\":5}");
	assert_true(day == -1 && count == 0);
	ckpt_today_parse(&day, &count,
			 "{\"date\":\"2025-12-04\",\"count\":-5}");
	assert_true(day == -1 && count == 0);
	ckpt_today_parse(&day, &count, NULL);
	assert_true(day == -1 && count == 0);
	buf_release(&b);
}

struct campaign_case {
	const char *value;
	int has_state, is_complete;
	unsigned done_mask;
	int64_t checked_at;
};

static const struct campaign_case campaign_cases[] = {
    {NULL, 0, 0, 0, TIME_NULL},
    {"", 0, 0, 0, TIME_NULL},
    {"not json", 0, 0, 0, TIME_NULL},
    {"[]", 0, 0, 0, TIME_NULL},
    {"{}", 1, 0, 0, TIME_NULL},
    {"{\"complete\":true,\"checked_at\":\"2024-01-01T00:00:00Z\"}", 1, 1, 0,
     1704067200},
    {"{\"complete\":1,\"done\":[\"sent\",\"bogus\",7,\"clicked\"]}", 1, 1, 5,
     TIME_NULL},
    {"{\"done\":\"sent\",\"checked_at\":null}", 1, 0, 0, TIME_NULL},
};

static void test_campaign_parse_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(campaign_cases) / sizeof(campaign_cases[0]);
	     i++) {
		const struct campaign_case *c = &campaign_cases[i];
		struct ckpt_campaign got;

		ckpt_campaign_parse(&got, c->value, names, 4);
		assert_int_equal(got.has_state, c->has_state);
		assert_int_equal(got.is_complete, c->is_complete);
		assert_int_equal(got.done_mask, c->done_mask);
		assert_true(got.checked_at == c->checked_at);
	}
}

static void test_counters(void **state)
{
	struct campaign_stats s = {200, 85, 110, 9, 12, 10, 5, 3, 25};
	char out[CKPT_COUNTERS_MAX];

	(void)state;
	ckpt_counters(out, sizeof(out), &s);
	assert_string_equal(out, "200,85,110,9,12,10,5,3,25");
}

static void test_cursor(void **state)
{
	struct buf b = BUF_INIT, c = BUF_INIT;

	(void)state;
	assert_int_equal(ckpt_cursor_format(&b, "Wz\"x\""), 0);
	assert_string_equal(buf_str(&b),
			    "{\"starting_after\":\"Wz\\\"x\\\"\"}");
	ckpt_cursor_parse(&c, buf_str(&b));
	assert_string_equal(buf_str(&c), "Wz\"x\"");
	ckpt_cursor_parse(&c, "{\"starting_after\":null}");
	assert_int_equal(c.len, 0);
	ckpt_cursor_parse(&c, "garbage");
	assert_int_equal(c.len, 0);
	buf_release(&b);
	buf_release(&c);
}

static void test_contacts_round_trip(void **state)
{
	struct ckpt_contacts c, back;
	struct buf b = BUF_INIT;

	(void)state;
	ckpt_contacts_init(&c);
	ckpt_contacts_init(&back);
	c.since = 1704067200;
	assert_int_equal(buf_puts(&c.cursor, "WyIyMDI0Il0"), 0);
	c.pass_started_at = 1704070800;
	c.newest = 1704067300;
	assert_int_equal(ckpt_contacts_format(&b, &c), 0);
	assert_string_equal(buf_str(&b),
			    "{\"since\":\"2024-01-01T00:00:00Z\","
			    "\"starting_after\":\"WyIyMDI0Il0\","
			    "\"pass_started_at\":1704070800,"
			    "\"newest\":\"2024-01-01T00:01:40Z\"}");
	ckpt_contacts_parse(&back, buf_str(&b));
	assert_true(back.has_state);
	assert_true(back.since == c.since);
	assert_string_equal(buf_str(&back.cursor), "WyIyMDI0Il0");
	assert_true(back.pass_started_at == c.pass_started_at);
	assert_true(back.newest == c.newest);
	/* A finished pass keeps only the next window. */
	buf_reset(&b);
	buf_reset(&c.cursor);
	c.since = TIME_NULL;
	assert_int_equal(ckpt_contacts_format(&b, &c), 0);
	assert_string_equal(buf_str(&b),
			    "{\"since\":null,\"starting_after\":null}");
	ckpt_contacts_parse(&back, "{\"since\":\"junk\"}");
	assert_true(back.has_state);
	assert_true(back.since == TIME_NULL);
	assert_int_equal(back.cursor.len, 0);
	ckpt_contacts_release(&c);
	ckpt_contacts_release(&back);
	buf_release(&b);
}

static void test_next_since(void **state)
{
	(void)state;
	/* run start earlier than anything seen: run start - lookback */
	assert_true(ckpt_next_since(1000000, 1200000, 3600) == 996400);
	/* provider clock behind ours: newest seen wins */
	assert_true(ckpt_next_since(1000000, 900000, 3600) == 896400);
	/* nothing seen */
	assert_true(ckpt_next_since(1000000, TIME_NULL, 60) == 999940);
	assert_true(ckpt_next_since(TIME_NULL, TIME_NULL, 60) == TIME_NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_campaign_round_trip),
	    cmocka_unit_test(test_campaign_window),
	    cmocka_unit_test(test_today),
	    cmocka_unit_test(test_campaign_parse_table),
	    cmocka_unit_test(test_counters),
	    cmocka_unit_test(test_cursor),
	    cmocka_unit_test(test_contacts_round_trip),
	    cmocka_unit_test(test_next_since),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

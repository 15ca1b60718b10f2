/* Tests of ISO 8601 parsing to UTC epoch seconds and the formatters: every
 * accepted form, offsets, the naive offset, leap years, sentinels, junk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/timeparse.h"

struct parse_case {
	const char *in;
	int64_t naive_offset_s;
	int rc;
	int64_t want;
};

static const struct parse_case cases[] = {
    /* the API's own form */
    {"2015-12-01T12:59:37+00:00", 0, 0, 1448974777},
    {"2015-12-01T12:59:37Z", 0, 0, 1448974777},
    {"2015-12-01T12:59:37z", 0, 0, 1448974777},
    {"2015-12-01 12:59:37Z", 0, 0, 1448974777},
    {"1970-01-01T00:00:00Z", 0, 0, 0},
    {"1969-12-31T23:59:59Z", 0, 0, -1},
    /* offsets in every spelling */
    {"2015-12-01T14:59:37+02:00", 0, 0, 1448974777},
    {"2015-12-01T14:59:37+0200", 0, 0, 1448974777},
    {"2015-12-01T14:59:37+02", 0, 0, 1448974777},
    {"2015-12-01T07:29:37-05:30", 0, 0, 1448974777},
    {"2015-12-01T12:59:37+00:00", 3600, 0, 1448974777},
    /* fractional seconds are dropped */
    {"2015-12-01T12:59:37.999Z", 0, 0, 1448974777},
    {"2015-12-01T12:59:37.123456789+00:00", 0, 0, 1448974777},
    {"2015-12-01T12:59:37,5Z", 0, 0, 1448974777},
    /* naive timestamps take the caller's zone offset */
    {"2015-12-01T12:59:37", 0, 0, 1448974777},
    {"2015-12-01T13:59:37", 3600, 0, 1448974777},
    {"2015-12-01T07:59:37", -18000, 0, 1448974777},
    {"2015-12-01T12:59", 0, 0, 1448974740},
    {"2015-12-01", 0, 0, 1448928000},
    /* leap years */
    {"2024-02-29T00:00:00Z", 0, 0, 1709164800},
    {"2000-02-29T00:00:00Z", 0, 0, 951782400},
    {"2023-02-29T00:00:00Z", 0, -1, 0},
    {"1900-02-29T00:00:00Z", 0, -1, 0},
    {"2024-12-31T23:59:59Z", 0, 0, 1735689599},
    {"2016-12-31T23:59:60Z", 0, 0, 1483228800},
    /* sentinels and empties */
    {"", 0, 1, TIME_NULL},
    {NULL, 0, 1, TIME_NULL},
    {"0000-00-00 00:00:00", 0, 1, TIME_NULL},
    {"0000-00-00", 0, 1, TIME_NULL},
    /* junk */
    {"yesterday", 0, -1, 0},
    {"2015-13-01T00:00:00Z", 0, -1, 0},
    {"2015-00-10T00:00:00Z", 0, -1, 0},
    {"2015-04-31T00:00:00Z", 0, -1, 0},
    {"2015-12-01T24:00:00Z", 0, -1, 0},
    {"2015-12-01T12:60:00Z", 0, -1, 0},
    {"2015-12-01T12:59:61Z", 0, -1, 0},
    {"2015-12-01T12:59:37+24:00", 0, -1, 0},
    {"2015-12-01T12:59:37+02:60", 0, -1, 0},
    {"2015-12-01T12:59:37+2", 0, -1, 0},
    {"2015-12-01T12:59:37 +02:00", 0, -1, 0},
    {"2015-12-01T12:59:37Zjunk", 0, -1, 0},
    {"2015-12-01T12:59:37.Z", 0, -1, 0},
    {"2015-12-01T12", 0, -1, 0},
    {"2015-12-01X12:59:37Z", 0, -1, 0},
    {"2015-12-1", 0, -1, 0},
    {"15-12-01", 0, -1, 0},
    {"0000-01-01T00:00:00Z", 0, -1, 0},
    {" 2015-12-01", 0, -1, 0},
    {"2015-12-01 ", 0, -1, 0},
    {"1448974777", 0, -1, 0},
};

static void test_parse_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *c = &cases[i];
		int64_t out = 42;
		int rc = time_parse(c->in, c->naive_offset_s, &out);

		if (rc != c->rc)
			fail_msg("'%s': rc %d, want %d", c->in ? c->in : "NULL",
				 rc, c->rc);
		if (c->rc >= 0 && out != c->want)
			fail_msg("'%s': %lld, want %lld", c->in, (long long)out,
				 (long long)c->want);
		if (c->rc < 0)
			assert_true(out == 42);
	}
}

static void test_days_from_civil(void **state)
{
	(void)state;
	assert_true(time_days_from_civil(1970, 1, 1) == 0);
	assert_true(time_days_from_civil(1970, 1, 2) == 1);
	assert_true(time_days_from_civil(1969, 12, 31) == -1);
	assert_true(time_days_from_civil(2000, 3, 1) == 11017);
	assert_true(time_days_from_civil(1600, 1, 1) == -135140);
}

struct format_case {
	int64_t t;
	const char *iso, *date;
};

static const struct format_case formats[] = {
    {0, "1970-01-01T00:00:00Z", "1970-01-01"},
    {1448974777, "2015-12-01T12:59:37Z", "2015-12-01"},
    {-1, "1969-12-31T23:59:59Z", "1969-12-31"},
    {1709164800, "2024-02-29T00:00:00Z", "2024-02-29"},
    {253402300799, "9999-12-31T23:59:59Z", "9999-12-31"},
    {INT64_MAX, "9999-12-31T23:59:59Z", "9999-12-31"},
    {TIME_NULL, "", ""},
};

/* civil_from_days inverts days_from_civil across eras and leap days. */
static void test_civil_from_days(void **state)
{
	int64_t days, y;
	unsigned m, d;

	(void)state;
	time_civil_from_days(0, &y, &m, &d);
	assert_true(y == 1970 && m == 1 && d == 1);
	time_civil_from_days(time_days_from_civil(2024, 2, 29), &y, &m, &d);
	assert_true(y == 2024 && m == 2 && d == 29);
	time_civil_from_days(-1, &y, &m, &d);
	assert_true(y == 1969 && m == 12 && d == 31);
	for (days = -800000; days <= 800000; days += 997) {
		time_civil_from_days(days, &y, &m, &d);
		assert_true(m >= 1 && m <= 12 && d >= 1 && d <= 31);
		assert_true(time_days_from_civil(y, m, d) == days);
	}
}

static void test_format_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		char iso[21], date[11];

		time_format_iso(formats[i].t, iso);
		time_format_date(formats[i].t, date);
		assert_string_equal(iso, formats[i].iso);
		assert_string_equal(date, formats[i].date);
	}
}

static void test_round_trip(void **state)
{
	int64_t t, back;
	char iso[21];

	(void)state;
	for (t = -86400LL * 366 * 3; t < 86400LL * 366 * 60; t += 86399 * 7) {
		time_format_iso(t, iso);
		assert_int_equal(time_parse(iso, 0, &back), 0);
		assert_true(back == t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_table),
	    cmocka_unit_test(test_days_from_civil),
	    cmocka_unit_test(test_civil_from_days),
	    cmocka_unit_test(test_format_table),
	    cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for the JSON writer (util/jsonw.c) and the buffer maximum it
 * reports instead of writing a cut string. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/jsonw.h"
#include "util/timeparse.h"

static const struct {
	int64_t t;
	const char *out;
} time_cases[] = {
    {0, "\"1970-01-01T00:00:00Z\""},
    {1731664800, "\"2024-11-15T10:00:00Z\""},
    {951782400, "\"2000-02-29T00:00:00Z\""},
    {-1, "\"1969-12-31T23:59:59Z\""},
    {TIME_NULL, "null"},
};

static void test_time_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(time_cases) / sizeof(time_cases[0]); i++) {
		struct buf b = BUF_INIT;

		assert_int_equal(jsonw_time(&b, time_cases[i].t), 0);
		assert_string_equal(buf_str(&b), time_cases[i].out);
		buf_release(&b);
	}
}

/* At the maximum every writer fails and leaves the buffer as it was. */
static void test_maximum_is_an_error(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "{\"a\":"), 0);
	assert_int_equal(jsonw_string(&b, "long"), -1);
	assert_int_equal(jsonw_time(&b, 0), -1);
	assert_int_equal(jsonw_key(&b, "key", 0), -1);
	assert_int_equal(buf_printf(&b, "%d", 1234), -1);
	assert_int_equal(jsonw_int(&b, 7), 0);
	assert_string_equal(buf_str(&b), "{\"a\":7");
	assert_int_equal(buf_append(&b, "xyz", 3), -1);
	assert_int_equal(buf_putc(&b, '}'), 0);
	assert_int_equal(buf_puts(&b, "ab"), -1);
	assert_string_equal(buf_str(&b), "{\"a\":7}");
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_time_table),
	    cmocka_unit_test(test_maximum_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

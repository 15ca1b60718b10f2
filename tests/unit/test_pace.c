/* Token bucket arithmetic: time is passed in, so nothing here sleeps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/pace.h"

static void test_starts_full_and_empties(void **state)
{
	struct pace p;
	int i;

	(void)state;
	pace_init(&p, 10, 5, 1000);
	for (i = 0; i < 5; i++)
		assert_int_equal(pace_take(&p, 1000), 1);
	assert_int_equal(pace_take(&p, 1000), 0);
}

static void test_refills_at_rate(void **state)
{
	struct pace p;

	(void)state;
	pace_init(&p, 10, 1, 0);
	assert_int_equal(pace_take(&p, 0), 1);
	assert_int_equal(pace_take(&p, 99), 0);
	assert_int_equal(pace_take(&p, 100), 1);
	assert_int_equal(pace_take(&p, 150), 0);
	assert_int_equal(pace_take(&p, 200), 1);
}

static void test_capped_at_capacity(void **state)
{
	struct pace p;
	int i, n = 0;

	(void)state;
	pace_init(&p, 10, 3, 0);
	for (i = 0; i < 10; i++)
		n += pace_take(&p, 60000);
	assert_int_equal(n, 3);
}

static void test_wait_ms(void **state)
{
	struct pace p;

	(void)state;
	pace_init(&p, 10, 1, 0);
	assert_int_equal(pace_wait_ms(&p, 0), 0);
	assert_int_equal(pace_take(&p, 0), 1);
	assert_int_equal(pace_wait_ms(&p, 0), 100);
	assert_int_equal(pace_wait_ms(&p, 30), 70);
	pace_init(&p, 3, 1, 0);
	assert_int_equal(pace_take(&p, 0), 1);
	/* 333.33 ms rounds up, and the token is there then */
	assert_int_equal(pace_wait_ms(&p, 0), 334);
	assert_int_equal(pace_take(&p, 334), 1);
}

/* Late polls lose nothing below the capacity: over 10 s of polling every
 * 7 ms at 10/s with a burst of 5, exactly 5 + 100 tokens are handed out. */
static void test_no_drift(void **state)
{
	struct pace p;
	int64_t t;
	int n = 0;

	(void)state;
	pace_init(&p, 10, 5, 0);
	for (t = 0; t <= 10000; t += 7)
		while (pace_take(&p, t))
			n++;
	assert_int_equal(n, 5 + 99);
	assert_int_equal(pace_take(&p, 10003), 1);
}

static void test_observe_lowers_only(void **state)
{
	struct pace p;
	int i, n = 0;

	(void)state;
	pace_init(&p, 10, 100, 0);
	pace_observe_remaining(&p, 200, 0);
	assert_true(p.tokens == 100);
	pace_observe_remaining(&p, 2, 0);
	for (i = 0; i < 10; i++)
		n += pace_take(&p, 0);
	assert_int_equal(n, 2);
}

static void test_observe_negative_is_debt(void **state)
{
	struct pace p;

	(void)state;
	pace_init(&p, 10, 2, 0);
	pace_observe_remaining(&p, -1000, 0);
	/* floored at -capacity: 3 tokens to earn before one is free */
	assert_true(p.tokens == -2);
	assert_int_equal(pace_wait_ms(&p, 0), 300);
	assert_int_equal(pace_take(&p, 299), 0);
	assert_int_equal(pace_take(&p, 300), 1);
}

static void test_pause_drains_and_blocks(void **state)
{
	struct pace p;

	(void)state;
	pace_init(&p, 10, 100, 0);
	pace_pause_until(&p, 1000, 0);
	assert_int_equal(pace_take(&p, 999), 0);
	assert_int_equal(pace_wait_ms(&p, 500), 600);
	/* no refill during the pause */
	assert_int_equal(pace_take(&p, 1000), 0);
	assert_int_equal(pace_take(&p, 1100), 1);
	assert_int_equal(pace_take(&p, 1100), 0);
}

static void test_pause_never_shortens(void **state)
{
	struct pace p;

	(void)state;
	pace_init(&p, 10, 1, 0);
	pace_pause_until(&p, 2000, 0);
	pace_pause_until(&p, 500, 0);
	assert_int_equal(pace_take(&p, 1900), 0);
	assert_int_equal(pace_wait_ms(&p, 1900), 200);
}

static void test_bad_parameters_clamped(void **state)
{
	struct pace p;

	(void)state;
	pace_init(&p, 0, 0, 0);
	assert_true(p.rate_per_sec > 0);
	assert_int_equal(pace_take(&p, 0), 1);
	assert_int_equal(pace_take(&p, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_starts_full_and_empties),
	    cmocka_unit_test(test_refills_at_rate),
	    cmocka_unit_test(test_capped_at_capacity),
	    cmocka_unit_test(test_wait_ms),
	    cmocka_unit_test(test_no_drift),
	    cmocka_unit_test(test_observe_lowers_only),
	    cmocka_unit_test(test_observe_negative_is_debt),
	    cmocka_unit_test(test_pause_drains_and_blocks),
	    cmocka_unit_test(test_pause_never_shortens),
	    cmocka_unit_test(test_bad_parameters_clamped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The retry policy: one table of single answers, sequences for the budgets,
 * and Retry-After parsing. Randomness is seeded, time is passed in. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/retry.h"

/* Table cases name themselves when they fail. */
#define CHECK(name, cond)                                                      \
	do {                                                                   \
		if (!(cond))                                                   \
			fail_msg("case '%s': %s", (name), #cond);              \
	} while (0)

static const struct retry_policy POLICY = {
    .max_attempts = 4,
    .max_throttle_attempts = 10,
    .retry_403_attempts = 0,
    .is_503_throttle = 0,
    .backoff_base_ms = 1000,
    .backoff_max_ms = 30000,
    .max_retry_after_ms = 120000,
    .min_throttle_wait_ms = 100,
};

struct one_case {
	const char *name;
	long status;
	enum retry_net net;
	int is_body_unusable;
	int64_t retry_after_ms;
	int retry_403_attempts;
	int is_503_throttle;
	enum retry_action action;
	int is_throttle;
	int64_t min_delay_ms, max_delay_ms;
};

static const struct one_case CASES[] = {
    {"200", 200, RETRY_NET_NONE, 0, -1, 0, 0, RETRY_FINAL, 0, 0, 0},
    {"204", 204, RETRY_NET_NONE, 0, -1, 0, 0, RETRY_FINAL, 0, 0, 0},
    {"200 unusable", 200, RETRY_NET_NONE, 1, -1, 0, 0, RETRY_AGAIN, 0, 1000,
     2000},
    {"400", 400, RETRY_NET_NONE, 0, -1, 0, 0, RETRY_FINAL, 0, 0, 0},
    {"401", 401, RETRY_NET_NONE, 0, -1, 0, 0, RETRY_FINAL, 0, 0, 0},
    {"402", 402, RETRY_NET_NONE, 0, -1, 3, 1, RETRY_FINAL, 0, 0, 0},
    {"403 final", 403, RETRY_NET_NONE, 0, -1, 0, 0, RETRY_FINAL, 0, 0, 0},
    {"403 retried", 403, RETRY_NET_NONE, 0, -1, 2, 0, RETRY_AGAIN, 0, 1000,
     2000},
    {"404", 404, RETRY_NET_NONE, 0, -1, 0, 0, RETRY_FINAL, 0, 0, 0},
    {"422", 422, RETRY_NET_NONE, 0, -1, 0, 0, RETRY_FINAL, 0, 0, 0},
    {"408", 408, RETRY_NET_NONE, 0, -1, 0, 0, RETRY_AGAIN, 0, 1000, 2000},
    {"500", 500, RETRY_NET_NONE, 0, -1, 0, 0, RETRY_AGAIN, 0, 1000, 2000},
    {"502 ignores retry-after", 502, RETRY_NET_NONE, 0, 50000, 0, 0,
     RETRY_AGAIN, 0, 1000, 2000},
    {"503 as error", 503, RETRY_NET_NONE, 0, 7000, 0, 0, RETRY_AGAIN, 0, 1000,
     2000},
    {"503 as throttle", 503, RETRY_NET_NONE, 0, 7000, 0, 1, RETRY_AGAIN, 1,
     7000, 7000},
    {"429 retry-after", 429, RETRY_NET_NONE, 0, 2000, 0, 0, RETRY_AGAIN, 1,
     2000, 2000},
    {"429 no retry-after", 429, RETRY_NET_NONE, 0, -1, 0, 0, RETRY_AGAIN, 1,
     1000, 2000},
    {"429 retry-after capped", 429, RETRY_NET_NONE, 0, 99999999, 0, 0,
     RETRY_AGAIN, 1, 120000, 120000},
    {"429 retry-after 0 floored", 429, RETRY_NET_NONE, 0, 0, 0, 0, RETRY_AGAIN,
     1, 100, 100},
    {"timeout", 0, RETRY_NET_TRANSIENT, 0, -1, 0, 0, RETRY_AGAIN, 0, 1000,
     2000},
    {"truncated 200", 200, RETRY_NET_TRANSIENT, 0, -1, 0, 0, RETRY_AGAIN, 0,
     1000, 2000},
    {"fatal net", 0, RETRY_NET_FATAL, 0, -1, 0, 0, RETRY_FINAL, 0, 0, 0},
    {"too large 200", 200, RETRY_NET_FATAL, 0, -1, 0, 0, RETRY_FINAL, 0, 0, 0},
};

static void test_single_answers(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
		const struct one_case *c = &CASES[i];
		struct retry_policy pol = POLICY;
		struct retry_state st = {0};
		struct retry_response resp = {c->status, c->net,
					      c->is_body_unusable,
					      c->retry_after_ms, 0};
		struct retry_decision d;
		uint64_t rng = 42 + i;

		pol.retry_403_attempts = c->retry_403_attempts;
		pol.is_503_throttle = c->is_503_throttle;
		retry_decide(&d, &pol, &st, &resp, &rng);
		CHECK(c->name, d.action == c->action);
		CHECK(c->name, d.is_throttle == c->is_throttle);
		CHECK(c->name, st.attempts == 1);
		if (d.action == RETRY_AGAIN) {
			CHECK(c->name, d.delay_ms >= c->min_delay_ms);
			CHECK(c->name, d.delay_ms <= c->max_delay_ms);
		}
	}
}

static int run_sequence(const struct retry_policy *pol, long status,
			struct retry_state *st)
{
	struct retry_response resp = {status, RETRY_NET_NONE, 0, -1, 0};
	struct retry_decision d;
	uint64_t rng = 1;
	int n = 0;

	do {
		retry_decide(&d, pol, st, &resp, &rng);
		n++;
	} while (d.action == RETRY_AGAIN && n < 1000);
	return n;
}

static void test_errors_bounded_by_max_attempts(void **state)
{
	struct retry_state st = {0};

	(void)state;
	assert_int_equal(run_sequence(&POLICY, 500, &st), 4);
	assert_int_equal(st.errors, 4);
}

static void test_403_retried_then_final(void **state)
{
	struct retry_policy pol = POLICY;
	struct retry_state st = {0};

	(void)state;
	pol.retry_403_attempts = 2;
	assert_int_equal(run_sequence(&pol, 403, &st), 3);
	assert_int_equal(st.forbidden, 3);
	pol.retry_403_attempts = 10; /* still bounded by max_attempts */
	st = (struct retry_state){0};
	assert_int_equal(run_sequence(&pol, 403, &st), 4);
}

/* A 403 the caller recognised as throttling (no body) is a throttle:
 * retried on the throttle budget, not the 403 one. */
static void test_recognised_throttle(void **state)
{
	struct retry_state st = {0};
	struct retry_response bare = {403, RETRY_NET_NONE, 0, -1, 1};
	struct retry_decision d;
	uint64_t rng = 9;

	(void)state;
	retry_decide(&d, &POLICY, &st, &bare, &rng);
	assert_int_equal(d.action, RETRY_AGAIN);
	assert_true(d.is_throttle);
	assert_int_equal(st.throttles, 1);
	assert_int_equal(st.forbidden, 0);
}

/* 403s between other failures are intermittent: only 403s in a row count
 * against retry_403_attempts (the reliability report's all-faults run
 * ended a valid key's sync with exit 4 before). */
static void test_403_counted_in_a_row(void **state)
{
	struct retry_policy pol = POLICY;
	struct retry_state st = {0};
	struct retry_decision d;
	struct retry_response resp = {0};
	const long seq[] = {403, 403, 500, 403, 403, 503, 403};
	uint64_t rng = 1;
	size_t i;

	(void)state;
	pol.retry_403_attempts = 2;
	pol.max_attempts = 20;
	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		resp.status = seq[i];
		retry_decide(&d, &pol, &st, &resp, &rng);
		assert_int_equal(d.action, RETRY_AGAIN);
	}
	assert_int_equal(st.forbidden, 1);
	resp.status = 403;
	retry_decide(&d, &pol, &st, &resp, &rng);
	assert_int_equal(d.action, RETRY_AGAIN);
	retry_decide(&d, &pol, &st, &resp, &rng);
	assert_int_equal(d.action, RETRY_FINAL);
}

/* Throttling has its own budget: a request that met errors can still wait
 * out many 429s, and the reverse. */
static void test_throttle_budget_is_separate(void **state)
{
	struct retry_state st = {0};
	struct retry_response err500 = {500, RETRY_NET_NONE, 0, -1, 0};
	struct retry_decision d;
	uint64_t rng = 5;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		retry_decide(&d, &POLICY, &st, &err500, &rng);
		assert_int_equal(d.action, RETRY_AGAIN);
	}
	assert_int_equal(run_sequence(&POLICY, 429, &st), 10);
	assert_int_equal(st.throttles, 10);
	assert_int_equal(st.attempts, 13);
	retry_decide(&d, &POLICY, &st, &err500, &rng);
	assert_int_equal(d.action, RETRY_FINAL);
}

static void test_backoff_grows_and_caps(void **state)
{
	struct retry_policy pol = POLICY;
	uint64_t rng = 7;
	int n, k;

	(void)state;
	pol.backoff_base_ms = 100;
	pol.backoff_max_ms = 1000;
	for (n = 1; n <= 12; n++) {
		int64_t ceil = 100;
		for (k = 0; k < n && ceil < 1000; k++)
			ceil *= 2;
		if (ceil > 1000)
			ceil = 1000;
		for (k = 0; k < 200; k++) {
			int64_t v = retry_backoff_ms(&pol, n, &rng);
			assert_true(v >= 100);
			assert_true(v <= ceil);
		}
	}
}

static void test_backoff_jitters_and_is_seeded(void **state)
{
	uint64_t a = 99, b = 99, c = 100;
	int64_t va[16], vb[16], vc[16];
	int i, same_ac = 1, distinct = 0;

	(void)state;
	for (i = 0; i < 16; i++) {
		va[i] = retry_backoff_ms(&POLICY, 5, &a);
		vb[i] = retry_backoff_ms(&POLICY, 5, &b);
		vc[i] = retry_backoff_ms(&POLICY, 5, &c);
		assert_int_equal(va[i], vb[i]);
		same_ac &= va[i] == vc[i];
		distinct += i && va[i] != va[i - 1];
	}
	assert_false(same_ac);
	assert_true(distinct > 8);
}

struct ra_case {
	const char *text;
	int ret;
	int64_t ms;
};

static void test_retry_after_parse(void **state)
{
	/* now: Wed, 15 Jan 2025 10:00:00 GMT */
	const int64_t now = 1736935200;
	static const struct ra_case cases[] = {
	    {"30", 0, 30000},
	    {"0", 0, 0},
	    {" 2", 0, 2000},
	    {"1.5", 0, 1500},
	    {"Wed, 15 Jan 2025 10:00:10 GMT", 0, 10000},
	    {"Wed, 15 Jan 2025 10:01:00 UTC", 0, 60000},
	    {"Wednesday, 15-Jan-25 10:00:03 GMT", 0, 3000},
	    {"Wed Jan 15 10:00:02 2025", 0, 2000},
	    {"Wed Jan  1 10:00:02 2025", 0, 0},
	    {"Sun, 06 Nov 1994 08:49:37 GMT", 0, 0}, /* past */
	    {"1736935210", 0, 10000},		     /* Unix seconds */
	    {"1736935200500", 0, 500},		     /* Unix ms */
	    {"", -1, 0},
	    {"soon", -1, 0},
	    {"-5", -1, 0},
	    {"1e300", -1, 0},
	    {"nan", -1, 0},
	    {"30s", -1, 0},
	    {"Wed, 15 Jan 2025 10:00:10 PST", -1, 0},
	    {"Wed, 32 Jan 2025 10:00:10 GMT", -1, 0},
	    {"Wed, 15 Foo 2025 10:00:10 GMT", -1, 0},
	    {"Wed, 15 Jan 2025 25:00:10 GMT", -1, 0},
	    {"Wed, 15 Jan 2025 10:00:10 GMT trailing", -1, 0},
	};
	size_t i;

	(void)state;
	assert_int_equal(retry_after_parse(NULL, now, &(int64_t){0}), -1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ms = -7;
		int ret = retry_after_parse(cases[i].text, now, &ms);

		CHECK(cases[i].text, ret == cases[i].ret);
		if (ret == 0)
			CHECK(cases[i].text, ms == cases[i].ms);
		else
			CHECK(cases[i].text, ms == -7);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_answers),
	    cmocka_unit_test(test_errors_bounded_by_max_attempts),
	    cmocka_unit_test(test_403_retried_then_final),
	    cmocka_unit_test(test_recognised_throttle),
	    cmocka_unit_test(test_403_counted_in_a_row),
	    cmocka_unit_test(test_throttle_budget_is_separate),
	    cmocka_unit_test(test_backoff_grows_and_caps),
	    cmocka_unit_test(test_backoff_jitters_and_is_seeded),
	    cmocka_unit_test(test_retry_after_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

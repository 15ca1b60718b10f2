/* PostgreSQL store helpers that need no server: espsync's own URL
 * parameters are taken out before libpq sees the URL, partition names, COPY
 * text escaping, and the dispatch of postgres URLs to this backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/postgresql.h"
#include "store/store.h"

static void test_split_url_table(void **state)
{
	static const struct {
		const char *url, *conninfo;
		int days, rc;
	} cases[] = {
	    {"postgresql://u@h/db", "postgresql://u@h/db", -5, 0},
	    {"postgresql://u@h/db?retention_days=30", "postgresql://u@h/db", 30,
	     0},
	    {"postgres://h/db?sslmode=disable&retention_days=0",
	     "postgres://h/db?sslmode=disable", 0, 0},
	    {"postgresql://h/db?retention_days=7&application_name=x",
	     "postgresql://h/db?application_name=x", 7, 0},
	    {"postgresql://h/db?a=1&retention_days=9&b=2",
	     "postgresql://h/db?a=1&b=2", 9, 0},
	    {"postgresql://h/db?retention_days=", NULL, 0, -1},
	    {"postgresql://h/db?retention_days=-1", NULL, 0, -1},
	    {"postgresql://h/db?retention_days=12x", NULL, 0, -1},
	    {"postgresql://", "postgresql://", -5, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct err err = ERR_INIT;
		char *ci = NULL;
		int days = -5;
		int rc = pg_split_url(cases[i].url, &ci, &days, &err);

		assert_int_equal(rc, cases[i].rc);
		if (rc == 0) {
			assert_string_equal(ci, cases[i].conninfo);
			assert_int_equal(days, cases[i].days);
		} else {
			assert_int_equal(err.kind, ERR_CONFIG);
			assert_null(ci);
		}
		free(ci);
	}
}

static void test_partition_name(void **state)
{
	char name[32];

	(void)state;
	pg_partition_name(0, name);
	assert_string_equal(name, "email_activities_p19700101");
	pg_partition_name(1767225600 + 86399, name); /* 2026-01-01 23:59:59 */
	assert_string_equal(name, "email_activities_p20260101");
	pg_partition_name(1767225600 + 86400, name);
	assert_string_equal(name, "email_activities_p20260102");
}

static void test_copy_field_table(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"plain", "plain"},
	    {"a\tb\nc\rd", "a\\tb\\nc\\rd"},
	    {"back\\slash \\N", "back\\\\slash \\\\N"},
	    {"'); DROP TABLE campaigns; --", "'); DROP TABLE campaigns; --"},
	    {"", ""},
	    {NULL, "\\N"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;

		assert_int_equal(pg_copy_field(&b, cases[i].in), 0);
		assert_string_equal(buf_str(&b), cases[i].out);
		buf_release(&b);
	}
}

/* A dead server is ERR_STORE with the password redacted. */
static void test_open_unreachable(void **state)
{
	struct store *s = NULL;
	struct err err = ERR_INIT;

	(void)state;
	assert_int_equal(store_open(&s,
				    "postgresql://u:hunter2@127.0.0.1:1/d"
				    "?connect_timeout=2",
				    &err),
			 -1);
	assert_null(s);
	assert_int_equal(err.kind, ERR_STORE);
	assert_non_null(strstr(err.msg, "u:***@127.0.0.1"));
	assert_null(strstr(err.msg, "hunter2"));
	assert_null(strchr(err.msg, '\n'));
}

/* libpq quotes the URI or the token it could not parse, and cuts the
 * userinfo at the first '@' (the rest is a host) and the authority at '/',
 * '?' or '#': no part of the password may come back (issue 10). */
static void test_open_never_shows_password(void **state)
{
	static const struct {
		const char *url;
		const char *bad[4]; /* none may appear in the message */
	} cases[] = {
	    {"postgresql://u:secretpw@[::1/db", {"secretpw", NULL}},
	    {"postgresql://u:secret%zzpw@127.0.0.1:1/db",
	     {"secret", "zzpw", NULL}},
	    {"postgresql://u:secret@pw@127.0.0.1:1/db?connect_timeout=2",
	     {"secret", "pw@", "\"pw", NULL}},
	    {"postgresql://u:se/cret@127.0.0.1:1/db", {"\"se\"", "cret", NULL}},
	    {"postgresql://u:s3cr?et@127.0.0.1:x/db", {"s3cr", "et@", NULL}},
	    {"postgresql://u:a#bcdef@127.0.0.1:1/db", {"bcdef", "\"a\"", NULL}},
	    {"postgresql://u:pa:ssw@[::1]:99999/db", {"pa:ssw", "ssw", NULL}},
	    {"postgresql://u@x:pw123@h:5/db", {"pw123", NULL}},
	    {"postgresql://u:p%40ss%3Aw%2F@[fe80::1%zz]/db",
	     {"p@ss:w/", "p%40ss", "ss:w", NULL}},
	    {"postgresql://127.0.0.1:1/db?password=qsecret&bogus=1",
	     {"qsecret", NULL}},
	    {"postgresql://u:p%zz@127.0.0.1:1/db?password=q%zzs&x=1",
	     {"p%zz", "q%zzs", NULL}},
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store *s = NULL;
		struct err err = ERR_INIT;

		assert_int_equal(store_open(&s, cases[i].url, &err), -1);
		assert_null(s);
		for (k = 0; cases[i].bad[k]; k++) {
			if (strstr(err.msg, cases[i].bad[k]))
				fail_msg("case %zu shows '%s': %s", i,
					 cases[i].bad[k], err.msg);
		}
		assert_null(strchr(err.msg, '\n'));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_url_table),
	    cmocka_unit_test(test_partition_name),
	    cmocka_unit_test(test_copy_field_table),
	    cmocka_unit_test(test_open_unreachable),
	    cmocka_unit_test(test_open_never_shows_password),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Tests for the store registry: store_backend_for on every scheme, bare
 * .db paths and unknown URLs, the open error built from it, and the
 * configuration layer agreeing with it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "store/mongodb.h"
#include "store/postgresql.h"
#include "store/sqlite.h"
#include "store/store.h"

struct url_case {
	const char *url;
	const struct store_backend *want; /* NULL: no store */
};

static const struct url_case url_cases[] = {
    {"sqlite:data/espsync.db", &sqlite_store_backend},
    {"sqlite:x", &sqlite_store_backend},
    {"data/espsync.db", &sqlite_store_backend},
    {"/abs/path/x.db", &sqlite_store_backend},
    {"postgresql://u:p@h/db", &postgresql_store_backend},
    {"postgres://h/db", &postgresql_store_backend},
    {"postgresql://", &postgresql_store_backend},
    {"mongodb://h/db", &mongodb_store_backend},
    {"mongodb+srv://cluster/db", &mongodb_store_backend},
    {"mysql://h/db", NULL},
    {"http://h/x.db", NULL},
    {"data/espsync.sqlite", NULL},
    {"x.db.bak", NULL},
    {".db", NULL},
    {"", NULL},
};

static void test_backend_for_urls(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		const struct store_backend *got =
		    store_backend_for(url_cases[i].url);

		if (got != url_cases[i].want)
			fail_msg("'%s': got %s, want %s", url_cases[i].url,
				 got ? got->keys->name : "none",
				 url_cases[i].want
				     ? url_cases[i].want->keys->name
				     : "none");
	}
	assert_null(store_backend_for(NULL));
}

/* Every scheme every backend declares picks that backend. */
static void test_backend_for_every_scheme(void **state)
{
	size_t i, k, n = 0;

	(void)state;
	for (i = 0; store_backends[i]; i++) {
		const struct store_backend *be = store_backends[i];
		char url[128];

		assert_non_null(be->keys->name);
		assert_non_null(be->keys->url_help);
		assert_non_null(be->ops->open);
		assert_string_equal(be->ops->name, be->keys->name);
		for (k = 0; be->keys->schemes[k]; k++, n++) {
			snprintf(url, sizeof(url), "%shost/x",
				 be->keys->schemes[k]);
			assert_ptr_equal(store_backend_for(url), be);
		}
	}
	assert_true(n >= 5);
}

static void test_open_unknown_lists_every_store(void **state)
{
	struct store *s = (struct store *)&s;
	struct err err = ERR_INIT;
	size_t i;

	(void)state;
	assert_int_equal(
	    store_open_with(&s, "redis://u:secret@h/0", NULL, &err), -1);
	assert_null(s);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "unknown store 'redis://u:***@h/0'"));
	assert_null(strstr(err.msg, "secret"));
	for (i = 0; store_backends[i]; i++)
		if (!strstr(err.msg, store_backends[i]->keys->url_help))
			fail_msg("'%s' lacks '%s'", err.msg,
				 store_backends[i]->keys->url_help);
	err_clear(&err);
	assert_int_equal(store_open_with(&s, "", NULL, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
}

/* The configuration layer accepts a store URL exactly when the store
 * registry has a backend for it: both read the same store_keys. */
static void test_config_agrees_with_registry(void **state)
{
	struct api_registry reg;
	char why[192];
	size_t i;

	(void)state;
	cmd_registry_init(&reg);
	for (i = 0; store_backends[i]; i++)
		assert_ptr_equal(reg.reg.stores[i], store_backends[i]->keys);
	assert_int_equal(reg.reg.n_stores, i);
	for (i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		const char *why_not;

		if (!url_cases[i].url[0])
			continue;
		why_not =
		    config_check_value(&reg.reg, option_get(OPT_STORE),
				       url_cases[i].url, why, sizeof(why));
		if (!url_cases[i].want != (why_not != NULL))
			fail_msg("'%s': registry %s, config %s",
				 url_cases[i].url,
				 url_cases[i].want ? "has it" : "has not",
				 why_not ? why_not : "accepts");
	}
}

/* The live ids reconcile_contacts binds: a JSON array, escaped, and an
 * error (not a cut array) at the buffer's maximum. */
static void test_ids_json(void **state)
{
	const char *const ids[] = {"1", "2", "a\"b"};
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(store_ids_json(&b, ids, 3), 0);
	assert_string_equal(buf_str(&b), "[\"1\",\"2\",\"a\\\"b\"]");
	buf_reset(&b);
	assert_int_equal(store_ids_json(&b, ids, 0), 0);
	assert_string_equal(buf_str(&b), "[]");
	buf_release(&b);
	buf_init(&b, 8);
	assert_int_equal(store_ids_json(&b, ids, 3), -1);
	buf_release(&b);
}

/* The shared scrub every backend's driver messages go through: the
 * password raw and percent-decoded, the userinfo, a password= value and
 * the pieces a driver splits a password into; passwords with @ % : / ? #,
 * IPv6 hosts and mongodb URLs. */
static void test_driver_msg_scrubs_secrets(void **state)
{
	static const struct {
		const char *url, *msg, *want;
	} cases[] = {
	    {"postgresql://u:secretpw@[::1/db",
	     "end of string reached when looking for matching \"]\" in IPv6 "
	     "host address in URI: \"postgresql://u:secretpw@[::1/db\"\n",
	     "end of string reached when looking for matching \"]\" in IPv6 "
	     "host address in URI: \"postgresql://***@[::1/db\""},
	    {"postgresql://u:secret%zzpw@h/db",
	     "invalid percent-encoded token: \"secret%zzpw\"",
	     "invalid percent-encoded token: \"***\""},
	    {"postgresql://u:secret@pw@h/db",
	     "could not translate host name \"pw@h\" to address",
	     "could not translate host name \"***@h\" to address"},
	    {"postgresql://u:se/cret@h/db",
	     "invalid integer value \"se\" for connection option \"port\"",
	     "invalid integer value \"***\" for connection option \"port\""},
	    {"postgresql://u:p%40s%3As%2Fw%3Fo%23rd@[::1]:5/db",
	     "Password \"p@s:s/w?o#rd\" (p%40s%3As%2Fw%3Fo%23rd) rejected.",
	     "password \"***\" (***) rejected"},
	    {"mongodb://admin:hunter%252@[::1]:27017/x",
	     "Authentication failed for hunter%2 and hunter%252 and "
	     "admin:hunter%252.",
	     "authentication failed for *** and *** and ***"},
	    {"mongodb+srv://u:topsecret@cluster/db?password=other1",
	     "bad\n\n  topsecret   other1  .", "bad *** ***"},
	    {"postgresql://u:x@h/db", "SSL error", "SSL error"},
	    {"sqlite:data/espsync.db", "Database is locked.",
	     "database is locked"},
	    {"postgresql://u:pw@h/db", "", "unknown error"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store_secrets sec;
		struct buf out = BUF_INIT;

		store_secrets_init(&sec, cases[i].url);
		store_driver_msg(&out, cases[i].msg, &sec);
		if (strcmp(buf_str(&out), cases[i].want))
			fail_msg("case %zu: got '%s'", i, buf_str(&out));
		store_secrets_release(&sec);
		buf_release(&out);
	}
}

/* A message the buffer cannot hold is a note, not a cut message that
 * might end inside a secret. */
static void test_driver_msg_too_long(void **state)
{
	struct store_secrets sec;
	struct buf out, long_msg = BUF_INIT;
	size_t i;

	(void)state;
	buf_init(&out, 64);
	for (i = 0; i < 100; i++)
		assert_int_equal(buf_puts(&long_msg, "xy"), 0);
	store_secrets_init(&sec, "postgresql://u:pw@h/db");
	store_driver_msg(&out, buf_str(&long_msg), &sec);
	assert_string_equal(buf_str(&out), "driver message too long to show");
	store_driver_msg(&out, NULL, NULL);
	assert_string_equal(buf_str(&out), "unknown error");
	store_secrets_release(&sec);
	buf_release(&out);
	buf_release(&long_msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backend_for_urls),
	    cmocka_unit_test(test_backend_for_every_scheme),
	    cmocka_unit_test(test_open_unknown_lists_every_store),
	    cmocka_unit_test(test_config_agrees_with_registry),
	    cmocka_unit_test(test_ids_json),
	    cmocka_unit_test(test_driver_msg_scrubs_secrets),
	    cmocka_unit_test(test_driver_msg_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

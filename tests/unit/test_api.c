/* Unit tests of the public API (include/espsync.h) without a provider:
 * NULL handles and struct sizes, unknown settings, bad values failing a
 * call with the command's message and no secret, a missing .env file, no
 * implicit ./.env or environment, the error accessors, the cancel flag,
 * and check/stats/state reset/export on an empty SQLite store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "espsync.h"

#include "api/api_internal.h"

/* Secret values the tests set: they must never reach a message. The
 * first is invalid (a space), the second valid. */
#define SECRET "sek ret-QX7Z"
#define GOOD_SECRET "sekret-QX7Z9"

static char dir[64];

/* A scratch directory with a store URL in it. */
static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/espsync-test-api-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A handle with its store in the scratch directory. */
static espsync *handle(void)
{
	char url[128];
	espsync *ctx = espsync_new();

	assert_non_null(ctx);
	snprintf(url, sizeof(url), "sqlite:%s/store.db", dir);
	assert_int_equal(espsync_set(ctx, "ESPSYNC_STORE", url), 0);
	snprintf(url, sizeof(url), "%s/exports", dir);
	assert_int_equal(espsync_set(ctx, "ESPSYNC_EXPORT_DIR", url), 0);
	return ctx;
}

static void test_version(void **state)
{
	(void)state;
	assert_int_equal(espsync_api_version(), ESPSYNC_API_VERSION);
	assert_true(strlen(espsync_version()) >= 5);
}

static void test_null_handle(void **state)
{
	struct espsync_sync_summary sum = {.size = sizeof(sum)};
	struct espsync_stats st = {.size = sizeof(st)};
	int64_t removed = 7;

	(void)state;
	espsync_free(NULL);
	espsync_cancel(NULL, 0);
	espsync_set_verbosity(NULL, 1);
	espsync_set_progress(NULL, NULL, NULL);
	assert_int_equal(espsync_set(NULL, "ESPSYNC_STORE", "x"), 2);
	assert_int_equal(espsync_set_env_file(NULL, "x"), 2);
	assert_int_equal(espsync_sync(NULL, NULL, &sum), 2);
	assert_int_equal(espsync_export_csv(NULL, NULL, NULL), 2);
	assert_int_equal(espsync_stats(NULL, NULL, &st), 2);
	assert_int_equal(espsync_state_reset(NULL, NULL, NULL, &removed), 2);
	assert_int_equal(removed, 0);
	assert_int_equal(espsync_check(NULL, NULL, NULL, NULL), 2);
	assert_int_equal(espsync_error_code(NULL), 2);
	assert_string_not_equal(espsync_error_message(NULL), "");
}

static void test_struct_sizes(void **state)
{
	struct espsync_sync_options opts = ESPSYNC_SYNC_OPTIONS_INIT;
	struct espsync_sync_summary sum;
	struct espsync_export_options eo = ESPSYNC_EXPORT_OPTIONS_INIT;
	struct espsync_stats st;
	espsync *ctx = handle();

	(void)state;
	memset(&sum, 0, sizeof(sum));
	opts.size = 8;
	sum.size = sizeof(sum);
	assert_int_equal(espsync_sync(ctx, &opts, &sum), 2);
	assert_non_null(
	    strstr(espsync_error_message(ctx), "espsync_sync_options.size"));
	assert_string_equal(sum.status, "failed");
	opts.size = sizeof(opts);
	sum.size = 8;
	assert_int_equal(espsync_sync(ctx, &opts, &sum), 2);
	assert_non_null(
	    strstr(espsync_error_message(ctx), "espsync_sync_summary.size"));
	eo.size = 0;
	assert_int_equal(espsync_export_csv(ctx, &eo, NULL), 2);
	memset(&st, 0, sizeof(st));
	assert_int_equal(espsync_stats(ctx, NULL, &st), 2);
	assert_int_equal(espsync_stats(ctx, NULL, NULL), 2);
	assert_string_equal(espsync_error_kind(ctx), "usage");
	espsync_free(ctx);
}

static void test_unknown_key(void **state)
{
	espsync *ctx = espsync_new();

	(void)state;
	assert_int_equal(espsync_set(ctx, "ESPSYNC_STORES", "x"), 2);
	assert_string_equal(espsync_error_message(ctx),
			    "unknown setting 'ESPSYNC_STORES'");
	assert_string_equal(espsync_error_kind(ctx), "usage");
	assert_int_equal(espsync_error_code(ctx), 2);
	assert_int_equal(espsync_set(ctx, "", "x"), 2);
	assert_int_equal(espsync_set(ctx, NULL, "x"), 2);
	/* a known key clears the last error */
	assert_int_equal(espsync_set(ctx, "EMAILOCTOPUS_API_KEY", "k"), 0);
	assert_string_equal(espsync_error_message(ctx), "");
	assert_string_equal(espsync_error_kind(ctx), "");
	assert_int_equal(espsync_error_code(ctx), 0);
	/* every part's keys are known: a provider's, a store's own */
	assert_int_equal(espsync_set(ctx, "ESPSYNC_RATE_EMAILOCTOPUS", "2"), 0);
	assert_int_equal(espsync_set(ctx, "MONGODB_HOST", "h"), 0);
	assert_int_equal(espsync_set(ctx, "ESPSYNC_BQ_ATTEMPTS", "2"), 0);
	assert_int_equal(espsync_set(ctx, "MONGODB_HOST", NULL), 0);
	espsync_free(ctx);
}

static void test_bad_value_fails_at_sync(void **state)
{
	struct espsync_sync_summary sum = {.size = sizeof(sum)};
	espsync *ctx = handle();

	(void)state;
	assert_int_equal(espsync_set(ctx, "ESPSYNC_MAX_INFLIGHT", "100"), 0);
	assert_int_equal(espsync_sync(ctx, NULL, &sum), 2);
	assert_string_equal(espsync_error_message(ctx),
			    "invalid value '100' for 'ESPSYNC_MAX_INFLIGHT' "
			    "(from setting): must be from 1 to 64");
	assert_string_equal(espsync_error_kind(ctx), "config");
	assert_int_equal(sum.exit_code, 2);
	assert_int_equal(sum.n_providers, 0);
	/* a secret's bad value is named, never shown */
	assert_int_equal(espsync_set(ctx, "ESPSYNC_MAX_INFLIGHT", NULL), 0);
	assert_int_equal(espsync_set(ctx, "EMAILOCTOPUS_API_KEY", SECRET), 0);
	assert_int_equal(espsync_sync(ctx, NULL, &sum), 2);
	assert_non_null(
	    strstr(espsync_error_message(ctx), "'EMAILOCTOPUS_API_KEY'"));
	assert_null(strstr(espsync_error_message(ctx), "QX7Z"));
	/* the same for check and the store calls */
	assert_int_equal(espsync_check(ctx, NULL, NULL, NULL), 2);
	assert_null(strstr(espsync_error_message(ctx), "QX7Z"));
	espsync_free(ctx);
}

static void test_env_file(void **state)
{
	struct espsync_stats st = {.size = sizeof(st)};
	char path[128];
	FILE *f;
	espsync *ctx = handle();

	(void)state;
	snprintf(path, sizeof(path), "%s/missing.env", dir);
	assert_int_equal(espsync_set_env_file(ctx, path), 0);
	assert_int_equal(espsync_stats(ctx, NULL, &st), 2);
	assert_string_equal(espsync_error_kind(ctx), "config");
	assert_non_null(strstr(espsync_error_message(ctx), "missing.env"));
	assert_int_equal(espsync_set_env_file(ctx, ""), 2);
	/* a file given is read; settings win over it */
	snprintf(path, sizeof(path), "%s/given.env", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("ESPSYNC_MAX_INFLIGHT=99\nESPSYNC_LOOKBACK=2h\n", f);
	fclose(f);
	assert_int_equal(espsync_set_env_file(ctx, path), 0);
	assert_int_equal(espsync_stats(ctx, NULL, &st), 2);
	assert_non_null(
	    strstr(espsync_error_message(ctx), "given.env' line 1"));
	assert_int_equal(espsync_set(ctx, "ESPSYNC_MAX_INFLIGHT", "4"), 0);
	assert_int_equal(espsync_stats(ctx, NULL, &st), 0);
	assert_int_equal(espsync_set_env_file(ctx, NULL), 0);
	espsync_free(ctx);
}

/* Neither ./.env nor the process environment configures a handle. */
static void test_no_implicit_configuration(void **state)
{
	char cwd[512];
	FILE *f;
	espsync *ctx = handle();

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	f = fopen(".env", "w");
	assert_non_null(f);
	fputs("EMAILOCTOPUS_API_KEY=from-dot-env\nESPSYNC_MAX_INFLIGHT=999\n",
	      f);
	fclose(f);
	setenv("EMAILOCTOPUS_API_KEY", "from-environment", 1);
	assert_int_equal(espsync_sync(ctx, NULL, NULL), 2);
	assert_non_null(
	    strstr(espsync_error_message(ctx), "no provider configured"));
	unsetenv("EMAILOCTOPUS_API_KEY");
	assert_int_equal(unlink(".env"), 0);
	assert_int_equal(chdir(cwd), 0);
	espsync_free(ctx);
}

static void test_unknown_provider_and_options(void **state)
{
	struct espsync_sync_options opts = ESPSYNC_SYNC_OPTIONS_INIT;
	espsync *ctx = handle();

	(void)state;
	assert_int_equal(espsync_set(ctx, "EMAILOCTOPUS_API_KEY", "k"), 0);
	opts.provider = "nosuch";
	assert_int_equal(espsync_sync(ctx, &opts, NULL), 2);
	assert_string_equal(espsync_error_message(ctx),
			    "unknown provider 'nosuch'");
	opts.provider = NULL;
	opts.streams = "campaigns,bogus";
	assert_int_equal(espsync_sync(ctx, &opts, NULL), 2);
	assert_non_null(strstr(espsync_error_message(ctx), "bogus"));
	opts.streams = NULL;
	opts.campaign_id = "../x";
	assert_int_equal(espsync_sync(ctx, &opts, NULL), 2);
	opts.campaign_id = NULL;
	opts.mode = 9;
	assert_int_equal(espsync_sync(ctx, &opts, NULL), 2);
	opts.mode = ESPSYNC_MODE_INCREMENTAL;
	opts.hours = -1;
	assert_int_equal(espsync_sync(ctx, &opts, NULL), 2);
	assert_string_equal(espsync_error_kind(ctx), "usage");
	espsync_free(ctx);
}

static int pages_seen;

static void count_events(const struct espsync_event *ev, void *userdata)
{
	int *providers = userdata;

	if (ev->kind == ESPSYNC_EVENT_PROVIDER) {
		assert_non_null(ev->result);
		assert_string_equal(ev->result->status, "interrupted");
		(*providers)++;
	} else {
		pages_seen++;
	}
}

/* Cancelled before it starts: 130 (SIGTERM: 143), no request made, the
 * run of the provider reported, and the flag cleared when it returns. */
static void test_cancel_before_sync(void **state)
{
	struct espsync_sync_summary sum = {.size = sizeof(sum)};
	int providers = 0;
	espsync *ctx = handle();

	(void)state;
	/* nothing listens there: a request would fail, not be cancelled */
	assert_int_equal(
	    espsync_set(ctx, "EMAILOCTOPUS_API_URL", "http://127.0.0.1:9"), 0);
	assert_int_equal(espsync_set(ctx, "EMAILOCTOPUS_API_KEY", "k"), 0);
	espsync_set_progress(ctx, count_events, &providers);
	espsync_cancel(ctx, 0);
	assert_int_equal(espsync_sync(ctx, NULL, &sum), 130);
	assert_int_equal(ctx->cancel, 0);
	assert_int_equal(sum.exit_code, 130);
	assert_string_equal(sum.status, "interrupted");
	assert_int_equal(sum.n_providers, 1);
	assert_int_equal(providers, 1);
	assert_int_equal(pages_seen, 0);
	assert_string_equal(espsync_error_kind(ctx), "interrupted");
	assert_non_null(strstr(espsync_error_message(ctx), "SIGINT"));
	espsync_cancel(ctx, 15);
	assert_int_equal(espsync_sync(ctx, NULL, &sum), 143);
	assert_int_equal(ctx->cancel, 0);
	assert_int_equal(espsync_error_code(ctx), 143);
	espsync_free(ctx);
}

struct items {
	int n, n_settings, n_store, n_providers, has_none, has_secret;
	int first_is_env_file, store_ok;
	char text[8192];
};

static void on_item(const struct espsync_check_item *it, void *userdata)
{
	struct items *c = userdata;
	size_t len = strlen(c->text);

	if (c->n++ == 0)
		c->first_is_env_file = it->section == ESPSYNC_CHECK_SETTING &&
				       !it->name && !it->value;
	if (it->section == ESPSYNC_CHECK_SETTING)
		c->n_settings++;
	if (it->section == ESPSYNC_CHECK_STORE && it->name &&
	    !strcmp(it->name, "store"))
		c->store_ok = !it->exit_code && it->source &&
			      !strcmp(it->source, "sqlite");
	if (it->section == ESPSYNC_CHECK_STORE)
		c->n_store++;
	if (it->section == ESPSYNC_CHECK_PROVIDER && it->name)
		c->n_providers++;
	if (it->section == ESPSYNC_CHECK_PROVIDER && !it->name)
		c->has_none = it->exit_code == 2;
	if (it->is_secret && it->value)
		c->has_secret = !strcmp(it->value, "set (12 chars)") &&
				!strcmp(it->source, "setting");
	snprintf(c->text + len, sizeof(c->text) - len, "%s=%s (%s)\n",
		 it->name ? it->name : "-", it->value ? it->value : "-",
		 it->detail ? it->detail : "-");
}

static void test_check_items(void **state)
{
	struct items c;
	espsync *ctx = handle();

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(espsync_check(ctx, NULL, on_item, &c), 2);
	assert_true(c.first_is_env_file);
	assert_true(c.n_settings > 10);
	assert_true(c.store_ok);
	assert_true(c.n_providers >= 3);
	assert_true(c.has_none);
	assert_non_null(
	    strstr(espsync_error_message(ctx), "no provider configured"));
	/* a partly configured provider is an error of its own */
	memset(&c, 0, sizeof(c));
	assert_int_equal(
	    espsync_set(ctx, "ACTIVECAMPAIGN_API_URL", "https://a.example"), 0);
	assert_int_equal(espsync_check(ctx, "activecampaign", on_item, &c), 2);
	assert_int_equal(c.n_providers, 1);
	assert_non_null(strstr(espsync_error_message(ctx),
			       "provider 'activecampaign' is not configured"));
	/* secrets show only their length */
	memset(&c, 0, sizeof(c));
	assert_int_equal(espsync_set(ctx, "ACTIVECAMPAIGN_API_URL", NULL), 0);
	assert_int_equal(espsync_set(ctx, "MAILCHIMP_API_KEY", GOOD_SECRET), 0);
	espsync_check(ctx, "emailoctopus", on_item, &c);
	assert_true(c.has_secret);
	assert_null(strstr(c.text, "QX7Z"));
	assert_non_null(strstr(c.text, "ESPSYNC_STORE=sqlite:"));
	assert_int_equal(espsync_check(ctx, "nosuch", on_item, &c), 2);
	espsync_free(ctx);
}

static void test_store_calls_on_empty_store(void **state)
{
	struct espsync_stats st;
	struct espsync_export_options eo = ESPSYNC_EXPORT_OPTIONS_INIT;
	struct espsync_export_result res = {.size = sizeof(res)};
	int64_t removed = 9;
	espsync *ctx = handle();

	(void)state;
	memset(&st, 0xff, sizeof(st));
	st.size = sizeof(st);
	assert_int_equal(espsync_stats(ctx, NULL, &st), 0);
	assert_int_equal(st.campaigns, 0);
	assert_int_equal(st.events[ESPSYNC_EV_OPENED], 0);
	assert_int_equal(st.has_last_run, 0);
	assert_int_equal(st.csv_files, 0);
	assert_int_equal(st.verified_campaigns, 0);
	assert_int_equal(espsync_stats(ctx, "nosuch", &st), 2);
	/* a caller built before fields were appended gets its part only */
	memset(&st, 0xff, sizeof(st));
	st.size = offsetof(struct espsync_stats, last_run_account);
	assert_int_equal(espsync_stats(ctx, NULL, &st), 0);
	assert_int_equal(st.last_run_finished_at, 0);
	assert_int_equal(st.last_run_requests, -1);
	assert_int_equal(
	    espsync_state_reset(ctx, "emailoctopus", NULL, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(espsync_export_csv(ctx, NULL, &res), 0);
	assert_int_equal(res.files, 0);
	eo.columns_map = "NoEquals";
	assert_int_equal(espsync_export_csv(ctx, &eo, &res), 2);
	assert_non_null(strstr(espsync_error_message(ctx), "--csv-columns"));
	eo.columns_map = NULL;
	eo.campaign_id = "404";
	assert_int_equal(espsync_export_csv(ctx, &eo, &res), 6);
	assert_string_equal(espsync_error_kind(ctx), "not_found");
	assert_non_null(strstr(espsync_error_message(ctx), "export csv: "));
	espsync_free(ctx);
}

/* What a call writes on stderr, into text. */
static void stderr_of(espsync *ctx, int (*call)(espsync *), char *text,
		      size_t size)
{
	FILE *tmp = tmpfile();
	int saved;
	size_t n;

	assert_non_null(tmp);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), 2) >= 0);
	call(ctx);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(text, 1, size - 1, tmp);
	text[n] = '\0';
	fclose(tmp);
}

static int sync_unknown_provider(espsync *ctx)
{
	struct espsync_sync_options opts = ESPSYNC_SYNC_OPTIONS_INIT;

	opts.provider = "nosuch";
	return espsync_sync(ctx, &opts, NULL);
}

/* Quiet by default; at verbosity 0 an error is one line, as the command
 * prints it. */
static void test_verbosity(void **state)
{
	char text[512];
	espsync *ctx = handle();

	(void)state;
	assert_int_equal(espsync_set(ctx, "EMAILOCTOPUS_API_KEY", "k"), 0);
	stderr_of(ctx, sync_unknown_provider, text, sizeof(text));
	assert_string_equal(text, "");
	espsync_set_verbosity(ctx, 0);
	stderr_of(ctx, sync_unknown_provider, text, sizeof(text));
	assert_string_equal(text, "espsync: unknown provider 'nosuch'\n");
	espsync_set_verbosity(ctx, -1);
	stderr_of(ctx, sync_unknown_provider, text, sizeof(text));
	assert_string_equal(text, "");
	espsync_free(ctx);
}

/* A store that cannot be opened is the store's error (exit 5). */
static void test_store_unavailable(void **state)
{
	struct espsync_stats st = {.size = sizeof(st)};
	espsync *ctx = espsync_new();

	(void)state;
	assert_int_equal(
	    espsync_set(ctx, "ESPSYNC_STORE", "sqlite:/dev/null/x.db"), 0);
	assert_int_equal(espsync_stats(ctx, NULL, &st), 5);
	assert_string_equal(espsync_error_kind(ctx), "store");
	espsync_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_version),
	    cmocka_unit_test(test_null_handle),
	    cmocka_unit_test(test_struct_sizes),
	    cmocka_unit_test(test_unknown_key),
	    cmocka_unit_test(test_bad_value_fails_at_sync),
	    cmocka_unit_test(test_env_file),
	    cmocka_unit_test(test_no_implicit_configuration),
	    cmocka_unit_test(test_unknown_provider_and_options),
	    cmocka_unit_test(test_cancel_before_sync),
	    cmocka_unit_test(test_check_items),
	    cmocka_unit_test(test_store_calls_on_empty_store),
	    cmocka_unit_test(test_store_unavailable),
	    cmocka_unit_test(test_verbosity),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

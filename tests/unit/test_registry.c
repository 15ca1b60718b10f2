/* Tests for the provider registry and what config/ builds from it: every
 * entry's configuration face, provider keys through the configuration
 * layers, --provider choices, the earlier tool's provider and the help. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "config/cli.h"
#include "config/config.h"
#include "config/help.h"
#include "source/source.h"
#include "util/buf.h"
#include "util/err.h"

/* A provider that exists only here: nothing outside the registry may
 * need to know its name. */
static const struct option_def acme_defs[] = {
    {.key = "ACME_TOKEN",
     .kind = OPTK_SECRET,
     .role = PROLE_API_KEY,
     .help = "acme token"},
    {.key = "ACME_URL",
     .kind = OPTK_URL,
     .role = PROLE_API_URL,
     .help = "acme api url"},
    {.key = "ACME_ZONE",
     .kind = OPTK_TIMEZONE,
     .role = PROLE_TIMEZONE,
     .def = "UTC",
     .help = "acme zone"},
    {.key = "ACME_RATE",
     .kind = OPTK_NUMBER,
     .role = PROLE_RATE,
     .def = "4",
     .min = 0.5,
     .max = 50,
     .help = "acme requests per second"},
};

static const struct source_keys acme = {
    .name = "acme",
    .title = "Acme",
    .keys = acme_defs,
    .n_keys = sizeof(acme_defs) / sizeof(acme_defs[0]),
    .required_roles = (1u << PROLE_API_KEY) | (1u << PROLE_API_URL),
    .is_account_url_host = 1,
    .is_earlier_tool = 1,
};

static const struct source_keys *const acme_only[] = {&acme};

/* The real stores and commands with Acme as the only provider (filled by
 * setup_acme before the tests run). */
static struct api_registry real_reg;
static struct config_registry acme_reg;

static int setup_acme(void **state)
{
	(void)state;
	cmd_registry_init(&real_reg);
	acme_reg = real_reg.reg;
	acme_reg.providers = acme_only;
	acme_reg.n_providers = 1;
	return 0;
}

static const char *write_file(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/espsync-reg-%d-%s",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid(),
		 name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int load_with(struct config *cfg, const struct config_registry *reg,
		     const char *const *envp, int argc, const char *const *args,
		     struct err *err)
{
	const char *argv[16] = {"espsync"};
	struct cli cli;
	int i;

	for (i = 0; i < argc; i++)
		argv[i + 1] = args[i];
	if (cli_parse(&cli, argc + 1, argv, reg, err) < 0)
		return -1;
	return config_load(cfg, &cli, envp, err);
}

static void test_source_find(void **state)
{
	size_t i;

	(void)state;
	assert_non_null(source_registry[0]);
	for (i = 0; source_registry[i]; i++)
		assert_ptr_equal(source_find(source_registry[i]->name),
				 source_registry[i]);
	assert_ptr_equal(source_find("EmailOctopus"),
			 source_find("emailoctopus"));
	assert_non_null(source_find("activecampaign"));
	assert_non_null(source_find("mailchimp"));
	assert_null(source_find("sendgrid"));
	assert_null(source_find(""));
	assert_null(source_find(NULL));
}

/* Every entry declares its configuration face completely. */
static void test_registry_entries(void **state)
{
	char why[128];
	size_t i, j, n_earlier = 0;

	(void)state;
	for (i = 0; source_registry[i]; i++) {
		const struct source *src = source_registry[i];
		const struct source_keys *pk = src->keys;
		unsigned roles = 0;
		const struct option_def *key;

		assert_non_null(pk);
		assert_string_equal(pk->name, src->name);
		assert_non_null(pk->title);
		assert_true(pk->n_keys > 0);
		for (j = 0; j < pk->n_keys; j++) {
			const struct option_def *def = &pk->keys[j];

			if (def->role <= PROLE_NONE ||
			    def->role >= PROLE__COUNT)
				fail_msg("%s: key %zu has no role", src->name,
					 j);
			if (roles & (1u << def->role))
				fail_msg("%s: two keys with role %d", src->name,
					 def->role);
			roles |= 1u << def->role;
			assert_non_null(def->key);
			assert_non_null(def->help);
			assert_null(def->flag);
			assert_ptr_equal(source_key(pk, def->role), def);
			if (def->def && config_check_value(NULL, def, def->def,
							   why, sizeof(why)))
				fail_msg("%s: default of %s: %s", src->name,
					 def->key, why);
		}
		assert_int_equal(pk->required_roles & ~roles, 0);
		key = source_key(pk, PROLE_API_KEY);
		assert_non_null(key);
		assert_int_equal(key->kind, OPTK_SECRET);
		assert_true(pk->required_roles & (1u << PROLE_API_KEY));
		assert_non_null(source_key(pk, PROLE_API_URL));
		assert_null(source_key(pk, PROLE_NONE));
		n_earlier += pk->is_earlier_tool != 0;
	}
	/* the earlier tool's flags mean exactly one provider */
	assert_int_equal(n_earlier, 1);
}

static void test_cmd_registry_follows_sources(void **state)
{
	struct api_registry reg;
	size_t i;

	(void)state;
	cmd_registry_init(&reg);
	for (i = 0; source_registry[i]; i++)
		assert_ptr_equal(reg.reg.providers[i],
				 source_registry[i]->keys);
	assert_int_equal(reg.reg.n_providers, i);
}

/* A provider's keys go through defaults < .env < environment, validated,
 * with where each value came from. */
static void test_config_loads_provider_keys(void **state)
{
	struct config cfg;
	struct err err = ERR_INIT;
	const char *path =
	    write_file("a.env", "# acme\n"
				"ACME_TOKEN=from-file\n"
				"ACME_URL=https://file.acme.test\n"
				"ACME_RATE=2\n");
	const char *const envp[] = {"ACME_URL=https://env.acme.test:8443/v1/",
				    NULL};
	const char *args[] = {"--env-file", path, "sync"};
	const struct account_config *pc;
	char src[256];

	(void)state;
	assert_int_equal(load_with(&cfg, &acme_reg, envp, 3, args, &err), 0);
	assert_int_equal(cfg.n_providers, 1);
	pc = config_account(&cfg, "acme");
	assert_non_null(pc);
	assert_null(config_account(&cfg, "emailoctopus"));
	assert_ptr_equal(pc->keys, &acme);
	assert_true(pc->is_configured);
	assert_string_equal(pc->api_key, "from-file");
	config_value_source_text(&cfg, &pc->v[PROLE_API_KEY], src, sizeof(src));
	assert_non_null(strstr(src, "a.env' line 2"));
	/* the environment wins; trailing slash dropped */
	assert_string_equal(pc->api_url, "https://env.acme.test:8443/v1");
	assert_int_equal(pc->v[PROLE_API_URL].source, SRC_ENVIRONMENT);
	config_value_source_text(&cfg, &pc->v[PROLE_API_URL], src, sizeof(src));
	assert_string_equal(src, "environment");
	assert_true(pc->rate_per_sec == 2.0);
	assert_int_equal(pc->v[PROLE_RATE].line, 4);
	assert_string_equal(pc->timezone, "UTC");
	assert_int_equal(pc->v[PROLE_TIMEZONE].source, SRC_DEFAULT);
	/* no burst key: 0, the source's own */
	assert_true(pc->burst == 0);
	assert_int_equal(pc->v[PROLE_BURST].source, SRC_UNSET);
	/* is_account_url_host */
	assert_string_equal(pc->account, "env.acme.test");
	config_release(&cfg);
}

static void test_provider_key_validation(void **state)
{
	struct config cfg;
	struct err err = ERR_INIT;
	const char *const envp[] = {"ACME_RATE=99", NULL};
	const char *const bad_zone[] = {"ACME_ZONE=Not/AZone", NULL};
	const char *args[] = {"sync"};

	(void)state;
	assert_int_equal(load_with(&cfg, &acme_reg, envp, 1, args, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_string_equal(err.msg, "invalid value '99' for 'ACME_RATE' "
				     "(from environment): must be from 0.5 "
				     "to 50");
	config_release(&cfg);
	err_clear(&err);
	assert_int_equal(load_with(&cfg, &acme_reg, bad_zone, 1, args, &err),
			 -1);
	assert_non_null(strstr(err.msg, "'ACME_ZONE'"));
	config_release(&cfg);
}

static void test_provider_missing_keys(void **state)
{
	struct config cfg;
	struct err err = ERR_INIT;
	const char *const none[] = {NULL};
	const char *const token[] = {"ACME_TOKEN=t", NULL};
	const char *plain[] = {"sync"};
	const struct account_config *pc;
	char hint[128];

	(void)state;
	assert_int_equal(load_with(&cfg, &acme_reg, none, 1, plain, &err), 0);
	pc = config_account(&cfg, "acme");
	assert_false(pc->is_configured);
	assert_false(pc->is_partly_configured);
	/* in the order of the provider's key table */
	assert_string_equal(pc->missing, "ACME_TOKEN and ACME_URL");
	assert_null(pc->account);
	config_setup_hint(&cfg, hint, sizeof(hint));
	assert_string_equal(hint, "ACME_TOKEN and ACME_URL");
	config_release(&cfg);
	assert_int_equal(load_with(&cfg, &acme_reg, token, 1, plain, &err), 0);
	pc = config_account(&cfg, "acme");
	assert_true(pc->is_partly_configured);
	assert_string_equal(pc->missing, "ACME_URL");
	config_release(&cfg);
}

/* --provider accepts the registry's names and "all", nothing else. */
static void test_provider_choices_from_registry(void **state)
{
	struct config cfg;
	struct err err = ERR_INIT;
	struct api_registry real;
	const char *const none[] = {NULL};
	const char *acme_args[] = {"sync", "--provider", "acme"};
	const char *eo_args[] = {"sync", "--provider", "emailoctopus"};
	char why[128];

	(void)state;
	assert_int_equal(load_with(&cfg, &acme_reg, none, 3, acme_args, &err),
			 0);
	assert_string_equal(config_str(&cfg, OPT_PROVIDER), "acme");
	config_release(&cfg);
	assert_int_equal(load_with(&cfg, &acme_reg, none, 3, eo_args, &err),
			 -1);
	assert_non_null(strstr(err.msg, "must be acme or all"));
	config_release(&cfg);

	cmd_registry_init(&real);
	assert_null(config_check_provider(&real.reg, "all", why, sizeof(why)));
	assert_null(config_check_provider(&real.reg, "activecampaign", why,
					  sizeof(why)));
	assert_string_equal(
	    config_check_provider(&real.reg, "acme", why, sizeof(why)),
	    "must be emailoctopus, activecampaign, mailchimp or all");
	assert_null(config_check_provider(&acme_reg, "acme", why, sizeof(why)));
}

/* The earlier tool's form means the provider flagged is_earlier_tool. */
static void test_seed_provider_from_registry(void **state)
{
	static const struct source_keys plain = {
	    .name = "plain", .title = "Plain", .keys = acme_defs, .n_keys = 1};
	static const struct source_keys *const plain_only[] = {&plain};
	struct config_registry plain_reg = acme_reg;
	const char *const argv[] = {"espsync", "--stats"};
	struct api_registry real;
	struct cli cli;
	struct err err = ERR_INIT;

	(void)state;
	plain_reg.providers = plain_only;
	assert_int_equal(cli_parse(&cli, 2, argv, &acme_reg, &err), 0);
	assert_string_equal(cli.opt[OPT_PROVIDER].value, "acme");
	cmd_registry_init(&real);
	assert_int_equal(cli_parse(&cli, 2, argv, &real.reg, &err), 0);
	assert_string_equal(cli.opt[OPT_PROVIDER].value, "emailoctopus");
	assert_int_equal(cli_parse(&cli, 2, argv, &plain_reg, &err), -1);
	assert_int_equal(err.kind, ERR_USAGE);
}

/* --help and the man page list the providers and their keys. */
static void test_help_from_registry(void **state)
{
	struct buf b = BUF_INIT;
	struct api_registry real;
	const struct command_spec *sync;

	(void)state;
	cmd_registry_init(&real);
	sync = command_spec_find(&real.reg, "sync");
	assert_non_null(sync);
	help_man(&b, &acme_reg);
	assert_non_null(strstr(buf_str(&b), "data from Acme into a database"));
	assert_non_null(strstr(buf_str(&b), ".B ACME_TOKEN\n"));
	assert_non_null(strstr(buf_str(&b), "acme requests per second "
					    "(default 4)"));
	assert_non_null(strstr(buf_str(&b), "keep working and mean Acme:"));
	assert_non_null(strstr(buf_str(&b), "acme or all (default: every"));
	assert_null(strstr(buf_str(&b), "EMAILOCTOPUS"));
	buf_reset(&b);
	help_overview(&b, &acme_reg);
	assert_non_null(strstr(buf_str(&b), "  ACME_URL\n"));
	buf_reset(&b);
	help_command(&b, &acme_reg, sync);
	assert_non_null(strstr(buf_str(&b), "acme or all"));
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_source_find),
	    cmocka_unit_test(test_registry_entries),
	    cmocka_unit_test(test_cmd_registry_follows_sources),
	    cmocka_unit_test(test_config_loads_provider_keys),
	    cmocka_unit_test(test_provider_key_validation),
	    cmocka_unit_test(test_provider_missing_keys),
	    cmocka_unit_test(test_provider_choices_from_registry),
	    cmocka_unit_test(test_seed_provider_from_registry),
	    cmocka_unit_test(test_help_from_registry),
	};

	return cmocka_run_group_tests(tests, setup_acme, NULL);
}

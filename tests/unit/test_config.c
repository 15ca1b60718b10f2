/* Tests for the .env reader, the configuration layers and validation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "config/cli.h"
#include "config/config.h"
#include "config/envfile.h"
#include "source/source.h"
#include "util/buf.h"
#include "util/err.h"

/* ---------------------------------------------------------------- .env */

struct env_case {
	const char *text;
	const char *key;
	const char *want; /* NULL: key absent */
};

static const struct env_case env_cases[] = {
    {"A=1\n", "A", "1"},
    {"A=1", "A", "1"},
    {"  A = 1  \n", "A", "1"},
    {"export A=1\n", "A", "1"},
    {"export   A=1\n", "A", "1"},
    {"export=1\n", "export", "1"},
    {"# A=1\n", "A", NULL},
    {"   # comment\n\n\nA=2\n", "A", "2"},
    {"A=\n", "A", ""},
    {"A=one two\n", "A", "one two"},
    {"A=value # comment\n", "A", "value"},
    {"A=value\t# comment\n", "A", "value"},
    {"A=pass#word\n", "A", "pass#word"},
    {"A=#notcomment\n", "A", "#notcomment"},
    {"A= # only a comment\n", "A", ""},
    {"A=\"quoted # not comment\"\n", "A", "quoted # not comment"},
    {"A=\"a\\nb\"\n", "A", "a\nb"},
    {"A=\"say \\\"hi\\\"\"\n", "A", "say \"hi\""},
    {"A=\"back\\\\slash\"\n", "A", "back\\slash"},
    {"A=\"tab\\there\"\n", "A", "tab\there"},
    {"A='single \\n raw'\n", "A", "single \\n raw"},
    {"A='has \"double\"'\n", "A", "has \"double\""},
    {"A=\"x\" # trailing comment\n", "A", "x"},
    {"A=\"\"\n", "A", ""},
    {"A=1\r\nB=2\r\n", "A", "1"},
    {"A=1\r\nB=2\r\n", "B", "2"},
    {"\xef\xbb\xbf"
     "A=bom\n",
     "A", "bom"},
    {"A=1\nA=2\n", "A", "2"},
    {"A=it's\n", "A", "it's"},
    {"A=x=y\n", "A", "x=y"},
    {"_A9=z\n", "_A9", "z"},
    {"A=caf\xc3\xa9\n", "A", "caf\xc3\xa9"},
};

static void test_env_parse_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(env_cases) / sizeof(env_cases[0]); i++) {
		const struct env_case *c = &env_cases[i];
		struct env_file f;
		struct err err = ERR_INIT;
		const struct env_entry *e;

		env_file_init(&f);
		if (env_file_parse(&f, ".env", c->text, strlen(c->text), &err) <
		    0)
			fail_msg("case %zu: %s", i, err.msg);
		e = env_file_get(&f, c->key);
		if (!c->want) {
			assert_null(e);
		} else {
			if (!e)
				fail_msg("case %zu: no key %s", i, c->key);
			assert_string_equal(e->value, c->want);
		}
		env_file_release(&f);
	}
}

struct env_bad {
	const char *text;
	size_t len; /* 0: strlen */
	int line;
	const char *why; /* substring of the message */
};

static const struct env_bad env_bad_cases[] = {
    {"A=1\nthis is not a setting\n", 0, 2, "expected '='"},
    {"A=1\n\n\nB\n", 0, 4, "expected '='"},
    {"=1\n", 0, 1, "expected KEY=VALUE"},
    {"1A=1\n", 0, 1, "expected KEY=VALUE"},
    {"A-B=1\n", 0, 1, "expected '='"},
    {"A=\"unterminated\n", 0, 1, "unterminated double"},
    {"A='unterminated\n", 0, 1, "unterminated single"},
    {"A=\"x\" junk\n", 0, 1, "after the closing quote"},
    {"A=\"bad \\q escape\"\n", 0, 1, "unknown escape"},
    {"A=1\nB=ctl\x01here\n", 0, 2, "control character"},
    {"A=1\r\nB=\"x\r\n", 0, 2, "unterminated"},
    {"A=x\rB=y\n", 0, 1, "control character"},
    {"A=nul\0byte\n", 11, 1, "nul byte"},
    {"export\n", 0, 1, "expected '='"},
};

static void test_env_parse_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(env_bad_cases) / sizeof(env_bad_cases[0]); i++) {
		const struct env_bad *c = &env_bad_cases[i];
		struct env_file f;
		struct err err = ERR_INIT;
		char want[64];
		size_t len = c->len ? c->len : strlen(c->text);

		env_file_init(&f);
		if (env_file_parse(&f, ".env", c->text, len, &err) == 0)
			fail_msg("case %zu parsed", i);
		assert_int_equal(err.kind, ERR_CONFIG);
		snprintf(want, sizeof(want),
			 "invalid line %d in '.env': ", c->line);
		if (strncmp(err.msg, want, strlen(want)) ||
		    !strstr(err.msg, c->why))
			fail_msg("case %zu: got '%s'", i, err.msg);
		env_file_release(&f);
	}
}

static void test_env_error_hides_value(void **state)
{
	const char text[] = "EMAILOCTOPUS_API_KEY=\"eo_secret_value\n";
	struct env_file f;
	struct err err = ERR_INIT;

	(void)state;
	env_file_init(&f);
	assert_int_equal(env_file_parse(&f, ".env", text, strlen(text), &err),
			 -1);
	assert_null(strstr(err.msg, "eo_secret_value"));
	env_file_release(&f);
}

static void test_env_long_line(void **state)
{
	size_t n = ENV_LINE_MAX_BYTES + 10;
	char *text = malloc(n + 16);
	struct env_file f;
	struct err err = ERR_INIT;

	(void)state;
	memcpy(text, "A=1\nB=", 6);
	memset(text + 6, 'x', n);
	text[6 + n] = '\n';
	env_file_init(&f);
	assert_int_equal(env_file_parse(&f, ".env", text, n + 7, &err), -1);
	assert_non_null(strstr(err.msg, "invalid line 2 in '.env': longer"));
	env_file_release(&f);
	/* exactly the limit is fine */
	memset(text, 'x', ENV_LINE_MAX_BYTES);
	memcpy(text, "A=", 2);
	env_file_init(&f);
	assert_int_equal(
	    env_file_parse(&f, ".env", text, ENV_LINE_MAX_BYTES, &err), 0);
	assert_int_equal(strlen(env_file_get(&f, "A")->value),
			 ENV_LINE_MAX_BYTES - 2);
	env_file_release(&f);
	free(text);
}

static void test_env_too_big(void **state)
{
	size_t n = ENV_FILE_MAX_BYTES + 1;
	char *text = malloc(n);
	struct env_file f;
	struct err err = ERR_INIT;

	(void)state;
	memset(text, '\n', n);
	env_file_init(&f);
	assert_int_equal(env_file_parse(&f, ".env", text, n, &err), -1);
	assert_non_null(strstr(err.msg, "larger than"));
	env_file_release(&f);
	free(text);
}

static void test_env_too_many_keys(void **state)
{
	struct buf b = BUF_INIT;
	struct env_file f;
	struct err err = ERR_INIT;
	int i, rc = 0;

	(void)state;
	for (i = 0; i <= ENV_MAX_ENTRIES; i++)
		rc |= buf_printf(&b, "K%d=%d\n", i, i);
	assert_int_equal(rc, 0);
	env_file_init(&f);
	assert_int_equal(env_file_parse(&f, ".env", b.data, b.len, &err), -1);
	assert_non_null(strstr(err.msg, "more than"));
	env_file_release(&f);
	/* the same key over and over is fine */
	buf_reset(&b);
	for (i = 0; i <= ENV_MAX_ENTRIES; i++)
		rc |= buf_printf(&b, "K=%d\n", i);
	assert_int_equal(rc, 0);
	env_file_init(&f);
	assert_int_equal(env_file_parse(&f, ".env", b.data, b.len, &err), 0);
	assert_int_equal(f.n, 1);
	env_file_release(&f);
	buf_release(&b);
}

/* ---------------------------------------------------------- fixtures */

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/espsync-test-config-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static const struct config_registry *registry(void)
{
	static struct api_registry reg;

	cmd_registry_init(&reg);
	return &reg.reg;
}

/* Loads argv (without the program name) with envp and the registry reg. */
static int load_with(struct config *cfg, struct err *err,
		     const struct config_registry *reg, const char *const *envp,
		     int argc, const char *const *args)
{
	const char *argv[32] = {"espsync"};
	struct cli cli;
	int i;

	for (i = 0; i < argc; i++)
		argv[i + 1] = args[i];
	if (cli_parse(&cli, argc + 1, argv, reg, err) < 0)
		fail_msg("cli: %s", err->msg);
	return config_load(cfg, &cli, envp, err);
}

/* The same with the real registries. */
static int load(struct config *cfg, struct err *err, const char *const *envp,
		int argc, const char *const *args)
{
	return load_with(cfg, err, registry(), envp, argc, args);
}

static void test_env_file_load_missing(void **state)
{
	struct config cfg;
	struct err err = ERR_INIT;
	const char *const envp[] = {NULL};
	char path[128];
	const char *args[] = {"--env-file", path, "sync"};
	const char *dflt[] = {"sync"};

	(void)state;
	snprintf(path, sizeof(path), "%s/missing.env", tmpdir);
	assert_int_equal(load(&cfg, &err, envp, 3, args), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "missing.env"));
	config_release(&cfg);
	/* the default .env may be missing (cwd has none in a scratch dir) */
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(load(&cfg, &err, envp, 1, dflt), 0);
	assert_int_equal(cfg.is_env_file_loaded, 0);
	config_release(&cfg);
}

/* -------------------------------------------------------- precedence */

static void test_precedence(void **state)
{
	struct config cfg;
	struct err err = ERR_INIT;
	const char *path = write_file("p.env",
				      "ESPSYNC_MAX_INFLIGHT=4\n"
				      "ESPSYNC_EXPORT_DIR=from-file\n"
				      "ESPSYNC_LOOKBACK=10m\n"
				      "EMAILOCTOPUS_API_KEY=file-key\n",
				      0600);
	const char *const envp[] = {"ESPSYNC_MAX_INFLIGHT=6",
				    "ESPSYNC_LOOKBACK=5m", "OTHER=1",
				    "ESPSYNC_RATE_EMAILOCTOPUS=", NULL};
	const char *args[] = {"--env-file", path, "--max-inflight", "3",
			      "sync"};
	const struct account_config *eo, *ac;
	char src[128];

	(void)state;
	assert_int_equal(load(&cfg, &err, envp, 5, args), 0);
	/* flag beats environment beats file beats default */
	assert_int_equal(cfg.v[OPT_MAX_INFLIGHT].i, 3);
	assert_int_equal(cfg.v[OPT_MAX_INFLIGHT].source, SRC_FLAG);
	config_source_text(&cfg, OPT_MAX_INFLIGHT, src, sizeof(src));
	assert_string_equal(src, "--max-inflight");
	assert_int_equal(cfg.v[OPT_LOOKBACK].i, 5 * 60 * 1000);
	assert_int_equal(cfg.v[OPT_LOOKBACK].source, SRC_ENVIRONMENT);
	config_source_text(&cfg, OPT_LOOKBACK, src, sizeof(src));
	assert_string_equal(src, "environment");
	assert_string_equal(config_str(&cfg, OPT_EXPORT_DIR), "from-file");
	config_source_text(&cfg, OPT_EXPORT_DIR, src, sizeof(src));
	assert_non_null(strstr(src, "p.env' line 2"));
	eo = config_account(&cfg, "emailoctopus");
	ac = config_account(&cfg, "activecampaign");
	assert_non_null(eo);
	assert_non_null(ac);
	/* an empty environment value does not override */
	assert_int_equal(eo->v[PROLE_RATE].source, SRC_DEFAULT);
	assert_true(eo->v[PROLE_RATE].d == 10.0);
	assert_true(eo->rate_per_sec == 10.0);
	config_value_source_text(&cfg, &eo->v[PROLE_RATE], src, sizeof(src));
	assert_string_equal(src, "default");
	config_value_source_text(&cfg, &eo->v[PROLE_API_KEY], src, sizeof(src));
	assert_non_null(strstr(src, "p.env' line 4"));
	assert_int_equal(ac->v[PROLE_API_KEY].source, SRC_UNSET);
	assert_true(eo->is_configured);
	assert_string_equal(eo->api_key, "file-key");
	assert_string_equal(eo->api_url, "https://api.emailoctopus.com");
	assert_string_equal(eo->account, "default");
	assert_false(ac->is_configured);
	assert_false(ac->is_partly_configured);
	assert_string_equal(
	    ac->missing, "ACTIVECAMPAIGN_API_URL and ACTIVECAMPAIGN_API_KEY");
	assert_string_equal(cfg.store_url, "sqlite:data/espsync.db");
	config_release(&cfg);
}

/* ESPSYNC_RETENTION_DAYS: default 730, .env < environment < flag. */
static void test_retention_days(void **state)
{
	struct config cfg;
	struct err err = ERR_INIT;
	char path[128], empty[128];
	const char *const none[] = {NULL};
	const char *plain[] = {"--env-file", empty, "sync"};
	const char *const envp[] = {"ESPSYNC_RETENTION_DAYS=30", NULL};
	const char *file[] = {"--env-file", path, "sync"};
	const char *flag[] = {"--env-file", path, "sync", "--retention-days",
			      "0"};

	(void)state;
	/* write_file returns one static buffer */
	snprintf(path, sizeof(path), "%s",
		 write_file("r.env", "ESPSYNC_RETENTION_DAYS=90\n", 0600));
	snprintf(empty, sizeof(empty), "%s", write_file("r0.env", "", 0600));
	assert_int_equal(load(&cfg, &err, none, 3, plain), 0);
	assert_int_equal(cfg.v[OPT_RETENTION_DAYS].i, 730);
	assert_int_equal(cfg.v[OPT_RETENTION_DAYS].source, SRC_DEFAULT);
	config_release(&cfg);
	assert_int_equal(load(&cfg, &err, none, 3, file), 0);
	assert_int_equal(cfg.v[OPT_RETENTION_DAYS].i, 90);
	config_release(&cfg);
	assert_int_equal(load(&cfg, &err, envp, 3, file), 0);
	assert_int_equal(cfg.v[OPT_RETENTION_DAYS].i, 30);
	assert_int_equal(cfg.v[OPT_RETENTION_DAYS].source, SRC_ENVIRONMENT);
	config_release(&cfg);
	assert_int_equal(load(&cfg, &err, envp, 5, flag), 0);
	assert_int_equal(cfg.v[OPT_RETENTION_DAYS].i, 0);
	assert_int_equal(cfg.v[OPT_RETENTION_DAYS].source, SRC_FLAG);
	config_release(&cfg);
}

static void test_store_resolution(void **state)
{
	struct config cfg;
	struct err err = ERR_INIT;
	const char *const mongo[] = {"MONGODB_HOST=db.example",
				     "MONGODB_DATABASE=emailoctopus_db", NULL};
	const char *const conn[] = {
	    "MONGODB_HOST=db.example",
	    "MONGO_CONNECTION_URL=mongodb+srv://u:p@cluster/x", NULL};
	const char *const both[] = {"ESPSYNC_STORE=sqlite:env.db",
				    "MONGODB_HOST=db.example", NULL};
	const char *sync[] = {"sync"};
	const char *seed[] = {"--stats", "--mongo-url", "mongodb://m/db"};
	const char *const none[] = {NULL};
	char src[160];

	(void)state;
	assert_int_equal(load(&cfg, &err, mongo, 1, sync), 0);
	assert_string_equal(cfg.store_url,
			    "mongodb://db.example:27017/emailoctopus_db");
	assert_string_equal(cfg.store_key->key, "MONGODB_HOST");
	config_release(&cfg);
	assert_int_equal(load(&cfg, &err, conn, 1, sync), 0);
	assert_string_equal(cfg.store_url, "mongodb+srv://u:p@cluster/x");
	assert_string_equal(cfg.store_key->key, "MONGO_CONNECTION_URL");
	config_value_source_text(&cfg, cfg.store_from, src, sizeof(src));
	assert_string_equal(src, "environment");
	config_release(&cfg);
	assert_int_equal(load(&cfg, &err, both, 1, sync), 0);
	assert_string_equal(cfg.store_url, "sqlite:env.db");
	assert_ptr_equal(cfg.store_key, option_get(OPT_STORE));
	config_release(&cfg);
	assert_int_equal(load(&cfg, &err, both, 3, seed), 0);
	assert_string_equal(cfg.store_url, "mongodb://m/db");
	config_value_source_text(&cfg, cfg.store_from, src, sizeof(src));
	assert_string_equal(src, "--mongo-url");
	config_release(&cfg);
	/* nothing set: the default, decided by the store option */
	assert_int_equal(load(&cfg, &err, none, 1, sync), 0);
	assert_string_equal(cfg.store_url, option_get(OPT_STORE)->def);
	assert_ptr_equal(cfg.store_key, option_get(OPT_STORE));
	config_release(&cfg);
}

/* ----------------------------------------------- the store registry */

/* A store the configuration layer has never heard of. */
static const char *fake_check_url(const char *url)
{
	return url[strlen("fake://")] ? NULL : "has no host";
}

static const struct option_def fake_seed_keys[] = {
    {.key = "FAKE_HOST", .kind = OPTK_HOST, .help = "fake host"},
    {.key = "FAKE_PORT",
     .kind = OPTK_INT,
     .def = "99",
     .min = 1,
     .max = 65535,
     .help = "fake port"},
};

static int fake_seed_url(char *out, size_t size, const char *const *values)
{
	if (!values[0])
		return -1;
	snprintf(out, size, "fake://%s:%s", values[0], values[1]);
	return 0;
}

static const struct option_def fake_seed_flag = {
    .flag = "fake-url",
    .arg = "URL",
    .kind = OPTK_STORE_URL,
    .commands = CMDB_SEED,
    .alias_of = OPT_STORE,
    .help = "same as --store",
};

/* The fake store's own settings. */
static const struct option_def fake_settings[] = {
    {.key = "FAKE_FLUSH_ROWS",
     .kind = OPTK_INT,
     .def = "1000",
     .min = 1,
     .max = 5000,
     .help = "fake rows per flush"},
    {.key = "FAKE_KEY_FILE", .kind = OPTK_PATH, .help = "fake key file"},
};

static const char *const fake_schemes[] = {"fake://", NULL};

static const struct store_keys fake_store = {
    .name = "fake",
    .schemes = fake_schemes,
    .url_help = "fake://HOST",
    .check_url = fake_check_url,
    .seed_keys = fake_seed_keys,
    .n_seed_keys = 2,
    .seed_url = fake_seed_url,
    .seed_flag = &fake_seed_flag,
    .keys = fake_settings,
    .n_keys = 2,
};

/* The real registries with the fake store alone (is_alone) or first. */
static const struct config_registry *fake_registry_of(int is_alone)
{
	static const struct store_keys *stores[16];
	static struct config_registry reg;
	size_t i;

	reg = *registry();
	stores[0] = &fake_store;
	for (i = 0; i < reg.n_stores && i + 1 < 16; i++)
		stores[i + 1] = reg.stores[i];
	reg.stores = stores;
	reg.n_stores = is_alone ? 1 : i + 1;
	return &reg;
}

static const struct config_registry *fake_registry(void)
{
	return fake_registry_of(0);
}

static void test_store_url_checks_ask_the_registry(void **state)
{
	const struct option_def *store = option_get(OPT_STORE);
	const struct config_registry *reg = registry();
	char why[192], want[192] = "must be";
	const char *got;
	size_t i;

	(void)state;
	assert_null(config_check_value(fake_registry(), store, "fake://h", why,
				       sizeof(why)));
	got = config_check_value(fake_registry(), store, "fake://", why,
				 sizeof(why));
	assert_non_null(got);
	assert_string_equal(got, "has no host");
	got = config_check_value(fake_registry_of(1), store, "data/x.db", why,
				 sizeof(why));
	assert_non_null(got);
	assert_string_equal(got, "must be fake://HOST");
	assert_null(config_check_value(fake_registry(), store, "data/x.db", why,
				       sizeof(why)));
	/* the real stores: the error lists each one's url_help */
	for (i = 0; i < reg->n_stores; i++) {
		size_t n = strlen(want);

		snprintf(want + n, sizeof(want) - n, "%s%s",
			 !i			 ? " "
			 : i + 1 < reg->n_stores ? ", "
						 : ", or ",
			 reg->stores[i]->url_help);
	}
	got = config_check_value(reg, store, "redis://x", why, sizeof(why));
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_non_null(strstr(got, "sqlite:PATH"));
	assert_non_null(strstr(got, "postgresql://..."));
	assert_non_null(strstr(got, "mongodb://..."));
}

static void test_store_seed_keys(void **state)
{
	struct config cfg;
	struct err err = ERR_INIT;
	const char *const host[] = {"FAKE_HOST=h1", NULL};
	const char *const bad[] = {"FAKE_HOST=h1", "FAKE_PORT=x", NULL};
	const char *const none[] = {"FAKE_PORT=7", NULL};
	const char *const mongo[] = {"MONGODB_HOST=db.example", NULL};
	const char *const both[] = {"MONGODB_HOST=db.example", "FAKE_HOST=h1",
				    NULL};
	const char *sync[] = {"sync"};
	const char *seed[] = {"--stats", "--fake-url", "fake://f"};
	const char *mongo_flag[] = {"--stats", "--mongo-url", "mongodb://m"};
	char src[160];
	struct cli cli;
	const char *argv[] = {"espsync", "--stats", "--mongo-url", "x"};

	(void)state;
	assert_int_equal(load_with(&cfg, &err, fake_registry(), host, 1, sync),
			 0);
	assert_string_equal(cfg.store_url, "fake://h1:99");
	assert_string_equal(cfg.store_key->key, "FAKE_HOST");
	config_value_source_text(&cfg, cfg.store_from, src, sizeof(src));
	assert_string_equal(src, "environment");
	/* loaded like any key: value, source and default */
	assert_string_equal(cfg.seed_keys[1].def->key, "FAKE_PORT");
	assert_string_equal(cfg.seed_keys[1].v.value, "99");
	assert_int_equal(cfg.seed_keys[1].v.source, SRC_DEFAULT);
	config_release(&cfg);
	/* validated like any key */
	assert_int_equal(load_with(&cfg, &err, fake_registry(), bad, 1, sync),
			 -1);
	assert_non_null(strstr(err.msg, "'FAKE_PORT' (from environment)"));
	config_release(&cfg);
	/* the port alone names no store */
	assert_int_equal(load_with(&cfg, &err, fake_registry(), none, 1, sync),
			 0);
	assert_string_equal(cfg.store_url, option_get(OPT_STORE)->def);
	config_release(&cfg);
	/* the seed flag comes from the registry too */
	assert_int_equal(load_with(&cfg, &err, fake_registry(), host, 3, seed),
			 0);
	assert_string_equal(cfg.store_url, "fake://f");
	config_release(&cfg);
	/* other stores' flags mean nothing to a registry without them */
	assert_int_equal(cli_parse(&cli, 4, argv, fake_registry_of(1), &err),
			 -1);
	assert_non_null(strstr(err.msg, "unknown option '--mongo-url'"));
	/* stores in registry order: the first whose seed keys name one */
	assert_int_equal(load_with(&cfg, &err, fake_registry(), mongo, 1, sync),
			 0);
	assert_string_equal(cfg.store_url, "mongodb://db.example:27017");
	config_release(&cfg);
	assert_int_equal(load_with(&cfg, &err, fake_registry(), both, 1, sync),
			 0);
	assert_string_equal(cfg.store_url, "fake://h1:99");
	config_release(&cfg);
	assert_int_equal(load(&cfg, &err, mongo, 3, mongo_flag), 0);
	assert_string_equal(cfg.store_url, "mongodb://m");
	config_release(&cfg);
}

static void test_provider_resolution(void **state)
{
	struct config cfg;
	struct err err = ERR_INIT;
	const char *const envp[] = {
	    "ACTIVECAMPAIGN_API_URL=https://acme.api-us1.com/",
	    "ACTIVECAMPAIGN_API_KEY=ac-key",
	    "ACTIVECAMPAIGN_TIMEZONE=America/New_York",
	    "ESPSYNC_RATE_ACTIVECAMPAIGN=2.5",
	    "EMAILOCTOPUS_API_URL=http://127.0.0.1:8080",
	    NULL};
	const char *const half[] = {"ACTIVECAMPAIGN_API_KEY=ac-key", NULL};
	const char *args[] = {"sync"};
	const char *named[] = {"--account", "agency-1", "sync"};
	const struct account_config *eo, *ac;
	char hint[256];

	(void)state;
	assert_int_equal(load(&cfg, &err, envp, 1, args), 0);
	assert_int_equal(cfg.n_providers, 3);
	eo = config_account(&cfg, "emailoctopus");
	ac = config_account(&cfg, "activecampaign");
	assert_non_null(config_account(&cfg, "mailchimp"));
	assert_false(config_account(&cfg, "mailchimp")->is_configured);
	assert_null(config_account(&cfg, "sendgrid"));
	assert_true(ac->is_configured);
	assert_false(eo->is_configured);
	assert_string_equal(eo->missing, "EMAILOCTOPUS_API_KEY");
	assert_string_equal(ac->api_url, "https://acme.api-us1.com");
	assert_string_equal(ac->account, "acme.api-us1.com");
	assert_string_equal(ac->timezone, "America/New_York");
	assert_true(ac->rate_per_sec == 2.5);
	/* no burst key: the source's own burst applies */
	assert_true(ac->burst == 0);
	assert_true(eo->burst == 100);
	/* no time zone key: UTC, the source's */
	assert_null(eo->timezone);
	assert_string_equal(eo->api_url, "http://127.0.0.1:8080");
	config_setup_hint(&cfg, hint, sizeof(hint));
	assert_string_equal(hint,
			    "EMAILOCTOPUS_API_KEY or "
			    "ACTIVECAMPAIGN_API_URL and "
			    "ACTIVECAMPAIGN_API_KEY or MAILCHIMP_API_KEY");
	/* the connection ceiling and the data center reach the account */
	assert_int_equal(config_account(&cfg, "mailchimp")->connections, 6);
	assert_null(config_account(&cfg, "mailchimp")->region);
	assert_int_equal(eo->connections, 0);
	config_release(&cfg);
	assert_int_equal(load(&cfg, &err, envp, 3, named), 0);
	assert_string_equal(config_account(&cfg, "activecampaign")->account,
			    "agency-1");
	assert_string_equal(config_account(&cfg, "emailoctopus")->account,
			    "agency-1");
	config_release(&cfg);
	/* one of two required keys: partly configured, names the other */
	assert_int_equal(load(&cfg, &err, half, 1, args), 0);
	ac = config_account(&cfg, "activecampaign");
	assert_false(ac->is_configured);
	assert_true(ac->is_partly_configured);
	assert_string_equal(ac->missing, "ACTIVECAMPAIGN_API_URL");
	assert_null(ac->account);
	config_release(&cfg);
}

/* -------------------------------------------------------- validation */

struct bad_value {
	const char *env;    /* one KEY=VALUE, or NULL */
	const char *flag;   /* one flag, or NULL */
	const char *value;  /* for the flag */
	const char *want;   /* substring of the message */
	const char *secret; /* must not appear */
};

static const struct bad_value bad_values[] = {
    {"EMAILOCTOPUS_API_URL=ftp://x", NULL, NULL,
     "'EMAILOCTOPUS_API_URL' (from environment): must start with", NULL},
    {"EMAILOCTOPUS_API_URL=https://", NULL, NULL, "has no host", NULL},
    {"EMAILOCTOPUS_API_URL=https://u:pw@host", NULL, NULL, "credentials",
     "pw@"},
    {"EMAILOCTOPUS_API_URL=https://h:99999", NULL, NULL, "port", NULL},
    {"EMAILOCTOPUS_API_URL=https://h/x?api_key=1", NULL, NULL, "query", NULL},
    {"EMAILOCTOPUS_API_KEY=has space-secret", NULL, NULL,
     "'EMAILOCTOPUS_API_KEY' (from environment): must be printable",
     "space-secret"},
    {"ACTIVECAMPAIGN_API_KEY=tab\tsecret", NULL, NULL,
     "'ACTIVECAMPAIGN_API_KEY'", "secret"},
    {"ESPSYNC_RATE_EMAILOCTOPUS=0", NULL, NULL,
     "invalid value '0' for 'ESPSYNC_RATE_EMAILOCTOPUS'", NULL},
    {"ESPSYNC_RATE_EMAILOCTOPUS=fast", NULL, NULL, "must be a number", NULL},
    {"ESPSYNC_RATE_ACTIVECAMPAIGN=1e9", NULL, NULL, "from 0.01 to 1000", NULL},
    {"ESPSYNC_BURST_EMAILOCTOPUS=0.5", NULL, NULL, "from 1 to 10000", NULL},
    {"ESPSYNC_MAX_INFLIGHT=0", NULL, NULL, "from 1 to 64", NULL},
    {"ESPSYNC_LOOKBACK=soon", NULL, NULL, "duration", NULL},
    {"ESPSYNC_STORE=redis://x", NULL, NULL, "'ESPSYNC_STORE'", NULL},
    {"MONGO_CONNECTION_URL=mongodb://", NULL, NULL, "has no host", NULL},
    {"MONGODB_PORT=http", NULL, NULL, "whole number", NULL},
    {"ESPSYNC_RETENTION_DAYS=-1", NULL, NULL, "from 0 to 100000", NULL},
    {NULL, "--retention-days", "ten", "'ESPSYNC_RETENTION_DAYS'", NULL},
    {"ACTIVECAMPAIGN_TIMEZONE=../../etc/passwd", NULL, NULL, "iana", NULL},
    {"ESPSYNC_CSV_COLUMNS=FirstName", NULL, NULL, "Tag=column", NULL},
    {"ESPSYNC_CSV_COLUMNS=A=b,", NULL, NULL, "comma", NULL},
    {NULL, "--max-runtime", "banana",
     "invalid value 'banana' for "
     "'--max-runtime': must be a duration",
     NULL},
    {NULL, "--max-runtime", "-5s", "duration", NULL},
    {NULL, "--max-runtime", "0", "from 1s to 720h", NULL},
    {NULL, "--max-inflight", "1000",
     "'ESPSYNC_MAX_INFLIGHT' (from --max-inflight)", NULL},
    {NULL, "--store", "", "must not be empty", NULL},
    {NULL, "--account", "a\x1b[2Jb", "control character", NULL},
    {NULL, "--env-file", "", "must not be empty", NULL},
    {NULL, "--provider", "sendgrid",
     "invalid value 'sendgrid' for '--provider': must be emailoctopus, "
     "activecampaign, mailchimp or all",
     NULL},
};

static void test_validation_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		const struct bad_value *c = &bad_values[i];
		const char *envp[2] = {c->env, NULL};
		const char *args[4] = {"sync"};
		int argc = 1;
		struct config cfg;
		struct err err = ERR_INIT;

		if (c->flag) {
			args[0] = c->flag;
			args[1] = c->value;
			args[2] = "sync";
			argc = 3;
		}
		if (load(&cfg, &err, envp, argc, args) == 0)
			fail_msg("case %zu loaded", i);
		assert_int_equal(err.kind, ERR_CONFIG);
		if (!strstr(err.msg, c->want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg,
				 c->want);
		if (c->secret && strstr(err.msg, c->secret))
			fail_msg("case %zu: secret in '%s'", i, err.msg);
		config_release(&cfg);
	}
}

static void test_validation_names_env_file_line(void **state)
{
	const char *path = write_file("bad.env",
				      "# comment\n"
				      "EMAILOCTOPUS_API_KEY=ok-key\n"
				      "\n"
				      "ESPSYNC_MAX_INFLIGHT=lots\n",
				      0600);
	const char *const envp[] = {NULL};
	const char *args[] = {"--env-file", path, "sync"};
	struct config cfg;
	struct err err = ERR_INIT;

	(void)state;
	assert_int_equal(load(&cfg, &err, envp, 3, args), -1);
	assert_non_null(strstr(err.msg, "bad.env' line 4)"));
	assert_non_null(strstr(err.msg, "'ESPSYNC_MAX_INFLIGHT'"));
	config_release(&cfg);
}

struct duration_case {
	const char *text;
	int64_t ms;
};

static const struct duration_case durations[] = {
    {"480s", 480000}, {"8m", 480000}, {"2h", 7200000},
    {"90", 90000},    {"1.5s", 1500}, {"1500ms", 1500},
};

static void test_durations(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		const char *args[] = {"--max-runtime", durations[i].text,
				      "sync"};
		const char *const envp[] = {NULL};
		struct config cfg;
		struct err err = ERR_INIT;

		if (load(&cfg, &err, envp, 3, args) < 0)
			fail_msg("%s: %s", durations[i].text, err.msg);
		assert_int_equal(cfg.max_runtime_ms, durations[i].ms);
		config_release(&cfg);
	}
}

static void test_unknown_key_and_permissions(void **state)
{
	const char *path = write_file("open.env",
				      "ESPSYNC_TYPO=1\n"
				      "SOMETHING_ELSE=2\n"
				      "ESPSYNC_RATE_ACTIVECAMPAIGN=3\n"
				      "EMAILOCTOPUS_API_KEY=abc\n",
				      0644);
	const char *const envp[] = {NULL};
	const char *args[] = {"--env-file", path, "sync"};
	struct config cfg;
	struct err err = ERR_INIT;
	int has_unknown = 0, has_perm = 0;
	size_t i;

	(void)state;
	assert_int_equal(load(&cfg, &err, envp, 3, args), 0);
	for (i = 0; i < cfg.n_notes; i++) {
		if (strstr(cfg.notes[i].msg, "ESPSYNC_TYPO")) {
			has_unknown = 1;
			assert_int_equal(cfg.notes[i].level, LOG_WARN);
		}
		if (strstr(cfg.notes[i].msg, "chmod 600")) {
			has_perm = 1;
			assert_int_equal(cfg.notes[i].level, LOG_WARN);
		}
		assert_null(strstr(cfg.notes[i].msg, "SOMETHING_ELSE"));
		/* a provider's key is known */
		assert_null(strstr(cfg.notes[i].msg, "RATE_ACTIVECAMPAIGN"));
	}
	assert_true(has_unknown && has_perm);
	config_release(&cfg);
	/* private file: no permission warning */
	chmod(path, 0600);
	assert_int_equal(load(&cfg, &err, envp, 3, args), 0);
	for (i = 0; i < cfg.n_notes; i++)
		assert_null(strstr(cfg.notes[i].msg, "chmod"));
	config_release(&cfg);
}

/* A typo of a known key (any prefix the registries' keys use) is a
 * warning naming its line and the closest key; a repeated key is a warning
 * naming both lines (issue 10). */
static void test_typo_and_repeated_keys_warn(void **state)
{
	static const char *const want[] = {
	    "unknown key 'ESPSYNC_STROE' in '",
	    "' line 1 ignored; did you mean 'ESPSYNC_STORE'?",
	    "unknown key 'EMAILOCTOPUS_APIKEY' in '",
	    "' line 2 ignored; did you mean 'EMAILOCTOPUS_API_KEY'?",
	    "' line 3 ignored; did you mean 'ACTIVECAMPAIGN_API_URL'?",
	    "' line 4 ignored; did you mean 'MONGODB_HOST'?",
	    "sets 'EMAILOCTOPUS_API_KEY' on line 5 and again on line 7: "
	    "line 7 wins",
	};
	const char *path = write_file("typo.env",
				      "ESPSYNC_STROE=postgresql://h/db\n"
				      "EMAILOCTOPUS_APIKEY=abc\n"
				      "ACTIVECAMPAIGN_APIURL=https://x\n"
				      "MONGODB_HOTS=h\n"
				      "EMAILOCTOPUS_API_KEY=first\n"
				      "UNRELATED_KEY=1\n"
				      "EMAILOCTOPUS_API_KEY=second\n",
				      0600);
	const char *const envp[] = {NULL};
	const char *args[] = {"--env-file", path, "sync"};
	struct config cfg;
	struct err err = ERR_INIT;
	size_t i, k;

	(void)state;
	assert_int_equal(load(&cfg, &err, envp, 3, args), 0);
	for (k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		for (i = 0; i < cfg.n_notes; i++)
			if (strstr(cfg.notes[i].msg, want[k]) &&
			    cfg.notes[i].level == LOG_WARN)
				break;
		if (i == cfg.n_notes)
			fail_msg("no warning holds \"%s\"", want[k]);
	}
	for (i = 0; i < cfg.n_notes; i++) {
		assert_null(strstr(cfg.notes[i].msg, "UNRELATED_KEY"));
		assert_null(strstr(cfg.notes[i].msg, "first"));
		assert_null(strstr(cfg.notes[i].msg, "second"));
	}
	/* the store stays the default: the typo set nothing */
	assert_string_equal(cfg.v[OPT_STORE].value, "sqlite:data/espsync.db");
	config_release(&cfg);
}

static void test_check_value_kinds(void **state)
{
	char why[128];

	(void)state;
	assert_null(config_check_value(registry(), option_get(OPT_STORE),
				       "data/x.db", why, sizeof(why)));
	assert_null(config_check_value(registry(), option_get(OPT_STORE),
				       "postgresql://u:p@h/db", why,
				       sizeof(why)));
	assert_non_null(config_check_value(registry(), option_get(OPT_STORE),
					   "sqlite:", why, sizeof(why)));
	/* libpq takes everything else from PGHOST, PGPORT, ... */
	assert_null(config_check_value(registry(), option_get(OPT_STORE),
				       "postgresql://", why, sizeof(why)));
	assert_null(config_check_value(registry(), option_get(OPT_STORE),
				       "postgres://", why, sizeof(why)));
	assert_non_null(config_check_value(registry(), option_get(OPT_STORE),
					   "mongodb://", why, sizeof(why)));
	assert_null(config_check_value(registry(), option_get(OPT_CAMPAIGN),
				       "00000000-0000-4000-8000-00000000dead",
				       why, sizeof(why)));
	assert_non_null(config_check_value(registry(), option_get(OPT_CAMPAIGN),
					   "../etc", why, sizeof(why)));
	assert_non_null(config_check_value(registry(), option_get(OPT_CAMPAIGN),
					   "a/b", why, sizeof(why)));
	assert_null(config_check_value(registry(), option_get(OPT_CSV_COLUMNS),
				       "FirstName=first,ZIP=zip", why,
				       sizeof(why)));
	assert_null(config_check_value(
	    registry(),
	    source_key(source_find("emailoctopus")->keys, PROLE_API_URL),
	    "http://[::1]:8080/v2", why, sizeof(why)));
	assert_null(config_check_value(registry(), option_get(OPT_PROVIDER),
				       "all", why, sizeof(why)));
	assert_non_null(config_check_value(registry(), option_get(OPT_PROVIDER),
					   "nosuchprovider", why, sizeof(why)));
}

/* The value of a store setting of cfg; NULL when cfg has no such key. */
static const struct config_value *setting(const struct config *cfg,
					  const char *key)
{
	size_t i;

	for (i = 0; i < cfg->n_store_settings; i++)
		if (!strcmp(cfg->store_settings[i].def->key, key))
			return &cfg->store_settings[i].v;
	return NULL;
}

/* A store's own settings go through the same layers as every key:
 * default < .env < environment, validated, and reach the store's open
 * through struct store_options. */
static void test_store_settings(void **state)
{
	struct config cfg;
	struct err err = ERR_INIT;
	struct store_options opts = STORE_OPTIONS_INIT;
	const char *const none[] = {NULL};
	const char *const env[] = {"FAKE_FLUSH_ROWS=300", NULL};
	const char *const bad[] = {"FAKE_FLUSH_ROWS=9000", NULL};
	const char *path =
	    write_file("settings.env",
		       "FAKE_FLUSH_ROWS=200\nFAKE_KEY_FILE=/k.json\n", 0600);
	const char *args[] = {"--env-file", path, "sync"};
	const char *sync[] = {"sync"};
	const char *fake_sync[] = {"--store", "fake://h", "sync"};
	const struct config_value *v;

	(void)state;
	assert_int_equal(load_with(&cfg, &err, fake_registry(), none, 1, sync),
			 0);
	v = setting(&cfg, "FAKE_FLUSH_ROWS");
	assert_non_null(v);
	assert_string_equal(v->value, "1000");
	assert_int_equal(v->source, SRC_DEFAULT);
	assert_null(setting(&cfg, "FAKE_KEY_FILE")->value);
	config_release(&cfg);
	/* .env */
	assert_int_equal(load_with(&cfg, &err, fake_registry(), none, 3, args),
			 0);
	v = setting(&cfg, "FAKE_FLUSH_ROWS");
	assert_string_equal(v->value, "200");
	assert_int_equal(v->source, SRC_ENV_FILE);
	assert_string_equal(setting(&cfg, "FAKE_KEY_FILE")->value, "/k.json");
	cmd_store_options(&opts, &cfg);
	assert_string_equal(store_option_get(&opts, "FAKE_KEY_FILE", NULL),
			    "/k.json");
	assert_int_equal(store_option_int(&opts, &fake_settings[0], 0), 200);
	config_release(&cfg);
	/* the environment wins over .env */
	assert_int_equal(load_with(&cfg, &err, fake_registry(), env, 3, args),
			 0);
	v = setting(&cfg, "FAKE_FLUSH_ROWS");
	assert_string_equal(v->value, "300");
	assert_int_equal(v->source, SRC_ENVIRONMENT);
	config_release(&cfg);
	/* validated like any key when its store is the one in use */
	assert_int_equal(
	    load_with(&cfg, &err, fake_registry(), bad, 3, fake_sync), -1);
	assert_non_null(
	    strstr(err.msg, "'FAKE_FLUSH_ROWS' (from environment)"));
	config_release(&cfg);
	/* another store's settings are not read: they cannot stop a run */
	assert_int_equal(load_with(&cfg, &err, fake_registry(), bad, 1, sync),
			 0);
	config_release(&cfg);
	/* without a configuration: the key's default */
	assert_string_equal(
	    store_option_get(NULL, "FAKE_FLUSH_ROWS", &fake_settings[0]),
	    "1000");
	/* every real store's settings are loaded the same way */
	assert_int_equal(load(&cfg, &err, none, 1, sync), 0);
	v = setting(&cfg, "ESPSYNC_BQ_FLUSH_ROWS");
	assert_non_null(v);
	assert_string_equal(v->value, "100000");
	config_release(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_env_parse_table),
	    cmocka_unit_test(test_env_parse_errors),
	    cmocka_unit_test(test_env_error_hides_value),
	    cmocka_unit_test(test_env_long_line),
	    cmocka_unit_test(test_env_too_big),
	    cmocka_unit_test(test_env_too_many_keys),
	    cmocka_unit_test(test_env_file_load_missing),
	    cmocka_unit_test(test_precedence),
	    cmocka_unit_test(test_store_resolution),
	    cmocka_unit_test(test_store_url_checks_ask_the_registry),
	    cmocka_unit_test(test_store_seed_keys),
	    cmocka_unit_test(test_store_settings),
	    cmocka_unit_test(test_provider_resolution),
	    cmocka_unit_test(test_validation_errors),
	    cmocka_unit_test(test_validation_names_env_file_line),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_unknown_key_and_permissions),
	    cmocka_unit_test(test_typo_and_repeated_keys_warn),
	    cmocka_unit_test(test_check_value_kinds),
	    cmocka_unit_test(test_retention_days),
	};

	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}

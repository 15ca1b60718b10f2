/* Tests for command-line parsing (commands, flags, the earlier tool's form)
 * and the help and man page generated from the option table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "config/cli.h"
#include "config/help.h"
#include "config/options.h"
#include "util/buf.h"
#include "util/err.h"

#define MAX_ARGV 16

static const struct config_registry *registry(void)
{
	static struct api_registry reg;

	cmd_registry_init(&reg);
	return &reg.reg;
}

/* Parses a space-separated command line (no quoting needed here). */
static int parse(struct cli *cli, struct err *err, const char *line)
{
	static char copy[512];
	const char *argv[MAX_ARGV] = {"espsync"};
	int argc = 1;
	char *p;

	snprintf(copy, sizeof(copy), "%s", line);
	for (p = copy; *p && argc < MAX_ARGV;) {
		argv[argc++] = p;
		p += strcspn(p, " ");
		if (*p)
			*p++ = '\0';
	}
	err_clear(err);
	return cli_parse(cli, argc, argv, registry(), err);
}

static void test_command_and_flags(void **state)
{
	struct cli cli;
	struct err err = ERR_INIT;

	(void)state;
	assert_int_equal(parse(&cli, &err,
			       "--store x.db -v sync --provider emailoctopus "
			       "--full --json -v"),
			 0);
	assert_string_equal(cli.command, "sync");
	assert_string_equal(cli.opt[OPT_STORE].value, "x.db");
	assert_string_equal(cli.opt[OPT_PROVIDER].value, "emailoctopus");
	assert_non_null(cli.opt[OPT_FULL].value);
	assert_non_null(cli.opt[OPT_JSON].value);
	assert_int_equal(cli.verbose_count, 2);
	assert_int_equal(cli.seed, SEED_NONE);

	assert_int_equal(parse(&cli, &err,
			       "--max-runtime=8m state reset "
			       "--stream=campaign:"),
			 0);
	assert_string_equal(cli.command, "state");
	assert_int_equal(cli.n_args, 1);
	assert_string_equal(cli.args[0], "reset");
	assert_string_equal(cli.opt[OPT_MAX_RUNTIME].value, "8m");
	assert_string_equal(cli.opt[OPT_STREAM].value, "campaign:");

	assert_int_equal(parse(&cli, &err,
			       "export csv --no-formula-protect "
			       "--csv-columns A=b"),
			 0);
	assert_string_equal(cli.args[0], "csv");
	/* a value that starts with a dash is still the option's value */
	assert_int_equal(parse(&cli, &err, "--max-runtime -5s sync"), 0);
	assert_string_equal(cli.opt[OPT_MAX_RUNTIME].value, "-5s");
	assert_int_equal(parse(&cli, &err, "-vq sync"), -1);
}

struct bad_line {
	const char *line;
	const char *want;
};

static const struct bad_line bad_lines[] = {
    {"--no-such-flag sync", "unknown option '--no-such-flag'"},
    {"sync --no-such-flag", "unknown option '--no-such-flag'"},
    {"sync -x", "unknown option '-x'"},
    {"frobnicate", "unknown command 'frobnicate'"},
    {"", "no command given"},
    {"sync --full --incremental", "cannot be used together"},
    {"sync --hours 3", "needs '--incremental'"},
    {"--store", "needs a value"},
    {"export csv --csv-columns", "needs a value"},
    {"sync --json=yes", "takes no value"},
    {"-v -q sync", "cannot be used together"},
    {"stats --full", "option '--full' is not valid for 'stats'"},
    {"check --provider all", "not valid for 'check'"},
    {"sync --all", "option '--all' is not valid for 'sync'"},
    {"sync --export-dir x", "not valid for 'sync'"},
    {"--store a.db --mongo-url mongodb://x --stats", "cannot be used together"},
    {"help frobnicate", "unknown command 'frobnicate'"},
    {"sync a b c d e f g h i", "too many arguments"},
};

static void test_bad_lines(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		struct cli cli;
		struct err err = ERR_INIT;
		char line[256];

		snprintf(line, sizeof(line), "%s", bad_lines[i].line);
		if (parse(&cli, &err, line) == 0)
			fail_msg("'%s' parsed", bad_lines[i].line);
		assert_int_equal(err.kind, ERR_USAGE);
		if (!strstr(err.msg, bad_lines[i].want))
			fail_msg("'%s': got '%s'", bad_lines[i].line, err.msg);
	}
}

struct seed_case {
	const char *line;
	enum seed_action seed;
	const char *command;
	int is_export;
};

static const struct seed_case seed_cases[] = {
    {"--all", SEED_ALL, "sync", 1},
    {"--all --verbose --export-dir out", SEED_ALL, "sync", 1},
    {"--campaign abc-123", SEED_CAMPAIGN, "sync", 1},
    {"--incremental", SEED_INCREMENTAL, "sync", 0},
    {"--incremental --hours 6", SEED_INCREMENTAL, "sync", 0},
    {"--export-csv --export-dir out", SEED_EXPORT_CSV, "export", 0},
    {"--stats --mongo-url mongodb://h/db", SEED_STATS, "stats", 0},
    {"-v --stats", SEED_STATS, "stats", 0},
};

static void test_seed_form(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(seed_cases) / sizeof(seed_cases[0]); i++) {
		const struct seed_case *c = &seed_cases[i];
		struct cli cli;
		struct err err = ERR_INIT;
		char line[256];

		snprintf(line, sizeof(line), "%s", c->line);
		if (parse(&cli, &err, line) < 0)
			fail_msg("'%s': %s", c->line, err.msg);
		assert_int_equal(cli.seed, c->seed);
		assert_string_equal(cli.command, c->command);
		assert_int_equal(cli.is_seed_export, c->is_export);
		/* the earlier tool only knew EmailOctopus */
		assert_string_equal(cli.opt[OPT_PROVIDER].value,
				    "emailoctopus");
	}
}

static void test_seed_details(void **state)
{
	struct cli cli;
	struct err err = ERR_INIT;

	(void)state;
	assert_int_equal(parse(&cli, &err, "--campaign abc-123"), 0);
	assert_string_equal(cli.opt[OPT_CAMPAIGN].value, "abc-123");
	assert_int_equal(parse(&cli, &err, "--incremental --hours 6"), 0);
	assert_string_equal(cli.opt[OPT_HOURS].value, "6");
	assert_int_equal(parse(&cli, &err, "--export-csv"), 0);
	assert_int_equal(cli.n_args, 1);
	assert_string_equal(cli.args[0], "csv");
	/* --mongo-url lands in the store slot, remembered as --mongo-url */
	assert_int_equal(parse(&cli, &err, "--stats --mongo-url mongodb://h"),
			 0);
	assert_string_equal(cli.opt[OPT_STORE].value, "mongodb://h");
	assert_string_equal(cli.opt[OPT_STORE].via->flag, "mongo-url");
	assert_ptr_not_equal(cli.opt[OPT_STORE].via, option_get(OPT_STORE));
}

static const struct bad_line seed_bad[] = {
    {"--all --stats", "cannot be used together"},
    {"--all --campaign x", "cannot be used together"},
    {"--export-csv --incremental", "cannot be used together"},
    {"--hours 6 --all", "needs '--incremental'"},
    {"--hours x --incremental --stats", "cannot be used together"},
    {"--export-dir out", "no action given"},
    {"--mongo-url mongodb://h", "no action given"},
    {"--all --full", "option '--full' needs a command"},
    {"--stats --provider activecampaign", "needs a command"},
    {"--verbose", "no command given"},
};

static void test_seed_conflicts(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(seed_bad) / sizeof(seed_bad[0]); i++) {
		struct cli cli;
		struct err err = ERR_INIT;
		char line[256];

		snprintf(line, sizeof(line), "%s", seed_bad[i].line);
		if (parse(&cli, &err, line) == 0)
			fail_msg("'%s' parsed", seed_bad[i].line);
		assert_int_equal(err.kind, ERR_USAGE);
		if (!strstr(err.msg, seed_bad[i].want))
			fail_msg("'%s': got '%s'", seed_bad[i].line, err.msg);
	}
}

static void test_help_and_version(void **state)
{
	struct cli cli;
	struct err err = ERR_INIT;

	(void)state;
	assert_int_equal(parse(&cli, &err, "--help"), 0);
	assert_null(cli.help_topic);
	assert_int_equal(parse(&cli, &err, "sync --help"), 0);
	assert_string_equal(cli.help_topic, "sync");
	assert_int_equal(parse(&cli, &err, "help state"), 0);
	assert_string_equal(cli.help_topic, "state");
	assert_int_equal(parse(&cli, &err, "help"), 0);
	assert_null(cli.help_topic);
	/* --help wins over what would be an error */
	assert_int_equal(parse(&cli, &err, "sync --full --incremental --help"),
			 0);
	assert_int_equal(parse(&cli, &err, "--version"), 0);
	assert_non_null(cli.opt[OPT_VERSION].value);
}

/* One table: every command the parser knows has its handler (help alone is
 * main's), its help and its place in the overview and the man page. */
static void test_command_table(void **state)
{
	const struct config_registry *reg = registry();
	struct buf over = BUF_INIT, man = BUF_INIT;
	struct cli cli;
	struct err err = ERR_INIT;
	char line[128];
	size_t i;

	(void)state;
	assert_ptr_equal(reg->commands, cmd_table);
	assert_int_equal(reg->n_commands, cmd_table_len);
	help_overview(&over, reg);
	help_man(&man, reg);
	for (i = 0; i < reg->n_commands; i++) {
		const struct command_spec *c = &reg->commands[i];

		assert_ptr_equal(command_spec_find(reg, c->name), c);
		assert_true(c->run != NULL || c->bit == CMDB_HELP);
		assert_non_null(c->synopsis);
		assert_non_null(c->summary);
		snprintf(line, sizeof(line), "  %-10s%s\n", c->name,
			 c->summary);
		if (!strstr(buf_str(&over), line))
			fail_msg("--help lacks '%s'", line);
		snprintf(line, sizeof(line), "\\fB%s\\fR ", c->name);
		if (!strstr(buf_str(&man), line))
			fail_msg("man page lacks '%s'", line);
		snprintf(line, sizeof(line), "help %s", c->name);
		assert_int_equal(parse(&cli, &err, line), 0);
		assert_string_equal(cli.help_topic, c->name);
	}
	assert_null(command_spec_find(reg, "nope"));
	assert_null(command_spec_find(reg, NULL));
	assert_int_equal(parse(&cli, &err, "nope"), -1);
	assert_non_null(strstr(err.msg, "unknown command 'nope'"));
	buf_release(&over);
	buf_release(&man);
}

/* Help lines have no fixed size: a registry of many stores with long URL
 * forms lists every one of them whole, in --help and in the man page. */
static void test_help_lists_long_store_forms(void **state)
{
	static const char *const schemes[] = {"x://", NULL};
	static char helps[8][80];
	static struct store_keys stores[8];
	static const struct store_keys *list[8];
	struct config_registry reg = *registry();
	struct buf over = BUF_INIT, man = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < 8; i++) {
		snprintf(helps[i], sizeof(helps[i]),
			 "store%zu://user:password@host:port/"
			 "a-rather-long-database-name",
			 i);
		stores[i].name = "x";
		stores[i].schemes = schemes;
		stores[i].url_help = helps[i];
		list[i] = &stores[i];
	}
	reg.stores = list;
	reg.n_stores = 8;
	help_overview(&over, &reg);
	help_man(&man, &reg);
	assert_non_null(strstr(buf_str(&over), "store7://user:password@host"));
	assert_non_null(strstr(buf_str(&man), "store7://user:password@host"));
	buf_release(&over);
	buf_release(&man);
}

/* Every flag a command accepts appears in its --help. */
static void test_help_lists_every_option(void **state)
{
	const struct command_spec *specs = registry()->commands;
	size_t n = registry()->n_commands, i, j;

	(void)state;
	for (i = 0; i < n; i++) {
		struct buf b = BUF_INIT;

		help_command(&b, registry(), &specs[i]);
		for (j = 0; j < OPT__COUNT; j++) {
			const struct option_def *def =
			    option_get((enum option_id)j);
			char flag[64];

			if (!def->flag || (def->flags & OPTF_HIDDEN) ||
			    !(def->commands & (specs[i].bit | CMDB_GLOBAL)))
				continue;
			snprintf(flag, sizeof(flag), "--%s", def->flag);
			if (!strstr(buf_str(&b), flag))
				fail_msg("'%s --help' lacks %s", specs[i].name,
					 flag);
		}
		for (j = 0; j < b.len;) {
			size_t line = strcspn(b.data + j, "\n");

			if (line > 79)
				fail_msg("'%s --help' line over 79 columns",
					 specs[i].name);
			j += line + 1;
		}
		buf_release(&b);
	}
}

static char *read_all(const char *path)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(buf_append(&b, chunk, n), 0);
	fclose(f);
	return buf_detach(&b, NULL);
}

/* docs/espsync.1 is `espsync --help-man`: regenerate it after changing the
 * option table. */
static void test_man_page_is_generated(void **state)
{
	struct buf b = BUF_INIT;
	struct api_registry reg;
	char *file = read_all("docs/espsync.1");
	size_t i, j;

	(void)state;
	cmd_registry_init(&reg);
	if (!file)
		file = read_all("../../docs/espsync.1");
	if (!file)
		fail_msg("cannot read docs/espsync.1 (run from the repo root)");
	help_man(&b, registry());
	if (strcmp(file, buf_str(&b)))
		fail_msg("docs/espsync.1 differs from the option table: run "
			 "'build/espsync --help-man > docs/espsync.1'");
	for (i = 0; i < OPT__COUNT; i++) {
		const struct option_def *def = option_get((enum option_id)i);

		if (def->key && !strstr(file, def->key))
			fail_msg("man page lacks %s", def->key);
	}
	for (i = 0; i < reg.reg.n_providers; i++)
		for (j = 0; j < reg.reg.providers[i]->n_keys; j++)
			if (!strstr(file, reg.reg.providers[i]->keys[j].key))
				fail_msg("man page lacks %s",
					 reg.reg.providers[i]->keys[j].key);
	free(file);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_command_and_flags),
	    cmocka_unit_test(test_bad_lines),
	    cmocka_unit_test(test_seed_form),
	    cmocka_unit_test(test_seed_details),
	    cmocka_unit_test(test_seed_conflicts),
	    cmocka_unit_test(test_help_and_version),
	    cmocka_unit_test(test_command_table),
	    cmocka_unit_test(test_help_lists_every_option),
	    cmocka_unit_test(test_help_lists_long_store_forms),
	    cmocka_unit_test(test_man_page_is_generated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Command-line parsing driven by the option table: finds the command, its
 * arguments and every flag, and turns the earlier tool's flags (--all,
 * --campaign, --incremental, --export-csv, --stats) into the command they
 * mean. Strings are borrowed from argv or are static. */
#ifndef ESPSYNC_CLI_H
#define ESPSYNC_CLI_H

#include "config/options.h"
#include "util/err.h"

#define CLI_MAX_ARGS 8

struct cli_value {
	const char *value; /* "1" for flags; NULL when not given */
	/* The option typed (a store's seed flag for the store slot); NULL
	 * when the seed form set the value. */
	const struct option_def *via;
};

enum seed_action {
	SEED_NONE = 0,
	SEED_ALL,
	SEED_CAMPAIGN,
	SEED_INCREMENTAL,
	SEED_EXPORT_CSV,
	SEED_STATS,
};

struct cli {
	const char *command; /* "sync", ...; NULL with --help/--version alone */
	const char *args[CLI_MAX_ARGS]; /* positional arguments after it */
	int n_args;
	struct cli_value opt[OPT__COUNT];
	int verbose_count;
	enum seed_action seed; /* the earlier tool's form, translated */
	/* seed --all/--campaign: export csv after the sync */
	int is_seed_export;
	/* The command `help` names, or the one given with --help. */
	const char *help_topic;
	const struct config_registry *reg; /* providers and stores */
	/* libespsync: no .env unless --env-file's slot names one, and envp
	 * holds the handle's settings (shown as "setting"), not the
	 * environment. cli_parse leaves it 0. */
	int is_library;
};

/* Parses argv (argv[0] is the program). ERR_USAGE with a one-line message
 * on unknown options, missing values, options a command does not take,
 * conflicts and unknown commands. reg lists the providers and stores (their
 * keys and the earlier tool's store flag); borrowed, and kept in out->reg. */
int cli_parse(struct cli *out, int argc, const char *const *argv,
	      const struct config_registry *reg, struct err *err);

#endif

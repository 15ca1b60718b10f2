/* The option table: the single source for parsing, validation, `--help`,
 * the man page and `espsync check` (commands come from the registry). */
#include "config/options.h"

#include <string.h>

#include "util/banned.h"

#define DAY_MS (86400.0 * 1000.0)

#define SYNCISH (CMDB_SYNC | CMDB_SEED)

/* Order is the order of `check` and of the help sections. */
static const struct option_def options[OPT__COUNT] = {
    [OPT_STORE] = {.id = OPT_STORE,
		   .flag = "store",
		   .key = "ESPSYNC_STORE",
		   .arg = "URL",
		   .kind = OPTK_STORE_URL,
		   .commands = CMDB_GLOBAL,
		   .def = "sqlite:data/espsync.db",
		   .help = "store url"},
    [OPT_ACCOUNT] = {.id = OPT_ACCOUNT,
		     .flag = "account",
		     .key = "ESPSYNC_ACCOUNT",
		     .arg = "NAME",
		     .kind = OPTK_STRING,
		     .commands = CMDB_GLOBAL,
		     .min = 1,
		     .max = 128,
		     .help = "account name in the store (default: 'default', "
			     "or the api host for a provider whose api url "
			     "names the account)"},
    [OPT_RETENTION_DAYS] =
	{.id = OPT_RETENTION_DAYS,
	 .flag = "retention-days",
	 .key = "ESPSYNC_RETENTION_DAYS",
	 .arg = "N",
	 .kind = OPTK_INT,
	 .commands = CMDB_SYNC | CMDB_SEED,
	 .def = "730",
	 .min = 0,
	 .max = 100000,
	 .help = "warehouse stores: days of events kept, 0 keeps all (a "
		 "retention_days=N in the store url wins)"},
    [OPT_EXPORT_DIR] = {.id = OPT_EXPORT_DIR,
			.flag = "export-dir",
			.key = "ESPSYNC_EXPORT_DIR",
			.arg = "DIR",
			.kind = OPTK_PATH,
			.commands = CMDB_EXPORT | CMDB_STATS | CMDB_SEED,
			.def = "data/exports",
			.help = "csv export directory"},
    [OPT_CSV_COLUMNS] = {.id = OPT_CSV_COLUMNS,
			 .flag = "csv-columns",
			 .key = "ESPSYNC_CSV_COLUMNS",
			 .arg = "MAP",
			 .kind = OPTK_COLUMNS,
			 .commands = CMDB_EXPORT | CMDB_SEED,
			 .help = "csv header names for field tags: "
				 "Tag=column,Tag2=column2"},
    [OPT_MAX_INFLIGHT] = {.id = OPT_MAX_INFLIGHT,
			  .flag = "max-inflight",
			  .key = "ESPSYNC_MAX_INFLIGHT",
			  .arg = "N",
			  .kind = OPTK_INT,
			  .commands = CMDB_GLOBAL,
			  .def = "8",
			  .min = 1,
			  .max = 64,
			  .help = "concurrent requests per provider"},
    [OPT_LOOKBACK] = {.id = OPT_LOOKBACK,
		      .flag = "lookback",
		      .key = "ESPSYNC_LOOKBACK",
		      .arg = "DURATION",
		      .kind = OPTK_DURATION,
		      .commands = CMDB_SYNC,
		      .def = "1h",
		      .min = 0,
		      .max = 30 * DAY_MS,
		      .help = "overlap re-read before a time window"},
    [OPT_RECONCILE] =
	{.id = OPT_RECONCILE,
	 .flag = "reconcile",
	 .key = "ESPSYNC_RECONCILE",
	 .arg = "DURATION",
	 .kind = OPTK_DURATION,
	 .commands = CMDB_SYNC,
	 .def = "24h",
	 .min = 0,
	 .max = 365 * DAY_MS,
	 .help = "read all contacts (and mark deleted ones) when the last "
		 "full read is older; 0: every run"},
    [OPT_ENV_FILE] =
	{.id = OPT_ENV_FILE,
	 .flag = "env-file",
	 .arg = "PATH",
	 .kind = OPTK_PATH,
	 .commands = CMDB_GLOBAL,
	 .def = ".env",
	 .help = "configuration file (a missing default .env is fine)"},
    [OPT_MAX_RUNTIME] =
	{.id = OPT_MAX_RUNTIME,
	 .flag = "max-runtime",
	 .arg = "DURATION",
	 .kind = OPTK_DURATION,
	 .commands = CMDB_GLOBAL,
	 .min = 1000,
	 .max = 30 * DAY_MS,
	 .help = "stop cleanly before this time (480s, 8m, 2h); exit 3"},
    [OPT_VERBOSE] = {.id = OPT_VERBOSE,
		     .flag = "verbose",
		     .short_flag = 'v',
		     .kind = OPTK_FLAG,
		     .commands = CMDB_GLOBAL,
		     .flags = OPTF_REPEATABLE,
		     .help = "more detail on stderr"},
    [OPT_QUIET] = {.id = OPT_QUIET,
		   .flag = "quiet",
		   .short_flag = 'q',
		   .kind = OPTK_FLAG,
		   .commands = CMDB_GLOBAL,
		   .help = "errors only; no progress, no summary"},
    [OPT_JSON] = {.id = OPT_JSON,
		  .flag = "json",
		  .kind = OPTK_FLAG,
		  .commands = CMDB_GLOBAL,
		  .help =
		      "ndjson progress on stderr, one json object on stdout"},
    [OPT_HELP] = {.id = OPT_HELP,
		  .flag = "help",
		  .short_flag = 'h',
		  .kind = OPTK_FLAG,
		  .commands = CMDB_GLOBAL,
		  .help = "show help and exit"},
    [OPT_VERSION] = {.id = OPT_VERSION,
		     .flag = "version",
		     .kind = OPTK_FLAG,
		     .commands = CMDB_GLOBAL,
		     .help = "print the version and exit"},
    [OPT_HELP_MAN] = {.id = OPT_HELP_MAN,
		      .flag = "help-man",
		      .kind = OPTK_FLAG,
		      .commands = CMDB_GLOBAL,
		      .flags = OPTF_HIDDEN,
		      .help = "print the man page (roff)"},
    [OPT_PROVIDER] = {.id = OPT_PROVIDER,
		      .flag = "provider",
		      .arg = "P",
		      .kind = OPTK_PROVIDER,
		      .commands =
			  CMDB_SYNC | CMDB_STATS | CMDB_STATE | CMDB_REPORT,
		      /* the help prefixes the registry's names: "A, B or
		       * all (default: ...)" */
		      .help = "(default: every configured provider)"},
    [OPT_CAMPAIGN] = {.id = OPT_CAMPAIGN,
		      .flag = "campaign",
		      .arg = "ID",
		      .kind = OPTK_ID,
		      .commands = CMDB_SYNC | CMDB_EXPORT | CMDB_SEED,
		      .flags = OPTF_SEED_ACTION,
		      .min = 1,
		      .max = 128,
		      .help = "only this campaign"},
    [OPT_FULL] = {.id = OPT_FULL,
		  .flag = "full",
		  .kind = OPTK_FLAG,
		  .commands = CMDB_SYNC,
		  .help = "re-read every report, changed or not"},
    [OPT_INCREMENTAL] =
	{.id = OPT_INCREMENTAL,
	 .flag = "incremental",
	 .kind = OPTK_FLAG,
	 .commands = SYNCISH,
	 .flags = OPTF_SEED_ACTION,
	 .help = "also skip campaigns checked less than --hours ago"},
    [OPT_HOURS] = {.id = OPT_HOURS,
		   .flag = "hours",
		   .arg = "N",
		   .kind = OPTK_INT,
		   .commands = SYNCISH,
		   .def = "24",
		   .min = 0,
		   .max = 87600,
		   .help = "threshold for --incremental"},
    [OPT_STREAMS] = {.id = OPT_STREAMS,
		     .flag = "streams",
		     .arg = "LIST",
		     .kind = OPTK_STRING,
		     .commands = CMDB_SYNC,
		     .min = 1,
		     .max = 256,
		     .help =
			 "comma-separated: campaigns, reports, participants, "
			 "activities, contacts, lists (default: all)"},
    [OPT_NO_FORMULA_PROTECT] =
	{.id = OPT_NO_FORMULA_PROTECT,
	 .flag = "no-formula-protect",
	 .kind = OPTK_FLAG,
	 .commands = CMDB_EXPORT,
	 .help = "do not prefix cells starting with = + - @ with '"},
    [OPT_STREAM] = {.id = OPT_STREAM,
		    .flag = "stream",
		    .arg = "S",
		    .kind = OPTK_STRING,
		    .commands = CMDB_STATE,
		    .min = 1,
		    .max = 256,
		    .help = "state reset: checkpoints starting with S"},
    [OPT_SINCE] = {.id = OPT_SINCE,
		   .flag = "since",
		   .arg = "DATE",
		   .kind = OPTK_STRING,
		   .commands = CMDB_REPORT,
		   .help = "first day of the period, YYYY-MM-DD (UTC; default: "
			   "the first day with data)"},
    [OPT_UNTIL] = {.id = OPT_UNTIL,
		   .flag = "until",
		   .arg = "DATE",
		   .kind = OPTK_STRING,
		   .commands = CMDB_REPORT,
		   .help = "last day of the period, included (default: the "
			   "last day with data)"},
    [OPT_OUT] = {.id = OPT_OUT,
		 .flag = "out",
		 .arg = "FILE",
		 .kind = OPTK_PATH,
		 .commands = CMDB_REPORT,
		 .def = "data/report.html",
		 .help = "report file, written atomically"},
    [OPT_COMBINED] = {.id = OPT_COMBINED,
		      .flag = "combined",
		      .arg = "FILE",
		      .kind = OPTK_PATH,
		      .commands = CMDB_EXPORT,
		      .help = "one csv file of every campaign's participants, "
			      "with campaign_id and provider columns"},
    [OPT_WAIT] = {.id = OPT_WAIT,
		  .flag = "wait",
		  .arg = "DURATION",
		  .kind = OPTK_DURATION,
		  .commands = CMDB_SYNC,
		  .min = 1000,
		  .max = 30 * DAY_MS,
		  .help = "when another sync of the account runs, wait this "
			  "long for it (30s, 10m) instead of exiting 7"},
    [OPT_SEED_ALL] = {.id = OPT_SEED_ALL,
		      .flag = "all",
		      .kind = OPTK_FLAG,
		      .commands = CMDB_SEED,
		      .flags = OPTF_SEED_ACTION,
		      .help = "sync all campaigns, then export csv"},
    [OPT_SEED_EXPORT_CSV] = {.id = OPT_SEED_EXPORT_CSV,
			     .flag = "export-csv",
			     .kind = OPTK_FLAG,
			     .commands = CMDB_SEED,
			     .flags = OPTF_SEED_ACTION,
			     .help = "export the store to csv"},
    [OPT_SEED_STATS] = {.id = OPT_SEED_STATS,
			.flag = "stats",
			.kind = OPTK_FLAG,
			.commands = CMDB_SEED,
			.flags = OPTF_SEED_ACTION,
			.help = "show statistics"},
};

const struct option_def *option_get(enum option_id id)
{
	if ((unsigned)id >= OPT__COUNT)
		return NULL;
	return &options[id];
}

const struct option_def *option_by_flag(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < OPT__COUNT; i++) {
		const char *f = options[i].flag;

		if (f && strlen(f) == len && !memcmp(f, name, len))
			return &options[i];
	}
	return NULL;
}

const struct option_def *option_by_short(char c)
{
	size_t i;

	for (i = 0; i < OPT__COUNT; i++)
		if (c && options[i].short_flag == c)
			return &options[i];
	return NULL;
}

const struct option_def *option_by_key(const char *key)
{
	size_t i;

	for (i = 0; i < OPT__COUNT; i++)
		if (options[i].key && !strcmp(options[i].key, key))
			return &options[i];
	return NULL;
}

const struct option_def *source_key(const struct source_keys *pk,
				    enum key_role role)
{
	size_t i;

	for (i = 0; pk && role != PROLE_NONE && i < pk->n_keys; i++)
		if (pk->keys[i].role == role)
			return &pk->keys[i];
	return NULL;
}

const struct command_spec *command_spec_find(const struct config_registry *reg,
					     const char *name)
{
	size_t i;

	for (i = 0; reg && name && i < reg->n_commands; i++)
		if (!strcmp(reg->commands[i].name, name))
			return &reg->commands[i];
	return NULL;
}

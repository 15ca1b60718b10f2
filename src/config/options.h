/* The one option table: every flag and configuration key, which commands
 * accept it, its default, how it is validated and its help text. The parser,
 * `--help`, the man page and `espsync check` are all driven by it. The
 * tables are static and read-only. */
#ifndef ESPSYNC_OPTIONS_H
#define ESPSYNC_OPTIONS_H

#include <stddef.h>

enum option_id {
	/* configuration keys (environment / .env), some with a flag */
	OPT_STORE = 0,
	OPT_ACCOUNT,
	OPT_RETENTION_DAYS,
	OPT_EXPORT_DIR,
	OPT_CSV_COLUMNS,
	OPT_MAX_INFLIGHT,
	OPT_LOOKBACK,
	OPT_RECONCILE,
	/* global flags */
	OPT_ENV_FILE,
	OPT_MAX_RUNTIME,
	OPT_VERBOSE,
	OPT_QUIET,
	OPT_JSON,
	OPT_HELP,
	OPT_VERSION,
	OPT_HELP_MAN,
	/* command flags */
	OPT_PROVIDER,
	OPT_CAMPAIGN,
	OPT_FULL,
	OPT_INCREMENTAL,
	OPT_HOURS,
	OPT_STREAMS,
	OPT_NO_FORMULA_PROTECT,
	OPT_STREAM,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_OUT,
	OPT_COMBINED,
	OPT_WAIT,
	/* seed-compatible form only */
	OPT_SEED_ALL,
	OPT_SEED_EXPORT_CSV,
	OPT_SEED_STATS,
	OPT__COUNT
};

/* How a value is validated (config.c) and shown (check, help). */
enum opt_kind {
	OPTK_FLAG = 0,	/* no value */
	OPTK_STRING,	/* printable text */
	OPTK_SECRET,	/* printable, no spaces; never shown */
	OPTK_URL,	/* http(s)://host[:port][/path], no credentials */
	OPTK_STORE_URL, /* store URL; shown only redacted */
	OPTK_NUMBER,	/* decimal number in [min, max] */
	OPTK_INT,	/* whole number in [min, max] */
	OPTK_DURATION,	/* "480s", "8m", "2h"; milliseconds in [min, max] */
	OPTK_CHOICE,	/* one of choices */
	OPTK_PROVIDER,	/* a provider of the registry, or "all" */
	OPTK_ID,	/* [A-Za-z0-9._-]+, e.g. a campaign id */
	OPTK_PATH,	/* file or directory path */
	OPTK_TIMEZONE,	/* IANA zone name */
	OPTK_HOST,	/* host name or address */
	OPTK_COLUMNS,	/* "Tag=column,Tag2=column2" */
};

/* Where an option is accepted. */
enum cmd_bits {
	CMDB_GLOBAL = 1 << 0,
	CMDB_SYNC = 1 << 1,
	CMDB_EXPORT = 1 << 2,
	CMDB_STATS = 1 << 3,
	CMDB_STATE = 1 << 4,
	CMDB_CHECK = 1 << 5,
	CMDB_HELP = 1 << 6,
	CMDB_SEED = 1 << 7, /* the earlier tool's flags, without a command */
	CMDB_REPORT = 1 << 8,
};

enum opt_flags {
	OPTF_HIDDEN = 1 << 0,	   /* not in --help or the man page */
	OPTF_REPEATABLE = 1 << 1,  /* counted (-v -v) */
	OPTF_SEED_ACTION = 1 << 2, /* one of the five seed actions */
	OPTF_ALIAS = 1 << 3,	   /* the value lands in alias_of's slot */
};

/* What a provider's configuration key means to the engine. Each provider
 * declares its keys with one role each (at most one key per role). */
enum key_role {
	PROLE_NONE = 0,
	PROLE_API_URL,	   /* base URL of the API */
	PROLE_API_KEY,	   /* the credential (OPTK_SECRET) */
	PROLE_TIMEZONE,	   /* IANA zone of the provider's naive times */
	PROLE_RATE,	   /* requests per second ceiling */
	PROLE_BURST,	   /* token bucket size */
	PROLE_CONNECTIONS, /* simultaneous requests ceiling */
	PROLE_REGION,	   /* data center / server prefix */
	PROLE__COUNT
};

struct option_def {
	enum option_id id;
	const char *flag; /* long name without "--"; NULL: key only */
	char short_flag;  /* 'v', or 0 */
	const char *key;  /* configuration key; NULL: flag only */
	const char *arg;  /* value name in help; NULL for flags */
	enum opt_kind kind;
	unsigned commands; /* enum cmd_bits where the flag is accepted */
	unsigned flags;	   /* enum opt_flags */
	const char *def;   /* built-in default as text, or NULL */
	double min, max;   /* OPTK_NUMBER/INT; OPTK_DURATION in ms */
	const char *const *choices; /* OPTK_CHOICE, NULL-terminated */
	enum option_id alias_of;    /* OPTF_ALIAS: value lands in this
				       slot */
	const char *help;	    /* one line, lowercase */
	enum key_role role;	    /* provider keys; PROLE_NONE elsewhere */
};

/* A provider's face to the configuration, declared by its source
 * (src/source/) and handed to the configuration layer through struct
 * config_registry, so nothing in config/ names a provider. */
struct source_keys {
	const char *name;  /* lowercase: --provider word, store rows */
	const char *title; /* the provider's proper name, for help text */
	/* Key-only options (no flag), .role set, .def the built-in
	 * default; their ids are not enum option_id values. */
	const struct option_def *keys;
	size_t n_keys;
	/* Bits (1u << enum key_role) of the keys that must all be set
	 * for the provider to count as configured. */
	unsigned required_roles;
	/* The store account name defaults to the API URL's host (1) or to
	 * "default" (0). */
	int is_account_url_host;
	/* The earlier tool's flags (--all, --campaign, --incremental,
	 * --export-csv, --stats) mean this provider; one provider of the
	 * registry sets it. */
	int is_earlier_tool;
};

/* The key of pk with role; NULL when the provider has none. */
const struct option_def *source_key(const struct source_keys *pk,
				    enum key_role role);

/* A store's face to the configuration, declared by its backend
 * (src/store/) and handed over through struct config_registry. */
struct store_keys {
	const char *name;	    /* as in check's output, lowercase */
	const char *const *schemes; /* URL prefixes, NULL-terminated */
	const char *url_help;	    /* its URL forms in help: "x://..." */
	/* 1 when url is this store's though it starts with none of schemes
	 * (a bare path ending in ".db"); NULL: never. */
	int (*is_own_url)(const char *url);
	/* NULL when url (one of this store's) is well formed, else why
	 * ("has no host"); NULL function: any. */
	const char *(*check_url)(const char *url);
	/* The earlier tool's settings that name this store when no store URL
	 * is given, in order of precedence: key-only options and a function
	 * that builds the URL from their values (values[i] is the text of
	 * seed_keys[i] or its default, NULL when unset). seed_url returns -1
	 * when the values name no store. The key that named it is the first
	 * one set by more than its default. */
	const struct option_def *seed_keys;
	size_t n_seed_keys;
	int (*seed_url)(char *out, size_t size, const char *const *values);
	/* The earlier tool's flag that means --store in the seed form
	 * (.alias_of OPT_STORE, .commands CMDB_SEED); NULL: none. */
	const struct option_def *seed_flag;
	/* The store's own settings: key-only options (no flag) with their
	 * defaults and checks, loaded for every store like any key (default
	 * < .env < environment), listed by check (OPTF_HIDDEN: not in help)
	 * and handed to the store's open through struct store_options. */
	const struct option_def *keys;
	size_t n_keys;
};

struct config;

/* One command: its name, handler and help in one record. The table lives
 * with the handlers (cmd/cmd_table.c) and reaches the parser and the help
 * generator through struct config_registry. */
struct command_spec {
	const char *name;
	unsigned bit; /* enum cmd_bits: the options it takes */
	/* argv holds the arguments after the command word; returns the exit
	 * code. NULL: main prints help instead (the help command). */
	int (*run)(int argc, const char *const *argv, const struct config *cfg);
	const char *synopsis; /* arguments after the name */
	const char *summary;  /* one line */
	const char *details;  /* paragraph for --help and the man page */
};

/* Every provider, store and command, as the configuration layer sees them;
 * filled by the caller from the registries (cmd_registry_init()). */
struct config_registry {
	const struct source_keys *const *providers;
	size_t n_providers;
	const struct store_keys *const *stores;
	size_t n_stores;
	const struct command_spec *commands; /* in help order */
	size_t n_commands;
};

#define ESPSYNC_VERSION "0.1.0"

const struct option_def *option_get(enum option_id id);
/* Long flag name without dashes; NULL when unknown. */
const struct option_def *option_by_flag(const char *name, size_t len);
const struct option_def *option_by_short(char c);
/* Configuration key ("ESPSYNC_STORE"); NULL when unknown. */
const struct option_def *option_by_key(const char *key);

/* The command of reg named name; NULL when unknown. */
const struct command_spec *command_spec_find(const struct config_registry *reg,
					     const char *name);

#endif

/* The parsed configuration: built-in defaults < .env file < environment <
 * flags, every value validated and its source remembered. config_load fills
 * a struct config that the commands then only read; it owns its strings
 * until config_release. Nothing below cmd/ reads the environment: the
 * caller passes it in. */
#ifndef ESPSYNC_CONFIG_H
#define ESPSYNC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "config/cli.h"
#include "config/options.h"
#include "util/err.h"
#include "util/log.h"

enum config_source {
	SRC_UNSET = 0,
	SRC_DEFAULT,
	SRC_ENV_FILE,
	SRC_ENVIRONMENT,
	SRC_FLAG,
};

struct config_value {
	char *value; /* NULL: unset */
	enum config_source source;
	int line;		      /* SRC_ENV_FILE */
	const struct option_def *via; /* SRC_FLAG; NULL: the seed form */
	int64_t i;		      /* OPTK_INT; OPTK_DURATION in ms */
	double d;		      /* OPTK_NUMBER */
};

/* A setting outside the option table (a store's seed key), loaded
 * through the same layers as a key-only option. */
struct config_key {
	const struct option_def *def; /* borrowed from the registry */
	struct config_value v;
};

/* One provider account as the commands need it: the values of the
 * provider's keys (struct source_keys, from the registry) by role, each
 * with where it came from, and what they resolve to. */
struct account_config {
	const struct source_keys *keys; /* borrowed from the registry */
	const char *name;		/* keys->name */
	/* By role; SRC_UNSET when unset or the provider has no such key. */
	struct config_value v[PROLE__COUNT];
	const char *api_url;  /* no trailing slash; NULL when unset */
	const char *api_key;  /* never printed */
	const char *account;  /* store account name; NULL: unknown yet */
	const char *timezone; /* IANA name; NULL: no key, the source's (UTC) */
	/* 0 when the provider has no key for it: the source's own. */
	double rate_per_sec, burst;
	int connections;    /* PROLE_CONNECTIONS; 0: no such key */
	const char *region; /* PROLE_REGION; NULL: unset */
	int is_configured;
	/* Some required key given (not by default), not all of them. */
	int is_partly_configured;
	char missing[160];  /* keys to set when not configured */
	char *account_host; /* storage for account's default */
};

/* Something to tell the user once logging is set up. */
struct config_note {
	enum log_level level;
	char msg[256];
};

#define CONFIG_MAX_NOTES 16
#define CONFIG_MAX_PROVIDERS 16
/* Seed keys one store may declare. */
#define CONFIG_MAX_SEED_KEYS 8

struct config {
	struct config_value v[OPT__COUNT];
	char *env_file; /* path read (or looked for); "" for none */
	int is_env_file_loaded;
	/* Resolved store: --store/ESPSYNC_STORE, else the first store whose
	 * seed keys name one, else the default. store_key is the option that
	 * decided it (OPT_STORE's or a seed key), store_from its value. */
	char *store_url;
	const struct option_def *store_key;
	const struct config_value *store_from;
	/* Every store's seed keys (struct store_keys), in registry order. */
	struct config_key *seed_keys;
	size_t n_seed_keys;
	/* Every store's own settings (struct store_keys .keys), in registry
	 * order. */
	struct config_key *store_settings;
	size_t n_store_settings;
	/* One per provider of reg, in the registry's order. */
	struct account_config providers[CONFIG_MAX_PROVIDERS];
	size_t n_providers;
	int verbosity; /* -1 quiet, 0 normal, 1+ verbose */
	int is_json;
	int64_t max_runtime_ms; /* 0: none */
	enum seed_action seed;
	int is_seed_export;
	struct config_note notes[CONFIG_MAX_NOTES];
	size_t n_notes;
	const struct config_registry *reg; /* from the cli; borrowed */
	int is_library;			   /* cli.is_library */
};

/* Loads the layers for cli's flags. envp is a NULL-terminated "KEY=VALUE"
 * array (the process environment in main, a fixture in tests). ERR_CONFIG
 * (exit 2) names the key and where the bad value came from, never a
 * secret's value. out must be released even on failure. */
int config_load(struct config *out, const struct cli *cli,
		const char *const *envp, struct err *err);
void config_release(struct config *cfg);

/* Value text, or NULL when unset. */
const char *config_str(const struct config *cfg, enum option_id id);
int config_is_set(const struct config *cfg, enum option_id id);

/* Where a value came from: "default", "'.env' line 7", "environment"
 * ("setting" for libespsync's), "--store", "seed form" or "unset". */
void config_source_text(const struct config *cfg, enum option_id id, char *out,
			size_t size);
/* The same for any value of cfg (a table option's, a provider key's or
 * a config_key's). */
void config_value_source_text(const struct config *cfg,
			      const struct config_value *v, char *out,
			      size_t size);
/* "default", ".env", "environment", "flag", "unset" (for JSON). */
const char *config_source_name(enum config_source src);

/* The configuration of the provider named name; NULL when the registry
 * has none. */
const struct account_config *config_account(const struct config *cfg,
					    const char *name);
/* What to set to configure any provider: each provider's required keys,
 * "A or B and C". */
void config_setup_hint(const struct config *cfg, char *out, size_t size);

/* Checks one value against its table entry; returns NULL when fine, else
 * the reason (static text or written into why_buf). Store URLs are checked
 * by the store reg names for their scheme, --provider values against
 * reg's providers (config_check_provider). */
const char *config_check_value(const struct config_registry *reg,
			       const struct option_def *def, const char *s,
			       char *why_buf, size_t why_size);
/* A --provider value: one of reg's provider names or "all". */
const char *config_check_provider(const struct config_registry *reg,
				  const char *s, char *why_buf,
				  size_t why_size);

#endif

/* Loads the configuration layers (defaults, .env, environment, flags),
 * validates every value against the option table and resolves what the
 * commands need: the store URL and one struct account_config each. */
#include "config/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/envfile.h"
#include "util/num.h"
#include "util/tz.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_TEXT 4096

const char *config_str(const struct config *cfg, enum option_id id)
{
	return cfg->v[id].value;
}

int config_is_set(const struct config *cfg, enum option_id id)
{
	return cfg->v[id].value != NULL;
}

const char *config_source_name(enum config_source src)
{
	switch (src) {
	case SRC_DEFAULT:
		return "default";
	case SRC_ENV_FILE:
		return ".env";
	case SRC_ENVIRONMENT:
		return "environment";
	case SRC_FLAG:
		return "flag";
	case SRC_UNSET:
		break;
	}
	return "unset";
}

void config_source_text(const struct config *cfg, enum option_id id, char *out,
			size_t size)
{
	config_value_source_text(cfg, &cfg->v[id], out, size);
}

void config_value_source_text(const struct config *cfg,
			      const struct config_value *v, char *out,
			      size_t size)
{
	switch (v->source) {
	case SRC_ENV_FILE:
		snprintf(out, size, "'%s' line %d", cfg->env_file, v->line);
		break;
	case SRC_FLAG:
		if (v->via)
			snprintf(out, size, "--%s", v->via->flag);
		else
			snprintf(out, size, "seed form");
		break;
	case SRC_ENVIRONMENT:
		snprintf(out, size, "%s",
			 cfg->is_library ? "setting" : "environment");
		break;
	default:
		snprintf(out, size, "%s", config_source_name(v->source));
		break;
	}
}

static int has_bad_byte(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int all_of(const char *s, const char *extra)
{
	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr(extra, c)))
			return 0;
	}
	return 1;
}

static int starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static void format_ms(char *out, size_t size, double ms)
{
	int64_t v = (int64_t)ms;

	if (v && v % 3600000 == 0)
		snprintf(out, size, "%lldh", (long long)(v / 3600000));
	else if (v && v % 60000 == 0)
		snprintf(out, size, "%lldm", (long long)(v / 60000));
	else if (v % 1000 == 0)
		snprintf(out, size, "%llds", (long long)(v / 1000));
	else
		snprintf(out, size, "%lldms", (long long)v);
}

/* http(s)://host[:port][/path]: no credentials, query or fragment. */
static const char *check_url(const char *s)
{
	const char *host, *end, *p;

	if (starts_with(s, "https://"))
		host = s + 8;
	else if (starts_with(s, "http://"))
		host = s + 7;
	else
		return "must start with https:// or http://";
	end = host + strcspn(host, "/");
	if (end == host || host[0] == ':')
		return "has no host";
	for (p = host; p < end; p++) {
		char c = *p;

		if (c == '@')
			return "must not contain credentials";
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == ':' || c == '[' || c == ']'))
			return "has an invalid host";
	}
	if (strpbrk(s, "?# \t\"<>\\"))
		return "must not contain a query, fragment or spaces";
	p = memchr(host, ':', (size_t)(end - host));
	if (p && host[0] != '[') {
		char port[8];
		size_t n = (size_t)(end - p - 1);
		int64_t v;

		if (!n || n >= sizeof(port))
			return "has an invalid port";
		memcpy(port, p + 1, n);
		port[n] = '\0';
		if (num_parse_i64_range(port, 1, 65535, &v) < 0 ||
		    !all_of(port, ""))
			return "has an invalid port";
	}
	return NULL;
}

/* The store of reg whose scheme (else own-URL test) matches s; NULL if
 * none. The same choice as store_backend_for. */
static const struct store_keys *store_for(const struct config_registry *reg,
					  const char *s)
{
	size_t i, k;

	for (i = 0; reg && i < reg->n_stores; i++)
		for (k = 0;
		     reg->stores[i]->schemes && reg->stores[i]->schemes[k]; k++)
			if (starts_with(s, reg->stores[i]->schemes[k]))
				return reg->stores[i];
	for (i = 0; reg && i < reg->n_stores; i++)
		if (reg->stores[i]->is_own_url && reg->stores[i]->is_own_url(s))
			return reg->stores[i];
	return NULL;
}

/* A URL one of reg's stores takes; else "must be A, B, or C" from their
 * url_help. */
static const char *check_store_url(const struct config_registry *reg,
				   const char *s, char *why, size_t size)
{
	const struct store_keys *sk = store_for(reg, s);
	size_t i, n;

	if (sk)
		return sk->check_url ? sk->check_url(s) : NULL;
	n = (size_t)snprintf(why, size, "must be");
	for (i = 0; reg && i < reg->n_stores && n < size; i++)
		n += (size_t)snprintf(why + n, size - n, "%s%s",
				      !i		      ? " "
				      : i + 1 < reg->n_stores ? ", "
							      : ", or ",
				      reg->stores[i]->url_help);
	return why;
}

/* "Tag=column,Tag2=column2". */
static const char *check_columns(const char *s)
{
	const char *p = s;

	while (*p) {
		size_t item = strcspn(p, ","), tag = strcspn(p, "=,");

		if (!tag || tag >= item || tag + 1 == item ||
		    memchr(p + tag + 1, '=', item - tag - 1))
			return "must be Tag=column pairs separated by commas";
		p += item;
		if (*p == ',' && !*++p)
			return "must not end with a comma";
	}
	return NULL;
}

static const char *check_range(const struct option_def *def, double v,
			       char *why, size_t size)
{
	char lo[32], hi[32];

	if (v >= def->min && v <= def->max)
		return NULL;
	if (def->kind == OPTK_DURATION) {
		format_ms(lo, sizeof(lo), def->min);
		format_ms(hi, sizeof(hi), def->max);
		snprintf(why, size, "must be from %s to %s", lo, hi);
	} else {
		snprintf(why, size, "must be from %g to %g", def->min,
			 def->max);
	}
	return why;
}

/* "must be a, b or c" from n names and then last (NULL: none). */
static const char *must_be(char *why, size_t size, const char *const *names,
			   size_t n, const char *last)
{
	size_t i, len, total = n + (last != NULL);

	snprintf(why, size, "must be");
	for (i = 0; i < total; i++) {
		len = strlen(why);
		snprintf(why + len, size - len, "%s%s",
			 !i		  ? " "
			 : i + 1 == total ? " or "
					  : ", ",
			 i < n ? names[i] : last);
	}
	return why;
}

const char *config_check_provider(const struct config_registry *reg,
				  const char *s, char *why, size_t size)
{
	const char *names[CONFIG_MAX_PROVIDERS];
	size_t i, n = 0;

	if (!strcmp(s, "all"))
		return NULL;
	for (i = 0; reg && i < reg->n_providers; i++) {
		if (!strcmp(reg->providers[i]->name, s))
			return NULL;
		if (n < CONFIG_MAX_PROVIDERS)
			names[n++] = reg->providers[i]->name;
	}
	return must_be(why, size, names, n, "all");
}

const char *config_check_value(const struct config_registry *reg,
			       const struct option_def *def, const char *s,
			       char *why, size_t size)
{
	size_t n = strlen(s);
	size_t max = def->max > 0 && def->kind != OPTK_INT &&
			     def->kind != OPTK_NUMBER &&
			     def->kind != OPTK_DURATION
			 ? (size_t)def->max
			 : MAX_TEXT;
	int64_t i;
	double d;

	if (def->kind == OPTK_FLAG)
		return NULL;
	if (!n)
		return "must not be empty";
	if (n > max) {
		snprintf(why, size, "longer than %zu characters", max);
		return why;
	}
	if (has_bad_byte(s))
		return "contains a control character";
	switch (def->kind) {
	case OPTK_SECRET:
		return all_of(s, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
			   ? NULL
			   : "must be printable ascii without spaces";
	case OPTK_URL:
		return check_url(s);
	case OPTK_STORE_URL:
		return check_store_url(reg, s, why, size);
	case OPTK_NUMBER:
		if (num_parse_double(s, &d) < 0)
			return "must be a number";
		return check_range(def, d, why, size);
	case OPTK_INT:
		if (num_parse_i64(s, &i) < 0)
			return "must be a whole number";
		return check_range(def, (double)i, why, size);
	case OPTK_DURATION:
		if (num_parse_duration_ms(s, &i) < 0)
			return "must be a duration such as 480s, 8m or 2h";
		return check_range(def, (double)i, why, size);
	case OPTK_CHOICE:
		for (i = 0; def->choices[i]; i++)
			if (!strcmp(def->choices[i], s))
				return NULL;
		return must_be(why, size, def->choices, (size_t)i, NULL);
	case OPTK_PROVIDER:
		return config_check_provider(reg, s, why, size);
	case OPTK_ID:
		return all_of(s, "._-") && s[0] != '.'
			   ? NULL
			   : "may hold only letters, digits, '.', "
			     "'_' and '-'";
	case OPTK_TIMEZONE:
		if (!all_of(s, "/_+-") || s[0] == '/' || strstr(s, "..") ||
		    !tz_name_is_valid(s))
			return "must be an iana time zone such as UTC or "
			       "America/New_York";
		{
			struct tz *z = NULL;
			int rc = tz_load(&z, NULL, s, NULL);

			tz_free(z);
			if (rc < 0)
				return "is not a known time zone (see "
				       "/usr/share/zoneinfo; install tzdata)";
		}
		return NULL;
	case OPTK_HOST:
		return all_of(s, ".-:[]") ? NULL : "must be a host name";
	case OPTK_COLUMNS:
		return check_columns(s);
	case OPTK_STRING:
	case OPTK_PATH:
	case OPTK_FLAG:
		break;
	}
	return NULL;
}

/* The value of key in envp when non-empty. */
static const char *env_lookup(const char *const *envp, const char *key)
{
	size_t n = strlen(key);

	for (; envp && *envp; envp++)
		if (!strncmp(*envp, key, n) && (*envp)[n] == '=')
			return (*envp)[n + 1] ? *envp + n + 1 : NULL;
	return NULL;
}

static void note(struct config *cfg, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void note(struct config *cfg, enum log_level level, const char *fmt, ...)
{
	struct config_note *n;
	va_list ap;

	if (cfg->n_notes == CONFIG_MAX_NOTES)
		return;
	n = &cfg->notes[cfg->n_notes++];
	n->level = level;
	va_start(ap, fmt);
	vsnprintf(n->msg, sizeof(n->msg), fmt, ap);
	va_end(ap);
}

static void set(struct config_value *v, const char *value,
		enum config_source src)
{
	free(v->value);
	v->value = xstrdup(value);
	v->source = src;
}

/* Numbers are only shown when nothing secret can hide in them. */
static int is_echo_safe(const struct option_def *def)
{
	return def->kind == OPTK_NUMBER || def->kind == OPTK_INT ||
	       def->kind == OPTK_DURATION || def->kind == OPTK_CHOICE ||
	       def->kind == OPTK_PROVIDER;
}

static int validate(struct config *cfg, const struct option_def *def,
		    struct config_value *v, struct err *err)
{
	char why_buf[192], src[160], name[80], shown[80] = "";
	const char *why;

	if (!v->value)
		return 0;
	why = config_check_value(cfg->reg, def, v->value, why_buf,
				 sizeof(why_buf));
	if (!why) {
		if (def->kind == OPTK_INT || def->kind == OPTK_DURATION) {
			if (def->kind == OPTK_INT)
				num_parse_i64(v->value, &v->i);
			else
				num_parse_duration_ms(v->value, &v->i);
		} else if (def->kind == OPTK_NUMBER) {
			num_parse_double(v->value, &v->d);
		} else if (def->kind == OPTK_URL) {
			size_t n = strlen(v->value);

			while (n > 0 && v->value[n - 1] == '/')
				v->value[--n] = '\0';
		}
		return 0;
	}
	if (def->key)
		snprintf(name, sizeof(name), "%s", def->key);
	else
		snprintf(name, sizeof(name), "--%s", def->flag);
	if (is_echo_safe(def) && strlen(v->value) <= 32)
		snprintf(shown, sizeof(shown), " '%s'", v->value);
	config_value_source_text(cfg, v, src, sizeof(src));
	if (v->source == SRC_FLAG && !def->key && v->via == def)
		return err_set(err, ERR_CONFIG, 0,
			       "invalid value%s for '%s': %s", shown, name,
			       why);
	return err_set(err, ERR_CONFIG, 0,
		       "invalid value%s for '%s' (from %s): %s", shown, name,
		       src, why);
}

/* default < .env < environment into v (flags are the caller's). */
static void load_key(struct config_value *v, const struct option_def *def,
		     const struct env_file *envf, const char *const *envp)
{
	const struct env_entry *e;
	const char *s;

	if (def->def)
		set(v, def->def, SRC_DEFAULT);
	if (!def->key)
		return;
	e = env_file_get(envf, def->key);
	if (e && e->value[0]) {
		set(v, e->value, SRC_ENV_FILE);
		v->line = e->line;
	}
	s = env_lookup(envp, def->key);
	if (s)
		set(v, s, SRC_ENVIRONMENT);
}

/* Each provider's keys (no flags) into providers[].v by role. */
static int load_source_keys(struct config *cfg, const struct env_file *envf,
			    const char *const *envp, struct err *err)
{
	size_t i, j;

	for (i = 0; cfg->reg && i < cfg->reg->n_providers; i++) {
		const struct source_keys *pk = cfg->reg->providers[i];
		struct account_config *pc = &cfg->providers[i];

		if (i == CONFIG_MAX_PROVIDERS)
			return err_set(err, ERR_CONFIG, 0,
				       "more than %d providers",
				       CONFIG_MAX_PROVIDERS);
		cfg->n_providers = i + 1;
		pc->keys = pk;
		pc->name = pk->name;
		for (j = 0; j < pk->n_keys; j++) {
			const struct option_def *def = &pk->keys[j];
			struct config_value *v;

			if (def->role <= PROLE_NONE ||
			    def->role >= PROLE__COUNT)
				continue;
			v = &pc->v[def->role];
			load_key(v, def, envf, envp);
			if (validate(cfg, def, v, err) < 0)
				return -1;
		}
	}
	return 0;
}

/* default < .env < environment < flag, then validate the winner; the
 * stores' seed keys have no flag. */
static int load_layers(struct config *cfg, const struct cli *cli,
		       const struct env_file *envf, const char *const *envp,
		       struct err *err)
{
	size_t i;

	if (load_source_keys(cfg, envf, envp, err) < 0)
		return -1;
	for (i = 0; i < OPT__COUNT; i++) {
		const struct option_def *def = option_get((enum option_id)i);
		struct config_value *v = &cfg->v[i];

		if (def->flags & OPTF_ALIAS)
			continue;
		load_key(v, def, envf, envp);
		if (cli->opt[i].value) {
			set(v, cli->opt[i].value, SRC_FLAG);
			v->via = cli->opt[i].via;
		}
		if (validate(cfg, def, v, err) < 0)
			return -1;
	}
	for (i = 0; i < cfg->n_seed_keys; i++) {
		struct config_key *k = &cfg->seed_keys[i];

		load_key(&k->v, k->def, envf, envp);
		if (validate(cfg, k->def, &k->v, err) < 0)
			return -1;
	}
	/* Validated once the store is known (validate_store_settings). */
	for (i = 0; i < cfg->n_store_settings; i++)
		load_key(&cfg->store_settings[i].v, cfg->store_settings[i].def,
			 envf, envp);
	return 0;
}

/* The settings of the store in use must be valid; another store's are
 * not read, so what the environment holds for them (HOME, a metadata
 * host of another tool) cannot stop this run. */
static int validate_store_settings(struct config *cfg, struct err *err)
{
	const struct store_keys *sk = store_for(cfg->reg, cfg->store_url);
	size_t i;

	for (i = 0; sk && i < cfg->n_store_settings; i++) {
		struct config_key *k = &cfg->store_settings[i];

		if (k->def >= sk->keys && k->def < sk->keys + sk->n_keys &&
		    validate(cfg, k->def, &k->v, err) < 0)
			return -1;
	}
	return 0;
}

/* cfg->seed_keys and cfg->store_settings: one entry per seed key and per
 * own setting of every store in cfg->reg. */
static void list_seed_keys(struct config *cfg)
{
	const struct config_registry *reg = cfg->reg;
	size_t i, k, n = 0, m = 0;

	for (i = 0; reg && i < reg->n_stores; i++) {
		n += reg->stores[i]->n_seed_keys;
		m += reg->stores[i]->n_keys;
	}
	cfg->seed_keys = n ? xcalloc(n, sizeof(*cfg->seed_keys)) : NULL;
	cfg->store_settings =
	    m ? xcalloc(m, sizeof(*cfg->store_settings)) : NULL;
	for (i = 0; reg && i < reg->n_stores; i++) {
		for (k = 0; k < reg->stores[i]->n_seed_keys; k++)
			cfg->seed_keys[cfg->n_seed_keys++].def =
			    &reg->stores[i]->seed_keys[k];
		for (k = 0; k < reg->stores[i]->n_keys; k++)
			cfg->store_settings[cfg->n_store_settings++].def =
			    &reg->stores[i]->keys[k];
	}
}

/* The table option, provider key, store seed key or store setting named
 * key; NULL when unknown. */
static const struct option_def *find_key(const struct config *cfg,
					 const char *key)
{
	const struct option_def *def = option_by_key(key);
	size_t i, j;

	for (i = 0; !def && cfg->reg && i < cfg->reg->n_providers; i++) {
		const struct source_keys *pk = cfg->reg->providers[i];

		for (j = 0; !def && j < pk->n_keys; j++)
			if (pk->keys[j].key && !strcmp(pk->keys[j].key, key))
				def = &pk->keys[j];
	}
	for (i = 0; !def && i < cfg->n_seed_keys; i++)
		if (!strcmp(cfg->seed_keys[i].def->key, key))
			def = cfg->seed_keys[i].def;
	for (i = 0; !def && i < cfg->n_store_settings; i++)
		if (!strcmp(cfg->store_settings[i].def->key, key))
			def = cfg->store_settings[i].def;
	return def;
}

/* Calls fn with every key the configuration knows: the option table's,
 * the providers' and the stores' seed keys; stops when fn returns non-0. */
static void each_known_key(const struct config *cfg,
			   int (*fn)(void *ctx, const char *key), void *ctx)
{
	size_t i, j;

	for (i = 0; i < OPT__COUNT; i++)
		if (option_get((enum option_id)i)->key &&
		    fn(ctx, option_get((enum option_id)i)->key))
			return;
	for (i = 0; cfg->reg && i < cfg->reg->n_providers; i++)
		for (j = 0; j < cfg->reg->providers[i]->n_keys; j++)
			if (cfg->reg->providers[i]->keys[j].key &&
			    fn(ctx, cfg->reg->providers[i]->keys[j].key))
				return;
	for (i = 0; i < cfg->n_seed_keys; i++)
		if (fn(ctx, cfg->seed_keys[i].def->key))
			return;
}

/* Keys are compared on their first KEY_CMP_MAX bytes. */
#define KEY_CMP_MAX 64

static size_t edit_distance(const char *a, const char *b)
{
	size_t row[KEY_CMP_MAX + 1], la = strlen(a), lb = strlen(b), i, j;

	la = la > KEY_CMP_MAX ? KEY_CMP_MAX : la;
	lb = lb > KEY_CMP_MAX ? KEY_CMP_MAX : lb;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

struct key_match {
	const char *key;     /* the unknown key */
	int has_prefix;	     /* it starts like a known key (ESPSYNC_...) */
	const char *closest; /* the nearest known key */
	size_t distance;
};

static int match_key(void *ctx, const char *known)
{
	struct key_match *m = ctx;
	const char *us = strchr(known, '_');
	size_t d;

	if (us && !strncmp(m->key, known, (size_t)(us - known) + 1))
		m->has_prefix = 1;
	d = edit_distance(m->key, known);
	if (!m->closest || d < m->distance) {
		m->closest = known;
		m->distance = d;
	}
	return 0;
}

/* A key that starts like the known ones (the prefixes come from the
 * registries: ESPSYNC_, each provider's, each store's) but is none of them
 * is a typo until shown otherwise; a repeated key hides its first value. */
static void note_env_keys(struct config *cfg, const struct env_file *envf,
			  const struct env_entry *e, int is_known)
{
	struct key_match m = {e->key, 0, NULL, 0};

	if (e->prev_line)
		note(cfg, LOG_WARN,
		     "'%.64s' sets '%.64s' on line %d and again on line %d: "
		     "line %d wins",
		     envf->name, e->key, e->prev_line, e->line, e->line);
	if (is_known)
		return;
	each_known_key(cfg, match_key, &m);
	if (m.has_prefix && m.closest)
		note(cfg, LOG_WARN,
		     "unknown key '%.64s' in '%.64s' line %d ignored; did "
		     "you mean '%s'?",
		     e->key, envf->name, e->line, m.closest);
}

static void note_env_file(struct config *cfg, const struct env_file *envf)
{
	int has_secret = 0;
	size_t i;

	for (i = 0; i < envf->n; i++) {
		const char *key = envf->entries[i].key;
		const struct option_def *def = find_key(cfg, key);

		note_env_keys(cfg, envf, &envf->entries[i], def != NULL);
		if (def && envf->entries[i].value[0] &&
		    (def->kind == OPTK_SECRET ||
		     (def->kind == OPTK_STORE_URL &&
		      strchr(envf->entries[i].value, '@'))))
			has_secret = 1;
	}
	if (has_secret && envf->is_group_readable)
		note(cfg, LOG_WARN,
		     "env file '%.80s' holds a secret and is readable by "
		     "others; run chmod 600 '%.80s'",
		     envf->name, envf->name);
}

/* The store a store's seed keys name (keys is its slice of cfg->seed_keys):
 * 0 and the URL in out, or -1. *decided is the first key set by more than
 * its default, the one that named it. */
static int seed_url(const struct store_keys *sk, const struct config_key *keys,
		    char *out, size_t size, const struct config_key **decided)
{
	const char *values[CONFIG_MAX_SEED_KEYS];
	size_t i;

	*decided = NULL;
	if (!sk->seed_url || sk->n_seed_keys > CONFIG_MAX_SEED_KEYS)
		return -1;
	for (i = 0; i < sk->n_seed_keys; i++) {
		values[i] = keys[i].v.value;
		if (!*decided && keys[i].v.source > SRC_DEFAULT)
			*decided = &keys[i];
	}
	if (!*decided || sk->seed_url(out, size, values) < 0)
		return -1;
	return 0;
}

/* --store/ESPSYNC_STORE, else the first store whose seed keys (the earlier
 * tool's settings) name one, else the default. */
static void resolve_store(struct config *cfg)
{
	const struct config_registry *reg = cfg->reg;
	const struct config_value *store = &cfg->v[OPT_STORE];
	const struct config_key *keys = cfg->seed_keys, *decided;
	char url[1024];
	size_t i;

	cfg->store_key = option_get(OPT_STORE);
	cfg->store_from = store;
	for (i = 0; store->source <= SRC_DEFAULT && reg && !cfg->store_url &&
		    i < reg->n_stores;
	     i++) {
		const struct store_keys *sk = reg->stores[i];

		if (seed_url(sk, keys, url, sizeof(url), &decided) == 0) {
			cfg->store_key = decided->def;
			cfg->store_from = &decided->v;
			cfg->store_url = xstrdup(url);
		}
		keys += sk->n_seed_keys;
	}
	if (!cfg->store_url)
		cfg->store_url = xstrdup(store->value);
}

/* The API host of url ("https://acme.api-us1.com/x" -> acme.api-us1.com). */
static char *url_host(const char *url)
{
	const char *h = strstr(url, "://");
	size_t n;

	h = h ? h + 3 : url;
	if (h[0] == '[')
		n = strcspn(h, "]") + 1;
	else
		n = strcspn(h, ":/");
	return xstrndup(h, n);
}

/* "A and B" (or "A, B and C") of the keys of pk whose roles are in
 * roles, appended to out. */
static void key_list(char *out, size_t size, const struct source_keys *pk,
		     unsigned roles)
{
	size_t j, n = 0, total = 0, len;

	for (j = 0; j < pk->n_keys; j++)
		if (pk->keys[j].role && (roles & (1u << pk->keys[j].role)))
			total++;
	for (j = 0; j < pk->n_keys; j++) {
		if (!pk->keys[j].role || !(roles & (1u << pk->keys[j].role)))
			continue;
		len = strlen(out);
		snprintf(out + len, size - len, "%s%s",
			 !n		  ? ""
			 : n + 1 == total ? " and "
					  : ", ",
			 pk->keys[j].key);
		n++;
	}
}

static void resolve_provider(struct config *cfg, struct account_config *pc)
{
	const struct source_keys *pk = pc->keys;
	const char *account = cfg->v[OPT_ACCOUNT].value;
	unsigned unset = 0, given = 0;
	int r;

	pc->api_url = pc->v[PROLE_API_URL].value;
	pc->api_key = pc->v[PROLE_API_KEY].value;
	pc->timezone = pc->v[PROLE_TIMEZONE].value;
	pc->rate_per_sec = pc->v[PROLE_RATE].value ? pc->v[PROLE_RATE].d : 0;
	pc->burst = pc->v[PROLE_BURST].value ? pc->v[PROLE_BURST].d : 0;
	pc->connections = pc->v[PROLE_CONNECTIONS].value
			      ? (int)pc->v[PROLE_CONNECTIONS].i
			      : 0;
	pc->region = pc->v[PROLE_REGION].value;
	if (pk->is_account_url_host && pc->api_url)
		pc->account_host = url_host(pc->api_url);
	if (account)
		pc->account = account;
	else
		pc->account =
		    pk->is_account_url_host ? pc->account_host : "default";
	for (r = PROLE_NONE + 1; r < PROLE__COUNT; r++) {
		if (!(pk->required_roles & (1u << r)))
			continue;
		if (!pc->v[r].value)
			unset |= 1u << r;
		else if (pc->v[r].source > SRC_DEFAULT)
			given |= 1u << r;
	}
	pc->is_configured = !unset;
	pc->is_partly_configured = unset && given;
	pc->missing[0] = '\0';
	key_list(pc->missing, sizeof(pc->missing), pk, unset);
}

static void resolve_providers(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_providers; i++)
		resolve_provider(cfg, &cfg->providers[i]);
}

const struct account_config *config_account(const struct config *cfg,
					    const char *name)
{
	size_t i;

	for (i = 0; name && i < cfg->n_providers; i++)
		if (!strcmp(cfg->providers[i].name, name))
			return &cfg->providers[i];
	return NULL;
}

void config_setup_hint(const struct config *cfg, char *out, size_t size)
{
	size_t i, len;

	out[0] = '\0';
	for (i = 0; i < cfg->n_providers; i++) {
		if (i) {
			len = strlen(out);
			snprintf(out + len, size - len, " or ");
		}
		key_list(out, size, cfg->providers[i].keys,
			 cfg->providers[i].keys->required_roles);
	}
}

int config_load(struct config *out, const struct cli *cli,
		const char *const *envp, struct err *err)
{
	struct env_file envf;
	const char *path = cli->opt[OPT_ENV_FILE].value;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->reg = cli->reg;
	out->is_library = cli->is_library;
	env_file_init(&envf);
	if (cli->is_library && !path) {
		out->env_file = xstrdup("");
	} else {
		out->env_file =
		    xstrdup(path ? path : option_get(OPT_ENV_FILE)->def);
		if (!out->env_file[0]) {
			err_set(err, ERR_CONFIG, 0,
				"invalid value for '--env-file': must not be "
				"empty");
			goto done;
		}
		if (env_file_load(&envf, out->env_file, path != NULL, err) < 0)
			goto done;
	}
	out->is_env_file_loaded = envf.is_loaded;
	list_seed_keys(out);
	note_env_file(out, &envf);
	if (load_layers(out, cli, &envf, envp, err) < 0)
		goto done;
	resolve_store(out);
	if (validate_store_settings(out, err) < 0)
		goto done;
	resolve_providers(out);
	out->verbosity = cli->opt[OPT_QUIET].value ? -1 : cli->verbose_count;
	out->is_json = cli->opt[OPT_JSON].value != NULL;
	out->max_runtime_ms =
	    out->v[OPT_MAX_RUNTIME].value ? out->v[OPT_MAX_RUNTIME].i : 0;
	out->seed = cli->seed;
	out->is_seed_export = cli->is_seed_export;
	rc = 0;
done:
	env_file_release(&envf);
	return rc;
}

void config_release(struct config *cfg)
{
	size_t i;

	for (i = 0; i < OPT__COUNT; i++)
		free(cfg->v[i].value);
	for (i = 0; i < cfg->n_seed_keys; i++)
		free(cfg->seed_keys[i].v.value);
	free(cfg->seed_keys);
	for (i = 0; i < cfg->n_store_settings; i++)
		free(cfg->store_settings[i].v.value);
	free(cfg->store_settings);
	free(cfg->env_file);
	free(cfg->store_url);
	for (i = 0; i < cfg->n_providers; i++) {
		int r;

		for (r = 0; r < PROLE__COUNT; r++)
			free(cfg->providers[i].v[r].value);
		free(cfg->providers[i].account_host);
	}
	memset(cfg, 0, sizeof(*cfg));
}

/* Turns argv into a struct cli using the option table: one pass that finds
 * the command word, positional arguments and flags (global flags are
 * accepted before and after the command), then checks which command may
 * take which flag and translates the earlier tool's form. */
#include "config/cli.h"

#include <string.h>

#include "util/banned.h"

static const char seed_hint[] =
    "use one of --all, --campaign ID, --incremental, --export-csv, --stats";

/* The flags given: used[id] for the table's, store_flag for a store's
 * seed flag (from the registry, not in the table). */
struct given {
	int used[OPT__COUNT];
	const struct option_def *store_flag;
};

static int set_value(struct cli *out, const struct option_def *def,
		     const char *value, struct given *g)
{
	enum option_id slot =
	    (def->flags & OPTF_ALIAS) ? def->alias_of : def->id;

	if (def->flags & OPTF_REPEATABLE)
		out->verbose_count++;
	out->opt[slot].value = value;
	out->opt[slot].via = def;
	if (option_get(def->id) == def)
		g->used[def->id] = 1;
	else
		g->store_flag = def;
	return 0;
}

/* A store's seed flag (--NAME) from the registry; NULL when none. */
static const struct option_def *store_flag(const struct config_registry *reg,
					   const char *name, size_t len)
{
	size_t i;

	for (i = 0; reg && i < reg->n_stores; i++) {
		const struct option_def *def = reg->stores[i]->seed_flag;

		if (def && strlen(def->flag) == len &&
		    !memcmp(def->flag, name, len))
			return def;
	}
	return NULL;
}

static int parse_long(struct cli *out, int argc, const char *const *argv,
		      int *i, struct given *g, struct err *err)
{
	const char *name = argv[*i] + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct option_def *def = option_by_flag(name, len);
	const char *value = "1";

	if (!def)
		def = store_flag(out->reg, name, len);
	if (!def)
		return err_set(err, ERR_USAGE, 0, "unknown option '--%.*s'",
			       (int)(len > 64 ? 64 : len), name);
	if (def->kind == OPTK_FLAG) {
		if (eq)
			return err_set(err, ERR_USAGE, 0,
				       "option '--%s' takes no value",
				       def->flag);
	} else if (eq) {
		value = eq + 1;
	} else if (*i + 1 < argc) {
		value = argv[++*i];
	} else {
		return err_set(err, ERR_USAGE, 0,
			       "option '--%s' needs a value (%s)", def->flag,
			       def->arg);
	}
	return set_value(out, def, value, g);
}

static int parse_short(struct cli *out, const char *arg, struct given *g,
		       struct err *err)
{
	const char *p;

	for (p = arg + 1; *p; p++) {
		const struct option_def *def = option_by_short(*p);

		if (!def || def->kind != OPTK_FLAG) {
			unsigned char c = (unsigned char)*p;

			if (c < 0x20 || c >= 0x7f)
				return err_set(err, ERR_USAGE, 0,
					       "unknown option '%s'", "-?");
			return err_set(err, ERR_USAGE, 0,
				       "unknown option '-%c'", *p);
		}
		set_value(out, def, "1", g);
	}
	return 0;
}

static int add_word(struct cli *out, const char *word, struct err *err)
{
	if (!out->command) {
		if (!command_spec_find(out->reg, word))
			return err_set(err, ERR_USAGE, 0,
				       "unknown command '%.64s'", word);
		out->command = word;
		return 0;
	}
	if (out->n_args == CLI_MAX_ARGS)
		return err_set(err, ERR_USAGE, 0, "too many arguments");
	out->args[out->n_args++] = word;
	return 0;
}

static int check_pair(const struct given *g, enum option_id a, enum option_id b,
		      struct err *err)
{
	if (g->used[a] && g->used[b])
		return err_set(err, ERR_USAGE, 0,
			       "options '--%s' and '--%s' cannot be used "
			       "together",
			       option_get(a)->flag, option_get(b)->flag);
	return 0;
}

/* The provider the earlier tool's flags mean; NULL when none. */
static const char *seed_provider(const struct config_registry *reg)
{
	size_t i;

	for (i = 0; reg && i < reg->n_providers; i++)
		if (reg->providers[i]->is_earlier_tool)
			return reg->providers[i]->name;
	return NULL;
}

/* The earlier tool: exactly one action, for its one provider. */
static int translate_seed(struct cli *out, const struct given *g,
			  struct err *err)
{
	const struct option_def *first = NULL;
	const char *provider = seed_provider(out->reg);
	size_t i;

	for (i = 0; i < OPT__COUNT; i++) {
		const struct option_def *def = option_get((enum option_id)i);

		if (!g->used[i])
			continue;
		if (!(def->commands & (CMDB_GLOBAL | CMDB_SEED)))
			return err_set(err, ERR_USAGE, 0,
				       "option '--%s' needs a command",
				       def->flag);
		if (!(def->flags & OPTF_SEED_ACTION))
			continue;
		if (first)
			return err_set(err, ERR_USAGE, 0,
				       "options '--%s' and '--%s' cannot be "
				       "used together",
				       first->flag, def->flag);
		first = def;
	}
	if (!first) {
		for (i = 0; i < OPT__COUNT; i++)
			if (g->used[i] &&
			    !(option_get((enum option_id)i)->commands &
			      CMDB_GLOBAL))
				return err_set(err, ERR_USAGE, 0,
					       "no action given; %s",
					       seed_hint);
		if (g->store_flag)
			return err_set(err, ERR_USAGE, 0, "no action given; %s",
				       seed_hint);
		return err_set(err, ERR_USAGE, 0, "no command given");
	}
	if (!provider)
		return err_set(err, ERR_USAGE, 0,
			       "no provider takes the earlier tool's form");
	out->opt[OPT_PROVIDER].value = provider;
	out->opt[OPT_PROVIDER].via = NULL;
	out->command = "sync";
	switch (first->id) {
	case OPT_SEED_ALL:
		out->seed = SEED_ALL;
		out->is_seed_export = 1;
		break;
	case OPT_CAMPAIGN:
		out->seed = SEED_CAMPAIGN;
		out->is_seed_export = 1;
		break;
	case OPT_INCREMENTAL:
		out->seed = SEED_INCREMENTAL;
		break;
	case OPT_SEED_EXPORT_CSV:
		out->seed = SEED_EXPORT_CSV;
		out->command = "export";
		out->args[0] = "csv";
		out->n_args = 1;
		break;
	default:
		out->seed = SEED_STATS;
		out->command = "stats";
		break;
	}
	return 0;
}

static int check_command(struct cli *out, const struct given *g,
			 struct err *err)
{
	const struct command_spec *spec =
	    command_spec_find(out->reg, out->command);
	const struct option_def *bad = NULL;
	size_t i;

	for (i = 0; i < OPT__COUNT && !bad; i++)
		if (g->used[i] && !(option_get((enum option_id)i)->commands &
				    (CMDB_GLOBAL | spec->bit)))
			bad = option_get((enum option_id)i);
	if (!bad && g->store_flag &&
	    !(g->store_flag->commands & (CMDB_GLOBAL | spec->bit)))
		bad = g->store_flag;
	if (bad)
		return err_set(err, ERR_USAGE, 0,
			       "option '--%s' is not valid for '%s'", bad->flag,
			       spec->name);
	return 0;
}

int cli_parse(struct cli *out, int argc, const char *const *argv,
	      const struct config_registry *reg, struct err *err)
{
	const struct command_spec *spec;
	struct given g;
	int i, is_words_only = 0;

	memset(out, 0, sizeof(*out));
	memset(&g, 0, sizeof(g));
	out->reg = reg;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc;

		if (is_words_only || a[0] != '-' || !a[1])
			rc = add_word(out, a, err);
		else if (!strcmp(a, "--"))
			rc = 0, is_words_only = 1;
		else if (a[1] == '-')
			rc = parse_long(out, argc, argv, &i, &g, err);
		else
			rc = parse_short(out, a, &g, err);
		if (rc < 0)
			return -1;
	}
	spec = command_spec_find(reg, out->command);
	if (spec && spec->bit == CMDB_HELP) {
		if (out->n_args > 1)
			return err_set(err, ERR_USAGE, 0, "too many arguments");
		if (out->n_args && !command_spec_find(reg, out->args[0]))
			return err_set(err, ERR_USAGE, 0,
				       "unknown command '%.64s'", out->args[0]);
		out->help_topic = out->n_args ? out->args[0] : NULL;
		return 0;
	}
	if (g.used[OPT_HELP]) {
		out->help_topic = out->command;
		return 0;
	}
	if (g.used[OPT_VERSION] || g.used[OPT_HELP_MAN])
		return 0;
	if (check_pair(&g, OPT_VERBOSE, OPT_QUIET, err) < 0 ||
	    check_pair(&g, OPT_FULL, OPT_INCREMENTAL, err) < 0)
		return -1;
	if (g.used[OPT_STORE] && g.store_flag)
		return err_set(err, ERR_USAGE, 0,
			       "options '--%s' and '--%s' cannot be used "
			       "together",
			       option_get(OPT_STORE)->flag, g.store_flag->flag);
	if (g.used[OPT_HOURS] && !g.used[OPT_INCREMENTAL])
		return err_set(err, ERR_USAGE, 0,
			       "option '--hours' needs '--incremental'");
	if (!out->command)
		return translate_seed(out, &g, err);
	return check_command(out, &g, err);
}

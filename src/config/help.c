/* Writes --help text and the roff man page from the option table and the
 * command list. */
#include "config/help.h"

#include <stdarg.h>
#include <string.h>

#include "util/xalloc.h"
#include "util/banned.h"

#define HELP_COL 28
#define HELP_WIDTH 79

static const char exit_codes[] =
    "0 complete, 1 runtime failure, 2 usage or configuration error, "
    "3 partial (time budget reached, state saved), 4 provider rejected "
    "the credentials, 5 store unavailable, 6 not found";

/* Both are followed by the stores' seed flags. */
static const char seed_form[] =
    "--all | --campaign ID | --incremental [--hours N] | "
    "--export-csv | --stats [--export-dir DIR] [--verbose]";

/* After "... and mean " and the earlier tool's provider. */
static const char seed_text[] =
    ": --all "
    "syncs every campaign and --campaign ID one campaign, both then "
    "writing the csv files; --incremental skips campaigns checked less "
    "than --hours (default 24) ago; --export-csv and --stats are "
    "'export csv' and 'stats'.";

/* The text comes from fixed tables (options, commands, the registry): a few
 * KiB, far below the BUF_DEFAULT_MAX (64 MiB) of the buffer help.h asks for.
 * An append that fails is therefore a broken invariant, never input to
 * report, and stops with BUG() rather than print a cut text. */
static void out_append(struct buf *out, const char *s, size_t n)
{
	if (buf_append(out, s, n) < 0)
		BUG("help text larger than its buffer");
}

static void out_puts(struct buf *out, const char *s)
{
	out_append(out, s, strlen(s));
}

static void out_putc(struct buf *out, char c)
{
	out_append(out, &c, 1);
}

__attribute__((format(printf, 2, 3))) static void
out_printf(struct buf *out, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(out, fmt, ap);
	va_end(ap);
	if (rc < 0)
		BUG("help text larger than its buffer");
}

/* The seed form's synopsis (after "espsync ") or its description. */
static void seed_form_text(struct buf *out, const struct config_registry *reg,
			   int is_synopsis)
{
	const char *title = "no provider";
	size_t i;

	for (i = 0; i < reg->n_providers; i++)
		if (reg->providers[i]->is_earlier_tool)
			title = reg->providers[i]->title;
	if (is_synopsis)
		out_puts(out, seed_form);
	else
		out_printf(out,
			   "The earlier tool's flags keep working and mean "
			   "%s%s",
			   title, seed_text);

	for (i = 0; i < reg->n_stores; i++) {
		const struct option_def *f = reg->stores[i]->seed_flag;

		if (!f)
			continue;
		if (is_synopsis)
			out_printf(out, " [--%s %s]", f->flag, f->arg);
		else
			out_printf(out, " --%s is --%s.", f->flag,
				   option_get(f->alias_of)->flag);
	}
}

/* An option's help line; the store URL's lists every store's forms. */
static void option_help(struct buf *out, const struct config_registry *reg,
			const struct option_def *def)
{
	size_t i;

	out_puts(out, def->help);
	if (def != option_get(OPT_STORE))
		return;
	for (i = 0; i < reg->n_stores; i++)
		out_printf(out, "%s%s", i ? ", " : ": ",
			   reg->stores[i]->url_help);
}

/* "A, B and C" (sep " and ") or "a, b or all" of the registry's provider
 * titles or names, then last when not NULL. */
static void name_list(struct buf *out, const struct config_registry *reg,
		      int is_title, const char *sep, const char *last)
{
	size_t i, n = reg ? reg->n_providers : 0, total = n + (last != NULL);

	for (i = 0; i < total; i++) {
		const struct source_keys *pk = i < n ? reg->providers[i] : NULL;

		out_printf(out, "%s%s",
			   !i		    ? ""
			   : i + 1 == total ? sep
					    : ", ",
			   !pk	      ? last
			   : is_title ? pk->title
				      : pk->name);
	}
}

/* Appends text word-wrapped: the first line continues at column col (the
 * caller wrote that much), the rest are indented to indent. */
static void wrap(struct buf *out, const char *text, size_t col, size_t indent)
{
	const char *p = text;
	int is_start = 1; /* no word of ours on this line yet */

	while (*p) {
		size_t w = strcspn(p, " ");

		if (!is_start && col + 1 + w > HELP_WIDTH) {
			out_printf(out, "\n%*s", (int)indent, "");
			col = indent;
			is_start = 1;
		}
		if (!is_start) {
			out_putc(out, ' ');
			col++;
		}
		out_append(out, p, w);
		col += w;
		p += w;
		is_start = 0;
		while (*p == ' ')
			p++;
	}
	out_putc(out, '\n');
}

static void option_label(struct buf *out, const struct option_def *def)
{
	if (def->short_flag)
		out_printf(out, "-%c, --%s%s%s", def->short_flag, def->flag,
			   def->arg ? " " : "", def->arg ? def->arg : "");
	else
		out_printf(out, "    --%s%s%s", def->flag, def->arg ? " " : "",
			   def->arg ? def->arg : "");
}

/* Help line, then "(KEY; default D)": also, with is_key, "(--flag...)". */
static void option_text(struct buf *out, const struct config_registry *reg,
			const struct option_def *def, int is_key)
{
	const char *also = is_key ? def->flag : def->key, *dflt = def->def;

	if (def->kind == OPTK_PROVIDER) {
		name_list(out, reg, 0, " or ", "all");
		out_printf(out, " %s", def->help);
	} else {
		option_help(out, reg, def);
	}
	if (also && dflt)
		out_printf(out, " (%s%s; default %s)", is_key ? "--" : "", also,
			   dflt);
	else if (also)
		out_printf(out, " (%s%s)", is_key ? "--" : "", also);
	else if (dflt)
		out_printf(out, " (default %s)", dflt);
}

static void help_options(struct buf *out, const struct config_registry *reg,
			 unsigned bits)
{
	struct buf text = BUF_INIT;
	size_t i;

	for (i = 0; i < OPT__COUNT; i++) {
		const struct option_def *def = option_get((enum option_id)i);
		size_t start;

		if (!def->flag || (def->flags & OPTF_HIDDEN) ||
		    !(def->commands & bits))
			continue;
		out_puts(out, "  ");
		start = out->len;
		option_label(out, def);
		if (out->len - start + 4 > HELP_COL)
			out_printf(out, "\n%*s", HELP_COL, "");
		else
			out_printf(out, "%*s",
				   (int)(HELP_COL - 2 - (out->len - start)),
				   "");
		buf_reset(&text);
		option_text(&text, reg, def, 0);
		wrap(out, buf_str(&text), HELP_COL, HELP_COL);
	}
	buf_release(&text);
}

/* Every configuration key: the providers' (registry order), the table's,
 * then the stores' seed keys and settings; NULL after the last. */
static const struct option_def *key_at(const struct config_registry *reg,
				       size_t i)
{
	size_t k;

	for (k = 0; reg && k < reg->n_providers; k++) {
		if (i < reg->providers[k]->n_keys)
			return &reg->providers[k]->keys[i];
		i -= reg->providers[k]->n_keys;
	}
	if (i < OPT__COUNT)
		return option_get((enum option_id)i);
	i -= OPT__COUNT;
	for (k = 0; reg && k < reg->n_stores; k++) {
		if (i < reg->stores[k]->n_seed_keys)
			return &reg->stores[k]->seed_keys[i];
		i -= reg->stores[k]->n_seed_keys;
	}
	for (k = 0; reg && k < reg->n_stores; k++) {
		if (i < reg->stores[k]->n_keys)
			return &reg->stores[k]->keys[i];
		i -= reg->stores[k]->n_keys;
	}
	return NULL;
}

static void help_keys(struct buf *out, const struct config_registry *reg)
{
	struct buf text = BUF_INIT;
	const struct option_def *def;
	size_t i;

	for (i = 0; (def = key_at(reg, i)); i++) {
		if (!def->key || (def->flags & OPTF_HIDDEN))
			continue;
		buf_reset(&text);
		option_text(&text, reg, def, 1);
		out_printf(out, "  %s\n      ", def->key);
		wrap(out, buf_str(&text), 6, 6);
	}
	buf_release(&text);
}

void help_overview(struct buf *out, const struct config_registry *reg)
{
	struct buf text = BUF_INIT;
	size_t i;

	out_puts(out, "usage: espsync [global options] <command> [options]\n"
		      "       espsync --all | --campaign ID | --incremental "
		      "[--hours N] |\n"
		      "               --export-csv | --stats   (the earlier "
		      "tool's form)\n\n"
		      "commands:\n");
	for (i = 0; i < reg->n_commands; i++)
		out_printf(out, "  %-10s%s\n", reg->commands[i].name,
			   reg->commands[i].summary);
	out_puts(out, "\nglobal options:\n");
	help_options(out, reg, CMDB_GLOBAL);
	out_puts(out, "\nearlier form:\n  ");
	seed_form_text(&text, reg, 0);
	wrap(out, buf_str(&text), 2, 2);
	buf_release(&text);
	out_puts(out, "\nconfiguration (defaults < .env < environment < "
		      "flags):\n");
	help_keys(out, reg);
	out_puts(out, "\nexit codes:\n  ");
	wrap(out, exit_codes, 2, 2);
	out_puts(out, "\nsee 'espsync <command> --help' or 'man espsync'\n");
}

void help_command(struct buf *out, const struct config_registry *reg,
		  const struct command_spec *spec)
{
	struct buf usage = BUF_INIT;

	out_printf(&usage, "usage: espsync [global options] %s%s%s", spec->name,
		   spec->synopsis[0] ? " " : "", spec->synopsis);
	wrap(out, buf_str(&usage), 0, 7);
	buf_release(&usage);
	out_printf(out, "\n%s", spec->summary);
	if (spec->details) {
		out_puts(out, ". ");
		wrap(out, spec->details, strlen(spec->summary) + 2, 0);
	} else {
		out_putc(out, '\n');
	}
	if (spec->bit != CMDB_HELP) {
		out_puts(out, "\noptions:\n");
		help_options(out, reg, spec->bit);
	}
	out_puts(out, "\nglobal options:\n");
	help_options(out, reg, CMDB_GLOBAL);
}

/* roff text: backslashes and dashes escaped, no control lines. */
static void roff(struct buf *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		out_puts(out, "\\&");
	for (; *s; s++) {
		if (*s == '\\')
			out_puts(out, "\\e");
		else if (*s == '-')
			out_puts(out, "\\-");
		else
			out_putc(out, *s);
	}
}

static void man_option(struct buf *out, const struct config_registry *reg,
		       const struct option_def *def)
{
	struct buf text = BUF_INIT;

	out_puts(out, ".TP\n");
	if (def->short_flag)
		out_printf(out, "\\fB\\-%c\\fR, ", def->short_flag);
	out_puts(out, "\\fB\\-\\-");
	roff(out, def->flag);
	out_puts(out, "\\fR");
	if (def->arg) {
		out_puts(out, " \\fI");
		roff(out, def->arg);
		out_puts(out, "\\fR");
	}
	out_putc(out, '\n');
	option_text(&text, reg, def, 0);
	roff(out, buf_str(&text));
	out_putc(out, '\n');
	buf_release(&text);
}

static void man_options(struct buf *out, const struct config_registry *reg,
			unsigned bits, unsigned exclude)
{
	size_t i;

	for (i = 0; i < OPT__COUNT; i++) {
		const struct option_def *def = option_get((enum option_id)i);

		if (def->flag && !(def->flags & OPTF_HIDDEN) &&
		    (def->commands & bits) && !(def->commands & exclude))
			man_option(out, reg, def);
	}
}

/* 1 when some option other than the global ones is for the command. */
static int has_own_options(unsigned bit)
{
	size_t i;

	for (i = 0; i < OPT__COUNT; i++) {
		const struct option_def *def = option_get((enum option_id)i);

		if (def->flag && !(def->flags & OPTF_HIDDEN) &&
		    (def->commands & bit) && !(def->commands & CMDB_GLOBAL))
			return 1;
	}
	return 0;
}

void help_man(struct buf *out, const struct config_registry *reg)
{
	const struct command_spec *specs = reg->commands;
	const struct option_def *def;
	size_t i, n = reg->n_commands;
	struct buf text = BUF_INIT;

	out_puts(out, ".\\\" Generated by 'espsync --help-man' from the option "
		      "table; do not edit.\n"
		      ".TH ESPSYNC 1 \"\" \"espsync " ESPSYNC_VERSION
		      "\" \"User Commands\"\n"
		      ".SH NAME\nespsync \\- copy email\\-marketing data "
		      "from ");
	name_list(&text, reg, 1, " and ", NULL);
	roff(out, buf_str(&text));
	out_puts(out, " into a database and export it as CSV\n"
		      ".SH SYNOPSIS\n.B espsync\n"
		      "[\\fIglobal options\\fR] \\fIcommand\\fR "
		      "[\\fIoptions\\fR]\n.br\n.B espsync\n");
	buf_reset(&text);
	seed_form_text(&text, reg, 1);
	roff(out, buf_str(&text));
	out_puts(out, "\n.SH COMMANDS\n");
	for (i = 0; i < n; i++) {
		out_printf(out, ".TP\n\\fB%s\\fR ", specs[i].name);
		roff(out, specs[i].synopsis);
		out_putc(out, '\n');
		roff(out, specs[i].summary);
		out_puts(out, ".\n");
		if (specs[i].details) {
			roff(out, specs[i].details);
			out_putc(out, '\n');
		}
	}
	out_puts(out, ".SH GLOBAL OPTIONS\n");
	man_options(out, reg, CMDB_GLOBAL, 0);
	for (i = 0; i < n; i++) {
		if (!has_own_options(specs[i].bit))
			continue;
		out_printf(out, ".SS %s options\n", specs[i].name);
		man_options(out, reg, specs[i].bit, CMDB_GLOBAL);
	}
	out_puts(out, ".SH EARLIER FORM\n");
	buf_reset(&text);
	seed_form_text(&text, reg, 0);
	roff(out, buf_str(&text));
	out_putc(out, '\n');
	man_options(out, reg, CMDB_SEED, CMDB_GLOBAL | CMDB_SYNC | CMDB_EXPORT);
	for (i = 0; i < reg->n_stores; i++)
		if (reg->stores[i]->seed_flag)
			man_option(out, reg, reg->stores[i]->seed_flag);
	out_puts(out, ".SH ENVIRONMENT\nPrecedence: built\\-in defaults < "
		      "the .env file (\\fB\\-\\-env\\-file\\fR) < environment "
		      "< flags.\n");
	for (i = 0; (def = key_at(reg, i)); i++) {
		if (!def->key || (def->flags & OPTF_HIDDEN))
			continue;
		out_printf(out, ".TP\n.B %s\n", def->key);
		buf_reset(&text);
		option_text(&text, reg, def, 1);
		roff(out, buf_str(&text));
		out_putc(out, '\n');
	}
	out_puts(out, ".SH FILES\n.TP\n.I .env\nKEY=VALUE lines: optional "
		      "\\fBexport\\fR prefix, # comments, single or double "
		      "quotes (\\en, \\e\" and \\e\\e escapes in double "
		      "quotes). Keep it private: chmod 600.\n"
		      ".SH EXIT STATUS\n");
	roff(out, exit_codes);
	out_puts(out, "\n.SH SEE ALSO\nThe project's docs/architecture.md.\n");
	buf_release(&text);
}

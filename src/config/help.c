/* Writes --help text and the roff man page from the option table and the
 * command list. */
#include "config/help.h"

#include <stdio.h>
#include <string.h>

#include "util/banned.h"

#define HELP_COL 28
#define HELP_WIDTH 79

static const char exit_codes[] =
    "0 complete, 1 runtime failure, 2 usage or configuration error, "
    "3 partial (time budget reached, state saved), 4 provider rejected "
    "the credentials, 5 store unavailable, 6 not found";

static const char seed_form[] =
    "espsync --all | --campaign ID | --incremental [--hours N] | "
    "--export-csv | --stats [--export-dir DIR] [--verbose] "
    "[--mongo-url URL]";

/* After "... and mean " and the earlier tool's provider. */
static const char seed_text[] =
    ": --all "
    "syncs every campaign and --campaign ID one campaign, both then "
    "writing the csv files; --incremental skips campaigns checked less "
    "than --hours (default 24) ago; --export-csv and --stats are "
    "'export csv' and 'stats'. --mongo-url is --store.";

/* The earlier form's paragraph, naming the provider it means. */
static void seed_paragraph(char *out, size_t size,
			   const struct config_registry *reg)
{
	const char *title = "no provider";
	size_t i;

	for (i = 0; reg && i < reg->n_providers; i++)
		if (reg->providers[i]->is_earlier_tool)
			title = reg->providers[i]->title;
	snprintf(out, size,
		 "The earlier tool's flags keep working and mean %s%s", title,
		 seed_text);
}

/* "A, B and C" (sep " and ") or "a, b or all" of the registry's provider
 * titles or names, then last when not NULL. */
static void name_list(char *out, size_t size, const struct config_registry *reg,
		      int is_title, const char *sep, const char *last)
{
	size_t i, n = reg ? reg->n_providers : 0, total = n + (last != NULL);
	size_t len;

	out[0] = '\0';
	for (i = 0; i < total; i++) {
		const struct source_keys *pk = i < n ? reg->providers[i] : NULL;

		len = strlen(out);
		snprintf(out + len, size - len, "%s%s",
			 !i		  ? ""
			 : i + 1 == total ? sep
					  : ", ",
			 !pk	    ? last
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
			buf_printf(out, "\n%*s", (int)indent, "");
			col = indent;
			is_start = 1;
		}
		if (!is_start) {
			buf_putc(out, ' ');
			col++;
		}
		buf_append(out, p, w);
		col += w;
		p += w;
		is_start = 0;
		while (*p == ' ')
			p++;
	}
	buf_putc(out, '\n');
}

static void option_label(char *out, size_t size, const struct option_def *def)
{
	if (def->short_flag)
		snprintf(out, size, "-%c, --%s%s%s", def->short_flag, def->flag,
			 def->arg ? " " : "", def->arg ? def->arg : "");
	else
		snprintf(out, size, "    --%s%s%s", def->flag,
			 def->arg ? " " : "", def->arg ? def->arg : "");
}

static void option_text(char *out, size_t size, const struct option_def *def,
			const struct config_registry *reg)
{
	const char *key = def->key, *dflt = def->def;
	char help[256];

	if (def->kind == OPTK_PROVIDER) {
		name_list(help, sizeof(help), reg, 0, " or ", "all");
		snprintf(help + strlen(help), sizeof(help) - strlen(help),
			 " %s", def->help);
	} else {
		snprintf(help, sizeof(help), "%s", def->help);
	}
	if (key && dflt)
		snprintf(out, size, "%s (%s; default %s)", help, key, dflt);
	else if (key)
		snprintf(out, size, "%s (%s)", help, key);
	else if (dflt)
		snprintf(out, size, "%s (default %s)", help, dflt);
	else
		snprintf(out, size, "%s", help);
}

static void help_options(struct buf *out, unsigned bits,
			 const struct config_registry *reg)
{
	char label[64], text[512];
	size_t i;

	for (i = 0; i < OPT__COUNT; i++) {
		const struct option_def *def = option_get((enum option_id)i);
		size_t n;

		if (!def->flag || (def->flags & OPTF_HIDDEN) ||
		    !(def->commands & bits))
			continue;
		option_label(label, sizeof(label), def);
		option_text(text, sizeof(text), def, reg);
		n = strlen(label) + 2;
		buf_printf(out, "  %s", label);
		if (n + 2 > HELP_COL) {
			buf_printf(out, "\n%*s", HELP_COL, "");
			n = HELP_COL;
		} else {
			buf_printf(out, "%*s", (int)(HELP_COL - n), "");
			n = HELP_COL;
		}
		wrap(out, text, n, HELP_COL);
	}
}

/* A configuration key's help line: text, flag and default. */
static void key_text(char *out, size_t size, const struct option_def *def)
{
	if (def->flag && def->def)
		snprintf(out, size, "%s (--%s; default %s)", def->help,
			 def->flag, def->def);
	else if (def->flag)
		snprintf(out, size, "%s (--%s)", def->help, def->flag);
	else if (def->def)
		snprintf(out, size, "%s (default %s)", def->help, def->def);
	else
		snprintf(out, size, "%s", def->help);
}

/* The providers' keys (registry order), then the option table's entries
 * (keyed or not); NULL after the last. */
static const struct option_def *key_at(const struct config_registry *reg,
				       size_t i)
{
	size_t p;

	for (p = 0; reg && p < reg->n_providers; p++) {
		if (i < reg->providers[p]->n_keys)
			return &reg->providers[p]->keys[i];
		i -= reg->providers[p]->n_keys;
	}
	return option_get((enum option_id)i);
}

static void help_keys(struct buf *out, const struct config_registry *reg)
{
	const struct option_def *def;
	char text[512];
	size_t i;

	for (i = 0; (def = key_at(reg, i)) != NULL; i++) {
		if (!def->key)
			continue;
		key_text(text, sizeof(text), def);
		buf_printf(out, "  %s\n      ", def->key);
		wrap(out, text, 6, 6);
	}
}

void help_overview_head(struct buf *out)
{
	buf_puts(out, "usage: espsync [global options] <command> [options]\n"
		      "       espsync --all | --campaign ID | --incremental "
		      "[--hours N] |\n"
		      "               --export-csv | --stats   (the earlier "
		      "tool's form)\n\n"
		      "commands:\n");
}

void help_overview_command(struct buf *out, const char *name,
			   const char *summary)
{
	buf_printf(out, "  %-10s%s\n", name, summary);
}

void help_overview_tail(struct buf *out, const struct config_registry *reg)
{
	char text[1024];

	buf_puts(out, "\nglobal options:\n");
	help_options(out, CMDB_GLOBAL, reg);
	buf_puts(out, "\nearlier form:\n  ");
	seed_paragraph(text, sizeof(text), reg);
	wrap(out, text, 2, 2);
	buf_puts(out, "\nconfiguration (defaults < .env < environment < "
		      "flags):\n");
	help_keys(out, reg);
	buf_puts(out, "\nexit codes:\n  ");
	wrap(out, exit_codes, 2, 2);
	buf_puts(out, "\nsee 'espsync <command> --help' or 'man espsync'\n");
}

void help_command(struct buf *out, const struct command_spec *spec,
		  const struct config_registry *reg)
{
	char usage[512];

	snprintf(usage, sizeof(usage), "usage: espsync [global options] %s%s%s",
		 spec->name, spec->synopsis[0] ? " " : "", spec->synopsis);
	wrap(out, usage, 0, 7);
	buf_printf(out, "\n%s", spec->summary);
	if (spec->details) {
		buf_puts(out, ". ");
		wrap(out, spec->details, strlen(spec->summary) + 2, 0);
	} else {
		buf_putc(out, '\n');
	}
	if (spec->bit != CMDB_HELP) {
		buf_puts(out, "\noptions:\n");
		help_options(out, spec->bit, reg);
	}
	buf_puts(out, "\nglobal options:\n");
	help_options(out, CMDB_GLOBAL, reg);
}

/* roff text: backslashes and dashes escaped, no control lines. */
static void roff(struct buf *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		buf_puts(out, "\\&");
	for (; *s; s++) {
		if (*s == '\\')
			buf_puts(out, "\\e");
		else if (*s == '-')
			buf_puts(out, "\\-");
		else
			buf_putc(out, *s);
	}
}

static void man_option(struct buf *out, const struct option_def *def,
		       const struct config_registry *reg)
{
	char text[512];

	buf_puts(out, ".TP\n");
	if (def->short_flag)
		buf_printf(out, "\\fB\\-%c\\fR, ", def->short_flag);
	buf_puts(out, "\\fB\\-\\-");
	roff(out, def->flag);
	buf_puts(out, "\\fR");
	if (def->arg) {
		buf_puts(out, " \\fI");
		roff(out, def->arg);
		buf_puts(out, "\\fR");
	}
	buf_putc(out, '\n');
	option_text(text, sizeof(text), def, reg);
	roff(out, text);
	buf_putc(out, '\n');
}

static void man_options(struct buf *out, unsigned bits, unsigned exclude,
			const struct config_registry *reg)
{
	size_t i;

	for (i = 0; i < OPT__COUNT; i++) {
		const struct option_def *def = option_get((enum option_id)i);

		if (def->flag && !(def->flags & OPTF_HIDDEN) &&
		    (def->commands & bits) && !(def->commands & exclude))
			man_option(out, def, reg);
	}
}

void help_man(struct buf *out, const struct config_registry *reg)
{
	const struct command_spec *specs;
	const struct option_def *def;
	size_t i, n;
	char text[1024];

	specs = command_specs(&n);
	buf_puts(out, ".\\\" Generated by 'espsync --help-man' from the option "
		      "table; do not edit.\n"
		      ".TH ESPSYNC 1 \"\" \"espsync " ESPSYNC_VERSION
		      "\" \"User Commands\"\n"
		      ".SH NAME\nespsync \\- copy email\\-marketing data "
		      "from ");
	name_list(text, sizeof(text), reg, 1, " and ", NULL);
	roff(out, text);
	buf_puts(out, " into a database and export it as CSV\n"
		      ".SH SYNOPSIS\n.B espsync\n"
		      "[\\fIglobal options\\fR] \\fIcommand\\fR "
		      "[\\fIoptions\\fR]\n.br\n.B espsync\n");
	roff(out, seed_form + strlen("espsync "));
	buf_puts(out, "\n.SH COMMANDS\n");
	for (i = 0; i < n; i++) {
		buf_printf(out, ".TP\n\\fB%s\\fR ", specs[i].name);
		roff(out, specs[i].synopsis);
		buf_putc(out, '\n');
		roff(out, specs[i].summary);
		buf_puts(out, ".\n");
		if (specs[i].details) {
			roff(out, specs[i].details);
			buf_putc(out, '\n');
		}
	}
	buf_puts(out, ".SH GLOBAL OPTIONS\n");
	man_options(out, CMDB_GLOBAL, 0, reg);
	for (i = 0; i < n; i++) {
		if (specs[i].bit == CMDB_HELP || specs[i].bit == CMDB_CHECK)
			continue;
		buf_printf(out, ".SS %s options\n", specs[i].name);
		man_options(out, specs[i].bit, CMDB_GLOBAL, reg);
	}
	buf_puts(out, ".SH EARLIER FORM\n");
	seed_paragraph(text, sizeof(text), reg);
	roff(out, text);
	buf_putc(out, '\n');
	man_options(out, CMDB_SEED, CMDB_GLOBAL | CMDB_SYNC | CMDB_EXPORT, reg);
	buf_puts(out, ".SH ENVIRONMENT\nPrecedence: built\\-in defaults < "
		      "the .env file (\\fB\\-\\-env\\-file\\fR) < environment "
		      "< flags.\n");
	for (i = 0; (def = key_at(reg, i)) != NULL; i++) {
		if (!def->key)
			continue;
		buf_printf(out, ".TP\n.B %s\n", def->key);
		key_text(text, sizeof(text), def);
		roff(out, text);
		buf_putc(out, '\n');
	}
	buf_puts(out, ".SH FILES\n.TP\n.I .env\nKEY=VALUE lines: optional "
		      "\\fBexport\\fR prefix, # comments, single or double "
		      "quotes (\\en, \\e\" and \\e\\e escapes in double "
		      "quotes). Keep it private: chmod 600.\n"
		      ".SH EXIT STATUS\n");
	roff(out, exit_codes);
	buf_puts(out, "\n.SH SEE ALSO\nThe project's docs/architecture.md.\n");
}

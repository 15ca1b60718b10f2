/* What every subcommand shares: error lines, exit-code ranking, opening the
 * store, and turning the configuration into a sync request. */
#include "cmd/cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "source/source.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* fmt formatted into b, or a placeholder when it would pass b's maximum:
 * an error line is never cut. */
static const char *format_msg(struct buf *b, const char *fmt, va_list ap)
{
	if (buf_vprintf(b, fmt, ap) < 0)
		return "(message too long)";
	return buf_str(b);
}

static void verror(const char *fmt, va_list ap)
{
	struct buf msg = BUF_INIT;

	log_error("%s", format_msg(&msg, fmt, ap));
	buf_release(&msg);
}

void cmd_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(fmt, ap);
	va_end(ap);
}

int cmd_usage(const char *cmd, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	const char *text;
	va_list ap;

	va_start(ap, fmt);
	text = format_msg(&msg, fmt, ap);
	va_end(ap);
	cmd_error("%s; see 'espsync %s%s--help'", text, cmd ? cmd : "",
		  cmd ? " " : "");
	if (log_is_json()) {
		struct err e = ERR_INIT;

		err_set(&e, ERR_USAGE, 0, "%s", text);
		cmd_json_error(cmd, &e, EXIT_USAGE);
	}
	buf_release(&msg);
	return EXIT_USAGE;
}

void cmd_json_error(const char *command, const struct err *err, int code)
{
	struct buf b = BUF_INIT;
	int rc = buf_putc(&b, '{');

	if (command) {
		rc |= buf_puts(&b, "\"command\":");
		rc |= jsonw_string(&b, command);
		rc |= buf_putc(&b, ',');
	}
	rc |= buf_printf(&b,
			 "\"status\":\"error\",\"exit_code\":%d,"
			 "\"error\":{\"kind\":",
			 code);
	rc |= jsonw_string(&b, err_kind_name(err->kind));
	rc |= buf_puts(&b, ",\"message\":");
	rc |= jsonw_string(&b, err->msg);
	rc |= buf_puts(&b, "}}");
	cmd_print_json(&b, rc);
	buf_release(&b);
}

int cmd_fail(const struct err *err, const char *what_fmt, ...)
{
	struct buf what = BUF_INIT;
	const char *text;
	va_list ap;

	va_start(ap, what_fmt);
	text = format_msg(&what, what_fmt, ap);
	va_end(ap);
	cmd_error("%s: %s", text,
		  err->msg[0] ? err->msg : err_kind_name(err->kind));
	buf_release(&what);
	return (int)err_exit_code(err);
}

int cmd_json_failure_append(struct buf *b, const char *command,
			    const struct err *err, int code)
{
	int rc = 0;

	rc |= buf_puts(b, "{\"command\":");
	rc |= jsonw_string(b, command);
	rc |= buf_puts(b, ",\"status\":\"failed\",\"error\":{\"kind\":");
	rc |= jsonw_string(b, err_kind_name(err->kind));
	rc |= buf_puts(b, ",\"message\":");
	rc |= jsonw_string(b, err->msg);
	rc |= buf_printf(b, "},\"exit_code\":%d}", code);
	return rc;
}

void cmd_json_failure(const struct config *cfg, const char *command,
		      const struct err *err, int code)
{
	struct buf b = BUF_INIT;

	if (!cfg->is_json)
		return;
	/* the command fails with code already; a summary that does not fit
	 * only adds its own error line */
	cmd_print_json(&b, cmd_json_failure_append(&b, command, err, code));
	buf_release(&b);
}

int cmd_exit_worse(int a, int b)
{
	return api_exit_worse(a, b);
}

void cmd_store_options(struct store_options *out, const struct config *cfg)
{
	api_store_options(out, cfg);
}

int cmd_open_store(struct store **out, const struct config *cfg,
		   const char *command)
{
	struct err err = ERR_INIT;
	struct store_options opts = STORE_OPTIONS_INIT;
	int code = 0;

	cmd_store_options(&opts, cfg);
	*out = NULL;
	if (store_open_with(out, cfg->store_url, &opts, &err) < 0) {
		if (err.kind == ERR_NONE)
			err.kind = ERR_STORE;
		/* store messages name the (redacted) store already */
		code = (int)err_exit_code(&err);
		cmd_error("%s", err.msg[0] ? err.msg : "cannot open store");
		if (command)
			cmd_json_failure(cfg, command, &err, code);
		*out = NULL;
	}
	return code;
}

void cmd_registry_init(struct cmd_registry *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; source_registry[i] && i < CMD_MAX_PROVIDERS; i++)
		out->providers[i] = source_registry[i]->keys;
	out->reg.providers = out->providers;
	out->reg.n_providers = i;
	for (i = 0; store_backends[i] && i < CMD_MAX_STORES; i++)
		out->stores[i] = store_backends[i]->keys;
	out->reg.stores = out->stores;
	out->reg.n_stores = i;
	out->reg.commands = cmd_table;
	out->reg.n_commands = cmd_table_len;
}

const char *cmd_only_provider(const struct config *cfg)
{
	const char *p = config_str(cfg, OPT_PROVIDER);

	return p && strcmp(p, "all") ? p : NULL;
}

enum progress_mode cmd_progress(const struct config *cfg)
{
	if (cfg->verbosity < 0)
		return PROGRESS_NONE;
	if (cfg->is_json)
		return PROGRESS_JSON;
	if (isatty(STDERR_FILENO))
		return PROGRESS_TTY;
	return PROGRESS_PLAIN;
}

void cmd_format_count(char *out, int64_t n)
{
	char digits[24];
	size_t len, i, o = 0;
	uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;

	snprintf(digits, sizeof(digits), "%llu", (unsigned long long)u);
	len = strlen(digits);
	if (n < 0)
		out[o++] = '-';
	for (i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

int cmd_print_json(const struct buf *b, int rc)
{
	if (rc) {
		cmd_error("cannot build the json summary: too long");
		return EXIT_RUNTIME;
	}
	fwrite(buf_str(b), 1, b->len, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	return 0;
}

int cmd_json_double(struct buf *b, double v, int decimals)
{
	return buf_printf(b, "%.*f", decimals, v);
}

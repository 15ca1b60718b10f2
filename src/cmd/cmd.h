/* The subcommands main.c dispatches to, and what they share: printing
 * errors, mapping them to exit codes, opening the store and filling sync
 * requests from the configuration. Only cmd_* and main print or exit. */
#ifndef ESPSYNC_CMD_H
#define ESPSYNC_CMD_H

#include <stdint.h>

#include "config/config.h"
#include "core/sync.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

/* The command table (cmd_table.c): every command main.c runs and help
 * describes. */
extern const struct command_spec cmd_table[];
extern const size_t cmd_table_len;

/* argv holds the arguments after the command word; returns the exit code. */
int cmd_sync(int argc, const char *const *argv, const struct config *cfg);
int cmd_export(int argc, const char *const *argv, const struct config *cfg);
int cmd_stats(int argc, const char *const *argv, const struct config *cfg);
int cmd_report(int argc, const char *const *argv, const struct config *cfg);
int cmd_state(int argc, const char *const *argv, const struct config *cfg);
int cmd_check(int argc, const char *const *argv, const struct config *cfg);

/* "espsync: <msg>" on stderr (an NDJSON log event under --json). */
void cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error for cmd: adds "; see 'espsync CMD --help'"; returns 2. */
int cmd_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "espsync: <what>: <err->msg>" and returns err's exit code. */
int cmd_fail(const struct err *err, const char *what_fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Under --json: {"command":..,"status":"failed","error":{..},"exit_code":N}
 * on stdout, so that stdout always holds exactly one object. */
void cmd_json_failure(const struct config *cfg, const char *command,
		      const struct err *err, int code);
/* {"command":..,"status":"error","exit_code":N,"error":{"kind":..,
 * "message":..}} on stdout: a usage or configuration error under --json
 * (command may be NULL). cmd_usage prints it itself under --json. */
void cmd_json_error(const char *command, const struct err *err, int code);
/* The more serious of two exit codes (0 < 3 < 6, 7 < 1 < 2 < 4 < 5 <
 * 130, 143). */
int cmd_exit_worse(int a, int b);

/* The store settings cfg holds (ESPSYNC_RETENTION_DAYS, ...). */
void cmd_store_options(struct store_options *out, const struct config *cfg);

/* Opens cfg's store; prints the error (and, with a command name under
 * --json, the failure object) and returns its exit code (5, or 2 for a bad
 * URL) on failure, 0 on success. */
int cmd_open_store(struct store **out, const struct config *cfg,
		   const char *command);

/* The provider and store registries and the command table as the
 * configuration layer sees them (struct config_registry), built from
 * source_registry, store_backends and cmd_table. */
#define CMD_MAX_PROVIDERS 16
#define CMD_MAX_STORES 16

struct cmd_registry {
	struct config_registry reg;
	const struct source_keys *providers[CMD_MAX_PROVIDERS];
	const struct store_keys *stores[CMD_MAX_STORES];
};

void cmd_registry_init(struct cmd_registry *out);

/* The --provider filter as a provider name, NULL for all. */
const char *cmd_only_provider(const struct config *cfg);
enum progress_mode cmd_progress(const struct config *cfg);

/* 12345 -> "12,345" into out (at least 32 bytes). */
void cmd_format_count(char *out, int64_t n);
/* Writes the JSON object built in b and a newline to stdout and returns 0;
 * rc is the builder's result: nonzero (a part did not fit b's maximum)
 * prints "cannot build the json summary: too long" instead, never a cut
 * object, and returns EXIT_RUNTIME. */
int cmd_print_json(const struct buf *b, int rc);
/* Appends a JSON double with fixed decimals; 0, or -1 at b's maximum. */
BUF_MUST_CHECK int cmd_json_double(struct buf *b, double v, int decimals);
/* Appends the failure object cmd_json_failure prints; 0, or -1 when b
 * reached its maximum. */
BUF_MUST_CHECK int cmd_json_failure_append(struct buf *b, const char *command,
					   const struct err *err, int code);

#endif

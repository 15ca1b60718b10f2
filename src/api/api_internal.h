/* What the public API's files share, and the hidden entry points the
 * command-line tool uses: a handle over a configuration main() already
 * loaded, so that cmd_* run the same espsync_* functions a program does.
 * Nothing here is exported from the shared library. The handle owns its
 * settings and error; a wrapped configuration stays the caller's. */
#ifndef ESPSYNC_API_INTERNAL_H
#define ESPSYNC_API_INTERNAL_H

#include <signal.h>
#include <stddef.h>

#include "espsync.h"

#include "config/config.h"
#include "config/options.h"
#include "core/sync.h"
#include "store/store.h"
#include "util/err.h"

#define API_MAX_PROVIDERS 16
#define API_MAX_STORES 16

/* The providers and stores as the configuration layer sees them; no
 * commands (the library has none). */
struct api_registry {
	struct config_registry reg;
	const struct source_keys *providers[API_MAX_PROVIDERS];
	const struct store_keys *stores[API_MAX_STORES];
};

struct api_setting {
	char *key, *value;
};

struct espsync {
	struct api_setting *settings;
	size_t n_settings, cap_settings;
	char *env_file; /* NULL: none */
	int verbosity;	/* -1 quiet, 0 normal, 1 debug */
	espsync_progress_fn progress_fn;
	void *progress_data;
	volatile sig_atomic_t cancel; /* the signal asked for; 0: none */
	/* The last failed call: the error as deep code gave it, what the
	 * call was doing ("cannot reset sync state"; "" when the message
	 * says it all) and the two joined for espsync_error_message. */
	struct err err;
	char what[160];
	char message[440];
	int code;
	/* The command-line tool's configuration (api_from_config); NULL:
	 * each call loads its own from the settings. */
	const struct config *cli_cfg;
	enum progress_mode progress_mode; /* stderr output; library: none */
	struct api_registry reg;
};

/* One call's configuration: the tool's, or loaded for the call. */
struct api_call {
	espsync *ctx;
	const struct config *cfg;
	struct config own;
	int has_own;
};

void api_registry_init(struct api_registry *out);

/* A handle over cfg (borrowed; it must outlive the handle) for the
 * command-line tool: no settings of its own, errors left to the caller to
 * print, progress as api_set_progress_mode says. NULL only when memory is
 * exhausted. */
espsync *api_from_config(const struct config *cfg);
/* The stderr progress of syncs (the tool's TTY, plain or NDJSON lines). */
void api_set_progress_mode(espsync *ctx, enum progress_mode mode);
/* The last error as deep code gave it (the message without what the call
 * was doing), for the tool's JSON and its own wording. */
const struct err *api_error(const espsync *ctx);
/* What the call was doing when it failed; "" when the message is all. */
const char *api_error_what(const espsync *ctx);

/* Starts a call: clears the error, loads the configuration (unless the
 * handle wraps the tool's) and sets logging; on failure returns the exit
 * code with the error kept. api_end must follow either way. */
int api_begin(struct api_call *call, espsync *ctx);
void api_end(struct api_call *call);

/* Keeps err (kind ERR_NONE becomes dflt) as the handle's error, with what
 * the call was doing (printf-like; NULL: nothing); returns its exit
 * code. A library handle with verbosity >= 0 also logs it. */
int api_fail(espsync *ctx, const struct err *err, enum err_kind dflt,
	     const char *what_fmt, ...) __attribute__((format(printf, 4, 5)));
/* api_fail without the log line. */
int api_keep(espsync *ctx, const struct err *err, enum err_kind dflt,
	     const char *what_fmt, ...) __attribute__((format(printf, 4, 5)));
/* api_fail with a new error of kind and message. */
int api_failf(espsync *ctx, enum err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Opens the call's store; on failure the handle keeps the error (the
 * store's message names the store, redacted) and its code is returned. */
int api_open_store(struct store **out, const struct api_call *call);
void api_store_options(struct store_options *out, const struct config *cfg);

/* A request for src (one of source_registry) with everything but mode,
 * campaign, streams, budget, stop flag and progress filled in from its
 * configuration pc. */
void api_fill_request(struct sync_request *req, const struct config *cfg,
		      const struct source *src,
		      const struct account_config *pc);

/* The more serious of two exit codes (0 < 3 < 6, 7 < 1 < 2 < 4 < 5 <
 * 130, 143). */
int api_exit_worse(int a, int b);
/* "complete", "partial", "busy", "interrupted" or "failed". */
const char *api_status_of(int code);

#endif

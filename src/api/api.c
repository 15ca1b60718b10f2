/* The handle of libespsync: its settings, .env path, verbosity, progress
 * callback, cancel flag and last error, and what every call does first
 * (load the configuration from defaults < .env < settings, set logging)
 * and last (keep the error). */
#include "api/api_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/source.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Keys and values are bounded like a .env line's. */
#define MAX_KEY 128
#define MAX_VALUE (64 << 10)

void api_registry_init(struct api_registry *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; source_registry[i] && i < API_MAX_PROVIDERS; i++)
		out->providers[i] = source_registry[i]->keys;
	out->reg.providers = out->providers;
	out->reg.n_providers = i;
	for (i = 0; store_backends[i] && i < API_MAX_STORES; i++)
		out->stores[i] = store_backends[i]->keys;
	out->reg.stores = out->stores;
	out->reg.n_stores = i;
}

static espsync *handle_new(void)
{
	espsync *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->verbosity = -1;
	ctx->progress_mode = PROGRESS_NONE;
	err_clear(&ctx->err);
	api_registry_init(&ctx->reg);
	return ctx;
}

espsync *espsync_new(void)
{
	return handle_new();
}

espsync *api_from_config(const struct config *cfg)
{
	espsync *ctx = handle_new();

	if (ctx) {
		ctx->cli_cfg = cfg;
		ctx->verbosity = cfg->verbosity;
	}
	return ctx;
}

void api_set_progress_mode(espsync *ctx, enum progress_mode mode)
{
	ctx->progress_mode = mode;
}

void espsync_free(espsync *ctx)
{
	size_t i;

	if (!ctx)
		return;
	for (i = 0; i < ctx->n_settings; i++) {
		free(ctx->settings[i].key);
		free(ctx->settings[i].value);
	}
	free(ctx->settings);
	free(ctx->env_file);
	free(ctx);
}

static void clear_error(espsync *ctx)
{
	err_clear(&ctx->err);
	ctx->what[0] = '\0';
	ctx->message[0] = '\0';
	ctx->code = 0;
}

static int keep_v(espsync *ctx, const struct err *err, enum err_kind dflt,
		  const char *what_fmt, va_list ap)
{
	const char *msg;

	ctx->err = *err;
	if (ctx->err.kind == ERR_NONE)
		ctx->err.kind = dflt;
	ctx->what[0] = '\0';
	if (what_fmt)
		vsnprintf(ctx->what, sizeof(ctx->what), what_fmt, ap);
	msg = ctx->err.msg[0] ? ctx->err.msg : err_kind_name(ctx->err.kind);
	if (ctx->what[0])
		snprintf(ctx->message, sizeof(ctx->message), "%s: %s",
			 ctx->what, msg);
	else
		snprintf(ctx->message, sizeof(ctx->message), "%s", msg);
	ctx->code = (int)err_exit_code(&ctx->err);
	return ctx->code;
}

int api_keep(espsync *ctx, const struct err *err, enum err_kind dflt,
	     const char *what_fmt, ...)
{
	va_list ap;
	int code;

	va_start(ap, what_fmt);
	code = keep_v(ctx, err, dflt, what_fmt, ap);
	va_end(ap);
	return code;
}

int api_fail(espsync *ctx, const struct err *err, enum err_kind dflt,
	     const char *what_fmt, ...)
{
	va_list ap;
	int code;

	va_start(ap, what_fmt);
	code = keep_v(ctx, err, dflt, what_fmt, ap);
	va_end(ap);
	/* the tool prints its errors itself */
	if (ctx->cli_cfg || ctx->verbosity < 0)
		return code;
	if (code == ESPSYNC_PARTIAL)
		log_warn("%s", ctx->message);
	else
		log_error("%s", ctx->message);
	return code;
}

int api_failf(espsync *ctx, enum err_kind kind, const char *fmt, ...)
{
	struct err e = ERR_INIT;
	va_list ap;

	e.kind = kind;
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	return api_fail(ctx, &e, kind, NULL);
}

const struct err *api_error(const espsync *ctx)
{
	return &ctx->err;
}

const char *api_error_what(const espsync *ctx)
{
	return ctx->what;
}

const char *espsync_error_message(const espsync *ctx)
{
	return ctx ? ctx->message : "no handle";
}

const char *espsync_error_kind(const espsync *ctx)
{
	if (!ctx)
		return "usage";
	return ctx->code ? err_kind_name(ctx->err.kind) : "";
}

int espsync_error_code(const espsync *ctx)
{
	return ctx ? ctx->code : ESPSYNC_E_USAGE;
}

/* 1 when key is a setting some part of espsync reads: the option table's,
 * a provider's, or a store's (the earlier tool's and its own). */
static int is_known_key(const struct api_registry *r, const char *key)
{
	size_t i, j;

	if (option_by_key(key))
		return 1;
	for (i = 0; i < r->reg.n_providers; i++)
		for (j = 0; j < r->providers[i]->n_keys; j++)
			if (r->providers[i]->keys[j].key &&
			    !strcmp(r->providers[i]->keys[j].key, key))
				return 1;
	for (i = 0; i < r->reg.n_stores; i++) {
		const struct store_keys *sk = r->stores[i];

		for (j = 0; j < sk->n_seed_keys; j++)
			if (!strcmp(sk->seed_keys[j].key, key))
				return 1;
		for (j = 0; j < sk->n_keys; j++)
			if (!strcmp(sk->keys[j].key, key))
				return 1;
	}
	return 0;
}

static struct api_setting *find_setting(espsync *ctx, const char *key)
{
	size_t i;

	for (i = 0; i < ctx->n_settings; i++)
		if (!strcmp(ctx->settings[i].key, key))
			return &ctx->settings[i];
	return NULL;
}

int espsync_set(espsync *ctx, const char *key, const char *value)
{
	struct api_setting *st;

	if (!ctx)
		return ESPSYNC_E_USAGE;
	clear_error(ctx);
	if (!key || !*key)
		return api_failf(ctx, ERR_USAGE, "no setting named");
	if (strlen(key) > MAX_KEY || !is_known_key(&ctx->reg, key))
		return api_failf(ctx, ERR_USAGE, "unknown setting '%.64s'",
				 key);
	if (value && strlen(value) > MAX_VALUE)
		return api_failf(ctx, ERR_USAGE,
				 "value of '%s' longer than %d bytes", key,
				 MAX_VALUE);
	st = find_setting(ctx, key);
	if (!value) {
		if (st) {
			free(st->key);
			free(st->value);
			*st = ctx->settings[--ctx->n_settings];
		}
		return 0;
	}
	if (!st) {
		if (ctx->n_settings == ctx->cap_settings) {
			ctx->cap_settings =
			    ctx->cap_settings ? ctx->cap_settings * 2 : 8;
			ctx->settings =
			    xrealloc(ctx->settings, ctx->cap_settings *
							sizeof(*ctx->settings));
		}
		st = &ctx->settings[ctx->n_settings++];
		st->key = xstrdup(key);
		st->value = NULL;
	}
	free(st->value);
	st->value = xstrdup(value);
	return 0;
}

int espsync_set_env_file(espsync *ctx, const char *path)
{
	if (!ctx)
		return ESPSYNC_E_USAGE;
	clear_error(ctx);
	if (path && !*path)
		return api_failf(ctx, ERR_USAGE,
				 "invalid env file: must not be empty");
	free(ctx->env_file);
	ctx->env_file = path ? xstrdup(path) : NULL;
	return 0;
}

void espsync_set_verbosity(espsync *ctx, int level)
{
	if (ctx)
		ctx->verbosity = level < -1 ? -1 : level > 1 ? 1 : level;
}

void espsync_set_progress(espsync *ctx, espsync_progress_fn fn, void *userdata)
{
	if (!ctx)
		return;
	ctx->progress_fn = fn;
	ctx->progress_data = fn ? userdata : NULL;
}

void espsync_cancel(espsync *ctx, int signo)
{
	if (ctx)
		ctx->cancel = signo > 0 ? signo : SIGINT;
}

/* The settings as the "KEY=VALUE" array config_load reads (heap). */
static char **settings_envp(const espsync *ctx)
{
	char **envp = xcalloc(ctx->n_settings + 1, sizeof(*envp));
	size_t i;

	for (i = 0; i < ctx->n_settings; i++) {
		size_t k = strlen(ctx->settings[i].key);
		size_t v = strlen(ctx->settings[i].value);

		envp[i] = xmalloc(k + v + 2);
		memcpy(envp[i], ctx->settings[i].key, k);
		envp[i][k] = '=';
		memcpy(envp[i] + k + 1, ctx->settings[i].value, v + 1);
	}
	return envp;
}

static void free_envp(char **envp)
{
	size_t i;

	for (i = 0; envp && envp[i]; i++)
		free(envp[i]);
	free(envp);
}

/* Logging is process-wide: a library call sets it from its handle. */
static void set_logging(const espsync *ctx, const struct config *cfg)
{
	size_t i;

	if (ctx->verbosity < 0)
		log_set_level(LOG_QUIET);
	else
		log_set_level(ctx->verbosity > 0 ? LOG_DEBUG : LOG_INFO);
	log_set_json(0);
	for (i = 0; cfg && i < cfg->n_notes; i++) {
		if (cfg->notes[i].level == LOG_WARN)
			log_warn("%s", cfg->notes[i].msg);
		else
			log_debug("%s", cfg->notes[i].msg);
	}
}

int api_begin(struct api_call *call, espsync *ctx)
{
	struct cli cli;
	struct err err = ERR_INIT;
	char **envp;
	int rc;

	memset(call, 0, sizeof(*call));
	call->ctx = ctx;
	clear_error(ctx);
	if (ctx->cli_cfg) {
		call->cfg = ctx->cli_cfg;
		return 0;
	}
	memset(&cli, 0, sizeof(cli));
	cli.reg = &ctx->reg.reg;
	cli.is_library = 1;
	cli.opt[OPT_ENV_FILE].value = ctx->env_file;
	cli.opt[OPT_ENV_FILE].via = option_get(OPT_ENV_FILE);
	if (ctx->verbosity < 0)
		cli.opt[OPT_QUIET].value = "1";
	else
		cli.verbose_count = ctx->verbosity;
	envp = settings_envp(ctx);
	set_logging(ctx, NULL);
	rc = config_load(&call->own, &cli, (const char *const *)envp, &err);
	call->has_own = 1;
	free_envp(envp);
	if (rc < 0)
		return api_fail(ctx, &err, ERR_CONFIG, NULL);
	call->cfg = &call->own;
	set_logging(ctx, call->cfg);
	return 0;
}

void api_end(struct api_call *call)
{
	if (call->has_own)
		config_release(&call->own);
	call->has_own = 0;
	call->cfg = NULL;
}

void api_store_options(struct store_options *out, const struct config *cfg)
{
	size_t i;

	out->retention_days = (int)cfg->v[OPT_RETENTION_DAYS].i;
	out->n_settings = 0;
	for (i = 0; i < cfg->n_store_settings; i++) {
		struct store_setting *st = &out->settings[out->n_settings];

		if (out->n_settings == STORE_MAX_SETTINGS)
			BUG("more store settings than STORE_MAX_SETTINGS");
		st->key = cfg->store_settings[i].def->key;
		st->value = cfg->store_settings[i].v.value;
		out->n_settings++;
	}
}

int api_open_store(struct store **out, const struct api_call *call)
{
	struct err err = ERR_INIT;
	struct store_options opts = STORE_OPTIONS_INIT;

	api_store_options(&opts, call->cfg);
	*out = NULL;
	if (store_open_with(out, call->cfg->store_url, &opts, &err) < 0) {
		*out = NULL;
		/* store messages name the (redacted) store already */
		if (!err.msg[0])
			snprintf(err.msg, sizeof(err.msg), "cannot open store");
		return api_fail(call->ctx, &err, ERR_STORE, NULL);
	}
	return 0;
}

void api_fill_request(struct sync_request *req, const struct config *cfg,
		      const struct source *src, const struct account_config *pc)
{
	memset(req, 0, sizeof(*req));
	req->source = src;
	req->api_url = pc->api_url;
	req->api_key = pc->api_key;
	req->account = pc->account;
	req->timezone = pc->timezone;
	req->rate_per_sec = pc->rate_per_sec;
	req->burst = pc->burst;
	req->region = pc->region;
	req->max_inflight = (int)cfg->v[OPT_MAX_INFLIGHT].i;
	/* A provider's connection ceiling: that many in flight, fewer
	 * only when --max-inflight asks for fewer. */
	if (pc->connections > 0 &&
	    (cfg->v[OPT_MAX_INFLIGHT].source <= SRC_DEFAULT ||
	     req->max_inflight > pc->connections))
		req->max_inflight = pc->connections;
	req->mode = SYNC_DEFAULT;
	req->hours = cfg->v[OPT_HOURS].i;
	req->streams = STREAM_ALL;
	/* Unset: 0, so the engine uses the provider's own default. */
	req->lookback_s = cfg->v[OPT_LOOKBACK].source > SRC_DEFAULT
			      ? cfg->v[OPT_LOOKBACK].i / 1000
			      : 0;
	/* 0 (every run) is -1 for the engine, where 0 is its default. */
	req->reconcile_s =
	    cfg->v[OPT_RECONCILE].i > 0 ? cfg->v[OPT_RECONCILE].i / 1000 : -1;
	req->progress = PROGRESS_NONE;
}

static int severity(int code)
{
	static const int rank[] = {
	    [EXIT_COMPLETE] = 0, [EXIT_PARTIAL] = 1, [EXIT_NOT_FOUND] = 2,
	    [EXIT_RUNTIME] = 3,	 [EXIT_USAGE] = 4,   [EXIT_AUTH] = 5,
	    [EXIT_STORE] = 6,	 [EXIT_BUSY] = 2,
	};

	/* a signal stops everything: nothing outranks it */
	if (code == EXIT_SIGINT || code == EXIT_SIGTERM)
		return 7;
	if (code < 0 || code >= (int)(sizeof(rank) / sizeof(rank[0])))
		return 3;
	return rank[code];
}

int api_exit_worse(int a, int b)
{
	return severity(b) > severity(a) ? b : a;
}

const char *api_status_of(int code)
{
	switch (code) {
	case EXIT_COMPLETE:
		return "complete";
	case EXIT_PARTIAL:
		return "partial";
	case EXIT_BUSY:
		return "busy";
	case EXIT_SIGINT:
	case EXIT_SIGTERM:
		return "interrupted";
	default:
		return "failed";
	}
}

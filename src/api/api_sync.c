/* espsync_sync: picks the providers, builds one sync_request each from the
 * configuration and the options, runs them against one store within one
 * time budget, and hands each provider's result to the progress callback
 * and the summary. The cancel flag is the engine's stop signal. */
#include "api/api_internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/progress.h"
#include "source/source.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/banned.h"

#define MAX_HOURS 87600

static const char *const stream_names[PROG__COUNT] = {
    [PROG_LISTS] = "lists",
    [PROG_CONTACTS] = "contacts",
    [PROG_CAMPAIGNS] = "campaigns",
    [PROG_REPORTS] = "reports",
};

/* One espsync_sync call. */
struct sync_call {
	espsync *ctx;
	const struct config *cfg;
	const struct espsync_sync_options *opts;
	const struct source *sources[API_MAX_PROVIDERS];
	const struct account_config *accounts[API_MAX_PROVIDERS];
	size_t n;
	const char *provider, *account; /* of the run going on */
	unsigned streams;
	int64_t hours, deadline_mono_ms;
};

/* The progress of the engine as the public event. */
static void on_progress(void *userdata, const struct progress_event *pe)
{
	const struct sync_call *sc = userdata;
	struct espsync_event ev;

	if (!sc->ctx->progress_fn || (unsigned)pe->kind >= PROG__COUNT)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = pe->campaign_id ? ESPSYNC_EVENT_CAMPAIGN : ESPSYNC_EVENT_PAGE;
	ev.provider = sc->provider;
	ev.account = sc->account;
	ev.stream = pe->campaign_id ? NULL : stream_names[pe->kind];
	ev.records = pe->records;
	ev.done = pe->units_done;
	ev.total = pe->units_total;
	ev.campaign_id = pe->campaign_id;
	ev.is_skipped = pe->is_skipped;
	sc->ctx->progress_fn(&ev, sc->ctx->progress_data);
}

/* Every configured provider, or the one asked for (which then must be
 * configured); the messages are the sync command's. */
static int pick_providers(struct sync_call *sc, const char *name)
{
	const struct config *cfg = sc->cfg;
	char hint[512];
	size_t i;

	if (name && !strcmp(name, "all"))
		name = NULL;
	for (i = 0; i < cfg->n_providers; i++) {
		const struct account_config *pc = &cfg->providers[i];
		const struct source *src = source_find(pc->name);

		if (!src ||
		    (name ? strcmp(name, pc->name) != 0 : !pc->is_configured))
			continue;
		if (!pc->is_configured)
			return api_failf(sc->ctx, ERR_CONFIG,
					 "provider '%s' is not configured: "
					 "set %s",
					 name, pc->missing);
		if (sc->n == API_MAX_PROVIDERS)
			break;
		sc->sources[sc->n] = src;
		sc->accounts[sc->n++] = pc;
	}
	if (name && !sc->n)
		return api_failf(sc->ctx, ERR_USAGE, "unknown provider '%.64s'",
				 name);
	if (!sc->n) {
		config_setup_hint(cfg, hint, sizeof(hint));
		return api_failf(sc->ctx, ERR_CONFIG,
				 "no provider configured: set %s", hint);
	}
	if (sc->n > 1 && sc->opts->campaign_id)
		return api_failf(sc->ctx, ERR_USAGE,
				 "option '--campaign' needs '--provider' when "
				 "several providers are configured");
	return 0;
}

/* The options a program gave (the tool's are valid already). */
static int check_options(struct sync_call *sc)
{
	const struct espsync_sync_options *o = sc->opts;
	struct err err = ERR_INIT;
	char why_buf[192];
	const char *why;

	if (o->campaign_id) {
		why = config_check_value(sc->cfg->reg, option_get(OPT_CAMPAIGN),
					 o->campaign_id, why_buf,
					 sizeof(why_buf));
		if (why)
			return api_failf(sc->ctx, ERR_USAGE,
					 "invalid value for '--campaign': %s",
					 why);
	}
	if (o->mode < ESPSYNC_MODE_DEFAULT ||
	    o->mode > ESPSYNC_MODE_INCREMENTAL)
		return api_failf(sc->ctx, ERR_USAGE, "invalid sync mode %d",
				 o->mode);
	if (o->hours < 0 || o->hours > MAX_HOURS)
		return api_failf(sc->ctx, ERR_USAGE,
				 "invalid value '%lld' for '--hours': must be "
				 "from 0 to %d",
				 (long long)o->hours, MAX_HOURS);
	if (o->max_runtime_ms < 0 || o->wait_ms < 0)
		return api_failf(sc->ctx, ERR_USAGE,
				 "invalid %s: must not be negative",
				 o->wait_ms < 0 ? "wait" : "time budget");
	sc->streams = STREAM_ALL;
	if (o->streams &&
	    sync_streams_parse(o->streams, &sc->streams, &err) < 0)
		return api_failf(sc->ctx, ERR_USAGE,
				 "invalid value for '--streams': %s", err.msg);
	return 0;
}

/* The request for one provider account: its configuration and the
 * options. */
static void fill_request(struct sync_request *req, struct sync_call *sc,
			 size_t i)
{
	api_fill_request(req, sc->cfg, sc->sources[i], sc->accounts[i]);
	req->progress = sc->ctx->progress_mode;
	req->mode = sc->opts->mode == ESPSYNC_MODE_FULL ? SYNC_FULL
		    : sc->opts->mode == ESPSYNC_MODE_INCREMENTAL
			? SYNC_INCREMENTAL
			: SYNC_DEFAULT;
	req->hours = sc->hours;
	req->campaign_id = sc->opts->campaign_id;
	req->streams = sc->streams;
	req->deadline_mono_ms = sc->deadline_mono_ms;
	req->stop_signal = &sc->ctx->cancel;
	req->lease_wait_ms = sc->opts->wait_ms;
	req->progress_hook = on_progress;
	req->progress_data = sc;
}

static void fill_result(struct espsync_provider_result *r,
			const struct sync_request *req,
			const struct sync_report *rep, const struct err *err,
			int code)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	snprintf(r->provider, sizeof(r->provider), "%s", req->source->name);
	snprintf(r->account, sizeof(r->account), "%s", req->account);
	r->exit_code = code;
	snprintf(r->status, sizeof(r->status), "%s", api_status_of(code));
	if (code) {
		snprintf(r->error_kind, sizeof(r->error_kind), "%s",
			 err_kind_name(err->kind));
		snprintf(r->error_message, sizeof(r->error_message), "%s",
			 err->msg);
	}
	r->run_id = rep->run_id;
	r->requests = rep->requests;
	r->retries = rep->retries;
	r->throttled = rep->throttled;
	for (i = 0; i < ESPSYNC_STREAMS && i < SYNC_SLOTS; i++)
		r->records[i] = rep->records[i];
	r->events = rep->events;
	r->rows_inserted = rep->rows_inserted;
	r->rows_updated = rep->rows_updated;
	r->rows_unchanged = rep->rows_unchanged;
	r->campaigns_skipped = rep->campaigns_skipped;
	r->campaigns_remaining = rep->campaigns_remaining;
	r->events_outside_retention = rep->events_outside_retention;
	r->store_requests = rep->store_requests;
	r->store_jobs = rep->store_jobs;
	r->store_bytes_uploaded = rep->store_bytes_up;
	r->elapsed_s = rep->elapsed_s;
}

/* A library handle that prints says what the command would. */
static void log_result(const espsync *ctx,
		       const struct espsync_provider_result *r)
{
	if (ctx->cli_cfg || !r->exit_code)
		return;
	if (r->exit_code == ESPSYNC_PARTIAL)
		log_warn("sync '%s' stopped: %s", r->provider,
			 r->error_message);
	else
		log_error("cannot sync '%s': %s", r->provider,
			  r->error_message[0] ? r->error_message
					      : r->error_kind);
}

/* Runs provider i into store; its result goes to r and the callback. */
static int run_one(struct sync_call *sc, size_t i, struct store *store,
		   struct espsync_provider_result *r, struct err *err)
{
	struct sync_request req;
	struct sync_report rep;
	int code = 0;

	fill_request(&req, sc, i);
	sc->provider = req.source->name;
	sc->account = req.account;
	err_clear(err);
	memset(&rep, 0, sizeof(rep));
	if (sync_run(store, &req, &rep, err) < 0) {
		if (err->kind == ERR_NONE)
			err->kind = ERR_RUNTIME;
		code = (int)err_exit_code(err);
	}
	fill_result(r, &req, &rep, err, code);
	log_result(sc->ctx, r);
	if (sc->ctx->progress_fn) {
		struct espsync_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.kind = ESPSYNC_EVENT_PROVIDER;
		ev.provider = r->provider;
		ev.account = r->account;
		ev.done = ev.total = -1;
		ev.result = r;
		sc->ctx->progress_fn(&ev, sc->ctx->progress_data);
	}
	return code;
}

/* The handle's error: the worst provider's, in the command's words (its
 * line was logged with the provider's result). */
static void keep_error(espsync *ctx, const struct err *err,
		       const char *provider)
{
	if (err->kind == ERR_PARTIAL)
		api_keep(ctx, err, ERR_RUNTIME, "sync '%s' stopped", provider);
	else if (err->kind == ERR_INTERRUPTED)
		api_keep(ctx, err, ERR_RUNTIME, "sync '%s'", provider);
	else
		api_keep(ctx, err, ERR_RUNTIME, "cannot sync '%s'", provider);
}

static void summarize(struct espsync_sync_summary *s, int code)
{
	size_t i;

	s->exit_code = code;
	snprintf(s->status, sizeof(s->status), "%s", api_status_of(code));
	for (i = 0; i < s->n_providers; i++) {
		const struct espsync_provider_result *r = &s->providers[i];

		s->requests += r->requests;
		s->events += r->events;
		s->campaigns_skipped += r->campaigns_skipped;
		s->campaigns_remaining += r->campaigns_remaining;
		s->elapsed_s += r->elapsed_s;
	}
}

/* Runs the providers one after the other until one fails the store or
 * the cancel flag is set. */
static int run_all(struct sync_call *sc, struct store *store,
		   struct espsync_sync_summary *s)
{
	struct err err, worst = ERR_INIT;
	const char *worst_provider = NULL;
	int code = 0, rc;
	size_t i;

	for (i = 0; i < sc->n; i++) {
		struct espsync_provider_result *r = &s->providers[i];

		rc = run_one(sc, i, store, r, &err);
		s->n_providers = i + 1;
		if (rc && api_exit_worse(code, rc) != code) {
			worst = err;
			worst_provider = r->provider;
		}
		code = api_exit_worse(code, rc);
		if (rc == ESPSYNC_E_STORE || sc->ctx->cancel)
			break;
	}
	if (code)
		keep_error(sc->ctx, &worst, worst_provider);
	return code;
}

int espsync_sync(espsync *ctx, const struct espsync_sync_options *opts,
		 struct espsync_sync_summary *out)
{
	static const struct espsync_sync_options defaults =
	    ESPSYNC_SYNC_OPTIONS_INIT;
	struct espsync_sync_summary *s = NULL;
	struct sync_call sc;
	struct api_call call;
	struct store *store = NULL;
	int64_t budget_ms;
	size_t out_size;
	int code;

	if (!ctx)
		return ESPSYNC_E_USAGE;
	memset(&sc, 0, sizeof(sc));
	sc.ctx = ctx;
	sc.opts = opts ? opts : &defaults;
	code = api_begin(&call, ctx);
	if (!code && opts && opts->size < sizeof(*opts))
		code = api_failf(ctx, ERR_USAGE,
				 "espsync_sync_options.size is %zu, expected "
				 "%zu",
				 opts->size, sizeof(*opts));
	if (!code && out && out->size < sizeof(*out))
		code = api_failf(ctx, ERR_USAGE,
				 "espsync_sync_summary.size is %zu, expected "
				 "%zu",
				 out->size, sizeof(*out));
	if (out && out->size >= sizeof(*out)) {
		out_size = out->size;
		memset(out, 0, sizeof(*out));
		out->size = out_size;
		s = out;
	}
	if (code)
		goto done;
	sc.cfg = call.cfg;
	sc.hours = sc.opts->hours > 0 ? sc.opts->hours : sc.cfg->v[OPT_HOURS].i;
	budget_ms = sc.opts->max_runtime_ms > 0 ? sc.opts->max_runtime_ms
						: sc.cfg->max_runtime_ms;
	if (budget_ms > 0)
		sc.deadline_mono_ms = clock_mono_ms() + budget_ms;
	code = check_options(&sc);
	if (!code)
		code = pick_providers(&sc, sc.opts->provider);
	if (!code)
		code = api_open_store(&store, &call);
	if (!code) {
		struct espsync_sync_summary local;

		if (!s) {
			memset(&local, 0, sizeof(local));
			s = &local;
		}
		code = run_all(&sc, store, s);
		if (s == &local)
			s = NULL;
	}
done:
	if (s)
		summarize(s, code);
	if (store)
		store_close(store);
	api_end(&call);
	ctx->cancel = 0;
	return code;
}

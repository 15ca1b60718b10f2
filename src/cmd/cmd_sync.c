/* `espsync sync`: runs espsync_sync with the command's options and
 * reports per provider (human lines or one JSON object) as each provider's
 * result arrives. The earlier tool's --all/--campaign also export csv
 * afterwards. */
#include "cmd/cmd.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* The handle the signal handler cancels, and the first signal (0: none);
 * the only state a handler touches. */
static espsync *sync_handle;
static volatile sig_atomic_t stop_signal;

/* The first SIGINT/SIGTERM stops the sync like --max-runtime; a second
 * exits at once (every committed batch holds its checkpoints). */
static void on_stop_signal(int sig)
{
	static const char msg[] = "espsync: stopping at once\n";

	if (stop_signal) {
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
			/* nothing more to do in a handler */
		}
		_exit(128 + sig);
	}
	stop_signal = sig;
	if (sync_handle)
		espsync_cancel(sync_handle, sig);
}

struct stop_handlers {
	struct sigaction old_int, old_term;
};

static void stop_handlers_install(struct stop_handlers *h)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: a wait in poll or nanosleep ends at the signal */
	sigaction(SIGINT, &sa, &h->old_int);
	sigaction(SIGTERM, &sa, &h->old_term);
}

static void stop_handlers_restore(const struct stop_handlers *h)
{
	sigaction(SIGINT, &h->old_int, NULL);
	sigaction(SIGTERM, &h->old_term, NULL);
}

static const char *const stream_names[ESPSYNC_STREAMS] = {
    "campaigns", "reports", "participants", "activities", "contacts", "lists",
};

struct sync_job {
	const struct config *cfg;
	struct espsync_sync_summary sum;
	int has_export;
	struct espsync_export_result exported;
	int export_code;
};

static void print_human(const struct config *cfg,
			const struct espsync_provider_result *r)
{
	int is_named = strcmp(r->account, "default") != 0;

	if (cfg->verbosity < 0)
		return;
	printf("%s%s%s: %s %s %.1f s, %lld requests (%lld retries, %lld "
	       "throttled), %lld campaigns, %lld participant rows read, %lld "
	       "events\n",
	       r->provider, is_named ? "/" : "", is_named ? r->account : "",
	       r->status, r->exit_code == EXIT_COMPLETE ? "in" : "after",
	       r->elapsed_s, (long long)r->requests, (long long)r->retries,
	       (long long)r->throttled,
	       (long long)r->records[ESPSYNC_STREAM_CAMPAIGNS],
	       (long long)r->records[ESPSYNC_STREAM_PARTICIPANTS],
	       (long long)r->events);
	if (r->events_outside_retention > 0)
		printf("%s: %lld events older than the store's retention were "
		       "not stored; ESPSYNC_RETENTION_DAYS=0 keeps them\n",
		       r->provider, (long long)r->events_outside_retention);
	fflush(stdout);
}

/* The error line of a provider's run that did not complete. */
static void print_error(const struct espsync_provider_result *r)
{
	const char *msg = r->error_message;

	switch (r->exit_code) {
	case EXIT_COMPLETE:
		break;
	case EXIT_PARTIAL:
		/* partial is no error (timers treat exit 3 as success), so
		 * -q keeps quiet about it */
		log_warn("sync '%s' stopped: %s", r->provider, msg);
		break;
	case EXIT_BUSY:
		cmd_error("cannot sync '%s': %s; try again later or wait for "
			  "it with --wait DURATION",
			  r->provider, msg);
		break;
	default:
		if (!strcmp(r->error_kind, err_kind_name(ERR_INTERRUPTED)))
			cmd_error("sync '%s' %s", r->provider, msg);
		else
			cmd_error("cannot sync '%s': %s", r->provider,
				  msg[0] ? msg : r->error_kind);
		break;
	}
}

/* Each provider's lines as its run ends (the engine's progress lines on
 * stderr come from the library itself). */
static void on_event(const struct espsync_event *ev, void *userdata)
{
	const struct sync_job *job = userdata;

	if (ev->kind != ESPSYNC_EVENT_PROVIDER)
		return;
	print_error(ev->result);
	if (!job->cfg->is_json)
		print_human(job->cfg, ev->result);
}

static int json_error(struct buf *b, const struct espsync_provider_result *r)
{
	int rc = 0;

	if (r->exit_code == EXIT_COMPLETE)
		return buf_puts(b, "null");
	rc |= buf_puts(b, "{\"kind\":");
	rc |= jsonw_string(b, r->error_kind);
	rc |= jsonw_key(b, "message", 0);
	rc |= jsonw_string(b, r->error_message);
	rc |= buf_putc(b, '}');
	return rc;
}

static int json_run(struct buf *b, const struct espsync_provider_result *r)
{
	size_t i;
	int rc = 0;

	rc |= buf_puts(b, "{\"provider\":");
	rc |= jsonw_string(b, r->provider);
	rc |= jsonw_key(b, "account", 0);
	rc |= jsonw_string(b, r->account);
	rc |= jsonw_key(b, "status", 0);
	rc |= jsonw_string(b, r->status);
	rc |= buf_printf(b,
			 ",\"run_id\":%lld,\"requests\":%lld,"
			 "\"retries\":%lld,\"throttled\":%lld,\"records\":{",
			 (long long)r->run_id, (long long)r->requests,
			 (long long)r->retries, (long long)r->throttled);
	for (i = 0; i < ESPSYNC_STREAMS; i++) {
		rc |= jsonw_key(b, stream_names[i], i == 0);
		rc |= jsonw_int(b, r->records[i]);
	}
	rc |= buf_printf(
	    b,
	    "},\"events\":%lld,\"rows_inserted\":%lld,"
	    "\"rows_updated\":%lld,\"rows_unchanged\":%lld,"
	    "\"campaigns_skipped\":%lld,"
	    "\"campaigns_remaining\":%lld,"
	    "\"events_outside_retention\":%lld,"
	    "\"store\":{\"requests\":%lld,\"jobs\":%lld,"
	    "\"bytes_uploaded\":%lld},"
	    "\"is_partial\":%s,\"elapsed_s\":",
	    (long long)r->events, (long long)r->rows_inserted,
	    (long long)r->rows_updated, (long long)r->rows_unchanged,
	    (long long)r->campaigns_skipped, (long long)r->campaigns_remaining,
	    (long long)r->events_outside_retention,
	    (long long)r->store_requests, (long long)r->store_jobs,
	    (long long)r->store_bytes_uploaded,
	    r->exit_code == EXIT_PARTIAL ? "true" : "false");
	rc |= cmd_json_double(b, r->elapsed_s, 3);
	rc |= buf_puts(b, ",\"error\":");
	rc |= json_error(b, r);
	rc |= buf_printf(b, ",\"exit_code\":%d}", r->exit_code);
	return rc;
}

/* Returns 0, or EXIT_RUNTIME when the JSON summary did not fit. */
static int print_json(const struct config *cfg, const struct sync_job *job,
		      int code)
{
	struct buf b = BUF_INIT;
	size_t i;
	int rc = 0, ret;

	rc |= buf_puts(&b, "{\"command\":\"sync\",\"status\":");
	rc |= jsonw_string(&b, api_status_of(code));
	rc |= buf_puts(&b, ",\"providers\":[");
	for (i = 0; i < job->sum.n_providers; i++) {
		if (i)
			rc |= buf_putc(&b, ',');
		rc |= json_run(&b, &job->sum.providers[i]);
	}
	rc |= buf_putc(&b, ']');
	if (job->has_export) {
		rc |= buf_printf(&b,
				 ",\"export\":{\"files\":%lld,\"rows\":%lld,"
				 "\"dir\":",
				 (long long)job->exported.files,
				 (long long)job->exported.rows);
		rc |= jsonw_string(&b, config_str(cfg, OPT_EXPORT_DIR));
		rc |= buf_printf(&b, ",\"exit_code\":%d}", job->export_code);
	}
	rc |= buf_printf(&b, ",\"exit_code\":%d}", code);
	ret = cmd_print_json(&b, rc);
	buf_release(&b);
	return ret;
}

/* The earlier tool wrote the csv files after --all and --campaign, of its
 * one provider (the --provider its form set, source_keys.is_earlier_tool). */
static void seed_export(struct sync_job *job, espsync *ctx,
			const struct config *cfg)
{
	struct espsync_export_options opts = ESPSYNC_EXPORT_OPTIONS_INIT;

	opts.dir = config_str(cfg, OPT_EXPORT_DIR);
	opts.provider = cmd_only_provider(cfg);
	opts.campaign_id = config_str(cfg, OPT_CAMPAIGN);
	opts.columns_map = config_str(cfg, OPT_CSV_COLUMNS);
	job->has_export = 1;
	job->exported.size = sizeof(job->exported);
	if (espsync_export_csv(ctx, &opts, &job->exported) != 0) {
		job->export_code = cmd_fail(
		    api_error(ctx), "cannot export csv to '%s'", opts.dir);
		return;
	}
	if (cfg->verbosity >= 0 && !cfg->is_json)
		printf("exported %lld files (%lld rows) to %s\n",
		       (long long)job->exported.files,
		       (long long)job->exported.rows, opts.dir);
}

static void fill_options(struct espsync_sync_options *o,
			 const struct config *cfg)
{
	o->provider = cmd_only_provider(cfg);
	o->campaign_id = config_str(cfg, OPT_CAMPAIGN);
	if (config_is_set(cfg, OPT_FULL))
		o->mode = ESPSYNC_MODE_FULL;
	else if (config_is_set(cfg, OPT_INCREMENTAL))
		o->mode = ESPSYNC_MODE_INCREMENTAL;
	o->hours = cfg->v[OPT_HOURS].i;
	o->streams = config_str(cfg, OPT_STREAMS);
	o->max_runtime_ms = cfg->max_runtime_ms;
	if (config_is_set(cfg, OPT_WAIT))
		o->wait_ms = cfg->v[OPT_WAIT].i;
}

/* A sync that failed before any provider ran: the library's message,
 * worded as the command's usage errors where it is one. */
static void print_setup_error(const espsync *ctx)
{
	const struct err *e = api_error(ctx);

	if (e->kind == ERR_USAGE)
		cmd_usage("sync", "%s", espsync_error_message(ctx));
	else
		cmd_error("%s", espsync_error_message(ctx));
}

int cmd_sync(int argc, const char *const *argv, const struct config *cfg)
{
	struct espsync_sync_options opts = ESPSYNC_SYNC_OPTIONS_INIT;
	struct sync_job *job = NULL;
	struct stop_handlers handlers;
	espsync *ctx = NULL;
	int code;

	if (argc > 0)
		return cmd_usage("sync", "unexpected argument '%.64s'",
				 argv[0]);
	job = xcalloc(1, sizeof(*job));
	job->cfg = cfg;
	job->sum.size = sizeof(job->sum);
	ctx = api_from_config(cfg);
	if (!ctx) {
		cmd_error("out of memory");
		free(job);
		return EXIT_RUNTIME;
	}
	api_set_progress_mode(ctx, cmd_progress(cfg));
	espsync_set_progress(ctx, on_event, job);
	fill_options(&opts, cfg);
	sync_handle = ctx;
	stop_handlers_install(&handlers);
	code = espsync_sync(ctx, &opts, &job->sum);
	if (code && !job->sum.n_providers)
		print_setup_error(ctx);
	if (cfg->is_seed_export && !stop_signal && job->sum.n_providers &&
	    (code == EXIT_COMPLETE || code == EXIT_PARTIAL)) {
		seed_export(job, ctx, cfg);
		code = cmd_exit_worse(code, job->export_code);
	}
	if (cfg->is_json)
		code = cmd_exit_worse(code, print_json(cfg, job, code));
	stop_handlers_restore(&handlers);
	sync_handle = NULL;
	espsync_free(ctx);
	free(job);
	return code;
}

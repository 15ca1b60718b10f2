/* `espsync sync`: picks the providers, builds one sync_request each, runs
 * them against one store within one time budget, and reports per provider
 * (human lines or one JSON object). The earlier tool's --all/--campaign also
 * export csv afterwards. */
#include "cmd/cmd.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "export/export_csv.h"
#include "source/source.h"
#include "util/clock.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/banned.h"

/* The signal that asked the sync to stop (0: none). The one flag a handler
 * sets; the engine reads it through sync_request.stop_signal. */
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

static const char *const stream_names[SYNC_SLOTS] = {
    "campaigns", "reports", "participants", "activities", "contacts", "lists",
};

struct job_run {
	const struct source *source;
	const struct account_config *pc;
	struct sync_report report;
	struct err err;
	int code;
};

struct sync_job {
	struct job_run runs[CONFIG_MAX_PROVIDERS];
	size_t n;
	int has_export;
	struct export_result exported;
	struct err export_err;
	int export_code;
};

static const char *status_of(int code)
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

static const char *run_status(const struct job_run *r)
{
	return status_of(r->code);
}

static int pick_providers(struct sync_job *job, const struct config *cfg)
{
	const char *name = cmd_only_provider(cfg);
	char hint[512];
	size_t i;

	for (i = 0; i < cfg->n_providers; i++) {
		const struct account_config *pc = &cfg->providers[i];
		const struct source *src = source_find(pc->name);

		if (!src ||
		    (name ? strcmp(name, pc->name) != 0 : !pc->is_configured))
			continue;
		if (!pc->is_configured) {
			cmd_error("provider '%s' is not configured: set %s",
				  name, pc->missing);
			return EXIT_USAGE;
		}
		job->runs[job->n].source = src;
		job->runs[job->n++].pc = pc;
	}
	if (name && !job->n)
		return cmd_usage("sync", "unknown provider '%s'", name);
	if (!job->n) {
		config_setup_hint(cfg, hint, sizeof(hint));
		cmd_error("no provider configured: set %s", hint);
		return EXIT_USAGE;
	}
	if (job->n > 1 && config_is_set(cfg, OPT_CAMPAIGN))
		return cmd_usage("sync",
				 "option '--campaign' needs '--provider' when "
				 "several providers are configured");
	return 0;
}

static void print_human(const struct config *cfg, const struct job_run *r)
{
	const struct sync_report *rep = &r->report;
	const struct account_config *pc = r->pc;

	if (cfg->verbosity < 0)
		return;
	printf("%s%s%s: %s %s %.1f s, %lld requests (%lld retries, %lld "
	       "throttled), %lld campaigns, %lld participant rows read, %lld "
	       "events\n",
	       pc->name, strcmp(pc->account, "default") ? "/" : "",
	       strcmp(pc->account, "default") ? pc->account : "", run_status(r),
	       r->code == EXIT_COMPLETE ? "in" : "after", rep->elapsed_s,
	       (long long)rep->requests, (long long)rep->retries,
	       (long long)rep->throttled,
	       (long long)rep->records[SYNC_SLOT_CAMPAIGNS],
	       (long long)rep->records[SYNC_SLOT_PARTICIPANTS],
	       (long long)rep->events);
	if (rep->events_outside_retention > 0)
		printf("%s: %lld events older than the store's retention were "
		       "not stored; ESPSYNC_RETENTION_DAYS=0 keeps them\n",
		       pc->name, (long long)rep->events_outside_retention);
	fflush(stdout);
}

static int json_error(struct buf *b, const struct job_run *r)
{
	int rc = 0;

	if (r->code == EXIT_COMPLETE)
		return buf_puts(b, "null");
	rc |= buf_puts(b, "{\"kind\":");
	rc |= jsonw_string(b, err_kind_name(r->err.kind));
	rc |= jsonw_key(b, "message", 0);
	rc |= jsonw_string(b, r->err.msg);
	rc |= buf_putc(b, '}');
	return rc;
}

static int json_run(struct buf *b, const struct job_run *r)
{
	const struct sync_report *rep = &r->report;
	size_t i;
	int rc = 0;

	rc |= buf_puts(b, "{\"provider\":");
	rc |= jsonw_string(b, r->source->name);
	rc |= jsonw_key(b, "account", 0);
	rc |= jsonw_string(b, r->pc->account);
	rc |= jsonw_key(b, "status", 0);
	rc |= jsonw_string(b, run_status(r));
	rc |= buf_printf(b,
			 ",\"run_id\":%lld,\"requests\":%lld,"
			 "\"retries\":%lld,\"throttled\":%lld,\"records\":{",
			 (long long)rep->run_id, (long long)rep->requests,
			 (long long)rep->retries, (long long)rep->throttled);
	for (i = 0; i < SYNC_SLOTS; i++) {
		rc |= jsonw_key(b, stream_names[i], i == 0);
		rc |= jsonw_int(b, rep->records[i]);
	}
	rc |= buf_printf(b,
			 "},\"events\":%lld,\"rows_inserted\":%lld,"
			 "\"rows_updated\":%lld,\"rows_unchanged\":%lld,"
			 "\"campaigns_skipped\":%lld,"
			 "\"events_outside_retention\":%lld,"
			 "\"is_partial\":%s,\"elapsed_s\":",
			 (long long)rep->events, (long long)rep->rows_inserted,
			 (long long)rep->rows_updated,
			 (long long)rep->rows_unchanged,
			 (long long)rep->campaigns_skipped,
			 (long long)rep->events_outside_retention,
			 rep->is_partial ? "true" : "false");
	rc |= cmd_json_double(b, rep->elapsed_s, 3);
	rc |= buf_puts(b, ",\"error\":");
	rc |= json_error(b, r);
	rc |= buf_printf(b, ",\"exit_code\":%d}", r->code);
	return rc;
}

/* Returns 0, or EXIT_RUNTIME when the JSON summary did not fit. */
static int print_json(const struct config *cfg, const struct sync_job *job,
		      int code)
{
	struct buf b = BUF_INIT;
	const char *status = status_of(code);
	size_t i;
	int rc = 0, ret;

	rc |= buf_puts(&b, "{\"command\":\"sync\",\"status\":");
	rc |= jsonw_string(&b, status);
	rc |= buf_puts(&b, ",\"providers\":[");
	for (i = 0; i < job->n; i++) {
		if (i)
			rc |= buf_putc(&b, ',');
		rc |= json_run(&b, &job->runs[i]);
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

static int parse_request(struct sync_request *req, const struct config *cfg,
			 const struct job_run *r, int64_t deadline)
{
	struct err err = ERR_INIT;

	cmd_fill_request(req, cfg, r->source, r->pc);
	if (config_is_set(cfg, OPT_FULL))
		req->mode = SYNC_FULL;
	else if (config_is_set(cfg, OPT_INCREMENTAL))
		req->mode = SYNC_INCREMENTAL;
	req->campaign_id = config_str(cfg, OPT_CAMPAIGN);
	req->deadline_mono_ms = deadline;
	req->stop_signal = &stop_signal;
	if (config_is_set(cfg, OPT_WAIT))
		req->lease_wait_ms = cfg->v[OPT_WAIT].i;
	if (config_is_set(cfg, OPT_STREAMS) &&
	    sync_streams_parse(config_str(cfg, OPT_STREAMS), &req->streams,
			       &err) < 0)
		return cmd_usage("sync", "invalid value for '--streams': %s",
				 err.msg);
	return 0;
}

/* The earlier tool wrote the csv files after --all and --campaign, of its
 * one provider (the --provider its form set, source_keys.is_earlier_tool). */
static void seed_export(struct sync_job *job, struct store *store,
			const struct config *cfg)
{
	struct export_options opts = EXPORT_OPTIONS_INIT;

	opts.dir = config_str(cfg, OPT_EXPORT_DIR);
	opts.provider = cmd_only_provider(cfg);
	opts.campaign_id = config_str(cfg, OPT_CAMPAIGN);
	opts.columns_map = config_str(cfg, OPT_CSV_COLUMNS);
	job->has_export = 1;
	if (export_csv(store, &opts, &job->exported, &job->export_err) < 0) {
		job->export_code = cmd_fail(
		    &job->export_err, "cannot export csv to '%s'", opts.dir);
		return;
	}
	if (cfg->verbosity >= 0 && !cfg->is_json)
		printf("exported %lld files (%lld rows) to %s\n",
		       (long long)job->exported.files,
		       (long long)job->exported.rows, opts.dir);
}

static void run_one(struct job_run *r, struct store *store,
		    const struct sync_request *req, const struct config *cfg)
{
	err_clear(&r->err);
	memset(&r->report, 0, sizeof(r->report));
	if (sync_run(store, req, &r->report, &r->err) == 0) {
		r->code = EXIT_COMPLETE;
	} else {
		if (r->err.kind == ERR_NONE)
			r->err.kind = ERR_RUNTIME;
		r->code = (int)err_exit_code(&r->err);
		/* partial is no error (timers treat exit 3 as success), so
		 * -q keeps quiet about it */
		if (r->code == EXIT_PARTIAL)
			log_warn("sync '%s' stopped: %s", req->source->name,
				 r->err.msg);
		else if (r->code == EXIT_BUSY)
			cmd_error("cannot sync '%s': %s; try again later or "
				  "wait for it with --wait DURATION",
				  req->source->name, r->err.msg);
		else if (r->err.kind == ERR_INTERRUPTED)
			cmd_error("sync '%s' %s", req->source->name,
				  r->err.msg);
		else
			cmd_fail(&r->err, "cannot sync '%s'",
				 req->source->name);
	}
	if (!cfg->is_json)
		print_human(cfg, r);
}

int cmd_sync(int argc, const char *const *argv, const struct config *cfg)
{
	struct sync_job job;
	struct sync_request req;
	struct store *store = NULL;
	struct stop_handlers handlers;
	int64_t deadline = 0;
	int code = 0, has_handlers = 0;
	size_t i;

	memset(&job, 0, sizeof(job));
	if (argc > 0)
		return cmd_usage("sync", "unexpected argument '%.64s'",
				 argv[0]);
	if (cfg->max_runtime_ms > 0)
		deadline = clock_mono_ms() + cfg->max_runtime_ms;
	code = pick_providers(&job, cfg);
	for (i = 0; !code && i < job.n; i++)
		code = parse_request(&req, cfg, &job.runs[i], deadline);
	if (code)
		goto done;
	code = cmd_open_store(&store, cfg, NULL);
	if (code) {
		job.n = 0; /* nothing ran */
		goto done;
	}
	stop_handlers_install(&handlers);
	has_handlers = 1;
	for (i = 0; i < job.n; i++) {
		parse_request(&req, cfg, &job.runs[i], deadline);
		run_one(&job.runs[i], store, &req, cfg);
		code = cmd_exit_worse(code, job.runs[i].code);
		if (job.runs[i].code == EXIT_STORE || stop_signal)
			break;
	}
	job.n = i < job.n ? i + 1 : job.n;
	if (cfg->is_seed_export && !stop_signal &&
	    (code == EXIT_COMPLETE || code == EXIT_PARTIAL)) {
		seed_export(&job, store, cfg);
		code = cmd_exit_worse(code, job.export_code);
	}
done:
	if (cfg->is_json)
		code = cmd_exit_worse(code, print_json(cfg, &job, code));
	if (store)
		store_close(store);
	if (has_handlers)
		stop_handlers_restore(&handlers);
	return code;
}

/* `espsync stats`: the earlier tool's totals, word for word, then events
 * per type and the last run. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

#include "export/export_csv.h"
#include "util/arena.h"
#include "util/jsonw.h"
#include "util/timeparse.h"
#include "util/banned.h"

struct stats_view {
	struct store_stats st;
	int64_t csv_files;
	const char *dir;
	struct run_row run;
	int has_run;
	/* Sums over campaigns that report verified opens (n_verified). */
	int64_t n_verified, opens, uniqueopens, verified, verified_unique;
};

static int add_verified(void *ctx, const char *provider, const char *account,
			const struct rec_campaign *c)
{
	struct stats_view *v = ctx;

	(void)provider;
	(void)account;
	if (c->verified_opens < 0 && c->verified_unique_opens < 0)
		return 0;
	v->n_verified++;
	v->opens += c->stats.opened_total;
	v->uniqueopens += c->stats.opened_unique;
	v->verified += c->verified_opens > 0 ? c->verified_opens : 0;
	v->verified_unique +=
	    c->verified_unique_opens > 0 ? c->verified_unique_opens : 0;
	return 0;
}

static double average(const struct store_stats *st)
{
	return st->campaigns ? (double)st->participants / (double)st->campaigns
			     : 0.0;
}

static void print_text(const struct stats_view *v)
{
	char n[32], when[32];
	int i;

	cmd_format_count(n, v->st.campaigns);
	printf("Total campaigns:        %s\n", n);
	cmd_format_count(n, v->st.participants);
	printf("Total participants:     %s\n", n);
	printf("Avg participants/campaign: %.1f\n\n", average(&v->st));
	cmd_format_count(n, v->csv_files);
	printf("CSV exports: %s files in %s\n\nEvents:\n", n, v->dir);
	for (i = 0; i < EV__COUNT; i++) {
		char label[24];

		snprintf(label, sizeof(label),
			 "%s:", event_type_name((enum event_type)i));
		cmd_format_count(n, v->st.events[i]);
		printf("  %-12s %s\n", label, n);
	}
	if (v->n_verified) {
		char u[32];

		cmd_format_count(n, v->verified);
		cmd_format_count(u, v->verified_unique);
		printf("Verified opens (no machine opens) of %lld campaigns: "
		       "%s (%s unique)\n",
		       (long long)v->n_verified, n, u);
		cmd_format_count(n, v->opens);
		cmd_format_count(u, v->uniqueopens);
		printf("All opens of those campaigns: %s (%s unique)\n", n, u);
	}
	if (v->st.events_outside_retention > 0) {
		cmd_format_count(n, v->st.events_outside_retention);
		printf("Outside retention: %s events older than %d days not "
		       "kept (ESPSYNC_RETENTION_DAYS=0 keeps them)\n",
		       n, v->st.retention_days);
	}
	if (!v->has_run) {
		printf("Last run: none\n");
		return;
	}
	if (v->run.finished_at != TIME_NULL)
		time_format_iso(v->run.finished_at, when);
	else
		time_format_iso(v->run.started_at, when);
	cmd_format_count(n, v->run.requests);
	printf("Last run: %s %s %s %s (%s requests)\n", v->run.provider,
	       store_run_status_name(v->run.status),
	       v->run.status == RUN_RUNNING ? "since" : "at", when, n);
}

static int json_last_run(struct buf *b, const struct run_row *run)
{
	int rc = 0;

	rc |= buf_printf(
	    b, "{\"run_id\":%lld,\"provider\":", (long long)run->run_id);
	rc |= jsonw_string(b, run->provider);
	rc |= jsonw_key(b, "account", 0);
	rc |= jsonw_string(b, run->account);
	rc |= jsonw_key(b, "status", 0);
	rc |= jsonw_string(b, store_run_status_name(run->status));
	rc |= jsonw_key(b, "started_at", 0);
	rc |= jsonw_time(b, run->started_at);
	rc |= jsonw_key(b, "finished_at", 0);
	rc |= jsonw_time(b, run->finished_at);
	rc |= buf_printf(b, ",\"requests\":%lld}", (long long)run->requests);
	return rc;
}

/* Returns 0, or EXIT_RUNTIME when the JSON summary did not fit. */
static int print_json(const struct stats_view *v, const char *provider)
{
	struct buf b = BUF_INIT;
	int i, rc = 0, code;

	rc |= buf_puts(&b, "{\"command\":\"stats\",\"provider\":");
	rc |= jsonw_string(&b, provider);
	rc |= buf_printf(&b,
			 ",\"campaigns\":%lld,\"participants\":%lld,"
			 "\"avg_participants_per_campaign\":",
			 (long long)v->st.campaigns,
			 (long long)v->st.participants);
	rc |= cmd_json_double(&b, average(&v->st), 1);
	rc |= buf_printf(&b,
			 ",\"links\":%lld,\"contacts\":%lld,\"lists\":%lld,"
			 "\"csv_exports\":{\"files\":%lld,\"dir\":",
			 (long long)v->st.links, (long long)v->st.contacts,
			 (long long)v->st.lists, (long long)v->csv_files);
	rc |= jsonw_string(&b, v->dir);
	rc |= buf_puts(&b, "},\"events\":{");
	for (i = 0; i < EV__COUNT; i++) {
		const char *name = event_type_name((enum event_type)i);

		rc |= jsonw_key(&b, name, i == 0);
		rc |= jsonw_int(&b, v->st.events[i]);
	}
	rc |= buf_printf(&b,
			 "},\"retention_days\":%d,"
			 "\"events_outside_retention\":%lld",
			 v->st.retention_days,
			 (long long)v->st.events_outside_retention);
	rc |= buf_puts(&b, ",\"verified_opens\":");
	if (v->n_verified)
		rc |=
		    buf_printf(&b,
			       "{\"campaigns\":%lld,\"verified_opens\":%lld,"
			       "\"verified_unique_opens\":%lld,\"opens\":%lld,"
			       "\"unique_opens\":%lld}",
			       (long long)v->n_verified, (long long)v->verified,
			       (long long)v->verified_unique,
			       (long long)v->opens, (long long)v->uniqueopens);
	else
		rc |= buf_puts(&b, "null");
	rc |= buf_puts(&b, ",\"last_run\":");
	if (v->has_run)
		rc |= json_last_run(&b, &v->run);
	else
		rc |= buf_puts(&b, "null");
	rc |= buf_puts(&b, ",\"exit_code\":0}");
	code = cmd_print_json(&b, rc);
	buf_release(&b);
	return code;
}

int cmd_stats(int argc, const char *const *argv, const struct config *cfg)
{
	struct stats_view v;
	struct arena arena = ARENA_INIT;
	struct err err = ERR_INIT;
	struct store *store = NULL;
	const char *provider = cmd_only_provider(cfg);
	int code;

	memset(&v, 0, sizeof(v));
	v.dir = config_str(cfg, OPT_EXPORT_DIR);
	if (argc > 0)
		return cmd_usage("stats", "unexpected argument '%.64s'",
				 argv[0]);
	code = cmd_open_store(&store, cfg, "stats");
	if (code)
		goto done;
	if (store->ops->stats(store, provider, &v.st, &err) < 0 ||
	    store_run_last(store, provider, &v.run, &arena, &v.has_run, &err) <
		0 ||
	    store->ops->each_campaign(store, provider, NULL, add_verified, &v,
				      &err) < 0) {
		code = cmd_fail(&err, "cannot read statistics from the store");
		goto fail;
	}
	if (export_count_files(v.dir, &v.csv_files, &err) < 0) {
		code = cmd_fail(&err, "cannot count csv files in '%s'", v.dir);
		goto fail;
	}
	if (cfg->is_json)
		code = print_json(&v, provider);
	else
		print_text(&v);
	goto done;
fail:
	cmd_json_failure(cfg, "stats", &err, code);
done:
	if (store)
		store_close(store);
	arena_release(&arena);
	return code;
}

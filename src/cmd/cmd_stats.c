/* `espsync stats`: the earlier tool's totals, word for word, then events
 * per type and the last run, from espsync_stats. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "model/records.h"
#include "util/jsonw.h"
#include "util/timeparse.h"
#include "util/banned.h"

static double average(const struct espsync_stats *st)
{
	return st->campaigns ? (double)st->participants / (double)st->campaigns
			     : 0.0;
}

/* A time of espsync_stats (0: none) as the store had it. */
static int64_t stats_time(int64_t t)
{
	return t ? t : TIME_NULL;
}

static void print_text(const struct espsync_stats *st, const char *dir)
{
	char n[32], when[32];
	int i;

	cmd_format_count(n, st->campaigns);
	printf("Total campaigns:        %s\n", n);
	cmd_format_count(n, st->participants);
	printf("Total participants:     %s\n", n);
	printf("Avg participants/campaign: %.1f\n\n", average(st));
	cmd_format_count(n, st->csv_files);
	printf("CSV exports: %s files in %s\n\nEvents:\n", n, dir);
	for (i = 0; i < EV__COUNT && i < ESPSYNC_EV_TYPES; i++) {
		char label[24];

		snprintf(label, sizeof(label),
			 "%s:", event_type_name((enum event_type)i));
		cmd_format_count(n, st->events[i]);
		printf("  %-12s %s\n", label, n);
	}
	if (st->verified_campaigns) {
		char u[32];

		cmd_format_count(n, st->verified_opens);
		cmd_format_count(u, st->verified_unique_opens);
		printf("Verified opens (no machine opens) of %lld campaigns: "
		       "%s (%s unique)\n",
		       (long long)st->verified_campaigns, n, u);
		cmd_format_count(n, st->verified_campaigns_opens);
		cmd_format_count(u, st->verified_campaigns_unique_opens);
		printf("All opens of those campaigns: %s (%s unique)\n", n, u);
	}
	if (st->events_outside_retention > 0) {
		cmd_format_count(n, st->events_outside_retention);
		printf("Outside retention: %s events older than %d days not "
		       "kept (ESPSYNC_RETENTION_DAYS=0 keeps them)\n",
		       n, st->retention_days);
	}
	if (!st->has_last_run) {
		printf("Last run: none\n");
		return;
	}
	if (st->last_run_finished_at)
		time_format_iso(st->last_run_finished_at, when);
	else
		time_format_iso(st->last_run_started_at, when);
	cmd_format_count(n, st->last_run_requests);
	printf("Last run: %s %s %s %s (%s requests)\n", st->last_run_provider,
	       st->last_run_status,
	       !strcmp(st->last_run_status, "running") ? "since" : "at", when,
	       n);
}

static int json_last_run(struct buf *b, const struct espsync_stats *st)
{
	int rc = 0;

	rc |= buf_printf(
	    b, "{\"run_id\":%lld,\"provider\":", (long long)st->last_run_id);
	rc |= jsonw_string(b, st->last_run_provider);
	rc |= jsonw_key(b, "account", 0);
	rc |= jsonw_string(b, st->last_run_account);
	rc |= jsonw_key(b, "status", 0);
	rc |= jsonw_string(b, st->last_run_status);
	rc |= jsonw_key(b, "started_at", 0);
	rc |= jsonw_time(b, stats_time(st->last_run_started_at));
	rc |= jsonw_key(b, "finished_at", 0);
	rc |= jsonw_time(b, stats_time(st->last_run_finished_at));
	rc |= buf_printf(b, ",\"requests\":%lld}",
			 (long long)st->last_run_requests);
	return rc;
}

/* Returns 0, or EXIT_RUNTIME when the JSON summary did not fit. */
static int print_json(const struct espsync_stats *st, const char *provider,
		      const char *dir)
{
	struct buf b = BUF_INIT;
	int i, rc = 0, code;

	rc |= buf_puts(&b, "{\"command\":\"stats\",\"provider\":");
	rc |= jsonw_string(&b, provider);
	rc |= buf_printf(&b,
			 ",\"campaigns\":%lld,\"participants\":%lld,"
			 "\"avg_participants_per_campaign\":",
			 (long long)st->campaigns, (long long)st->participants);
	rc |= cmd_json_double(&b, average(st), 1);
	rc |= buf_printf(&b,
			 ",\"links\":%lld,\"contacts\":%lld,\"lists\":%lld,"
			 "\"csv_exports\":{\"files\":%lld,\"dir\":",
			 (long long)st->links, (long long)st->contacts,
			 (long long)st->lists, (long long)st->csv_files);
	rc |= jsonw_string(&b, dir);
	rc |= buf_puts(&b, "},\"events\":{");
	for (i = 0; i < EV__COUNT && i < ESPSYNC_EV_TYPES; i++) {
		const char *name = event_type_name((enum event_type)i);

		rc |= jsonw_key(&b, name, i == 0);
		rc |= jsonw_int(&b, st->events[i]);
	}
	rc |= buf_printf(&b,
			 "},\"retention_days\":%d,"
			 "\"events_outside_retention\":%lld",
			 st->retention_days,
			 (long long)st->events_outside_retention);
	rc |= buf_puts(&b, ",\"verified_opens\":");
	if (st->verified_campaigns)
		rc |=
		    buf_printf(&b,
			       "{\"campaigns\":%lld,\"verified_opens\":%lld,"
			       "\"verified_unique_opens\":%lld,\"opens\":%lld,"
			       "\"unique_opens\":%lld}",
			       (long long)st->verified_campaigns,
			       (long long)st->verified_opens,
			       (long long)st->verified_unique_opens,
			       (long long)st->verified_campaigns_opens,
			       (long long)st->verified_campaigns_unique_opens);
	else
		rc |= buf_puts(&b, "null");
	rc |= buf_puts(&b, ",\"last_run\":");
	if (st->has_last_run)
		rc |= json_last_run(&b, st);
	else
		rc |= buf_puts(&b, "null");
	rc |= buf_puts(&b, ",\"exit_code\":0}");
	code = cmd_print_json(&b, rc);
	buf_release(&b);
	return code;
}

int cmd_stats(int argc, const char *const *argv, const struct config *cfg)
{
	struct espsync_stats st;
	const char *provider = cmd_only_provider(cfg);
	const char *dir = config_str(cfg, OPT_EXPORT_DIR);
	espsync *ctx;
	int code;

	if (argc > 0)
		return cmd_usage("stats", "unexpected argument '%.64s'",
				 argv[0]);
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	ctx = api_from_config(cfg);
	if (!ctx) {
		cmd_error("out of memory");
		return EXIT_RUNTIME;
	}
	code = espsync_stats(ctx, provider, &st);
	if (code) {
		cmd_error("%s", espsync_error_message(ctx));
		cmd_json_failure(cfg, "stats", api_error(ctx), code);
	} else if (cfg->is_json) {
		code = print_json(&st, provider, dir);
	} else {
		print_text(&st, dir);
	}
	espsync_free(ctx);
	return code;
}

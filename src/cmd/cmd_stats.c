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

static void json_time(struct buf *b, const char *key, int64_t t)
{
	char iso[32];

	jsonw_key(b, key, 0);
	if (t == TIME_NULL) {
		buf_puts(b, "null");
		return;
	}
	time_format_iso(t, iso);
	jsonw_string(b, iso);
}

static void print_json(const struct stats_view *v, const char *provider)
{
	struct buf b = BUF_INIT;
	int i;

	buf_puts(&b, "{\"command\":\"stats\",\"provider\":");
	jsonw_string(&b, provider);
	buf_printf(&b,
		   ",\"campaigns\":%lld,\"participants\":%lld,"
		   "\"avg_participants_per_campaign\":",
		   (long long)v->st.campaigns, (long long)v->st.participants);
	cmd_json_double(&b, average(&v->st), 1);
	buf_printf(&b,
		   ",\"links\":%lld,\"contacts\":%lld,\"lists\":%lld,"
		   "\"csv_exports\":{\"files\":%lld,\"dir\":",
		   (long long)v->st.links, (long long)v->st.contacts,
		   (long long)v->st.lists, (long long)v->csv_files);
	jsonw_string(&b, v->dir);
	buf_puts(&b, "},\"events\":{");
	for (i = 0; i < EV__COUNT; i++) {
		jsonw_key(&b, event_type_name((enum event_type)i), i == 0);
		jsonw_int(&b, v->st.events[i]);
	}
	buf_puts(&b, "},\"verified_opens\":");
	if (v->n_verified)
		buf_printf(&b,
			   "{\"campaigns\":%lld,\"verified_opens\":%lld,"
			   "\"verified_unique_opens\":%lld,\"opens\":%lld,"
			   "\"unique_opens\":%lld}",
			   (long long)v->n_verified, (long long)v->verified,
			   (long long)v->verified_unique, (long long)v->opens,
			   (long long)v->uniqueopens);
	else
		buf_puts(&b, "null");
	buf_puts(&b, ",\"last_run\":");
	if (v->has_run) {
		buf_printf(&b, "{\"run_id\":%lld,\"provider\":",
			   (long long)v->run.run_id);
		jsonw_string(&b, v->run.provider);
		jsonw_key(&b, "account", 0);
		jsonw_string(&b, v->run.account);
		jsonw_key(&b, "status", 0);
		jsonw_string(&b, store_run_status_name(v->run.status));
		json_time(&b, "started_at", v->run.started_at);
		json_time(&b, "finished_at", v->run.finished_at);
		buf_printf(&b, ",\"requests\":%lld}",
			   (long long)v->run.requests);
	} else {
		buf_puts(&b, "null");
	}
	buf_puts(&b, ",\"exit_code\":0}");
	cmd_print_json(&b);
	buf_release(&b);
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
		print_json(&v, provider);
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

/* What the public API reads or changes in the store without a provider:
 * the csv export, the statistics and removing checkpoints. Each call opens
 * the store of its configuration and closes it before returning. */
#include "api/api_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "export/export_csv.h"
#include "util/arena.h"
#include "util/timeparse.h"
#include "util/banned.h"

/* A provider filter: NULL or "all" for every provider, else one of the
 * registry's; the message is the --provider flag's. */
static int check_provider(espsync *ctx, const struct config *cfg,
			  const char **provider)
{
	char why_buf[192];
	const char *why;

	if (*provider && !strcmp(*provider, "all"))
		*provider = NULL;
	if (!*provider)
		return 0;
	why = config_check_provider(cfg->reg, *provider, why_buf,
				    sizeof(why_buf));
	if (why)
		return api_failf(ctx, ERR_USAGE,
				 "invalid value for '--provider': %s", why);
	return 0;
}

/* A value a program passed for option id: checked like the flag's. */
static int check_value(espsync *ctx, const struct config *cfg,
		       enum option_id id, const char *value)
{
	const struct option_def *def = option_get(id);
	char why_buf[192];
	const char *why;

	if (!value)
		return 0;
	why =
	    config_check_value(cfg->reg, def, value, why_buf, sizeof(why_buf));
	if (why)
		return api_failf(ctx, ERR_USAGE, "invalid value for '--%s': %s",
				 def->flag, why);
	return 0;
}

int espsync_export_csv(espsync *ctx, const struct espsync_export_options *o,
		       struct espsync_export_result *out)
{
	static const struct espsync_export_options defaults =
	    ESPSYNC_EXPORT_OPTIONS_INIT;
	struct export_options eo = EXPORT_OPTIONS_INIT;
	struct export_result res = {0, 0};
	struct err err = ERR_INIT;
	struct api_call call;
	struct store *store = NULL;
	int code;

	if (!ctx)
		return ESPSYNC_E_USAGE;
	code = api_begin(&call, ctx);
	if (code)
		goto done;
	if ((o && o->size < sizeof(*o)) || (out && out->size < sizeof(*out))) {
		code = api_failf(ctx, ERR_USAGE,
				 "export: size of an options or result "
				 "struct not set");
		goto done;
	}
	if (!o)
		o = &defaults;
	eo.dir = o->dir ? o->dir : config_str(call.cfg, OPT_EXPORT_DIR);
	eo.provider = o->provider;
	eo.campaign_id = o->campaign_id;
	eo.columns_map = o->columns_map ? o->columns_map
					: config_str(call.cfg, OPT_CSV_COLUMNS);
	eo.is_formula_protect = !o->no_formula_protect;
	code = check_provider(ctx, call.cfg, &eo.provider);
	if (!code)
		code = check_value(ctx, call.cfg, OPT_EXPORT_DIR, eo.dir);
	if (!code)
		code = check_value(ctx, call.cfg, OPT_CAMPAIGN, eo.campaign_id);
	if (!code)
		code =
		    check_value(ctx, call.cfg, OPT_CSV_COLUMNS, eo.columns_map);
	if (!code)
		code = check_value(ctx, call.cfg, OPT_COMBINED, o->combined);
	if (!code)
		code = api_open_store(&store, &call);
	if (code)
		goto done;
	if (o->combined
		? export_csv_combined(store, &eo, o->combined, &res, &err) < 0
		: export_csv(store, &eo, &res, &err) < 0) {
		/* export messages name the campaign or directory already */
		code = api_fail(ctx, &err, ERR_RUNTIME, "export csv");
		goto done;
	}
	if (out) {
		out->files = res.files;
		out->rows = res.rows;
	}
done:
	if (store)
		store_close(store);
	api_end(&call);
	return code;
}

/* Sums over the campaigns that report verified opens. */
static int add_verified(void *userdata, const char *provider,
			const char *account, const struct rec_campaign *c)
{
	struct espsync_stats *out = userdata;

	(void)provider;
	(void)account;
	if (c->verified_opens < 0 && c->verified_unique_opens < 0)
		return 0;
	out->verified_campaigns++;
	out->verified_campaigns_opens += c->stats.opened_total;
	out->verified_campaigns_unique_opens += c->stats.opened_unique;
	out->verified_opens += c->verified_opens > 0 ? c->verified_opens : 0;
	out->verified_unique_opens +=
	    c->verified_unique_opens > 0 ? c->verified_unique_opens : 0;
	return 0;
}

static void fill_stats(struct espsync_stats *out, const struct store_stats *st,
		       const struct run_row *run, int has_run)
{
	size_t i;

	out->campaigns = st->campaigns;
	out->participants = st->participants;
	out->links = st->links;
	out->contacts = st->contacts;
	out->lists = st->lists;
	for (i = 0; i < ESPSYNC_EV_TYPES && i < EV__COUNT; i++)
		out->events[i] = st->events[i];
	out->events_outside_retention = st->events_outside_retention;
	out->retention_days = st->retention_days;
	out->has_last_run = has_run;
	if (!has_run)
		return;
	out->last_run_id = run->run_id;
	snprintf(out->last_run_provider, sizeof(out->last_run_provider), "%s",
		 run->provider ? run->provider : "");
	snprintf(out->last_run_account, sizeof(out->last_run_account), "%s",
		 run->account ? run->account : "");
	snprintf(out->last_run_status, sizeof(out->last_run_status), "%s",
		 store_run_status_name(run->status));
	out->last_run_started_at =
	    run->started_at != TIME_NULL ? run->started_at : 0;
	out->last_run_finished_at =
	    run->finished_at != TIME_NULL ? run->finished_at : 0;
	out->last_run_requests = run->requests;
}

/* The size of struct espsync_stats before fields were appended: callers
 * built against it get what it holds. */
#define STATS_MIN_SIZE offsetof(struct espsync_stats, last_run_account)

int espsync_stats(espsync *ctx, const char *provider, struct espsync_stats *out)
{
	struct espsync_stats all;
	struct store_stats st;
	struct run_row run;
	struct arena arena = ARENA_INIT;
	struct err err = ERR_INIT;
	struct api_call call;
	struct store *store = NULL;
	const char *dir;
	int has_run = 0, code;

	if (!ctx)
		return ESPSYNC_E_USAGE;
	code = api_begin(&call, ctx);
	if (code)
		goto done;
	if (!out || out->size < STATS_MIN_SIZE) {
		code = api_failf(ctx, ERR_USAGE,
				 "stats: no result struct, or its size not "
				 "set");
		goto done;
	}
	memset(&all, 0, sizeof(all));
	memset(&st, 0, sizeof(st));
	dir = config_str(call.cfg, OPT_EXPORT_DIR);
	code = check_provider(ctx, call.cfg, &provider);
	if (!code)
		code = api_open_store(&store, &call);
	if (code)
		goto done;
	if (store->ops->stats(store, provider, &st, &err) < 0 ||
	    store_run_last(store, provider, &run, &arena, &has_run, &err) < 0 ||
	    store->ops->each_campaign(store, provider, NULL, add_verified, &all,
				      &err) < 0) {
		code = api_fail(ctx, &err, ERR_STORE,
				"cannot read statistics from the store");
		goto done;
	}
	fill_stats(&all, &st, &run, has_run);
	if (export_count_files(dir, &all.csv_files, &err) < 0) {
		code = api_fail(ctx, &err, ERR_IO,
				"cannot count csv files in '%s'", dir);
		goto done;
	}
	all.size = out->size;
	memcpy(out, &all, out->size < sizeof(all) ? out->size : sizeof(all));
done:
	if (store)
		store_close(store);
	arena_release(&arena);
	api_end(&call);
	return code;
}

int espsync_state_reset(espsync *ctx, const char *provider, const char *stream,
			int64_t *removed)
{
	struct err err = ERR_INIT;
	struct api_call call;
	struct store *store = NULL;
	int64_t n = 0;
	int code;

	if (removed)
		*removed = 0;
	if (!ctx)
		return ESPSYNC_E_USAGE;
	code = api_begin(&call, ctx);
	if (!code)
		code = check_provider(ctx, call.cfg, &provider);
	if (!code)
		code = check_value(ctx, call.cfg, OPT_STREAM, stream);
	if (!code)
		code = api_open_store(&store, &call);
	if (code)
		goto done;
	if (store->ops->state_reset(store, provider, stream, &n, &err) < 0) {
		code =
		    api_fail(ctx, &err, ERR_STORE, "cannot reset sync state");
		goto done;
	}
	if (removed)
		*removed = n;
done:
	if (store)
		store_close(store);
	api_end(&call);
	return code;
}

/* `espsync state show | reset`: what the earlier pipeline kept in its state
 * document (last sync date, campaigns completed, last run), read from
 * sync_state and sync_runs; reset removes checkpoints. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/checkpoint.h"
#include "source/source.h"
#include "util/arena.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/jsonw.h"
#include "util/timeparse.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_GROUPS 64
/* Campaign ids listed in the text output before "…". */
#define MAX_LISTED 20

/* One provider account. */
struct group {
	char *provider, *account;
	int64_t n_states, n_complete;
	struct buf raw;	 /* "    stream = value\n" lines */
	struct buf json; /* "stream":"value" members */
	struct run_row last, complete;
	int has_last, has_complete;
	/* The seed's state document: which campaigns of the window are
	 * done, which are in flight (and at which page), the report window
	 * start and the activities written today. */
	struct buf done_ids; /* JSON strings, comma separated */
	struct buf pending;  /* "id kind page N" / "id" entries */
	int64_t n_pending, n_pending_listed, n_done_listed;
	int64_t window_since; /* oldest next-pass start; TIME_NULL: none */
	int64_t today_day, today_count;
};

struct state_view {
	struct group groups[MAX_GROUPS];
	size_t n;
	int is_verbose;
	struct arena arena;
	struct err err; /* why on_state stopped the walk */
};

static struct group *find_group(struct state_view *v, const char *provider,
				const char *account)
{
	struct group *g;
	size_t i;

	for (i = 0; i < v->n; i++)
		if (!strcmp(v->groups[i].provider, provider) &&
		    !strcmp(v->groups[i].account, account))
			return &v->groups[i];
	if (v->n == MAX_GROUPS)
		return NULL;
	g = &v->groups[v->n++];
	memset(g, 0, sizeof(*g));
	g->provider = xstrdup(provider);
	g->account = xstrdup(account);
	buf_init(&g->raw, 0);
	buf_init(&g->json, 0);
	buf_init(&g->done_ids, 0);
	buf_init(&g->pending, 0);
	g->window_since = TIME_NULL;
	g->today_day = -1;
	return g;
}

/* The note_* and on_state return 0, or -1 when a group's buffer reached
 * its maximum. */
static int note_done(struct group *g, const char *id,
		     const struct ckpt_campaign *c)
{
	int rc = 0;

	g->n_complete++;
	if (c->has_window && c->since != TIME_NULL &&
	    (g->window_since == TIME_NULL || c->since < g->window_since))
		g->window_since = c->since;
	if (g->done_ids.len)
		rc |= buf_putc(&g->done_ids, ',');
	rc |= jsonw_string(&g->done_ids, id);
	return rc;
}

/* An unfinished campaign, or one of its report streams with a saved
 * page (kind and page are then set). */
static int note_pending(struct group *g, const char *id, const char *kind,
			const char *page)
{
	int rc = 0;

	if (!kind)
		g->n_pending++;
	if (g->n_pending_listed++ >= MAX_LISTED)
		return 0;
	if (g->pending.len)
		rc |= buf_puts(&g->pending, ", ");
	if (kind)
		rc |= buf_printf(&g->pending, "%.40s %.20s page %.20s", id,
				 kind, page);
	else
		rc |= buf_printf(&g->pending, "%.40s", id);
	return rc;
}

/* reports:<id>:<kind> = {"starting_after":"<page>"}. */
static int note_report(struct group *g, const char *rest, const char *value)
{
	struct buf cursor = BUF_INIT, id = BUF_INIT;
	const char *colon = strrchr(rest, ':');
	int rc = 0;

	if (!colon)
		goto done;
	rc = buf_append(&id, rest, (size_t)(colon - rest));
	if (rc)
		goto done;
	ckpt_cursor_parse(&cursor, value);
	if (cursor.len)
		rc = note_pending(g, buf_str(&id), colon + 1, buf_str(&cursor));
done:
	buf_release(&cursor);
	buf_release(&id);
	return rc;
}

static int on_state(void *ctx, const struct state_row *row)
{
	struct state_view *v = ctx;
	struct group *g;
	struct ckpt_campaign c;
	const char *stream = row->stream ? row->stream : "";
	int rc = 0;

	g = find_group(v, row->provider ? row->provider : "",
		       row->account ? row->account : "");
	if (!g)
		return 0;
	g->n_states++;
	if (!strncmp(stream, "campaign:", 9)) {
		ckpt_campaign_parse(&c, row->value, NULL, 0);
		if (c.is_complete)
			rc |= note_done(g, stream + 9, &c);
		else
			rc |= note_pending(g, stream + 9, NULL, NULL);
	} else if (!strncmp(stream, "reports:", 8)) {
		rc |= note_report(g, stream + 8, row->value);
	} else if (!strcmp(stream, CKPT_TODAY_STREAM)) {
		ckpt_today_parse(&g->today_day, &g->today_count, row->value);
	}
	rc |= buf_printf(&g->raw, "    %s = %s\n", stream,
			 row->value ? row->value : "null");
	rc |= jsonw_key(&g->json, stream, g->json.len == 0);
	rc |= jsonw_string(&g->json, row->value);
	if (rc)
		return err_set(&v->err, ERR_RUNTIME, 0,
			       "checkpoints of '%s/%s' too long", g->provider,
			       g->account);
	return 0;
}

static void release_view(struct state_view *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		free(v->groups[i].provider);
		free(v->groups[i].account);
		buf_release(&v->groups[i].raw);
		buf_release(&v->groups[i].json);
		buf_release(&v->groups[i].done_ids);
		buf_release(&v->groups[i].pending);
	}
	arena_release(&v->arena);
}

/* Sum of the per-stream counts and the activities count of a run. */
static void run_records(const struct run_row *r, int64_t *total,
			int64_t *activities)
{
	struct json_doc *doc = NULL;
	struct err err = ERR_INIT;
	const struct json *root;
	size_t i;
	int64_t n;

	*total = 0;
	*activities = 0;
	if (!r->records_json || json_parse(&doc, r->records_json,
					   strlen(r->records_json), &err) < 0)
		return;
	root = json_root(doc);
	for (i = 0; i < json_len(root); i++)
		if (json_int(json_at(root, i), &n) == 0)
			*total += n;
	if (json_int(json_get(root, "activities"), &n) == 0)
		*activities = n;
	json_doc_free(doc);
}

static void iso(char *out, int64_t t)
{
	if (t == TIME_NULL || t == 0)
		snprintf(out, 32, "-");
	else
		time_format_iso(t, out);
}

static int load_runs(struct state_view *v, struct store *store,
		     const char *provider, struct err *err)
{
	size_t i;
	struct run_row run;
	struct group *g;
	int found;

	for (i = 0; source_registry[i]; i++) {
		const char *name = source_registry[i]->name;

		if (provider && strcmp(provider, name))
			continue;
		if (store_run_last(store, name, &run, &v->arena, &found, err) <
		    0)
			return -1;
		if (!found)
			continue;
		g = find_group(v, run.provider, run.account);
		if (!g)
			continue;
		g->last = run;
		g->has_last = 1;
		if (run.status == RUN_COMPLETE) {
			g->complete = run;
			g->has_complete = 1;
		} else if (store_run_last_status(store, name, RUN_COMPLETE,
						 &g->complete, &v->arena,
						 &g->has_complete, err) < 0) {
			return -1;
		}
	}
	return 0;
}

/* " (1, 2, 5, ...)" from the JSON strings of ids, then a newline. */
static void print_ids(const struct buf *ids)
{
	struct json_doc *doc = NULL;
	struct buf arr;
	size_t i, n;

	/* sized to fit: ids between brackets */
	buf_init(&arr, ids->len + 2);
	if (buf_printf(&arr, "[%s]", buf_str(ids)) < 0)
		BUG("campaign id list larger than its own size");
	if (ids->len && json_parse(&doc, buf_str(&arr), arr.len, NULL) == 0) {
		n = json_len(json_root(doc));
		fputs(" (", stdout);
		for (i = 0; i < n && i < MAX_LISTED; i++)
			printf("%s%s", i ? ", " : "",
			       json_str(json_at(json_root(doc), i)));
		fputs(n > MAX_LISTED ? ", ...)" : ")", stdout);
	}
	putchar('\n');
	json_doc_free(doc);
	buf_release(&arr);
}

/* Activities written today (UTC), 0 when the count is of another day. */
static int64_t today_count(const struct group *g)
{
	return g->today_day == clock_wall_s() / 86400 ? g->today_count : 0;
}

static void print_group(const struct group *g, int is_verbose)
{
	const struct source *src = source_find(g->provider);
	char a[32], b[32], n[32], acts[32];
	int64_t total, activities;

	printf("%s/%s\n", g->provider, g->account);
	if (g->has_complete)
		iso(a, g->complete.finished_at);
	printf("  last_sync_date:      %s\n", g->has_complete ? a : "never");
	printf("  campaigns_completed: %lld", (long long)g->n_complete);
	print_ids(&g->done_ids);
	if (g->n_pending || g->pending.len)
		printf("  campaigns_pending:   %lld (%s%s)\n",
		       (long long)g->n_pending, buf_str(&g->pending),
		       g->n_pending_listed > MAX_LISTED ? ", ..." : "");
	if (g->window_since != TIME_NULL) {
		iso(a, g->window_since);
		printf("  report_window:       events since %s are read again "
		       "when a campaign changes\n",
		       a);
	}
	if (g->has_last) {
		run_records(&g->last, &total, &activities);
		iso(a, g->last.started_at);
		iso(b, g->last.finished_at);
		cmd_format_count(n, total);
		cmd_format_count(acts, activities);
		printf("  last_run:            %s, started %s, finished %s, "
		       "%lld requests, %s records\n",
		       store_run_status_name(g->last.status), a, b,
		       (long long)g->last.requests, n);
		printf("  activities_synced:   %s\n", acts);
	} else {
		printf("  last_run:            none\n");
	}
	/* a windowed report source always shows the line: 0 until its
	 * first activity of the day */
	if (g->today_day >= 0 || (src && src->is_report_windowed)) {
		cmd_format_count(n, today_count(g));
		printf("  activities_today:    %s\n", n);
	}
	printf("  checkpoints:         %lld%s\n", (long long)g->n_states,
	       is_verbose || !g->n_states ? "" : " (list them with -v)");
	if (is_verbose)
		fputs(buf_str(&g->raw), stdout);
}

static int json_run(struct buf *b, const struct run_row *r)
{
	char a[32];
	int64_t total, activities;
	int rc = 0;

	run_records(r, &total, &activities);
	rc |= buf_printf(b, "{\"run_id\":%lld", (long long)r->run_id);
	rc |= jsonw_key(b, "status", 0);
	rc |= jsonw_string(b, store_run_status_name(r->status));
	iso(a, r->started_at);
	rc |= jsonw_key(b, "started_at", 0);
	rc |= jsonw_string(b, a);
	iso(a, r->finished_at);
	rc |= jsonw_key(b, "finished_at", 0);
	rc |= jsonw_string(b, strcmp(a, "-") ? a : NULL);
	rc |= buf_printf(b,
			 ",\"requests\":%lld,\"records\":%lld,"
			 "\"activities\":%lld}",
			 (long long)r->requests, (long long)total,
			 (long long)activities);
	return rc;
}

static int json_group(struct buf *b, const struct group *g, int is_verbose,
		      int is_first)
{
	char a[32];
	int rc = 0;

	rc |= buf_puts(b, is_first ? "{\"provider\":" : ",{\"provider\":");
	rc |= jsonw_string(b, g->provider);
	rc |= jsonw_key(b, "account", 0);
	rc |= jsonw_string(b, g->account);
	rc |= jsonw_key(b, "last_sync_date", 0);
	if (g->has_complete)
		iso(a, g->complete.finished_at);
	rc |= jsonw_string(b, g->has_complete ? a : NULL);
	rc |= buf_printf(b,
			 ",\"campaigns_completed\":%lld,"
			 "\"campaigns_completed_ids\":[%s],"
			 "\"campaigns_pending\":%lld,"
			 "\"activities_today\":%lld,"
			 "\"report_window_since\":",
			 (long long)g->n_complete, buf_str(&g->done_ids),
			 (long long)g->n_pending, (long long)today_count(g));
	iso(a, g->window_since);
	rc |= jsonw_string(b, g->window_since != TIME_NULL ? a : NULL);
	rc |= buf_printf(
	    b, ",\"checkpoints\":%lld,\"last_run\":", (long long)g->n_states);
	if (g->has_last)
		rc |= json_run(b, &g->last);
	else
		rc |= buf_puts(b, "null");
	if (is_verbose)
		rc |= buf_printf(b, ",\"state\":{%s}", buf_str(&g->json));
	rc |= buf_putc(b, '}');
	return rc;
}

/* Returns 0, or EXIT_RUNTIME when the JSON summary did not fit. */
static int print_json(const struct state_view *v)
{
	struct buf b = BUF_INIT;
	size_t i;
	int rc = 0, code;

	rc |= buf_puts(&b, "{\"command\":\"state\",\"action\":\"show\","
			   "\"providers\":[");
	for (i = 0; i < v->n; i++)
		rc |= json_group(&b, &v->groups[i], v->is_verbose, i == 0);
	rc |= buf_puts(&b, "],\"exit_code\":0}");
	code = cmd_print_json(&b, rc);
	buf_release(&b);
	return code;
}

static int show(struct store *store, const struct config *cfg)
{
	struct state_view *v = xcalloc(1, sizeof(*v));
	struct err err = ERR_INIT;
	const char *provider = cmd_only_provider(cfg);
	size_t i;
	int code = 0;

	v->is_verbose = cfg->verbosity > 0;
	if (store->ops->state_each(store, provider, on_state, v, &err) < 0 ||
	    load_runs(v, store, provider, &err) < 0) {
		if (v->err.kind != ERR_NONE)
			err = v->err;
		code = cmd_fail(&err, "cannot read sync state");
		cmd_json_failure(cfg, "state", &err, code);
		goto done;
	}
	if (cfg->is_json) {
		code = print_json(v);
		goto done;
	}
	if (!v->n)
		printf("no sync state yet: run 'espsync sync'\n");
	for (i = 0; i < v->n; i++) {
		if (i)
			putchar('\n');
		print_group(&v->groups[i], v->is_verbose);
	}
done:
	release_view(v);
	free(v);
	return code;
}

static int reset(const struct config *cfg)
{
	struct buf b = BUF_INIT;
	int64_t removed = 0;
	espsync *ctx = api_from_config(cfg);
	int rc, code;

	if (!ctx) {
		cmd_error("out of memory");
		return EXIT_RUNTIME;
	}
	code = espsync_state_reset(ctx, cmd_only_provider(cfg),
				   config_str(cfg, OPT_STREAM), &removed);
	if (code) {
		cmd_error("%s", espsync_error_message(ctx));
		cmd_json_failure(cfg, "state", api_error(ctx), code);
	} else if (cfg->is_json) {
		rc = buf_printf(&b,
				"{\"command\":\"state\",\"action\":\"reset\","
				"\"removed\":%lld,\"exit_code\":0}",
				(long long)removed);
		code = cmd_print_json(&b, rc);
	} else {
		printf("removed %lld checkpoint%s\n", (long long)removed,
		       removed == 1 ? "" : "s");
	}
	espsync_free(ctx);
	buf_release(&b);
	return code;
}

int cmd_state(int argc, const char *const *argv, const struct config *cfg)
{
	struct store *store = NULL;
	int is_show, code;

	if (argc < 1)
		return cmd_usage("state", "missing action: use 'state show' "
					  "or 'state reset'");
	is_show = !strcmp(argv[0], "show");
	if (!is_show && strcmp(argv[0], "reset"))
		return cmd_usage("state", "unknown action '%.64s'", argv[0]);
	if (argc > 1)
		return cmd_usage("state", "unexpected argument '%.64s'",
				 argv[1]);
	if (is_show && config_is_set(cfg, OPT_STREAM))
		return cmd_usage("state",
				 "option '--stream' is only for 'state reset'");
	if (!is_show)
		return reset(cfg);
	code = cmd_open_store(&store, cfg, "state");
	if (code)
		return code;
	code = show(store, cfg);
	store_close(store);
	return code;
}

/* The shared plumbing of one sync run, below every stream handler: the
 * batch commit and the checkpoint reads, fatal errors, failures and
 * warnings, and the stream objects the page loop (sync_streams.c) runs. */
#include "core/sync_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Replaces every occurrence of the key in a message with "***". */
void sync_scrub(struct err *e, const char *key)
{
	size_t kn = key ? strlen(key) : 0;
	char *hit;

	if (!e || kn < 4)
		return;
	while ((hit = strstr(e->msg, key)) != NULL) {
		size_t rest = strlen(hit + kn);

		memcpy(hit, "***", 3);
		memmove(hit + 3, hit + kn, rest + 1);
	}
}

/* The activities_today checkpoint rides along with the batch. */
static void count_today(struct sync_ctx *ctx, int64_t n_events)
{
	struct buf val = BUF_INIT;
	int64_t day = clock_wall_s() / 86400;
	int rc;

	if (day != ctx->today_day) {
		ctx->today_day = day;
		ctx->today_count = 0;
	}
	ctx->today_count += n_events;
	rc = ckpt_today_format(&val, ctx->today_day, ctx->today_count);
	sync_add_state(ctx, rc, CKPT_TODAY_STREAM, &val);
	buf_release(&val);
}

int sync_commit(struct sync_ctx *ctx)
{
	struct store_counts c = {0, 0, 0, 0, 0};
	struct err e = ERR_INIT;
	int rc = 0;

	if (batch_count(&ctx->batch) == 0 && ctx->batch.n_states == 0)
		return 0;
	if (ctx->batch.n_events && ctx->src->is_report_windowed)
		count_today(ctx, (int64_t)ctx->batch.n_events);
	if (ctx->is_fatal) {
		rc = -1;
	} else if (ctx->store->ops->write_batch(ctx->store, &ctx->batch, &c,
						&e) < 0) {
		if (e.kind == ERR_NONE)
			e.kind = ERR_STORE;
		sync_fatal(ctx, &e);
		rc = -1;
	} else {
		ctx->report->rows_inserted += c.inserted;
		ctx->report->rows_updated += c.updated;
		ctx->report->rows_unchanged += c.unchanged;
		ctx->report->events_outside_retention += c.outside_retention;
		sync_heartbeat(ctx);
	}
	batch_clear(&ctx->batch);
	return rc;
}

void sync_fatal(struct sync_ctx *ctx, const struct err *e)
{
	if (!ctx->is_fatal) {
		ctx->is_fatal = 1;
		ctx->fatal = *e;
		sync_scrub(&ctx->fatal, ctx->req->api_key);
	}
	if (ctx->fetch)
		fetch_stop(ctx->fetch);
}

int sync_too_long(struct sync_ctx *ctx, const char *what, size_t max)
{
	struct err e = ERR_INIT;

	err_set(&e, ERR_RUNTIME, 0, "%s too long: more than %zu bytes", what,
		max);
	sync_fatal(ctx, &e);
	return -1;
}

int sync_state_key(struct sync_ctx *ctx, struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	buf_reset(b);
	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc < 0 ? sync_too_long(ctx, "checkpoint name", b->max) : 0;
}

void sync_add_state(struct sync_ctx *ctx, int build_rc, const char *stream,
		    const struct buf *value)
{
	if (build_rc < 0)
		sync_too_long(ctx, "checkpoint", value->max);
	else
		batch_add_state(&ctx->batch, stream, buf_str(value));
}

void sync_failure(struct sync_ctx *ctx, const struct err *e)
{
	struct err copy = *e;

	/* A configuration fault (the API URL answers a web page) fails every
	 * request alike: the run stops on the first. */
	if (e->kind == ERR_CONFIG) {
		sync_fatal(ctx, e);
		return;
	}
	sync_scrub(&copy, ctx->req->api_key);
	if (ctx->n_failed++ == 0)
		ctx->first_failure = copy;
	sync_warn(ctx, "%s", copy.msg);
}

void sync_warn(struct sync_ctx *ctx, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	progress_clear(&ctx->progress);
	log_warn("%s", rc < 0 ? "warning too long to show" : buf_str(&b));
	buf_release(&b);
}

static size_t id_hash(const char *id)
{
	size_t h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h;
}

/* Puts id into a table of cap (a power of two) slots with room. */
static int listed_put(char **tab, size_t cap, char *id)
{
	size_t i = id_hash(id) & (cap - 1);

	while (tab[i]) {
		if (strcmp(tab[i], id) == 0)
			return 0;
		i = (i + 1) & (cap - 1);
	}
	tab[i] = id;
	return 1;
}

int sync_campaign_listed(struct sync_ctx *ctx, const char *id)
{
	size_t i;
	char *copy;

	if (!id)
		return 1;
	/* at most half full */
	if (2 * (ctx->n_listed + 1) > ctx->cap_listed) {
		size_t cap = ctx->cap_listed ? 2 * ctx->cap_listed : 64;
		char **tab = xcalloc(cap, sizeof(*tab));

		for (i = 0; i < ctx->cap_listed; i++)
			if (ctx->listed_ids[i])
				listed_put(tab, cap, ctx->listed_ids[i]);
		free(ctx->listed_ids);
		ctx->listed_ids = tab;
		ctx->cap_listed = cap;
	}
	copy = xstrdup(id);
	if (!listed_put(ctx->listed_ids, ctx->cap_listed, copy)) {
		free(copy);
		return 0;
	}
	ctx->n_listed++;
	return 1;
}

void sync_listed_release(struct sync_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->cap_listed; i++)
		free(ctx->listed_ids[i]);
	free(ctx->listed_ids);
	ctx->listed_ids = NULL;
	ctx->n_listed = 0;
	ctx->cap_listed = 0;
}

int sync_state_get(struct sync_ctx *ctx, const char *stream, struct buf *out,
		   int *found)
{
	struct err e = ERR_INIT;

	*found = 0;
	buf_reset(out);
	if (ctx->store->ops->state_get(ctx->store, ctx->src->name,
				       ctx->req->account, stream, out, found,
				       &e) < 0) {
		sync_fatal(ctx, &e);
		return -1;
	}
	return 0;
}

struct stream *sync_stream_new(struct sync_ctx *ctx, enum source_endpoint ep,
			       struct campaign_work *cw)
{
	struct stream *s = xcalloc(1, sizeof(*s));

	s->ctx = ctx;
	s->ep = ep;
	s->cw = cw;
	s->since = TIME_NULL;
	s->pass_started_at = ctx->run_started_s;
	s->newest = TIME_NULL;
	buf_init(&s->next.url, 64 * 1024);
	buf_init(&s->next.cursor, 16 * 1024);
	if (cw)
		cw->pending++;
	return s;
}

void sync_stream_free(struct stream *s)
{
	if (!s)
		return;
	free(s->list_id);
	free(s->contact_id);
	free(s->campaign_id);
	free(s->subject);
	free(s->from_name);
	free(s->from_email);
	free(s->to_lists);
	free(s->held_key);
	free(s->held_val);
	free(s->cursor);
	free(s->url);
	buf_release(&s->next.url);
	buf_release(&s->next.cursor);
	free(s);
}

void sync_stream_query(const struct stream *s, struct source_query *q,
		       char *since)
{
	memset(q, 0, sizeof(*q));
	q->endpoint = s->ep;
	q->list_id = s->list_id;
	q->contact_id = s->contact_id;
	q->campaign_id = s->cw ? s->cw->id : s->campaign_id;
	q->status = s->status;
	q->cursor = s->cursor;
	if (s->since != TIME_NULL) {
		time_format_iso(s->since, since);
		q->since_iso = since;
	}
}

void sync_stream_submit(struct stream *s)
{
	struct sync_ctx *ctx = s->ctx;

	if (!s->url) {
		struct buf u = BUF_INIT;
		struct source_query q;
		char since[21];

		sync_stream_query(s, &q, since);
		if (ctx->src->url(&u, ctx->req->api_url, &q) < 0)
			BUG("url too long");
		s->url = buf_detach(&u, NULL);
	}
	fetch_submit(ctx->fetch, s->url, ctx->on_page, s);
}

/* The campaign side of the page loop: which campaigns to read, in what
 * order and how many at a time, when a campaign counts as unchanged, and
 * its checkpoint row. The page loop (sync_streams.c) calls down into it;
 * its streams are queued through sync_ctx.c. */
#include "core/sync_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Campaign detail chains read at a time (sync_details_run). */
#define DETAILS_RUNNING 2

static void start_streams(struct sync_ctx *ctx, struct campaign_work *cw,
			  unsigned mask);

unsigned sync_links_bit(const struct sync_ctx *ctx)
{
	return 1u << ctx->src->n_report_kinds;
}

/* Campaign work. */

static void campaign_free(struct campaign_work *cw)
{
	if (!cw)
		return;
	free(cw->id);
	free(cw->name);
	free(cw->subject);
	free(cw->from_name);
	free(cw->from_email);
	free(cw->status);
	free(cw->to_lists);
	free(cw);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void campaign_unlink(struct sync_ctx *ctx, struct campaign_work *cw)
{
	struct campaign_work **pp;

	for (pp = &ctx->campaigns; *pp; pp = &(*pp)->next)
		if (*pp == cw) {
			*pp = cw->next;
			break;
		}
}

int sync_campaign_key(struct sync_ctx *ctx, struct buf *b, const char *prefix,
		      const char *id, const char *suffix)
{
	return sync_state_key(ctx, b, "%s:%s%s%s", prefix, id,
			      suffix ? ":" : "", suffix ? suffix : "");
}

/* The clock bound of the next window: the newest event of the account,
 * not only of this campaign, so a campaign that was quiet for weeks does
 * not re-read back to its last event when it changes. Any event time is
 * at most the provider's now. */
static int64_t window_newest(const struct sync_ctx *ctx,
			     const struct campaign_work *cw)
{
	if (ctx->account_newest != TIME_NULL &&
	    (cw->newest == TIME_NULL || ctx->account_newest > cw->newest))
		return ctx->account_newest;
	return cw->newest;
}

void sync_campaign_state(struct sync_ctx *ctx, struct campaign_work *cw,
			 int is_complete)
{
	struct ckpt_campaign c;
	struct buf key = BUF_INIT, val = BUF_INIT;

	if (!ctx->is_tracking)
		return;
	memset(&c, 0, sizeof(c));
	memcpy(c.counters, cw->counters, sizeof(c.counters));
	c.checked_at = clock_wall_s();
	c.is_complete = is_complete;
	c.done_mask = cw->done_mask;
	c.since = c.pass_started_at = c.newest = TIME_NULL;
	if (ctx->src->is_report_windowed) {
		c.has_window = 1;
		c.pass_started_at = cw->pass_started_at;
		c.newest = cw->newest;
		/* A finished pass opens the next window; an unchanged
		 * campaign keeps the one it has. */
		if (!is_complete)
			c.since = cw->since;
		else if (cw->is_unchanged)
			c.since = cw->state.since;
		else
			c.since = ckpt_next_since(cw->pass_started_at,
						  window_newest(ctx, cw),
						  ctx->lookback_s);
	}
	if (sync_campaign_key(ctx, &key, "campaign", cw->id, NULL) == 0)
		sync_add_state(ctx,
			       ckpt_campaign_format(&val, &c, ctx->done_names,
						    ctx->n_done_names),
			       buf_str(&key), &val);
	buf_release(&key);
	buf_release(&val);
}

static void finish_one(struct sync_ctx *ctx, struct campaign_work *cw,
		       int may_commit);

/* The listing carried the counters (is_summary_in_listing): plan at once,
 * without a summary request. An unfinished pass resumes first, as in
 * run_queued. The campaign may finish here; no commit then, as the
 * listing page being mapped is still in the batch. */
static void plan_from_listing(struct sync_ctx *ctx, struct campaign_work *cw)
{
	cw->pending++;
	if (ctx->is_tracking && cw->state.has_state && !cw->state.is_complete) {
		cw->is_early = 1;
		memcpy(cw->counters, cw->state.counters, sizeof(cw->counters));
		cw->done_mask = cw->state.done_mask;
		start_streams(
		    ctx, cw, ((sync_links_bit(ctx) << 1) - 1) & ~cw->done_mask);
	}
	cw->has_summary = 1;
	ctx->report->records[SLOT_REPORTS]++;
	ckpt_counters(cw->counters, sizeof(cw->counters), &cw->rec.stats);
	sync_campaign_plan(ctx, cw);
	if (--cw->pending == 0)
		finish_one(ctx, cw, 0);
}

/* Room for one more campaign: fewer than max_running run, or the
 * connections are the limit (is_throttle_connections) and one would sit
 * idle because the running campaigns are down to their last serial
 * pages. */
static int has_room(const struct sync_ctx *ctx)
{
	if (ctx->campaigns_running < ctx->max_running)
		return 1;
	return ctx->src->is_throttle_connections && ctx->fetch &&
	       fetch_has_room(ctx->fetch);
}

/* Starts queued campaigns while there is room. After a fatal error they
 * stay unsynced for the next run. */
static void run_queued(struct sync_ctx *ctx)
{
	while (ctx->queue_head && has_room(ctx)) {
		struct campaign_work *cw = ctx->queue_head;

		ctx->queue_head = cw->queue_next;
		if (!ctx->queue_head)
			ctx->queue_tail = NULL;
		if (ctx->is_fatal) {
			ctx->n_cut++;
			ctx->campaigns_active--;
			campaign_unlink(ctx, cw);
			campaign_free(cw);
			continue;
		}
		ctx->campaigns_running++;
		if (ctx->src->is_summary_in_listing && cw->rec.has_stats) {
			plan_from_listing(ctx, cw);
			continue;
		}
		sync_stream_submit(sync_stream_new(ctx, SRC_SUMMARY, cw));
		if (ctx->is_tracking && cw->state.has_state &&
		    !cw->state.is_complete) {
			/* Resume without waiting for the summary: a short
			 * budget then still moves the cursors on. */
			cw->is_early = 1;
			memcpy(cw->counters, cw->state.counters,
			       sizeof(cw->counters));
			cw->done_mask = cw->state.done_mask;
			start_streams(ctx, cw,
				      ((sync_links_bit(ctx) << 1) - 1) &
					  ~cw->done_mask);
		}
	}
}

static void finish_one(struct sync_ctx *ctx, struct campaign_work *cw,
		       int may_commit)
{
	int64_t now = clock_mono_ms();
	int is_whole =
	    cw->has_summary && !cw->is_failed && !cw->is_cut && !cw->is_gone;

	if (cw->is_unchanged) {
		progress_unit_done(&ctx->progress, PROG_REPORTS, now);
		progress_campaign_done(&ctx->progress, cw->id, cw->name, 0, 0,
				       1, now);
	} else if (is_whole) {
		if (!ctx->is_fatal) {
			sync_campaign_state(ctx, cw, 1);
			if (may_commit)
				sync_commit(ctx);
		}
		progress_unit_done(&ctx->progress, PROG_REPORTS, now);
		progress_campaign_done(&ctx->progress, cw->id, cw->name,
				       cw->events, cw->links, 0, now);
	}
	if (cw->is_unchanged || cw->is_gone || (is_whole && !ctx->is_fatal))
		ctx->campaigns_finished++;
	ctx->campaigns_active--;
	ctx->campaigns_running--;
	campaign_unlink(ctx, cw);
	campaign_free(cw);
}

void sync_campaigns_fill(struct sync_ctx *ctx)
{
	run_queued(ctx);
}

void sync_campaign_finish(struct sync_ctx *ctx, struct campaign_work *cw)
{
	int64_t now;

	finish_one(ctx, cw, 1);
	run_queued(ctx);
	now = clock_mono_ms();
	if (ctx->campaigns_listing_done && ctx->campaigns_active == 0)
		progress_stream_done(&ctx->progress, PROG_REPORTS, now);
}

/* The report window of this pass: a resumed pass keeps its own, a new one
 * starts where the last complete pass said (everything on --full or
 * without state). */
static void window_init(struct sync_ctx *ctx, struct campaign_work *cw)
{
	const struct ckpt_campaign *st = &cw->state;

	cw->since = TIME_NULL;
	cw->pass_started_at = ctx->run_started_s;
	cw->newest = TIME_NULL;
	if (!ctx->src->is_report_windowed || !st->has_state || !st->has_window)
		return;
	if (!st->is_complete) {
		cw->since = st->since;
		if (st->pass_started_at != TIME_NULL)
			cw->pass_started_at = st->pass_started_at;
		cw->newest = st->newest;
	} else if (ctx->req->mode != SYNC_FULL) {
		cw->since = st->since;
	}
}

void sync_campaign_detail(struct sync_ctx *ctx, const struct rec_campaign *r)
{
	struct rec_campaign stored;
	struct arena a;
	struct err e = ERR_INIT;
	struct stream *s;
	int found = 0;

	if (!ctx->src->map_campaign_detail || !ctx->want_campaign_rows ||
	    ctx->is_fatal || !r->campaign_id || r->to_lists_json)
		return;
	/* Details do not change after a send: a stored row that has its
	 * target lists has them all. */
	memset(&a, 0, sizeof(a));
	if (ctx->store->ops->campaign_get(ctx->store, ctx->src->name,
					  ctx->req->account, r->campaign_id,
					  &stored, &a, &found, &e) < 0) {
		arena_release(&a);
		sync_fatal(ctx, &e);
		return;
	}
	found = found && stored.to_lists_json;
	arena_release(&a);
	if (found)
		return;
	s = sync_stream_new(ctx, SRC_CAMPAIGN_DETAIL, NULL);
	s->campaign_id = xstrdup(r->campaign_id);
	if (ctx->details_tail)
		ctx->details_tail->queue_next = s;
	else
		ctx->details_head = s;
	ctx->details_tail = s;
	sync_details_run(ctx);
}

void sync_details_run(struct sync_ctx *ctx)
{
	while (ctx->details_head && ctx->details_running < DETAILS_RUNNING) {
		struct stream *s = ctx->details_head;

		ctx->details_head = s->queue_next;
		if (!ctx->details_head)
			ctx->details_tail = NULL;
		if (ctx->is_fatal) {
			ctx->n_cut++;
			sync_stream_free(s);
			continue;
		}
		ctx->details_running++;
		sync_stream_submit(s);
	}
}

void sync_start_campaign(struct sync_ctx *ctx, const struct rec_campaign *r)
{
	struct campaign_work *cw;
	struct buf key = BUF_INIT, val = BUF_INIT;
	int found = 0;

	if (ctx->is_fatal || !r->campaign_id ||
	    !(r->has_sends || ctx->src->is_reportable(r->status)))
		return;
	sync_campaign_detail(ctx, r);
	if (!ctx->want_reports && !ctx->want_participants && !ctx->want_events)
		return;
	cw = xcalloc(1, sizeof(*cw));
	cw->ctx = ctx;
	cw->id = xstrdup(r->campaign_id);
	cw->name = dup_or_null(r->name);
	cw->subject = dup_or_null(r->subject);
	cw->from_name = dup_or_null(r->from_name);
	cw->from_email = dup_or_null(r->from_email);
	cw->status = dup_or_null(r->status);
	cw->to_lists = dup_or_null(r->to_lists_json);
	cw->rec = *r;
	cw->rec.campaign_id = cw->id;
	cw->rec.name = cw->name;
	cw->rec.subject = cw->subject;
	cw->rec.from_name = cw->from_name;
	cw->rec.from_email = cw->from_email;
	cw->rec.status = cw->status;
	cw->rec.to_lists_json = cw->to_lists;
	cw->state.checked_at = TIME_NULL;
	if (ctx->is_tracking) {
		int rc = sync_campaign_key(ctx, &key, "campaign", cw->id, NULL);

		if (rc < 0 ||
		    sync_state_get(ctx, buf_str(&key), &val, &found) < 0) {
			campaign_free(cw);
			goto done;
		}
		if (found)
			ckpt_campaign_parse(&cw->state, buf_str(&val),
					    ctx->done_names, ctx->n_done_names);
	}
	window_init(ctx, cw);
	/* --incremental: a campaign read completely less than `hours` ago is
	 * not even asked for its summary. */
	if (ctx->req->mode == SYNC_INCREMENTAL && !ctx->req->campaign_id &&
	    cw->state.is_complete && cw->state.checked_at != TIME_NULL &&
	    ctx->run_started_s - cw->state.checked_at < ctx->hours * 3600) {
		ctx->report->campaigns_skipped++;
		progress_campaign_done(&ctx->progress, cw->id, cw->name, 0, 0,
				       1, clock_mono_ms());
		campaign_free(cw);
		goto done;
	}
	cw->next = ctx->campaigns;
	ctx->campaigns = cw;
	ctx->campaigns_active++;
	ctx->campaigns_started++;
	progress_set_total(&ctx->progress, PROG_REPORTS,
			   ctx->campaigns_started);
	/* Unfinished campaigns first: they have saved positions to use. */
	if (cw->state.has_state && !cw->state.is_complete) {
		cw->queue_next = ctx->queue_head;
		ctx->queue_head = cw;
		if (!ctx->queue_tail)
			ctx->queue_tail = cw;
	} else {
		if (ctx->queue_tail)
			ctx->queue_tail->queue_next = cw;
		else
			ctx->queue_head = cw;
		ctx->queue_tail = cw;
	}
	run_queued(ctx);
done:
	buf_release(&key);
	buf_release(&val);
}

/* The report stream s of an unfinished pass resumes from its saved
 * cursor, when there is one. */
static void resume_report(struct sync_ctx *ctx, const struct campaign_work *cw,
			  struct stream *s)
{
	struct buf key = BUF_INIT, val = BUF_INIT;
	int found = 0;

	if (sync_campaign_key(ctx, &key, "reports", cw->id, s->status) < 0 ||
	    sync_state_get(ctx, buf_str(&key), &val, &found) < 0 || !found)
		goto done;
	ckpt_cursor_parse(&val, buf_str(&val));
	if (val.len) {
		s->cursor = xstrdup(buf_str(&val));
		s->is_resumed = 1;
	}
done:
	buf_release(&key);
	buf_release(&val);
}

/* Starts the links and report streams in mask that are not running yet;
 * report streams of an unfinished pass resume from their saved cursors. */
static void start_streams(struct sync_ctx *ctx, struct campaign_work *cw,
			  unsigned mask)
{
	const struct ckpt_campaign *st = &cw->state;
	size_t i;

	mask &= ~cw->started_mask;
	cw->started_mask |= mask;
	if (ctx->want_reports && (mask & sync_links_bit(ctx)) &&
	    ctx->src->map_links)
		sync_stream_submit(sync_stream_new(ctx, SRC_LINKS, cw));
	else if (mask & sync_links_bit(ctx))
		cw->done_mask |= sync_links_bit(ctx);
	for (i = 0; i < ctx->src->n_report_kinds; i++) {
		const struct source_report_kind *k = &ctx->src->report_kinds[i];
		/* Without a links endpoint the click report carries them. */
		int is_links = !ctx->src->map_links && k->type == EV_CLICK &&
			       ctx->want_reports;
		struct stream *s;

		if (!(mask & (1u << i)) ||
		    (!ctx->want_participants && !ctx->want_events && !is_links))
			continue;
		s = sync_stream_new(ctx, SRC_REPORT, cw);
		s->kind = i;
		s->status = k->status;
		if (ctx->src->is_report_windowed)
			s->since = cw->since;
		if (ctx->is_tracking && st->has_state && !st->is_complete)
			resume_report(ctx, cw, s);
		sync_stream_submit(s);
	}
}

/* After the summary: skip an unchanged campaign, or read what the last
 * pass did not finish. Streams of an unfinished pass were started with the
 * summary (see run_queued); if the counters moved since, the sub-streams
 * that pass had finished are read again too. */
void sync_campaign_plan(struct sync_ctx *ctx, struct campaign_work *cw)
{
	const struct ckpt_campaign *st = &cw->state;
	unsigned all = (sync_links_bit(ctx) << 1) - 1;

	if (ctx->is_tracking && st->has_state && st->is_complete &&
	    strcmp(st->counters, cw->counters) == 0 &&
	    ctx->req->mode != SYNC_FULL) {
		cw->is_unchanged = 1;
		ctx->report->campaigns_skipped++;
		sync_campaign_state(ctx, cw, 1);
		return;
	}
	if (cw->is_early && ctx->src->is_report_windowed) {
		/* Newest-first pages: what arrived since the pass began sits
		 * above the resumed pages. Finish the pass under the
		 * counters it began with; they differ from the listing's,
		 * so the next run reads the window again. */
		memcpy(cw->counters, st->counters, sizeof(cw->counters));
	} else if (cw->is_early) {
		if (strcmp(st->counters, cw->counters) != 0) {
			cw->done_mask &= ~st->done_mask;
			start_streams(ctx, cw, st->done_mask);
		}
	} else {
		cw->done_mask = 0;
		start_streams(ctx, cw, all);
	}
	sync_campaign_state(ctx, cw, 0);
}

void sync_campaigns_release(struct sync_ctx *ctx)
{
	sync_listed_release(ctx);
	while (ctx->details_head) {
		struct stream *s = ctx->details_head;

		ctx->details_head = s->queue_next;
		sync_stream_free(s);
	}
	ctx->details_tail = NULL;
	while (ctx->campaigns) {
		struct campaign_work *cw = ctx->campaigns;

		ctx->campaigns = cw->next;
		campaign_free(cw);
	}
}

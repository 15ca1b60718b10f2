/* The page loop of the sync engine: one fetch callback for every stream
 * (lists, contacts per list and status, campaigns, and per campaign its
 * summary, links and per-contact reports). Each completed page is mapped by
 * the source into the batch, its checkpoints are added, and it is written in
 * one store transaction before the next page is asked for. */
#include "core/sync_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Names the stream in messages: "campaign 'ID' opened report". */
static void describe(const struct stream *s, char *out, size_t n)
{
	switch (s->ep) {
	case SRC_LISTS:
		snprintf(out, n, "the list index");
		break;
	case SRC_CONTACTS:
		snprintf(out, n, "%s contacts of list '%.60s'", s->status,
			 s->list_id);
		break;
	case SRC_CONTACT_PART:
		snprintf(out, n, "contact '%.40s' of list '%.40s'",
			 s->contact_id, s->list_id);
		break;
	case SRC_CAMPAIGNS:
		snprintf(out, n, "the campaign index");
		break;
	case SRC_SUMMARY:
		snprintf(out, n, "campaign '%.60s' summary", s->cw->id);
		break;
	case SRC_LINKS:
		snprintf(out, n, "campaign '%.60s' links", s->cw->id);
		break;
	case SRC_REPORT:
		snprintf(out, n, "campaign '%.60s' %s report", s->cw->id,
			 s->status);
		break;
	case SRC_CAMPAIGN_DETAIL:
		snprintf(out, n, "campaign '%.60s' details", s->campaign_id);
		break;
	default:
		snprintf(out, n, "request");
		break;
	}
}

/* Contacts of one list in one status, filtered by last_updated_at.gte from
 * the previous pass unless the run is full. */
static void contacts_start(struct sync_ctx *ctx, const char *list_id,
			   const char *status)
{
	struct stream *s = sync_stream_new(ctx, SRC_CONTACTS, NULL);
	struct ckpt_contacts st;
	struct buf key = BUF_INIT, val = BUF_INIT;
	int found = 0, is_full = ctx->req->mode == SYNC_FULL || ctx->is_scan;

	ckpt_contacts_init(&st);
	s->list_id = xstrdup(list_id);
	s->status = status;
	if (sync_state_key(ctx, &key, "contacts:%s:%s", list_id, status) < 0 ||
	    sync_state_get(ctx, buf_str(&key), &val, &found) < 0) {
		sync_stream_free(s);
		goto done;
	}
	if (found)
		ckpt_contacts_parse(&st, buf_str(&val));
	if (!is_full || st.since == TIME_NULL) {
		s->since = is_full ? TIME_NULL : st.since;
		if (st.cursor.len) {
			s->cursor = xstrdup(buf_str(&st.cursor));
			s->is_resumed = 1;
			/* the walk's start was in an earlier run */
			ctx->is_scan_broken = 1;
			if (st.pass_started_at != TIME_NULL)
				s->pass_started_at = st.pass_started_at;
			s->newest = st.newest;
		}
	}
	ctx->contacts_active++;
	sync_stream_submit(s);
done:
	ckpt_contacts_release(&st);
	buf_release(&key);
	buf_release(&val);
}

void sync_start_lists(struct sync_ctx *ctx)
{
	sync_stream_submit(sync_stream_new(ctx, SRC_LISTS, NULL));
}

void sync_start_campaigns(struct sync_ctx *ctx)
{
	sync_stream_submit(sync_stream_new(ctx, SRC_CAMPAIGNS, NULL));
}

void sync_start_campaigns_from(struct sync_ctx *ctx, const char *body,
			       size_t len)
{
	struct stream *s = sync_stream_new(ctx, SRC_CAMPAIGNS, NULL);
	struct fetch_result res;
	struct source_query q;
	struct buf u = BUF_INIT;
	char since[21];

	sync_stream_query(s, &q, since);
	if (ctx->src->url(&u, ctx->req->api_url, &q) < 0)
		BUG("url too long");
	s->url = buf_detach(&u, NULL);
	memset(&res, 0, sizeof(res));
	res.outcome = FETCH_OK;
	res.status = 200;
	res.body = body;
	res.body_len = len;
	res.attempts = 1;
	if (sync_on_page(s, &res) == FETCH_RETRY)
		sync_stream_submit(s);
}

static void stream_finish(struct stream *s, enum stream_end how);

/* The next page of s, or its end. */
static void stream_continue(struct stream *s)
{
	struct sync_ctx *ctx = s->ctx;

	if (s->next.has_next && !ctx->is_fatal) {
		free(s->cursor);
		free(s->url);
		s->cursor = s->next.cursor.len
				? xstrdup(buf_str(&s->next.cursor))
				: NULL;
		s->url = xstrdup(buf_str(&s->next.url));
		s->is_resumed = 0;
		fetch_submit(ctx->fetch, s->url, sync_on_page, s);
	} else {
		stream_finish(s, s->next.has_next ? END_CUT : END_OK);
	}
}

/* The last part of a contacts page is done: its checkpoint is written
 * (unless a part was lost: the page is read again next run) and the
 * stream goes on. */
static void parts_done(struct stream *p)
{
	struct sync_ctx *ctx = p->ctx;

	if (p->is_part_lost || ctx->is_fatal) {
		stream_finish(p, END_CUT);
		return;
	}
	if (p->held_key) {
		batch_add_state(&ctx->batch, p->held_key, p->held_val);
		if (sync_commit(ctx) < 0) {
			stream_finish(p, END_CUT);
			return;
		}
	}
	free(p->held_key);
	free(p->held_val);
	p->held_key = p->held_val = NULL;
	stream_continue(p);
}

/* The end of a stream, however it ended. */
static void stream_finish(struct stream *s, enum stream_end how)
{
	struct sync_ctx *ctx = s->ctx;
	struct campaign_work *cw = s->cw;
	struct stream *parent = s->ep == SRC_CONTACT_PART ? s->parent : NULL;
	enum source_endpoint ep = s->ep;
	int64_t now = clock_mono_ms();

	if (how == END_CUT)
		ctx->n_cut++;
	if (how != END_OK && how != END_GONE &&
	    (s->ep == SRC_LISTS || s->ep == SRC_CONTACTS ||
	     s->ep == SRC_CONTACT_PART))
		ctx->is_scan_broken = 1;
	switch (s->ep) {
	case SRC_LISTS:
		ctx->lists_listing_done = 1;
		progress_stream_done(&ctx->progress, PROG_LISTS, now);
		if (ctx->contacts_active == 0)
			progress_stream_done(&ctx->progress, PROG_CONTACTS,
					     now);
		break;
	case SRC_CONTACTS:
	case SRC_CONTACT_PART:
		ctx->contacts_active--;
		if (ctx->lists_listing_done && ctx->contacts_active == 0)
			progress_stream_done(&ctx->progress, PROG_CONTACTS,
					     now);
		break;
	case SRC_CAMPAIGNS:
		ctx->campaigns_listing_done = 1;
		progress_stream_done(&ctx->progress, PROG_CAMPAIGNS, now);
		if (ctx->campaigns_active == 0)
			progress_stream_done(&ctx->progress, PROG_REPORTS, now);
		break;
	default:
		break;
	}
	if (cw) {
		if (how == END_CUT)
			cw->is_cut = 1;
		else if (how == END_FAILED)
			cw->is_failed = 1;
		else if (how == END_GONE)
			cw->is_gone = 1;
	}
	sync_stream_free(s);
	if (ep == SRC_CAMPAIGN_DETAIL) {
		ctx->details_running--;
		sync_details_run(ctx);
	}
	if (cw && --cw->pending == 0)
		sync_campaign_finish(ctx, cw);
	if (parent) {
		/* a contact deleted meanwhile (gone) needs nothing more */
		if (how == END_CUT || how == END_FAILED)
			parent->is_part_lost = 1;
		if (--parent->n_parts == 0)
			parts_done(parent);
	}
}

/* Keeps what a detail step told that earlier steps did not. */
static void detail_take(char **have, const char *v)
{
	if (!*have && v)
		*have = xstrdup(v);
}

/* After a detail step: merges what it mapped into the stream; after the
 * last step the campaign's details go into the batch as one row (the
 * target lists "[]" when no step named any, so they are not asked for
 * again). */
static void after_detail(struct stream *s, size_t first)
{
	struct batch *b = &s->ctx->batch;
	struct rec_campaign *r;
	size_t i;

	for (i = first; i < b->n_campaigns; i++) {
		detail_take(&s->subject, b->campaigns[i].subject);
		detail_take(&s->from_name, b->campaigns[i].from_name);
		detail_take(&s->from_email, b->campaigns[i].from_email);
		detail_take(&s->to_lists, b->campaigns[i].to_lists_json);
	}
	b->n_campaigns = first;
	if (s->next.has_next)
		return;
	r = batch_add_campaign(b);
	r->campaign_id = arena_strdup(&b->arena, s->campaign_id);
	r->subject = arena_strdup(&b->arena, s->subject);
	r->from_name = arena_strdup(&b->arena, s->from_name);
	r->from_email = arena_strdup(&b->arena, s->from_email);
	r->to_lists_json =
	    arena_strdup(&b->arena, s->to_lists ? s->to_lists : "[]");
}

/* A detail step answered 404: the source names the step to try instead
 * (or none, and what earlier steps told is written). */
static void detail_not_found(struct stream *s)
{
	struct sync_ctx *ctx = s->ctx;
	struct source_query q;
	char since[21];

	sync_stream_query(s, &q, since);
	buf_reset(&s->next.url);
	buf_reset(&s->next.cursor);
	s->next.has_next = 0;
	ctx->src->next_page(&s->next, NULL, ctx->req->api_url, &q);
	if (!s->next.has_next &&
	    (s->subject || s->from_name || s->from_email || s->to_lists))
		after_detail(s, ctx->batch.n_campaigns);
	if (sync_commit(ctx) < 0) {
		stream_finish(s, END_CUT);
		return;
	}
	stream_continue(s);
}

static enum fetch_verdict on_http_error(struct stream *s,
					const struct fetch_result *res)
{
	struct sync_ctx *ctx = s->ctx;
	struct err e = ERR_INIT;
	char what[128];

	describe(s, what, sizeof(what));
	ctx->src->http_error(&e, res->status, res->body, res->body_len, what);
	/* Unsent campaigns have no reports (a 4xx, 400 on v2; a 403 on a
	 * draft's summary): no data. */
	if (s->cw &&
	    ((res->status == 400 && !s->is_resumed) ||
	     (res->status == 403 && !ctx->src->is_reportable(s->cw->status)))) {
		log_debug("%s: no report data (%ld)", what, res->status);
		if (s->ep == SRC_SUMMARY)
			stream_finish(s, END_GONE);
		else
			stream_finish(s, END_OK);
		return FETCH_ACCEPT;
	}
	if (e.kind == ERR_AUTH || e.kind == ERR_INACTIVE) {
		sync_fatal(ctx, &e);
		stream_finish(s, END_CUT);
		return FETCH_ACCEPT;
	}
	if (res->status == 404 && s->ep == SRC_CAMPAIGN_DETAIL) {
		log_debug("%s: not found; next step", what);
		detail_not_found(s);
		return FETCH_ACCEPT;
	}
	/* A saved cursor the provider no longer accepts: start over. */
	if (res->status == 400 && s->is_resumed) {
		sync_warn(ctx,
			  "%s: saved position rejected; reading it again "
			  "from the start",
			  what);
		free(s->cursor);
		free(s->url);
		s->cursor = NULL;
		s->url = NULL;
		s->is_resumed = 0;
		s->pass_started_at = ctx->run_started_s;
		s->newest = TIME_NULL;
		sync_stream_submit(s);
		return FETCH_ACCEPT;
	}
	if (res->status == 404 &&
	    (s->ep == SRC_CONTACTS || s->ep == SRC_CONTACT_PART || s->cw)) {
		if (!s->cw)
			sync_warn(ctx,
				  "%s not found on %s (deleted while "
				  "syncing?); skipped",
				  what, ctx->src->name);
		else if (!s->cw->is_gone)
			sync_warn(ctx,
				  "campaign '%.60s' not found on %s "
				  "(deleted while syncing?); skipped",
				  s->cw->id, ctx->src->name);
		if (s->cw)
			s->cw->is_gone = 1;
		stream_finish(s, END_GONE);
		return FETCH_ACCEPT;
	}
	sync_failure(ctx, &e);
	stream_finish(s, END_FAILED);
	return FETCH_ACCEPT;
}

/* Bookkeeping of a page just mapped into the batch, before the commit. */
static void after_lists(struct stream *s, size_t first)
{
	struct sync_ctx *ctx = s->ctx;
	size_t i, j;

	ctx->report->records[SLOT_LISTS] +=
	    (int64_t)(ctx->batch.n_lists - first);
	if (!ctx->want_contacts)
		return;
	for (i = first; i < ctx->batch.n_lists; i++)
		for (j = 0; ctx->src->contact_statuses[j]; j++)
			contacts_start(ctx, ctx->batch.lists[i].list_id,
				       ctx->src->contact_statuses[j]);
}

/* The live contacts of a page of the scan. */
static void scan_add(struct sync_ctx *ctx)
{
	const struct batch *b = &ctx->batch;
	size_t i;

	for (i = 0; i < b->n_contacts; i++) {
		if (b->contacts[i].deleted_at != TIME_NULL ||
		    !b->contacts[i].contact_id)
			continue;
		if (ctx->n_scan_ids == ctx->cap_scan_ids) {
			ctx->cap_scan_ids =
			    ctx->cap_scan_ids ? 2 * ctx->cap_scan_ids : 1024;
			ctx->scan_ids =
			    xrealloc(ctx->scan_ids, ctx->cap_scan_ids *
							sizeof(*ctx->scan_ids));
		}
		ctx->scan_ids[ctx->n_scan_ids++] =
		    xstrdup(b->contacts[i].contact_id);
	}
}

/* Reads the rest of the contacts whose page row was incomplete. */
static void start_parts(struct stream *s, const struct source_map *m)
{
	struct sync_ctx *ctx = s->ctx;
	size_t i;

	for (i = 0; i < m->n_follow && !ctx->is_fatal; i++) {
		struct stream *p = sync_stream_new(ctx, SRC_CONTACT_PART, NULL);

		p->list_id = xstrdup(s->list_id);
		p->contact_id = xstrdup(m->follow_ids[i]);
		p->status = s->status;
		p->parent = s;
		s->n_parts++;
		ctx->contacts_active++;
		sync_stream_submit(p);
	}
}

static void after_contacts(struct stream *s, const struct source_map *m)
{
	struct sync_ctx *ctx = s->ctx;
	struct ckpt_contacts st;
	struct buf key = BUF_INIT, val = BUF_INIT;
	int rc = 0;

	ctx->report->records[SLOT_CONTACTS] += (int64_t)ctx->batch.n_contacts;
	if (ctx->is_scan)
		scan_add(ctx);
	start_parts(s, m);
	if (m->newest_updated_at != TIME_NULL &&
	    (s->newest == TIME_NULL || m->newest_updated_at > s->newest))
		s->newest = m->newest_updated_at;
	ckpt_contacts_init(&st);
	if (s->next.has_next && s->next.cursor.len) {
		st.since = s->since;
		rc = buf_puts(&st.cursor, buf_str(&s->next.cursor));
		st.pass_started_at = s->pass_started_at;
		st.newest = s->newest;
	} else if (s->next.has_next) {
		/* A position we cannot name: the pass restarts next time. */
		goto done;
	} else {
		st.since = ckpt_next_since(s->pass_started_at, s->newest,
					   ctx->lookback_s);
	}
	rc |= ckpt_contacts_format(&val, &st);
	if (sync_state_key(ctx, &key, "contacts:%s:%s", s->list_id, s->status) <
	    0)
		goto done;
	if (rc < 0) {
		sync_too_long(ctx, "checkpoint", val.max);
	} else if (s->n_parts) {
		/* after the page's parts (parts_done) */
		s->held_key = xstrdup(buf_str(&key));
		s->held_val = xstrdup(buf_str(&val));
	} else {
		batch_add_state(&ctx->batch, buf_str(&key), buf_str(&val));
	}
done:
	ckpt_contacts_release(&st);
	buf_release(&key);
	buf_release(&val);
}

static void after_campaigns(struct stream *s, size_t first)
{
	struct sync_ctx *ctx = s->ctx;
	size_t i, n = ctx->batch.n_campaigns;

	/* sync_start_campaign may add state rows but no campaigns. */
	for (i = first; i < n; i++)
		if (sync_campaign_listed(ctx,
					 ctx->batch.campaigns[i].campaign_id))
			ctx->report->records[SLOT_CAMPAIGNS]++;
	for (i = first; i < n && !ctx->is_fatal; i++)
		sync_start_campaign(ctx, &ctx->batch.campaigns[i]);
}

static void after_summary(struct stream *s, const struct campaign_stats *st)
{
	struct sync_ctx *ctx = s->ctx;
	struct campaign_work *cw = s->cw;
	struct rec_campaign *r = batch_add_campaign(&ctx->batch);

	*r = cw->rec;
	r->has_stats = 1;
	r->stats = *st;
	cw->has_summary = 1;
	ctx->report->records[SLOT_REPORTS]++;
	ckpt_counters(cw->counters, sizeof(cw->counters), st);
	sync_campaign_plan(ctx, cw);
}

static void after_report(struct stream *s, const struct source_map *m)
{
	struct sync_ctx *ctx = s->ctx;
	struct campaign_work *cw = s->cw;
	struct buf key = BUF_INIT, val = BUF_INIT;
	int64_t n_events = (int64_t)ctx->batch.n_events;
	int is_newer =
	    m->newest_updated_at != TIME_NULL &&
	    (cw->newest == TIME_NULL || m->newest_updated_at > cw->newest);
	int rc;

	if (!ctx->want_participants)
		ctx->batch.n_participants = 0;
	ctx->report->records[SLOT_PARTICIPANTS] +=
	    (int64_t)ctx->batch.n_participants;
	ctx->report->records[SLOT_ACTIVITIES] += n_events;
	ctx->report->events += n_events;
	cw->events += n_events;
	/* Link counters that came with the click report. */
	cw->links += (int64_t)ctx->batch.n_links;
	ctx->report->records[SLOT_REPORTS] += (int64_t)ctx->batch.n_links;
	if (is_newer)
		cw->newest = m->newest_updated_at;
	if (is_newer && ctx->src->is_report_windowed &&
	    (ctx->account_newest == TIME_NULL ||
	     cw->newest > ctx->account_newest)) {
		ctx->account_newest = cw->newest;
		rc = ckpt_newest_format(&val, cw->newest);
		sync_add_state(ctx, rc, CKPT_NEWEST_STREAM, &val);
		buf_reset(&val);
	}
	if (!s->next.has_next)
		cw->done_mask |= 1u << s->kind;
	if (!ctx->is_tracking)
		goto done;
	if (sync_campaign_key(ctx, &key, "reports", cw->id, s->status) < 0)
		goto done;
	if (s->next.has_next && s->next.cursor.len) {
		rc = ckpt_cursor_format(&val, buf_str(&s->next.cursor));
		sync_add_state(ctx, rc, buf_str(&key), &val);
	} else if (!s->next.has_next) {
		batch_add_state(&ctx->batch, buf_str(&key), NULL);
		sync_campaign_state(ctx, cw, 0);
	}
	if (s->next.has_next && is_newer && ctx->src->is_report_windowed)
		sync_campaign_state(ctx, cw, 0);
done:
	buf_release(&key);
	buf_release(&val);
}

static int is_paged(const struct source *src, enum source_endpoint ep)
{
	return ep == SRC_LISTS || ep == SRC_CONTACTS || ep == SRC_CAMPAIGNS ||
	       ep == SRC_REPORT || ep == SRC_CONTACT_PART ||
	       ep == SRC_CAMPAIGN_DETAIL ||
	       (ep == SRC_LINKS && src->is_links_paged);
}

static enum progress_kind progress_kind_of(enum source_endpoint ep)
{
	switch (ep) {
	case SRC_LISTS:
		return PROG_LISTS;
	case SRC_CONTACTS:
	case SRC_CONTACT_PART:
		return PROG_CONTACTS;
	case SRC_CAMPAIGNS:
		return PROG_CAMPAIGNS;
	case SRC_CAMPAIGN_DETAIL:
		return PROG__COUNT; /* no progress of its own */
	default:
		return PROG_REPORTS;
	}
}

/* Maps one page; -1 when the body is not what the endpoint returns. */
static int map_page(struct stream *s, const struct json *root,
		    struct source_map *m, struct err *e)
{
	const struct source *src = s->ctx->src;
	struct campaign_stats st;
	size_t first;
	int rc = -1;

	switch (s->ep) {
	case SRC_LISTS:
		first = s->ctx->batch.n_lists;
		rc = src->map_lists(m, root, e);
		if (rc == 0)
			after_lists(s, first);
		break;
	case SRC_CONTACTS:
		rc = src->map_contacts(m, root, e);
		if (rc == 0)
			after_contacts(s, m);
		break;
	case SRC_CONTACT_PART:
		rc = src->map_contacts(m, root, e);
		break;
	case SRC_CAMPAIGNS:
		first = s->ctx->batch.n_campaigns;
		rc = src->map_campaigns(m, root, e);
		if (rc == 0)
			after_campaigns(s, first);
		break;
	case SRC_SUMMARY:
		rc = src->map_summary(&st, root, e);
		m->n_rows = 1;
		if (rc == 0)
			after_summary(s, &st);
		break;
	case SRC_LINKS:
		rc = src->map_links(m, root, e);
		if (rc == 0) {
			s->cw->links += (int64_t)s->ctx->batch.n_links;
			s->ctx->report->records[SLOT_REPORTS] +=
			    (int64_t)s->ctx->batch.n_links;
		}
		/* done with its last page (is_links_paged) */
		if (rc == 0 && !s->next.has_next) {
			s->cw->done_mask |= sync_links_bit(s->ctx);
			sync_campaign_state(s->ctx, s->cw, 0);
		}
		break;
	case SRC_CAMPAIGN_DETAIL:
		first = s->ctx->batch.n_campaigns;
		rc = src->map_campaign_detail(m, root, e);
		if (rc == 0)
			after_detail(s, first);
		break;
	case SRC_REPORT:
		rc = src->map_report(m, root, e);
		/* A newest-first report reached the window start. */
		if (rc == 0 && m->is_past_cutoff)
			s->next.has_next = 0;
		if (rc == 0)
			after_report(s, m);
		break;
	default:
		err_set(e, ERR_RUNTIME, 0, "unexpected stream");
		break;
	}
	return rc;
}

static enum fetch_verdict on_ok(struct stream *s,
				const struct fetch_result *res)
{
	struct sync_ctx *ctx = s->ctx;
	struct json_doc *doc = NULL;
	struct source_map m;
	struct source_query q;
	struct err e = ERR_INIT;
	char what[128], since[21];
	enum fetch_verdict verdict = FETCH_ACCEPT;
	int is_sent;

	describe(s, what, sizeof(what));
	if (ctx->src->body_error &&
	    ctx->src->body_error(&e, res->body, res->body_len) < 0) {
		if (e.kind == ERR_AUTH || e.kind == ERR_INACTIVE) {
			sync_fatal(ctx, &e);
			stream_finish(s, END_CUT);
			goto done;
		}
		log_debug("%s: %s; retrying", what, e.msg);
		verdict = FETCH_RETRY;
		goto done;
	}
	if (json_parse(&doc, res->body, res->body_len, &e) < 0) {
		log_debug("%s: %s; retrying", what, e.msg);
		verdict = FETCH_RETRY;
		goto done;
	}
	sync_stream_query(s, &q, since);
	buf_reset(&s->next.url);
	buf_reset(&s->next.cursor);
	s->next.has_next = 0;
	if (is_paged(ctx->src, s->ep)) {
		ctx->src->next_page(&s->next, json_root(doc), ctx->req->api_url,
				    &q);
		if (s->next.has_next && s->url &&
		    strcmp(buf_str(&s->next.url), s->url) == 0)
			s->next.has_next = 0;
	}
	memset(&m, 0, sizeof(m));
	m.batch = &ctx->batch;
	m.list_id = s->list_id;
	m.campaign_id = s->cw ? s->cw->id : s->campaign_id;
	m.campaign_name = s->cw ? s->cw->name : NULL;
	m.kind = s->ep == SRC_REPORT ? &ctx->src->report_kinds[s->kind] : NULL;
	m.status = s->status;
	m.contact_id = s->contact_id;
	m.want_events = ctx->want_events;
	m.newest_updated_at = TIME_NULL;
	m.tz = ctx->tz;
	m.cutoff = s->ep == SRC_REPORT && s->cw ? s->cw->since : TIME_NULL;
	if (map_page(s, json_root(doc), &m, &e) < 0) {
		log_debug("%s: %s; retrying", what, e.msg);
		batch_clear(&ctx->batch);
		verdict = FETCH_RETRY;
		goto done;
	}
	if (m.n_skipped)
		log_debug("%s: %zu rows without an id skipped", what,
			  m.n_skipped);
	progress_page(&ctx->progress, progress_kind_of(s->ep),
		      (int64_t)m.n_rows, what, clock_mono_ms());
	/* The next page goes out before the store write, which then overlaps
	 * the wait for it (a failed write stops fetching, and that page's
	 * answer ends the stream). A contacts page with parts goes on when
	 * they are done. */
	is_sent = !s->n_parts && s->next.has_next && !ctx->is_fatal;
	if (is_sent)
		stream_continue(s);
	fetch_kick(ctx->fetch);
	if (sync_commit(ctx) < 0) {
		/* the page in flight ends the stream; with parts under
		 * way, the last one does */
		if (s->n_parts)
			s->is_part_lost = 1;
		else if (!is_sent)
			stream_finish(s, END_CUT);
		goto done;
	}
	if (!s->n_parts && !is_sent)
		stream_continue(s);
done:
	json_doc_free(doc);
	return verdict;
}

enum fetch_verdict sync_on_page(void *userdata, const struct fetch_result *res)
{
	struct stream *s = userdata;
	struct sync_ctx *ctx = s->ctx;
	enum fetch_verdict verdict;
	struct err e;
	char what[128];

	if (ctx->is_fatal && res->outcome != FETCH_CANCELLED) {
		stream_finish(s, END_CUT);
		return FETCH_ACCEPT;
	}
	switch (res->outcome) {
	case FETCH_OK:
		verdict = on_ok(s, res);
		sync_campaigns_fill(ctx);
		return verdict;
	case FETCH_HTTP_ERROR:
		return on_http_error(s, res);
	case FETCH_FAILED:
		describe(s, what, sizeof(what));
		e = res->err;
		if (e.kind == ERR_NONE)
			e.kind = ERR_NET;
		err_prefix(&e, "%s", what);
		sync_failure(ctx, &e);
		stream_finish(s, END_FAILED);
		break;
	case FETCH_CANCELLED:
	default:
		stream_finish(s, END_CUT);
		break;
	}
	return FETCH_ACCEPT;
}

/* sync_state SCAN_STREAM = {"full_at":N}: the start of the run whose walk
 * of every list's contacts last completed. */
#define SCAN_STREAM "contacts:scan"
#define SCAN_DEFAULT_S 86400 /* as the keyset reconcile: a day */

void sync_scan_plan(struct sync_ctx *ctx)
{
	struct buf val = BUF_INIT;
	struct json_doc *doc = NULL;
	int64_t every = ctx->req->reconcile_s > 0   ? ctx->req->reconcile_s
			: ctx->req->reconcile_s < 0 ? 0
						    : SCAN_DEFAULT_S;
	int64_t at = TIME_NULL;
	int found = 0;

	if (!ctx->src->has_contact_scan || ctx->src->has_contacts_keyset ||
	    !ctx->want_contacts)
		return;
	if (ctx->req->mode == SYNC_FULL) {
		ctx->is_scan = 1;
		return;
	}
	if (sync_state_get(ctx, SCAN_STREAM, &val, &found) < 0)
		goto done;
	if (found && json_parse(&doc, buf_str(&val), val.len, NULL) == 0 &&
	    json_int(json_get(json_root(doc), "full_at"), &at) < 0)
		at = TIME_NULL;
	ctx->is_scan = at == TIME_NULL || ctx->run_started_s - at >= every;
done:
	json_doc_free(doc);
	buf_release(&val);
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void sync_scan_finish(struct sync_ctx *ctx)
{
	struct store *store = ctx->store;
	struct buf val = BUF_INIT;
	struct err e = ERR_INIT;
	int64_t changed = 0;
	size_t i, n = 0;
	int rc;

	if (!ctx->is_scan || ctx->is_scan_broken || ctx->is_fatal ||
	    !ctx->lists_listing_done || fetch_is_cut_short(ctx->fetch) ||
	    !store->ops->reconcile_contact_set)
		return;
	if (ctx->n_scan_ids)
		qsort(ctx->scan_ids, ctx->n_scan_ids, sizeof(*ctx->scan_ids),
		      cmp_id);
	for (i = 0; i < ctx->n_scan_ids; i++) {
		if (n && strcmp(ctx->scan_ids[n - 1], ctx->scan_ids[i]) == 0) {
			free(ctx->scan_ids[i]);
			continue;
		}
		ctx->scan_ids[n++] = ctx->scan_ids[i];
	}
	ctx->n_scan_ids = n;
	if (store->ops->reconcile_contact_set(
		store, ctx->src->name, ctx->req->account,
		(const char *const *)ctx->scan_ids, n, clock_wall_s(), &changed,
		&e) < 0) {
		if (e.kind == ERR_NONE)
			e.kind = ERR_STORE;
		sync_fatal(ctx, &e);
		return;
	}
	ctx->report->rows_updated += changed;
	if (changed)
		log_info("%s: %lld contacts gone upstream marked deleted (or "
			 "back)",
			 ctx->src->name, (long long)changed);
	rc = buf_printf(&val, "{\"full_at\":%lld}",
			(long long)ctx->run_started_s);
	sync_add_state(ctx, rc, SCAN_STREAM, &val);
	(void)sync_commit(ctx);
	buf_release(&val);
}

void sync_scan_release(struct sync_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->n_scan_ids; i++)
		free(ctx->scan_ids[i]);
	free(ctx->scan_ids);
	ctx->scan_ids = NULL;
	ctx->n_scan_ids = ctx->cap_scan_ids = 0;
}

/* Shared state of one sync run. The files call one way, top to bottom:
 * sync.c (entry points, the run's steps) -> sync_streams.c (the page loop)
 * -> sync_campaigns.c (campaign planning) -> sync_ctx.c (commit, errors,
 * stream objects); sync_contacts.c sits beside the page loop and also calls
 * only sync_ctx.c. `scripts/include-graph --calls` checks it. The context
 * owns the fetch, the batch and every stream and campaign object; streams
 * free themselves when their last page is handled. */
#ifndef ESPSYNC_SYNC_INTERNAL_H
#define ESPSYNC_SYNC_INTERNAL_H

#include <stdint.h>

#include "core/checkpoint.h"
#include "core/fetch.h"
#include "core/progress.h"
#include "model/records.h"
#include "core/sync.h"
#include "source/source.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

/* Index of each stream in sync_report.records and the records JSON. */
enum sync_record_slot {
	SLOT_CAMPAIGNS = 0,
	SLOT_REPORTS,
	SLOT_PARTICIPANTS,
	SLOT_ACTIVITIES,
	SLOT_CONTACTS,
	SLOT_LISTS,
	SLOT__COUNT
};

/* The done bit of the links report in a campaign's done mask; report kinds
 * use bits 0..n_report_kinds-1. */
#define SYNC_MAX_REPORT_KINDS 16

struct campaign_work;
struct contacts_work;

struct sync_ctx {
	struct store *store;
	const struct sync_request *req;
	const struct source *src;
	struct fetch *fetch;
	struct progress progress;
	struct batch batch;
	struct sync_report *report;
	int64_t run_started_s; /* wall clock */
	struct tz *tz;	       /* account zone of naive times; NULL: UTC */
	/* Event rows written on UTC day today_day (windowed sources). */
	int64_t today_day, today_count;
	/* Newest report event seen on the account (any run); TIME_NULL. */
	int64_t account_newest;
	int64_t lookback_s;
	int64_t hours;

	int want_campaign_rows, want_reports, want_participants, want_events;
	int want_lists, want_contacts;
	/* Campaign checkpoints are read and written only when the run covers
	 * reports, participants and activities together. */
	int is_tracking;
	/* done-mask names: report kinds, then "links". */
	const char *done_names[SYNC_MAX_REPORT_KINDS + 1];
	size_t n_done_names;

	/* Outcome. */
	int is_fatal; /* auth or store failure: everything stops */
	struct err fatal;
	int n_failed; /* streams that failed for good */
	struct err first_failure;
	int n_cut; /* streams cancelled (deadline) */

	/* Bookkeeping for progress. */
	int lists_listing_done, campaigns_listing_done;
	int64_t contacts_active, campaigns_active;
	struct contacts_work *contacts_work; /* sync_contacts.c */
	int64_t campaigns_started;
	/* Of those, the ones read whole, unchanged or gone upstream. */
	int64_t campaigns_finished;
	struct campaign_work *campaigns; /* live ones */
	/* Campaigns wait here so that a few run to completion at a time (a
	 * cut-short run then leaves whole campaigns rather than many half
	 * read ones); running counts those past the queue. */
	struct campaign_work *queue_head, *queue_tail;
	int64_t campaigns_running, max_running;
	/* Contact scan (source.has_contact_scan): this run walks every
	 * list's contacts from the start; is_scan_broken once a part of the
	 * walk was resumed, filtered or lost; the live ids seen (heap). */
	int is_scan, is_scan_broken;
	char **scan_ids;
	size_t n_scan_ids, cap_scan_ids;
	/* Campaign detail streams wait here so that a few chains run to
	 * their end at a time (a chain writes only after its last step, so
	 * a budget shared by many half-read chains would finish none). */
	struct stream *details_head, *details_tail;
	int64_t details_running;
	/* Campaign ids the listings gave in this run (an open-addressing
	 * set, heap copies): a campaign listed twice (one listing of the
	 * sent ones, one of all) counts once. */
	char **listed_ids;
	size_t n_listed, cap_listed;
	/* The fetch callback of every stream (sync_on_page): streams are
	 * queued from below the page loop without calling up into it. */
	fetch_done_fn on_page;
	int64_t heartbeat_mono_ms; /* last heartbeat written; 0: none */
};

/* How a stream ended. */
enum stream_end { END_OK = 0, END_CUT, END_FAILED, END_GONE };

/* One campaign whose reports are read in this run (per-campaign
 * bookkeeping; freed when its last stream ends). */
struct campaign_work {
	struct sync_ctx *ctx;
	struct campaign_work *next;
	struct rec_campaign rec; /* strings owned below */
	char *id, *name, *subject, *from_name, *from_email, *status, *to_lists;
	struct ckpt_campaign state; /* as found at the start */
	char counters[CKPT_COUNTERS_MAX];
	unsigned done_mask;
	int pending; /* streams still running */
	int has_summary, is_unchanged, is_failed, is_cut, is_gone;
	int64_t events, links;
	unsigned started_mask; /* sub-streams started in this run */
	int is_early;	       /* resumed before its summary arrived */
	/* Windowed reports: window start of this pass (TIME_NULL: all), the
	 * pass start and the newest event time seen in it. */
	int64_t since, pass_started_at, newest;
	struct campaign_work *queue_next;
};

/* One cursor stream: its pages are fetched one after the other. */
struct stream {
	struct sync_ctx *ctx;
	enum source_endpoint ep;
	struct campaign_work *cw;
	size_t kind;	  /* SRC_REPORT: index into report_kinds */
	char *list_id;	  /* SRC_CONTACTS */
	char *contact_id; /* SRC_CONTACT_PART */
	/* SRC_CAMPAIGN_DETAIL: the campaign and what its steps told so far
	 * (heap copies, written as one row after the last step). */
	char *campaign_id;
	char *subject, *from_name, *from_email, *to_lists;
	struct stream *queue_next; /* in ctx->details_head */
	/* SRC_CONTACTS waiting for the SRC_CONTACT_PART streams of its
	 * page: their count, whether one was lost, and the page's
	 * checkpoint, written only when all of them are done. */
	struct stream *parent; /* SRC_CONTACT_PART: the page's stream */
	int n_parts, is_part_lost;
	char *held_key, *held_val;
	const char *status; /* borrowed from the source's tables */
	char *cursor;	    /* of the page in flight; NULL on the first */
	char *url;	    /* of the page in flight */
	int64_t since;	    /* SRC_CONTACTS filter, TIME_NULL for none */
	int64_t pass_started_at, newest;
	int is_resumed;
	struct source_next next;
};

/* The plumbing every handler uses (sync_ctx.c). */
/* Writes the batch (records and checkpoints) and clears it. A store error
 * is fatal: fetching stops and the run fails. */
int sync_commit(struct sync_ctx *ctx);
/* store state_get for this provider/account; a store error is fatal. */
int sync_state_get(struct sync_ctx *ctx, const char *stream, struct buf *out,
		   int *found);
/* Records a fatal error (first one wins) and stops fetching. */
void sync_fatal(struct sync_ctx *ctx, const struct err *e);
/* The fatal error of a text that passed its buffer's maximum: "WHAT too
 * long: more than MAX bytes". The batch is then never written, so no cut
 * checkpoint reaches the store. Returns -1. */
int sync_too_long(struct sync_ctx *ctx, const char *what, size_t max);
/* Formats the checkpoint stream name into b (reset first); -1 after
 * sync_too_long when it does not fit. */
BUF_MUST_CHECK int sync_state_key(struct sync_ctx *ctx, struct buf *b,
				  const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds the checkpoint stream = value to the batch when build_rc (of
 * formatting value) is 0; otherwise fails the run with sync_too_long. */
void sync_add_state(struct sync_ctx *ctx, int build_rc, const char *stream,
		    const struct buf *value);
/* Records a stream failure that does not stop the others. */
void sync_failure(struct sync_ctx *ctx, const struct err *e);
/* Logs a warning without tearing the progress line. */
void sync_warn(struct sync_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Replaces every occurrence of the key in e's message with "***". */
void sync_scrub(struct err *e, const char *key);

/* 1 the first time this run's listings give campaign id (NULL: always
 * 1), else 0; sync_listed_release frees the set. */
int sync_campaign_listed(struct sync_ctx *ctx, const char *id);
void sync_listed_release(struct sync_ctx *ctx);
/* Lease, heartbeat and signals (sync_lease.c). */
/* ERR_INTERRUPTED (code sig): "stopped by SIGTERM" and fmt's text. */
int sync_interrupted(struct err *err, int sig, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The signal the request's stop flag holds; 0: none. */
int sync_stop_signal(const struct sync_request *req);
/* Takes the store's lease of the request's provider account, waiting up
 * to req->lease_wait_ms for a live holder (ERR_BUSY naming it after
 * that; ERR_INTERRUPTED when the stop flag is set while waiting). */
int sync_lease_take(struct store *store, const struct sync_request *req,
		    const char *account, struct err *err);
void sync_lease_drop(struct store *store, const struct sync_request *req,
		     const char *account);
/* Marks runs whose process is gone interrupted (the lease is held). */
int sync_reap(struct sync_ctx *ctx, struct err *err);
/* After a commit: the run's heartbeat, at most every few seconds. */
void sync_heartbeat(struct sync_ctx *ctx);

/* Streams (sync_ctx.c). A new stream counts as pending on cw. */
struct stream *sync_stream_new(struct sync_ctx *ctx, enum source_endpoint ep,
			       struct campaign_work *cw);
void sync_stream_free(struct stream *s);
/* The query of the stream's next page; since points at caller storage of
 * 21 bytes. */
void sync_stream_query(const struct stream *s, struct source_query *q,
		       char *since);
/* Queues the stream's page with ctx->on_page as its callback. */
void sync_stream_submit(struct stream *s);

/* The page loop (sync_streams.c): queue the first pages; called after
 * run_begin. */
void sync_start_lists(struct sync_ctx *ctx);
void sync_start_campaigns(struct sync_ctx *ctx);
/* The same, with the first page already fetched (body borrowed): it is
 * mapped now, and fetched again only if unusable. */
void sync_start_campaigns_from(struct sync_ctx *ctx, const char *body,
			       size_t len);
/* The fetch callback of every stream: maps, commits, asks for the next. */
enum fetch_verdict sync_on_page(void *userdata, const struct fetch_result *res);

/* Contact scan (source.has_contact_scan): decides whether this run walks
 * every list's contacts from the start (before the streams start), and
 * after fetch_run, when that walk completed, marks the stored contacts it
 * did not see deleted; sync_scan_release frees the ids. */
void sync_scan_plan(struct sync_ctx *ctx);
void sync_scan_finish(struct sync_ctx *ctx);
void sync_scan_release(struct sync_ctx *ctx);

/* Keyset sources: fields, tags, lists, then account-wide contacts
 * (sync_contacts.c); sync_contacts_release frees what a run left. */
void sync_start_contacts(struct sync_ctx *ctx);
void sync_contacts_release(struct sync_ctx *ctx);

/* Campaigns (sync_campaigns.c). */
/* Starts the report work of one campaign object from a listing or from
 * GET /campaigns/{id}; r is borrowed. */
void sync_start_campaign(struct sync_ctx *ctx, const struct rec_campaign *r);
/* Reads the details of a sent campaign whose stored row lacks them
 * (source map_campaign_detail), once; r is borrowed. */
void sync_campaign_detail(struct sync_ctx *ctx, const struct rec_campaign *r);
/* Starts queued detail streams while there is room; called when one
 * ends. */
void sync_details_run(struct sync_ctx *ctx);
/* The done-mask bit of the links report (after the report kinds). */
unsigned sync_links_bit(const struct sync_ctx *ctx);
/* "prefix:id[:suffix]" into b, as sync_state_key. */
BUF_MUST_CHECK int sync_campaign_key(struct sync_ctx *ctx, struct buf *b,
				     const char *prefix, const char *id,
				     const char *suffix);
/* Adds the campaign:<id> checkpoint row to the batch (tracked runs). */
void sync_campaign_state(struct sync_ctx *ctx, struct campaign_work *cw,
			 int is_complete);
/* The summary arrived: skip the campaign or start what is left. */
void sync_campaign_plan(struct sync_ctx *ctx, struct campaign_work *cw);
/* Starts queued campaigns when a connection would sit idle (after each
 * page). */
void sync_campaigns_fill(struct sync_ctx *ctx);
/* The campaign's last stream ended: checkpoint, report and free it. */
void sync_campaign_finish(struct sync_ctx *ctx, struct campaign_work *cw);
/* Frees the campaigns a run left (after fetch_run returned). */
void sync_campaigns_release(struct sync_ctx *ctx);

#endif

/* Shared state of one sync run, between core/sync.c (entry points, probe,
 * run log) and core/sync_streams.c (the page callbacks). The context owns
 * the fetch, the batch and every stream and campaign object; streams free
 * themselves when their last page is handled. */
#ifndef ESPSYNC_SYNC_INTERNAL_H
#define ESPSYNC_SYNC_INTERNAL_H

#include <stdint.h>

#include "core/checkpoint.h"
#include "core/fetch.h"
#include "core/progress.h"
#include "core/records.h"
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

struct sync_ctx {
	struct store *store;
	const struct sync_request *req;
	const struct source *src;
	struct fetch *fetch;
	struct progress progress;
	struct batch batch;
	struct sync_report *report;
	int64_t run_started_s; /* wall clock */
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
	int64_t campaigns_started;
	struct campaign_work *campaigns; /* live ones */
	/* Campaigns wait here so that a few run to completion at a time (a
	 * cut-short run then leaves whole campaigns rather than many half
	 * read ones); running counts those past the queue. */
	struct campaign_work *queue_head, *queue_tail;
	int64_t campaigns_running, max_running;
};

/* Writes the batch (records and checkpoints) and clears it. A store error
 * is fatal: fetching stops and the run fails. */
int sync_commit(struct sync_ctx *ctx);
/* Records a fatal error (first one wins) and stops fetching. */
void sync_fatal(struct sync_ctx *ctx, const struct err *e);
/* Records a stream failure that does not stop the others. */
void sync_failure(struct sync_ctx *ctx, const struct err *e);
/* Logs a warning without tearing the progress line. */
void sync_warn(struct sync_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Queue the first pages; called after run_begin. */
void sync_start_lists(struct sync_ctx *ctx);
void sync_start_campaigns(struct sync_ctx *ctx);
/* Starts the report work of one campaign object from a listing or from
 * GET /campaigns/{id}; r is borrowed. */
void sync_start_campaign(struct sync_ctx *ctx, const struct rec_campaign *r);
/* Frees whatever is left (after fetch_run returned). */
void sync_streams_release(struct sync_ctx *ctx);

#endif

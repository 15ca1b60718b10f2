/* Sync progress on stderr in one of three forms: a redrawn status line on a
 * terminal, plain log lines for cron, or NDJSON events (--json). Callers
 * pass the monotonic time in; nothing here reads the clock or holds more
 * than a few counters. The struct is caller-owned. A line that does not fit
 * its buffer's maximum is left out, never printed cut. */
#ifndef ESPSYNC_PROGRESS_H
#define ESPSYNC_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include "core/sync.h"

enum progress_kind {
	PROG_LISTS = 0,
	PROG_CONTACTS,
	PROG_CAMPAIGNS, /* the campaign listing */
	PROG_REPORTS,	/* summaries, links and per-contact reports */
	PROG__COUNT
};

struct progress_stream {
	int64_t pages, records;
	int64_t units_done, units_total; /* e.g. campaigns; total -1: unknown */
	int is_active, is_done;
	int64_t first_ms;
};

/* What a hook (progress_set_hook) hears, whatever the mode: a page of
 * records mapped for the store, or one campaign's reports done. The
 * strings are borrowed for the call. */
struct progress_event {
	enum progress_kind kind; /* a page's stream; PROG_REPORTS: campaign */
	const char *campaign_id; /* a campaign done; NULL: a page */
	int64_t records;	 /* a page's */
	int is_skipped;		 /* the campaign's counters were unchanged */
	int64_t units_done, units_total; /* campaigns; total -1: unknown */
};

struct progress {
	enum progress_mode mode;
	FILE *out;
	int64_t started_ms, last_draw_ms;
	int has_line; /* TTY: a status line is on screen */
	struct progress_stream s[PROG__COUNT];
	sync_progress_fn hook; /* NULL: none */
	void *hook_data;
};

void progress_init(struct progress *p, enum progress_mode mode, FILE *out,
		   int64_t now_ms);
/* Also tells fn (NULL: nobody) of every page and campaign. */
void progress_set_hook(struct progress *p, sync_progress_fn fn, void *data);

/* One page of `records` rows arrived for kind; object names the stream
 * ("list 'X' subscribed") for NDJSON, may be NULL. */
void progress_page(struct progress *p, enum progress_kind k, int64_t records,
		   const char *object, int64_t now_ms);
/* Units (campaigns) of work known for kind, and one more finished. */
void progress_set_total(struct progress *p, enum progress_kind k,
			int64_t total);
void progress_unit_done(struct progress *p, enum progress_kind k,
			int64_t now_ms);
/* A campaign's reports were read (or found unchanged when is_skipped);
 * after progress_unit_done for a campaign it counts. */
void progress_campaign_done(struct progress *p, const char *id,
			    const char *name, int64_t events, int64_t links,
			    int is_skipped, int64_t now_ms);
/* Every stream of kind has ended; prints its summary once. */
void progress_stream_done(struct progress *p, enum progress_kind k,
			  int64_t now_ms);
/* The end of the run: the status word ("complete", "partial", "failed"). */
void progress_run_done(struct progress *p, const struct sync_report *r,
		       const char *status, int64_t now_ms);
/* Removes the TTY status line so a log line can be printed. */
void progress_clear(struct progress *p);

#endif

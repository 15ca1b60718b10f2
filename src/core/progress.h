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

struct progress {
	enum progress_mode mode;
	FILE *out;
	int64_t started_ms, last_draw_ms;
	int has_line; /* TTY: a status line is on screen */
	struct progress_stream s[PROG__COUNT];
};

void progress_init(struct progress *p, enum progress_mode mode, FILE *out,
		   int64_t now_ms);

/* One page of `records` rows arrived for kind; object names the stream
 * ("list 'X' subscribed") for NDJSON, may be NULL. */
void progress_page(struct progress *p, enum progress_kind k, int64_t records,
		   const char *object, int64_t now_ms);
/* Units (campaigns) of work known for kind, and one more finished. */
void progress_set_total(struct progress *p, enum progress_kind k,
			int64_t total);
void progress_unit_done(struct progress *p, enum progress_kind k,
			int64_t now_ms);
/* A campaign's reports were read (or found unchanged when is_skipped). */
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

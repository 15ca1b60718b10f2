/* Checkpoint values kept in sync_state: the small JSON documents of each
 * stream kind, parsed and formatted in one place. Stream names:
 * "campaign:<id>", "reports:<id>:<status>", "contacts:<list>:<status>".
 * Parsers accept anything (a missing or unreadable value is "no state", and
 * so is a cursor longer than its buffer's maximum, with a warning). */
#ifndef ESPSYNC_CHECKPOINT_H
#define ESPSYNC_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "model/records.h"
#include "util/buf.h"

#define CKPT_COUNTERS_MAX 200

/* campaign:<id> = {"counters":"…","checked_at":N,"complete":bool,
 * "done":["links","sent",…]}; done lists the finished sub-streams of an
 * incomplete pass (by the names given to parse/format). */
struct ckpt_campaign {
	int has_state;
	char counters[CKPT_COUNTERS_MAX];
	int64_t checked_at; /* epoch s, TIME_NULL when unknown */
	int is_complete;
	unsigned done_mask; /* bit i: names[i] finished */
	/* Windowed report sources (is_report_windowed): "since" is the window
	 * start of the pass in progress (complete: false) or of the next
	 * pass (complete: true), TIME_NULL for a whole read; the pass start
	 * and the newest event seen so far make the next one. Written only
	 * when has_window. */
	int has_window;
	int64_t since, pass_started_at, newest;
};

void ckpt_campaign_parse(struct ckpt_campaign *out, const char *value,
			 const char *const *names, size_t n_names);
BUF_MUST_CHECK int ckpt_campaign_format(struct buf *out,
					const struct ckpt_campaign *c,
					const char *const *names,
					size_t n_names);

/* The summary counters joined with commas, for change detection. */
void ckpt_counters(char *out, size_t size, const struct campaign_stats *s);

/* reports:<id>:<status> = {"starting_after":"<cursor>"}. The cursor goes
 * into out (empty when none). */
void ckpt_cursor_parse(struct buf *out, const char *value);
BUF_MUST_CHECK int ckpt_cursor_format(struct buf *out, const char *cursor);

/* contacts:<list>:<status> = {"since":"<ISO>"|null,
 * "starting_after":"…"|null, "pass_started_at":N, "newest":"<ISO>"|null}.
 * since is the last_updated_at.gte filter of the pass (while a cursor is
 * set) or of the next pass (when the cursor is null). */
struct ckpt_contacts {
	int has_state;
	int64_t since; /* TIME_NULL: no filter */
	struct buf cursor;
	int64_t pass_started_at; /* TIME_NULL when unknown */
	int64_t newest;		 /* TIME_NULL when none seen */
};

void ckpt_contacts_init(struct ckpt_contacts *c);
void ckpt_contacts_release(struct ckpt_contacts *c);
void ckpt_contacts_parse(struct ckpt_contacts *out, const char *value);
BUF_MUST_CHECK int ckpt_contacts_format(struct buf *out,
					const struct ckpt_contacts *c);

/* activities_today = {"date":"YYYY-MM-DD","count":N}: event rows written
 * on that UTC day, as the earlier pipeline's state document showed them.
 * Parse gives the day number (days since 1970) or -1, and the count. */
#define CKPT_TODAY_STREAM "activities_today"
void ckpt_today_parse(int64_t *day, int64_t *count, const char *value);
BUF_MUST_CHECK int ckpt_today_format(struct buf *out, int64_t day,
				     int64_t count);

/* reports_newest = {"newest":"<ISO>"}: the newest report event seen on
 * the account by any run, a lower bound of the provider's clock.
 * TIME_NULL when none. */
#define CKPT_NEWEST_STREAM "reports_newest"
int64_t ckpt_newest_parse(const char *value);
BUF_MUST_CHECK int ckpt_newest_format(struct buf *out, int64_t newest);

/* The next filter after a completed pass: min(pass start, newest seen)
 * minus the lookback overlap. */
int64_t ckpt_next_since(int64_t pass_started_at, int64_t newest,
			int64_t lookback_s);

#endif

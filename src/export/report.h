/* `espsync report html`: one self-contained HTML file (inline CSS and SVG,
 * no script, nothing fetched) with the engagement figures of a period, read
 * through the store's report operations only and written atomically.
 * Arguments are borrowed. */
#ifndef ESPSYNC_REPORT_H
#define ESPSYNC_REPORT_H

#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

/* Thresholds flagged in the deliverability section (and stated there). */
#define REPORT_COMPLAINT_THRESHOLD 0.001 /* 0.1 % */
#define REPORT_BOUNCE_THRESHOLD 0.02	 /* 2 % */
/* Top clicked links shown. */
#define REPORT_TOP_LINKS 10
/* A period longer than this many days is drawn as weekly bars. */
#define REPORT_DAILY_MAX_DAYS 92
/* Maximum size of the HTML document. */
#define REPORT_MAX_BYTES ((size_t)64 << 20)

struct report_options {
	const char *provider, *account; /* NULL: all */
	/* UTC midnights of the first day and of the day after the last;
	 * TIME_NULL: from the first / up to the last day the store holds
	 * data of. */
	int64_t since, until;
	int64_t now; /* epoch s: "generated at", empty-store period */
	const char *store_name; /* the store URL redacted (no password) */
};

struct report_result {
	int64_t since, until; /* the period reported */
	int64_t campaigns;    /* campaigns sent in it */
	int64_t events;	      /* events in it */
	int64_t bytes;	      /* size of the document */
};

/* Reads the report's figures from s and appends the HTML document to out.
 * ERR_STORE when a read fails, ERR_RUNTIME when out reaches its maximum. */
int report_html(struct buf *out, struct store *s,
		const struct report_options *opts, struct report_result *res,
		struct err *err);

/* report_html into path, atomically (temp file in the same directory,
 * fsync, rename); the directory is created when missing. */
int report_html_file(const char *path, struct store *s,
		     const struct report_options *opts,
		     struct report_result *res, struct err *err);

/* Parses a --since/--until DATE ("YYYY-MM-DD", UTC) to its midnight; with
 * is_end, to the midnight after it (the day is included). -1 when s is not
 * such a date. */
int report_parse_date(const char *s, int is_end, int64_t *out);

#endif

/* Cursor pagination as EmailOctopus v2 does it: opaque unpadded base64url
 * cursors of small JSON arrays, `limit`, and a `paging.next` object whose
 * absolute URL repeats the query. */
#ifndef ESPSYNC_SIM_PAGE_H
#define ESPSYNC_SIM_PAGE_H

#include <stdint.h>

#include "util/buf.h"

#define CURSOR_MAX_PARTS 2
#define CURSOR_MAX_STR 256

/* The sort key of the last item a page returned, e.g. [epoch_ms, "id"]. */
struct cursor_key {
	int n;
	int is_int[CURSOR_MAX_PARTS];
	int64_t num[CURSOR_MAX_PARTS];
	char str[CURSOR_MAX_PARTS][CURSOR_MAX_STR];
};

/* How the last page says it is the last. */
enum paging_end { PAGING_END_NULL, PAGING_END_EMPTY, PAGING_END_ABSENT };

struct page_param {
	const char *name;
	const char *value; /* NULL: not repeated */
};

struct page {
	struct buf *out;
	long limit;
	long count;
	int has_more;
	int rc; /* -1 once a separator could not be written */
	struct cursor_key last;
};

/* Return 0, or -1 when s is not a cursor this simulator made. */
int cursor_decode(const char *s, struct cursor_key *out);
BUF_MUST_CHECK int cursor_encode(struct buf *out, const struct cursor_key *k);
void cursor_set_str(struct cursor_key *k, int i, const char *s);
void cursor_set_int(struct cursor_key *k, int i, int64_t v);

/* Writes "data":[ */
BUF_MUST_CHECK int page_begin(struct page *p, struct buf *out, long limit);
/* 1 when one more item fits (and writes the separator), 0 when the page is
 * full: the caller stops and a next link is made. A separator that does not
 * fit is reported by page_finish. */
int page_next_item(struct page *p);
/* Writes ] and the paging member (or none); the caller closes the object.
 * params are repeated in the next URL, then starting_after. -1 when the
 * page (separators included) could not be written whole. */
BUF_MUST_CHECK int page_finish(struct page *p, const char *base_url,
			       const char *path,
			       const struct page_param *params, int n_params,
			       enum paging_end end);
BUF_MUST_CHECK int url_encode(struct buf *out, const char *s);

#endif

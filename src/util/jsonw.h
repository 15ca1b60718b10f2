/* Minimal JSON writer into a buf (no external library): strings are escaped
 * so any byte sequence produces valid JSON (invalid UTF-8 becomes U+FFFD).
 * Each returns 0, or -1 when the buffer reached its maximum; the buffer then
 * holds what it held before the call. */
#ifndef ESPSYNC_JSONW_H
#define ESPSYNC_JSONW_H

#include <stdint.h>

#include "util/buf.h"

/* Appends s as a quoted JSON string; s NULL appends null. */
BUF_MUST_CHECK int jsonw_string(struct buf *b, const char *s);
BUF_MUST_CHECK int jsonw_stringn(struct buf *b, const char *s, size_t n);
/* Appends "key": (with a leading comma when first is 0). */
BUF_MUST_CHECK int jsonw_key(struct buf *b, const char *key, int is_first);
BUF_MUST_CHECK int jsonw_int(struct buf *b, int64_t v);
/* Appends epoch_s as a quoted ISO 8601 UTC time ("2024-11-15T10:00:00Z"),
 * or null when it is TIME_NULL: the one JSON time writer. */
BUF_MUST_CHECK int jsonw_time(struct buf *b, int64_t epoch_s);

#endif

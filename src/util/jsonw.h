/* Minimal JSON writer into a buf (no external library): strings are escaped
 * so any byte sequence produces valid JSON (invalid UTF-8 becomes U+FFFD). */
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

#endif

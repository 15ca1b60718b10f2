/* MD5 (for EmailOctopus's contact-by-email-hash lookup) and unpadded
 * base64url (for opaque paging cursors). */
#ifndef ESPSYNC_SIM_CODEC_H
#define ESPSYNC_SIM_CODEC_H

#include <stddef.h>

#include "util/buf.h"

/* Lowercase hex MD5 of p[0..n). */
void md5_hex(const void *p, size_t n, char out[33]);
BUF_MUST_CHECK int b64url_encode(struct buf *out, const void *p, size_t n);
/* Accepts padded or unpadded base64url; return 0, or -1 when malformed. */
BUF_MUST_CHECK int b64url_decode(struct buf *out, const char *s);

#endif

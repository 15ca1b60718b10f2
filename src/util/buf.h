/* Growable byte buffer with a hard maximum size (git strbuf + curl dynbuf).
 * The buffer owns data; data is always NUL-terminated when non-NULL. */
#ifndef ESPSYNC_BUF_H
#define ESPSYNC_BUF_H

#include <stdarg.h>
#include <stddef.h>

/* Appending can fail (the buffer reached its maximum); a caller that drops the
 * result would write a cut string (curl's WARN_UNUSED_RESULT on dynbuf). */
#define BUF_MUST_CHECK __attribute__((warn_unused_result))

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* appends that would exceed this fail */
};

#define BUF_DEFAULT_MAX ((size_t)64 << 20)
#define BUF_INIT                                                               \
	{                                                                      \
		NULL, 0, 0, BUF_DEFAULT_MAX                                    \
	}

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
/* Return 0, or -1 when the result would exceed max (buffer unchanged). */
BUF_MUST_CHECK int buf_append(struct buf *b, const void *p, size_t n);
BUF_MUST_CHECK int buf_puts(struct buf *b, const char *s);
BUF_MUST_CHECK int buf_putc(struct buf *b, char c);
BUF_MUST_CHECK int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
BUF_MUST_CHECK int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* "" when empty; never NULL. */
const char *buf_str(const struct buf *b);
/* Hands the data over; the buffer is reset. Never NULL. */
char *buf_detach(struct buf *b, size_t *len_out);

#endif

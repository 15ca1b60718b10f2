/* JSON string escaping for output we write ourselves (logs, NDJSON, summaries).
 */
#include "util/jsonw.h"

#include <inttypes.h>
#include <string.h>

#include "util/timeparse.h"
#include "util/banned.h"

/* A writer that failed half way takes back what it wrote, so a buffer at
 * its maximum holds whole values only (as buf_append leaves it unchanged). */
static int undo(struct buf *b, size_t len)
{
	b->len = len;
	if (b->data)
		b->data[len] = '\0';
	return -1;
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xE0) == 0xC0) {
		len = 2;
		cp = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		len = 3;
		cp = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

int jsonw_stringn(struct buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t start = b->len, i = 0, len;
	int rc = buf_putc(b, '"');

	while (rc == 0 && i < n) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\') {
			rc = buf_putc(b, '\\');
			if (rc == 0)
				rc = buf_putc(b, (char)c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			rc = buf_printf(b, "\\u%04x", c);
			i++;
		} else if ((len = utf8_len(p + i, n - i)) == 0) {
			rc = buf_puts(b, "\\ufffd");
			i++;
		} else {
			rc = buf_append(b, p + i, len);
			i += len;
		}
	}
	if (rc == 0)
		rc = buf_putc(b, '"');
	return rc ? undo(b, start) : 0;
}

int jsonw_string(struct buf *b, const char *s)
{
	if (!s)
		return buf_puts(b, "null");
	return jsonw_stringn(b, s, strlen(s));
}

int jsonw_key(struct buf *b, const char *key, int is_first)
{
	size_t start = b->len;

	if ((!is_first && buf_putc(b, ',') < 0) || jsonw_string(b, key) < 0 ||
	    buf_putc(b, ':') < 0)
		return undo(b, start);
	return 0;
}

int jsonw_int(struct buf *b, int64_t v)
{
	return buf_printf(b, "%" PRId64, v);
}

int jsonw_time(struct buf *b, int64_t epoch_s)
{
	char iso[21];

	if (epoch_s == TIME_NULL)
		return buf_puts(b, "null");
	time_format_iso(epoch_s, iso);
	return jsonw_string(b, iso);
}

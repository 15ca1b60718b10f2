/* URL helpers shared by sources: query encoding, origin checks for
 * provider-supplied next links, and case normalisation; the id -> name
 * dictionaries of source_names. */
#include "source/source.h"

#include <stdlib.h>
#include <string.h>

#include "util/timeparse.h"
#include "util/xalloc.h"
#include "util/banned.h"

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

int source_urlencode(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	int rc = 0;

	for (; p && *p && rc == 0; p++) {
		if (is_unreserved(*p)) {
			rc = buf_putc(out, (char)*p);
		} else {
			char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};

			rc = buf_append(out, esc, 3);
		}
	}
	return rc;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Length of the scheme://authority prefix of url, or 0. */
static size_t origin_len(const char *url)
{
	const char *p = url, *sep;
	size_t n;

	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	       (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (p == url || strncmp(p, "://", 3) != 0)
		return 0;
	p += 3;
	sep = p;
	while (*sep && *sep != '/' && *sep != '?' && *sep != '#')
		sep++;
	if (sep == p)
		return 0;
	n = (size_t)(sep - url);
	return n;
}

int source_url_origin(struct buf *out, const char *url)
{
	size_t n = url ? origin_len(url) : 0, i;
	int rc = 0;

	if (n == 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++)
		rc = buf_putc(out, lower(url[i]));
	return rc;
}

int source_url_is_on_origin(const char *url, const char *base_url)
{
	size_t n, i;
	const char *p;

	if (!url || !base_url)
		return 0;
	n = origin_len(base_url);
	if (n == 0 || origin_len(url) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower(url[i]) != lower(base_url[i]))
			return 0;
	/* Userinfo ("user@host") or anything odd in the authority is not our
	 * origin even when the text matches. */
	for (i = 0; i < n; i++)
		if (url[i] == '@' || url[i] == '\\')
			return 0;
	for (p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int source_url_query_param(struct buf *out, const char *url, const char *name)
{
	const char *p = url ? strchr(url, '?') : NULL;
	size_t nlen = name ? strlen(name) : 0;

	buf_reset(out);
	while (p && *p) {
		const char *end;

		p++;
		end = p + strcspn(p, "&#");
		if ((size_t)(end - p) > nlen && strncmp(p, name, nlen) == 0 &&
		    p[nlen] == '=') {
			const char *v;

			for (v = p + nlen + 1; v < end; v++) {
				int hi, lo;

				if (*v == '%' && v + 2 < end &&
				    (hi = hexval(v[1])) >= 0 &&
				    (lo = hexval(v[2])) >= 0) {
					if (buf_putc(out, (char)(hi * 16 + lo)))
						return -1;
					v += 2;
				} else if (buf_putc(out, *v)) {
					return -1;
				}
			}
			return out->len > 0 && !memchr(out->data, 0, out->len)
				   ? 0
				   : -1;
		}
		p = *end == '&' ? end : NULL;
	}
	return -1;
}

char *source_lower(struct arena *a, const char *s)
{
	char *p = arena_strdup(a, s), *q;

	for (q = p; q && *q; q++)
		*q = lower(*q);
	return p;
}

/* Position of id in the sorted ids, or where it would go (*found 0). */
static size_t names_find(const struct source_names *d, const char *id,
			 int *found)
{
	size_t lo = 0, hi = d->n;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(d->ids[mid], id);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void source_names_put(struct source_names *d, const char *id, const char *name)
{
	size_t i;
	int found;

	if (!id || !name)
		return;
	i = names_find(d, id, &found);
	if (found) {
		free(d->names[i]);
		d->names[i] = xstrdup(name);
		return;
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 16;
		d->ids = xrealloc(d->ids, d->cap * sizeof(*d->ids));
		d->names = xrealloc(d->names, d->cap * sizeof(*d->names));
	}
	memmove(d->ids + i + 1, d->ids + i, (d->n - i) * sizeof(*d->ids));
	memmove(d->names + i + 1, d->names + i, (d->n - i) * sizeof(*d->names));
	d->ids[i] = xstrdup(id);
	d->names[i] = xstrdup(name);
	d->n++;
}

const char *source_names_get(const struct source_names *d, const char *id)
{
	size_t i;
	int found = 0;

	if (!d || !id)
		return NULL;
	i = names_find(d, id, &found);
	return found ? d->names[i] : NULL;
}

void source_names_release(struct source_names *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->ids[i]);
		free(d->names[i]);
	}
	free(d->ids);
	free(d->names);
	memset(d, 0, sizeof(*d));
}

const char *source_nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

void source_printable(char *out, size_t size, const char *s)
{
	size_t n = 0;

	for (; s && *s && n + 1 < size; s++)
		out[n++] = (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f
			       ? *s
			       : '?';
	if (size)
		out[n] = '\0';
}

int source_put_param(struct buf *out, int *is_first, const char *name,
		     const char *value)
{
	int rc;

	if (!value)
		return 0;
	rc = buf_putc(out, *is_first ? '?' : '&');
	*is_first = 0;
	if (rc == 0)
		rc = buf_printf(out, "%s=", name);
	if (rc == 0)
		rc = source_urlencode(out, value);
	return rc;
}

void source_http_error_other(struct err *err, const char *provider, long status,
			     const char *what, const char *detail,
			     const char *not_found)
{
	if (status == 404)
		err_set(err, ERR_NOT_FOUND, 404,
			"%s not found on %s (404 \"%s\")", what, provider,
			*detail ? detail : not_found);
	else if (*detail)
		err_set(err, ERR_HTTP, (int)status,
			"%s answered %ld for %s (\"%s\")", provider, status,
			what, detail);
	else
		err_set(err, ERR_HTTP, (int)status, "%s answered %ld for %s",
			provider, status, what);
}

const char *source_str(struct source_map *m, const struct json *v)
{
	return arena_strdup(&m->batch->arena, json_str(v));
}

int64_t source_time(const struct source_map *m, const struct json *v)
{
	int64_t t;

	if (time_parse(json_str(v), m->naive_offset_s, &t) != 0)
		return TIME_NULL;
	return t;
}

/* Cursor encoding and the paging envelope; see page.h. The cursor JSON is
 * parsed with cJSON, the only external parser in the simulator. */
#include "page.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "codec.h"
#include "util/jsonw.h"
#include "util/banned.h"

void cursor_set_str(struct cursor_key *k, int i, const char *s)
{
	size_t n = strlen(s);

	if (n >= CURSOR_MAX_STR)
		n = CURSOR_MAX_STR - 1;
	memcpy(k->str[i], s, n);
	k->str[i][n] = '\0';
	k->is_int[i] = 0;
	if (k->n < i + 1)
		k->n = i + 1;
}

void cursor_set_int(struct cursor_key *k, int i, int64_t v)
{
	k->num[i] = v;
	k->is_int[i] = 1;
	if (k->n < i + 1)
		k->n = i + 1;
}

int cursor_encode(struct buf *out, const struct cursor_key *k)
{
	struct buf js = BUF_INIT;
	int i, rc = buf_putc(&js, '[');

	for (i = 0; i < k->n; i++) {
		if (i)
			rc |= buf_putc(&js, ',');
		if (k->is_int[i])
			rc |= jsonw_int(&js, k->num[i]);
		else
			rc |= jsonw_string(&js, k->str[i]);
	}
	rc |= buf_putc(&js, ']');
	if (rc == 0)
		rc = b64url_encode(out, js.data, js.len);
	buf_release(&js);
	return rc ? -1 : 0;
}

int cursor_decode(const char *s, struct cursor_key *out)
{
	struct buf raw = BUF_INIT;
	cJSON *root = NULL, *it;
	int rc = -1, i = 0;

	memset(out, 0, sizeof(*out));
	buf_init(&raw, 4096);
	if (!*s || strlen(s) > 2048 || b64url_decode(&raw, s) < 0 ||
	    raw.len == 0)
		goto done;
	root = cJSON_ParseWithLength(raw.data, raw.len);
	if (!root || !cJSON_IsArray(root))
		goto done;
	cJSON_ArrayForEach(it, root)
	{
		if (i >= CURSOR_MAX_PARTS)
			goto done;
		if (cJSON_IsString(it)) {
			if (strlen(it->valuestring) >= CURSOR_MAX_STR)
				goto done;
			cursor_set_str(out, i, it->valuestring);
		} else if (cJSON_IsNumber(it) && it->valuedouble >= 0 &&
			   it->valuedouble < 9e15 &&
			   it->valuedouble ==
			       (double)(int64_t)it->valuedouble) {
			cursor_set_int(out, i, (int64_t)it->valuedouble);
		} else {
			goto done;
		}
		i++;
	}
	if (i == 0)
		goto done;
	rc = 0;
done:
	cJSON_Delete(root);
	buf_release(&raw);
	return rc;
}

int page_begin(struct page *p, struct buf *out, long limit)
{
	memset(p, 0, sizeof(*p));
	p->out = out;
	p->limit = limit;
	return buf_puts(out, "\"data\":[");
}

int page_next_item(struct page *p)
{
	if (p->count >= p->limit) {
		p->has_more = 1;
		return 0;
	}
	if (p->count++ > 0 && buf_putc(p->out, ',') < 0)
		p->rc = -1;
	return 1;
}

int url_encode(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;

	for (; *s && rc == 0; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~') {
			rc = buf_putc(out, (char)c);
		} else {
			rc = buf_putc(out, '%');
			rc |= buf_putc(out, hex[c >> 4]);
			rc |= buf_putc(out, hex[c & 15]);
		}
	}
	return rc;
}

int page_finish(struct page *p, const char *base_url, const char *path,
		const struct page_param *params, int n_params,
		enum paging_end end)
{
	struct buf cur = BUF_INIT, url = BUF_INIT;
	int rc = p->rc | buf_putc(p->out, ']'), i;

	if (!p->has_more) {
		if (end == PAGING_END_NULL)
			rc |= buf_puts(p->out, ",\"paging\":{\"next\":null}");
		else if (end == PAGING_END_EMPTY)
			rc |= buf_puts(p->out, ",\"paging\":{}");
		return rc ? -1 : 0;
	}
	rc |= cursor_encode(&cur, &p->last);
	rc |= buf_printf(&url, "%s%s?limit=%ld", base_url, path, p->limit);
	for (i = 0; i < n_params; i++) {
		if (!params[i].value)
			continue;
		rc |= buf_printf(&url, "&%s=", params[i].name);
		rc |= url_encode(&url, params[i].value);
	}
	rc |= buf_printf(&url, "&starting_after=%s", buf_str(&cur));
	rc |= buf_puts(p->out, ",\"paging\":{\"next\":{\"url\":");
	rc |= jsonw_string(p->out, buf_str(&url));
	rc |= buf_puts(p->out, ",\"starting_after\":");
	rc |= jsonw_string(p->out, buf_str(&cur));
	rc |= buf_puts(p->out, "}}");
	buf_release(&cur);
	buf_release(&url);
	return rc ? -1 : 0;
}

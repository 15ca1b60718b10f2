/* BSON values for records (NULL as null, integers as int32 when they fit,
 * JSON text as embedded documents) and typed reads of document fields. */
#include "store/mongo_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/json.h"
#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Six times MongoDB's 16 MiB document limit, and some. */
#define MG_JSON_MAX ((size_t)100 << 20)

const struct mg_flag mg_engagement[MG_N_ENGAGEMENT] = {
    {"engagement.opened", ENG_OPENED},
    {"engagement.clicked", ENG_CLICKED},
    {"engagement.bounced", ENG_BOUNCED},
    {"engagement.complained", ENG_COMPLAINED},
    {"engagement.unsubscribed", ENG_UNSUBSCRIBED},
};

/* ---- values ------------------------------------------------------------ */

static char *unconst(const char *s)
{
	return (char *)(uintptr_t)s;
}

bson_value_t mg_null(void)
{
	bson_value_t v;

	memset(&v, 0, sizeof(v));
	v.value_type = BSON_TYPE_NULL;
	return v;
}

bson_value_t mg_str(const char *s)
{
	bson_value_t v = mg_null();

	if (s) {
		v.value_type = BSON_TYPE_UTF8;
		v.value.v_utf8.str = unconst(s);
		v.value.v_utf8.len = (uint32_t)strlen(s);
	}
	return v;
}

/* Integers as the earlier tool's driver stored them: int32 when they fit. */
bson_value_t mg_int(int64_t n)
{
	bson_value_t v = mg_null();

	if (n >= INT32_MIN && n <= INT32_MAX) {
		v.value_type = BSON_TYPE_INT32;
		v.value.v_int32 = (int32_t)n;
	} else {
		v.value_type = BSON_TYPE_INT64;
		v.value.v_int64 = n;
	}
	return v;
}

bson_value_t mg_count(int64_t n)
{
	return n < 0 ? mg_null() : mg_int(n);
}

bson_value_t mg_bool(int b)
{
	bson_value_t v = mg_null();

	v.value_type = BSON_TYPE_BOOL;
	v.value.v_bool = b != 0;
	return v;
}

bson_value_t mg_date(int64_t t)
{
	bson_value_t v = mg_null();

	if (t != TIME_NULL) {
		v.value_type = BSON_TYPE_DATE_TIME;
		v.value.v_datetime = t * 1000;
	}
	return v;
}

static int append_json(bson_t *dst, const char *key, const struct json *v);

/* -1 when the number's text passes the buffer's maximum (it came from a
 * bounded body, so this is never expected): mg_json then keeps the text. */
static int append_number(bson_t *dst, const char *key, const struct json *v)
{
	struct buf t = BUF_INIT;
	const char *s;
	char *end;
	long long n;
	int rc = -1;

	if (json_write(&t, v) < 0)
		goto done;
	s = buf_str(&t);
	n = strtoll(s, &end, 10);
	if (!*end && strspn(s, "-0123456789") == t.len) {
		if (n >= INT32_MIN && n <= INT32_MAX)
			BSON_APPEND_INT32(dst, key, (int32_t)n);
		else
			BSON_APPEND_INT64(dst, key, n);
	} else {
		BSON_APPEND_DOUBLE(dst, key, strtod(s, NULL));
	}
	rc = 0;
done:
	buf_release(&t);
	return rc;
}

/* JSON value -> BSON, read with our own parser so that keys such as
 * "$date" in user data stay plain keys. -1 as append_number. */
static int append_json(bson_t *dst, const char *key, const struct json *v)
{
	bson_t child;
	char idx[16];
	const char *ik;
	size_t i;
	int b, rc = 0;

	switch (json_type(v)) {
	case JSON_BOOL:
		json_bool(v, &b);
		BSON_APPEND_BOOL(dst, key, b);
		break;
	case JSON_NUMBER:
		rc = append_number(dst, key, v);
		break;
	case JSON_STRING:
		BSON_APPEND_UTF8(dst, key, json_str(v));
		break;
	case JSON_ARRAY:
		BSON_APPEND_ARRAY_BEGIN(dst, key, &child);
		for (i = 0; rc == 0 && i < json_len(v); i++) {
			bson_uint32_to_string((uint32_t)i, &ik, idx,
					      sizeof(idx));
			rc = append_json(&child, ik, json_at(v, i));
		}
		bson_append_array_end(dst, &child);
		break;
	case JSON_OBJECT:
		BSON_APPEND_DOCUMENT_BEGIN(dst, key, &child);
		for (i = 0; rc == 0 && i < json_len(v); i++) {
			const struct json *m = json_at(v, i);

			rc = append_json(&child, json_key(m) ? json_key(m) : "",
					 m);
		}
		bson_append_document_end(dst, &child);
		break;
	default:
		BSON_APPEND_NULL(dst, key);
		break;
	}
	return rc;
}

/* JSON text -> value: objects and arrays become embedded BSON (held in
 * *holder, which the caller destroys), NULL is null, and anything that does
 * not parse as an object or array, or holds a number too long to convert,
 * is kept as the string it was. */
bson_value_t mg_json(const char *text, bson_t *holder)
{
	struct json_doc *doc = NULL;
	bson_value_t v = mg_str(text);
	bson_iter_t it;

	bson_init(holder);
	if (!text || json_parse(&doc, text, strlen(text), NULL) < 0)
		goto done;
	if (json_type(json_root(doc)) != JSON_ARRAY &&
	    json_type(json_root(doc)) != JSON_OBJECT)
		goto done;
	if (append_json(holder, "v", json_root(doc)) == 0 &&
	    bson_iter_init_find(&it, holder, "v"))
		v = *bson_iter_value(&it);
done:
	json_doc_free(doc);
	return v;
}

static int write_double(struct buf *b, double d)
{
	char t[40];
	int p;

	for (p = 15; p <= 17; p++) {
		snprintf(t, sizeof(t), "%.*g", p, d);
		if (strtod(t, NULL) == d)
			break;
	}
	return buf_puts(b, t);
}

/* Compact JSON of the value at it (dates as ISO strings); -1 when b
 * reached its maximum. */
static int write_json(struct buf *b, const bson_iter_t *it)
{
	bson_iter_t child;
	uint32_t len;
	const char *s;
	int first = 1, is_doc, rc;

	switch (bson_iter_type(it)) {
	case BSON_TYPE_UTF8:
		s = bson_iter_utf8(it, &len);
		rc = jsonw_stringn(b, s, len);
		break;
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64:
		rc = jsonw_int(b, bson_iter_as_int64(it));
		break;
	case BSON_TYPE_DOUBLE:
		rc = write_double(b, bson_iter_double(it));
		break;
	case BSON_TYPE_BOOL:
		rc = buf_puts(b, bson_iter_bool(it) ? "true" : "false");
		break;
	case BSON_TYPE_DATE_TIME:
		/* Whole seconds: mg_date stores them, never milliseconds. */
		rc = jsonw_time(b, bson_iter_date_time(it) / 1000);
		break;
	case BSON_TYPE_DOCUMENT:
	case BSON_TYPE_ARRAY:
		is_doc = bson_iter_type(it) == BSON_TYPE_DOCUMENT;
		rc = buf_putc(b, is_doc ? '{' : '[');
		if (bson_iter_recurse(it, &child)) {
			while (rc == 0 && bson_iter_next(&child)) {
				if (is_doc)
					rc = jsonw_key(b, bson_iter_key(&child),
						       first);
				else if (!first)
					rc = buf_putc(b, ',');
				first = 0;
				rc = rc ? rc : write_json(b, &child);
			}
		}
		rc = rc ? rc : buf_putc(b, is_doc ? '}' : ']');
		break;
	default:
		rc = buf_puts(b, "null");
		break;
	}
	return rc;
}

/* ---- reading documents ------------------------------------------------- */

int mg_find(const bson_t *doc, const char *path, bson_iter_t *it)
{
	bson_iter_t top;

	return bson_iter_init(&top, doc) &&
	       bson_iter_find_descendant(&top, path, it);
}

/* String field; NULL when missing or not a string. */
const char *mg_get_str(const bson_t *doc, const char *path)
{
	bson_iter_t it;

	if (!mg_find(doc, path, &it) || !BSON_ITER_HOLDS_UTF8(&it))
		return NULL;
	return bson_iter_utf8(&it, NULL);
}

int64_t mg_get_int(const bson_t *doc, const char *path)
{
	bson_iter_t it;

	if (!mg_find(doc, path, &it) || !BSON_ITER_HOLDS_NUMBER(&it))
		return 0;
	return bson_iter_as_int64(&it);
}

int64_t mg_get_count(const bson_t *doc, const char *path)
{
	bson_iter_t it;

	if (!mg_find(doc, path, &it) || !BSON_ITER_HOLDS_NUMBER(&it))
		return -1;
	return bson_iter_as_int64(&it);
}

int mg_get_bool(const bson_t *doc, const char *path)
{
	bson_iter_t it;

	return mg_find(doc, path, &it) && bson_iter_as_bool(&it);
}

int64_t mg_get_time(const bson_t *doc, const char *path)
{
	bson_iter_t it;
	int64_t ms;

	if (!mg_find(doc, path, &it) || !BSON_ITER_HOLDS_DATE_TIME(&it))
		return TIME_NULL;
	ms = bson_iter_date_time(&it);
	return ms >= 0 ? ms / 1000 : -((999 - ms) / 1000);
}

/* JSON text of a field in the arena; NULL when missing or null. A BSON
 * document is at most 16 MiB and its JSON at most six times that (every
 * byte an escape), so the buffer's maximum is never reached. */
char *mg_get_json(const bson_t *doc, const char *path, struct arena *a)
{
	struct buf b;
	bson_iter_t it;
	char *out;

	if (!mg_find(doc, path, &it) || BSON_ITER_HOLDS_NULL(&it))
		return NULL;
	buf_init(&b, MG_JSON_MAX);
	if (write_json(&b, &it) < 0)
		BUG("mongodb: JSON of a field past 6 times the BSON maximum");
	out = arena_strdup(a, buf_str(&b));
	buf_release(&b);
	return out;
}

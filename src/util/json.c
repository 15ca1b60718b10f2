/* JSON reader over cJSON (the only file that includes cJSON.h): strict
 * length-bounded parsing and NULL-tolerant accessors for hostile input. */
#include "util/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/jsonw.h"
#include "util/num.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* A node is a cJSON item; the wrapper only exists to keep cJSON's type out
 * of the header. */
struct json {
	cJSON node;
};

struct json_doc {
	cJSON *root;
};

static const cJSON *node(const struct json *v)
{
	return v ? &v->node : NULL;
}

static const struct json *wrap(const cJSON *c)
{
	return (const struct json *)(const void *)c;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int json_parse(struct json_doc **out, const char *text, size_t len,
	       struct err *err)
{
	const char *end = NULL;
	cJSON *root = NULL;
	int rc = -1;

	*out = NULL;
	if (!text || len == 0) {
		err_set(err, ERR_PARSE, 0, "empty json document");
		goto done;
	}
	/* cJSON stops at a NUL inside strings; refuse such input outright. */
	if (memchr(text, '\0', len)) {
		err_set(err, ERR_PARSE, 0, "json document contains a nul byte");
		goto done;
	}
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root) {
		size_t at = end && end >= text ? (size_t)(end - text) : 0;

		if (at >= len)
			err_set(err, ERR_PARSE, 0,
				"truncated json document (%zu bytes)", len);
		else
			err_set(err, ERR_PARSE, 0,
				"invalid json at byte %zu of %zu", at, len);
		goto done;
	}
	while (end && end < text + len && is_ws(*end))
		end++;
	if (!end || end != text + len) {
		err_set(err, ERR_PARSE, 0,
			"trailing data after json at byte %zu",
			end ? (size_t)(end - text) : (size_t)0);
		goto done;
	}
	*out = xmalloc(sizeof(**out));
	(*out)->root = root;
	root = NULL;
	rc = 0;
done:
	cJSON_Delete(root);
	return rc;
}

void json_doc_free(struct json_doc *doc)
{
	if (!doc)
		return;
	cJSON_Delete(doc->root);
	free(doc);
}

const struct json *json_root(const struct json_doc *doc)
{
	return doc ? wrap(doc->root) : NULL;
}

enum json_type json_type(const struct json *v)
{
	const cJSON *c = node(v);

	if (!c)
		return JSON_MISSING;
	switch (c->type & 0xff) {
	case cJSON_NULL:
		return JSON_NULL;
	case cJSON_False:
	case cJSON_True:
		return JSON_BOOL;
	case cJSON_Number:
		return JSON_NUMBER;
	case cJSON_String:
		return c->valuestring ? JSON_STRING : JSON_NULL;
	case cJSON_Array:
		return JSON_ARRAY;
	case cJSON_Object:
		return JSON_OBJECT;
	default:
		return JSON_MISSING;
	}
}

const struct json *json_get(const struct json *obj, const char *key)
{
	const cJSON *c;

	if (json_type(obj) != JSON_OBJECT || !key)
		return NULL;
	for (c = node(obj)->child; c; c = c->next)
		if (c->string && strcmp(c->string, key) == 0)
			return wrap(c);
	return NULL;
}

size_t json_len(const struct json *v)
{
	enum json_type t = json_type(v);
	const cJSON *c;
	size_t n = 0;

	if (t != JSON_ARRAY && t != JSON_OBJECT)
		return 0;
	for (c = node(v)->child; c; c = c->next)
		n++;
	return n;
}

const struct json *json_at(const struct json *v, size_t i)
{
	enum json_type t = json_type(v);
	const cJSON *c;

	if (t != JSON_ARRAY && t != JSON_OBJECT)
		return NULL;
	for (c = node(v)->child; c && i > 0; c = c->next)
		i--;
	return wrap(c);
}

const char *json_key(const struct json *member)
{
	const cJSON *c = node(member);

	return c ? c->string : NULL;
}

const char *json_str(const struct json *v)
{
	return json_type(v) == JSON_STRING ? node(v)->valuestring : NULL;
}

/* Whole-number doubles within int64 range; cJSON keeps numbers as double, so
 * integers beyond 2^53 are already approximate. */
static int double_to_i64(double d, int64_t *out)
{
	if (!isfinite(d) || d != floor(d) || d < -9223372036854775808.0 ||
	    d >= 9223372036854775808.0)
		return -1;
	*out = (int64_t)d;
	return 0;
}

int json_int(const struct json *v, int64_t *out)
{
	int64_t n;
	const char *s;

	switch (json_type(v)) {
	case JSON_NUMBER:
		if (double_to_i64(node(v)->valuedouble, &n) < 0)
			return -1;
		break;
	case JSON_STRING:
		s = node(v)->valuestring;
		/* strtoll tolerates leading blanks and '+'; JSON text does
		 * not, so neither do we. */
		if (!((s[0] >= '0' && s[0] <= '9') || s[0] == '-'))
			return -1;
		if (num_parse_i64(s, &n) < 0)
			return -1;
		break;
	default:
		return -1;
	}
	*out = n;
	return 0;
}

int json_bool(const struct json *v, int *out)
{
	const cJSON *c = node(v);
	const char *s;

	switch (json_type(v)) {
	case JSON_BOOL:
		*out = (c->type & 0xff) == cJSON_True;
		return 0;
	case JSON_NUMBER:
		if (c->valuedouble == 0.0 || c->valuedouble == 1.0) {
			*out = c->valuedouble == 1.0;
			return 0;
		}
		return -1;
	case JSON_STRING:
		s = c->valuestring;
		if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0) {
			*out = 0;
			return 0;
		}
		if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0) {
			*out = 1;
			return 0;
		}
		return -1;
	default:
		return -1;
	}
}

static int write_number(struct buf *out, double d)
{
	int64_t n;

	if (double_to_i64(d, &n) == 0 && fabs(d) < 9007199254740992.0)
		return jsonw_int(out, n);
	if (!isfinite(d))
		return buf_puts(out, "null");
	return buf_printf(out, "%.17g", d);
}

/* Recursion depth is bounded by cJSON's nesting limit at parse time. */
static int write_node(struct buf *out, const cJSON *c)
{
	const cJSON *k;
	int rc = 0;
	int first = 1;

	switch (c->type & 0xff) {
	case cJSON_NULL:
		return buf_puts(out, "null");
	case cJSON_False:
		return buf_puts(out, "false");
	case cJSON_True:
		return buf_puts(out, "true");
	case cJSON_Number:
		return write_number(out, c->valuedouble);
	case cJSON_String:
		return jsonw_string(out, c->valuestring);
	case cJSON_Array:
		rc = buf_putc(out, '[');
		for (k = c->child; k && rc == 0; k = k->next) {
			if (!first)
				rc = buf_putc(out, ',');
			if (rc == 0)
				rc = write_node(out, k);
			first = 0;
		}
		return rc ? rc : buf_putc(out, ']');
	case cJSON_Object:
		rc = buf_putc(out, '{');
		for (k = c->child; k && rc == 0; k = k->next) {
			rc = jsonw_key(out, k->string ? k->string : "", first);
			if (rc == 0)
				rc = write_node(out, k);
			first = 0;
		}
		return rc ? rc : buf_putc(out, '}');
	default:
		return buf_puts(out, "null");
	}
}

int json_write(struct buf *out, const struct json *v)
{
	if (!v)
		return buf_puts(out, "null");
	return write_node(out, node(v));
}

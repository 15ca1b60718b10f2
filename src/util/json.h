/* JSON reader: the only module that includes cJSON.h. Nodes are owned by
 * their document and live until json_doc_free(). Every accessor accepts NULL
 * and answers "missing", so callers can chain lookups on hostile input. */
#ifndef ESPSYNC_JSON_H
#define ESPSYNC_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

struct json;
struct json_doc;

enum json_type {
	JSON_MISSING = 0,
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

/* Parses exactly len bytes; trailing garbage or truncation is ERR_PARSE. */
int json_parse(struct json_doc **out, const char *text, size_t len,
	       struct err *err);
void json_doc_free(struct json_doc *doc);
const struct json *json_root(const struct json_doc *doc);

enum json_type json_type(const struct json *v);
/* Object member by key (exact), or NULL. */
const struct json *json_get(const struct json *obj, const char *key);
/* Number of array items or object members; 0 for anything else. */
size_t json_len(const struct json *v);
/* Array item or object member by position, or NULL. */
const struct json *json_at(const struct json *v, size_t i);
/* Key of an object member returned by json_at, or NULL. */
const char *json_key(const struct json *member);
/* String value, or NULL when v is not a string. */
const char *json_str(const struct json *v);
/* Integer from a JSON number or a numeric string ("12"); -1 if neither. */
int json_int(const struct json *v, int64_t *out);
/* Boolean from true/false, 0/1 or "0"/"1"; -1 otherwise. */
int json_bool(const struct json *v, int *out);
/* Compact serialization of v (for storing objects such as custom fields);
 * -1 when out reached its maximum (out then holds a partial document that the
 * caller must not use). */
BUF_MUST_CHECK int json_write(struct buf *out, const struct json *v);

#endif

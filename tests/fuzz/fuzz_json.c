/* Fuzz target for the JSON reader: any input either fails to parse or
 * yields a document whose every node can be read, and whose compact
 * serialisation parses again; after one pass (which replaces invalid UTF-8)
 * serialising is a fixed point. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/json.h"

static void walk(const struct json *v, int depth)
{
	size_t i, n = json_len(v);
	int64_t num;
	int b;

	(void)json_type(v);
	(void)json_str(v);
	(void)json_int(v, &num);
	(void)json_bool(v, &b);
	(void)json_key(v);
	if (depth > 64)
		return;
	for (i = 0; i < n; i++)
		walk(json_at(v, i), depth + 1);
	(void)json_at(v, n);
	(void)json_get(v, "data");
	(void)json_get(v, "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_doc *doc = NULL, *again = NULL, *third = NULL;
	struct buf out = BUF_INIT, out2 = BUF_INIT, out3 = BUF_INIT;

	if (json_parse(&doc, (const char *)data, size, NULL) < 0)
		return 0;
	walk(json_root(doc), 0);
	if (json_write(&out, json_root(doc)) == 0) {
		if (json_parse(&again, buf_str(&out), out.len, NULL) < 0)
			abort();
		if (json_write(&out2, json_root(again)) < 0 ||
		    json_parse(&third, buf_str(&out2), out2.len, NULL) < 0 ||
		    json_write(&out3, json_root(third)) < 0 ||
		    strcmp(buf_str(&out2), buf_str(&out3)) != 0)
			abort();
	}
	json_doc_free(third);
	json_doc_free(again);
	json_doc_free(doc);
	buf_release(&out);
	buf_release(&out2);
	buf_release(&out3);
	return 0;
}

/* Tests of the JSON reader: strict document boundaries, tolerant accessors,
 * numbers given as strings, nesting limits and compact re-serialisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/json.h"

struct parse_case {
	const char *text;
	int is_ok;
};

static const struct parse_case parse_cases[] = {
    {"{}", 1},
    {" {\"a\":1} \n", 1},
    {"[1,2,3]", 1},
    {"\"str\"", 1},
    {"null", 1},
    {"", 0},
    {"   ", 0},
    {"{\"a\":1", 0},		       /* truncated */
    {"{\"a\":\"abc", 0},	       /* truncated in a string */
    {"[1,2", 0},		       /* truncated array */
    {"{\"data\":[{\"id\":\"x\"},", 0}, /* truncated page */
    {"{} x", 0},		       /* trailing garbage */
    {"{}{}", 0},		       /* two documents */
    {"[1] ]", 0},
    {"{'a':1}", 0},
    {"nul", 0},
    {"<html>502 Bad Gateway</html>", 0},
};

static void test_parse_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct json_doc *doc = NULL;
		struct err err = ERR_INIT;
		int rc = json_parse(&doc, c->text, strlen(c->text), &err);

		if (c->is_ok) {
			assert_int_equal(rc, 0);
			assert_non_null(doc);
		} else {
			assert_int_equal(rc, -1);
			assert_null(doc);
			assert_int_equal(err.kind, ERR_PARSE);
			assert_true(strlen(err.msg) > 0);
		}
		json_doc_free(doc);
	}
}

static void test_length_bounds_parse(void **state)
{
	/* Only the first len bytes count: a document cut short inside a
	 * larger buffer is truncated, the full length parses. */
	const char *text = "{\"a\":[1,2,3]}";
	struct json_doc *doc = NULL;

	(void)state;
	assert_int_equal(json_parse(&doc, text, 8, NULL), -1);
	assert_int_equal(json_parse(&doc, text, strlen(text), NULL), 0);
	json_doc_free(doc);
}

static void test_embedded_nul_rejected(void **state)
{
	const char text[] = "{\"a\":\"x\0y\"}";
	struct json_doc *doc = NULL;

	(void)state;
	assert_int_equal(json_parse(&doc, text, sizeof(text) - 1, NULL), -1);
}

static struct json_doc *parse_ok(const char *text)
{
	struct json_doc *doc = NULL;

	assert_int_equal(json_parse(&doc, text, strlen(text), NULL), 0);
	return doc;
}

static void test_accessors_tolerate_missing(void **state)
{
	struct json_doc *doc = parse_ok("{\"a\":{\"b\":[1,\"x\",null]}}");
	const struct json *root = json_root(doc);
	int64_t n = 7;

	(void)state;
	assert_int_equal(json_type(root), JSON_OBJECT);
	assert_null(json_get(root, "missing"));
	assert_null(json_get(json_get(root, "missing"), "deeper"));
	assert_int_equal(json_type(json_get(root, "nope")), JSON_MISSING);
	assert_null(json_str(NULL));
	assert_int_equal(json_len(NULL), 0);
	assert_null(json_at(NULL, 0));
	assert_int_equal(json_int(NULL, &n), -1);
	assert_int_equal(n, 7);
	assert_int_equal(json_len(json_get(json_get(root, "a"), "b")), 3);
	assert_string_equal(
	    json_str(json_at(json_get(json_get(root, "a"), "b"), 1)), "x");
	assert_int_equal(
	    json_type(json_at(json_get(json_get(root, "a"), "b"), 2)),
	    JSON_NULL);
	assert_null(json_at(json_get(json_get(root, "a"), "b"), 3));
	assert_null(json_get(json_get(json_get(root, "a"), "b"), "x"));
	assert_string_equal(json_key(json_at(root, 0)), "a");
	json_doc_free(doc);
}

struct int_case {
	const char *value; /* JSON text of the value */
	int rc;
	int64_t want;
};

static const struct int_case int_cases[] = {
    {"12", 0, 12},
    {"-3", 0, -3},
    {"\"12\"", 0, 12},
    {"\"-7\"", 0, -7},
    {"0", 0, 0},
    {"1e3", 0, 1000},
    {"1.5", -1, 0},
    {"\"1.5\"", -1, 0},
    {"\"\"", -1, 0},
    {"\" 12\"", -1, 0},
    {"\"+12\"", -1, 0},
    {"\"12abc\"", -1, 0},
    {"\"99999999999999999999\"", -1, 0},
    {"1e300", -1, 0},
    {"true", -1, 0},
    {"null", -1, 0},
    {"[1]", -1, 0},
};

static void test_int_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(int_cases) / sizeof(int_cases[0]); i++) {
		struct buf text = BUF_INIT;
		struct json_doc *doc;
		int64_t n = 0;

		assert_int_equal(
		    buf_printf(&text, "{\"v\":%s}", int_cases[i].value), 0);
		doc = parse_ok(buf_str(&text));
		assert_int_equal(json_int(json_get(json_root(doc), "v"), &n),
				 int_cases[i].rc);
		if (int_cases[i].rc == 0)
			assert_true(n == int_cases[i].want);
		json_doc_free(doc);
		buf_release(&text);
	}
}

static void test_bool_forms(void **state)
{
	struct json_doc *doc =
	    parse_ok("[true,false,0,1,\"0\",\"1\",2,\"yes\",null]");
	const struct json *a = json_root(doc);
	static const int want_rc[] = {0, 0, 0, 0, 0, 0, -1, -1, -1};
	static const int want[] = {1, 0, 0, 1, 0, 1, 0, 0, 0};
	size_t i;

	(void)state;
	for (i = 0; i < 9; i++) {
		int b = 0;

		assert_int_equal(json_bool(json_at(a, i), &b), want_rc[i]);
		if (want_rc[i] == 0)
			assert_int_equal(b, want[i]);
	}
	json_doc_free(doc);
}

static char *nested(int depth)
{
	char *s = malloc((size_t)depth * 2 + 1);
	int i;

	for (i = 0; i < depth; i++) {
		s[i] = '[';
		s[depth * 2 - 1 - i] = ']';
	}
	s[depth * 2] = '\0';
	return s;
}

static void test_nesting_limit(void **state)
{
	char *ok = nested(200), *deep = nested(5000);
	struct json_doc *doc = NULL;
	struct err err = ERR_INIT;

	(void)state;
	assert_int_equal(json_parse(&doc, ok, strlen(ok), NULL), 0);
	json_doc_free(doc);
	doc = NULL;
	assert_int_equal(json_parse(&doc, deep, strlen(deep), &err), -1);
	assert_int_equal(err.kind, ERR_PARSE);
	free(ok);
	free(deep);
}

struct write_case {
	const char *in, *out;
};

static const struct write_case write_cases[] = {
    {"{ \"a\" : 1 , \"b\" : [ \"x\" , null , true ] }",
     "{\"a\":1,\"b\":[\"x\",null,true]}"},
    {"{\"n\":2.5,\"big\":12345678901}", "{\"n\":2.5,\"big\":12345678901}"},
    {"{\"s\":\"quote\\\" slash\\\\ nl\\n\"}",
     "{\"s\":\"quote\\\" slash\\\\ nl\\u000a\"}"},
    {"{\"u\":\"caf\\u00e9\"}", "{\"u\":\"caf\xc3\xa9\"}"},
    {"[]", "[]"},
    {"{}", "{}"},
};

static void test_write_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(write_cases) / sizeof(write_cases[0]); i++) {
		struct json_doc *doc = parse_ok(write_cases[i].in);
		struct buf out = BUF_INIT;

		assert_int_equal(json_write(&out, json_root(doc)), 0);
		assert_string_equal(buf_str(&out), write_cases[i].out);
		buf_release(&out);
		json_doc_free(doc);
	}
}

static void test_write_member_value_only(void **state)
{
	struct json_doc *doc = parse_ok("{\"fields\":{\"A\":[\"x\",2]}}");
	struct buf out = BUF_INIT;

	(void)state;
	assert_int_equal(json_write(&out, json_get(json_root(doc), "fields")),
			 0);
	assert_string_equal(buf_str(&out), "{\"A\":[\"x\",2]}");
	buf_release(&out);
	json_doc_free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_table),
	    cmocka_unit_test(test_length_bounds_parse),
	    cmocka_unit_test(test_embedded_nul_rejected),
	    cmocka_unit_test(test_accessors_tolerate_missing),
	    cmocka_unit_test(test_int_table),
	    cmocka_unit_test(test_bool_forms),
	    cmocka_unit_test(test_nesting_limit),
	    cmocka_unit_test(test_write_table),
	    cmocka_unit_test(test_write_member_value_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

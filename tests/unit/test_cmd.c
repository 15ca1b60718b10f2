/* Unit tests for what the subcommands share (cmd/cmd_common.c): a JSON
 * summary whose builder reached its buffer's maximum is an error line on
 * stderr and exit code 1, never a cut object on stdout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd/cmd.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

#define TOO_LONG "espsync: cannot build the json summary: too long\n"

/* One file descriptor (1 or 2) redirected into a temporary file. */
struct capture {
	FILE *tmp;
	int fd, saved;
	char text[1024];
};

static void capture_begin(struct capture *c, int fd)
{
	c->tmp = tmpfile();
	assert_non_null(c->tmp);
	c->fd = fd;
	fflush(fd == 1 ? stdout : stderr);
	c->saved = dup(fd);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->tmp), fd) >= 0);
}

static void capture_end(struct capture *c)
{
	size_t n;

	fflush(c->fd == 1 ? stdout : stderr);
	dup2(c->saved, c->fd);
	close(c->saved);
	rewind(c->tmp);
	n = fread(c->text, 1, sizeof(c->text) - 1, c->tmp);
	c->text[n] = '\0';
	fclose(c->tmp);
}

/* Builds the failure object into a buffer of maximum max and prints it as
 * the commands do; out and err get stdout and stderr, *rc the builder's
 * result. Returns cmd_print_json's exit code. */
static int build_and_print(size_t max, int *rc, struct capture *out,
			   struct capture *err)
{
	struct err e = ERR_INIT;
	struct buf b;
	int code;

	err_set(&e, ERR_STORE, 0, "cannot open store 'data/espsync.db'");
	buf_init(&b, max);
	capture_begin(out, 1);
	capture_begin(err, 2);
	*rc = cmd_json_failure_append(&b, "sync", &e, 5);
	code = cmd_print_json(&b, *rc);
	capture_end(err);
	capture_end(out);
	buf_release(&b);
	return code;
}

#define FAILURE_JSON                                                           \
	"{\"command\":\"sync\",\"status\":\"failed\",\"error\":{\"kind\":"     \
	"\"store\",\"message\":\"cannot open store 'data/espsync.db'\"},"      \
	"\"exit_code\":5}"

static void test_failure_object_fits(void **state)
{
	struct capture out, err;
	int rc;

	(void)state;
	assert_int_equal(
	    build_and_print(sizeof(FAILURE_JSON) - 1, &rc, &out, &err), 0);
	assert_int_equal(rc, 0);
	assert_string_equal(out.text, FAILURE_JSON "\n");
	assert_string_equal(err.text, "");
}

/* Every maximum short of the whole object: the builder reports it, stdout
 * stays empty, stderr holds the one error line, the exit code is 1. */
static void test_every_short_maximum_is_an_error(void **state)
{
	struct capture out, err;
	size_t max;
	int rc;

	(void)state;
	for (max = 1; max < sizeof(FAILURE_JSON) - 1; max++) {
		assert_int_equal(build_and_print(max, &rc, &out, &err),
				 EXIT_RUNTIME);
		assert_int_equal(rc, -1);
		assert_string_equal(out.text, "");
		assert_string_equal(err.text, TOO_LONG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_failure_object_fits),
	    cmocka_unit_test(test_every_short_maximum_is_an_error),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

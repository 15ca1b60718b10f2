/* Tests of progress output: plain lines for cron, NDJSON events, the TTY
 * status line, silence with --quiet, and provider text made safe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/progress.h"

static char text[8192];

/* Everything written to f so far, as a string in `text`. */
static const char *contents(FILE *f)
{
	size_t n;

	fflush(f);
	rewind(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	return text;
}

static void test_plain_lines(void **state)
{
	FILE *f = tmpfile();
	struct progress p;

	(void)state;
	progress_init(&p, PROGRESS_PLAIN, f, 0);
	progress_page(&p, PROG_CONTACTS, 100, "x", 500);
	progress_page(&p, PROG_CONTACTS, 50, "x", 1000);
	progress_campaign_done(&p, "c1", "Nov \x1b[31mNews", 1234, 3, 0, 1500);
	progress_campaign_done(&p, "c2", NULL, 0, 0, 1, 1500);
	progress_stream_done(&p, PROG_CONTACTS, 2000);
	progress_stream_done(&p, PROG_CONTACTS, 2000);
	progress_stream_done(&p, PROG_LISTS, 2000); /* never active */
	assert_string_equal(
	    contents(f), "campaign 'Nov ?[31mNews' (c1): 1234 events, 3 links\n"
			 "campaign '' (c2): unchanged, reports not re-read\n"
			 "contacts: 150 records in 2 pages (75.0/s)\n");
	fclose(f);
}

static void test_json_events(void **state)
{
	FILE *f = tmpfile();
	struct progress p;
	struct sync_report r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.run_id = 7;
	r.requests = 12;
	r.events = 40;
	progress_init(&p, PROGRESS_JSON, f, 1000);
	progress_page(&p, PROG_REPORTS, 40, "campaign 'c1' opened report",
		      1200);
	progress_campaign_done(&p, "c1", "N\"q", 40, 1, 0, 1300);
	progress_stream_done(&p, PROG_REPORTS, 1400);
	progress_run_done(&p, &r, "complete", 1500);
	assert_string_equal(
	    contents(f),
	    "{\"event\":\"page\",\"stream\":\"reports\",\"object\":"
	    "\"campaign 'c1' opened report\",\"records\":40,"
	    "\"stream_records\":40,\"pages\":1,\"elapsed_ms\":200}\n"
	    "{\"event\":\"campaign_done\",\"campaign_id\":\"c1\",\"name\":"
	    "\"N\\\"q\",\"events\":40,\"links\":1,\"skipped\":false,"
	    "\"elapsed_ms\":300}\n"
	    "{\"event\":\"stream_done\",\"stream\":\"reports\",\"records\":40,"
	    "\"pages\":1,\"elapsed_ms\":400}\n"
	    "{\"event\":\"run_done\",\"status\":\"complete\",\"run_id\":7,"
	    "\"requests\":12,\"retries\":0,\"throttled\":0,\"events\":40,"
	    "\"campaigns_skipped\":0,\"elapsed_ms\":500}\n");
	fclose(f);
}

static void test_tty_line(void **state)
{
	FILE *f = tmpfile();
	struct progress p;

	(void)state;
	progress_init(&p, PROGRESS_TTY, f, 0);
	progress_set_total(&p, PROG_REPORTS, 4);
	progress_page(&p, PROG_REPORTS, 20000, NULL, 1000);
	progress_unit_done(&p, PROG_REPORTS, 2000);
	progress_page(&p, PROG_REPORTS, 10, NULL, 2050); /* throttled */
	progress_clear(&p);
	assert_string_equal(contents(f),
			    "\r\033[Kreports 0/4 20.0k 20000/s"
			    "\r\033[Kreports 1/4 20.0k 10000/s ETA 3s"
			    "\r\033[K");
	fclose(f);
}

static void test_quiet(void **state)
{
	FILE *f = tmpfile();
	struct progress p;
	struct sync_report r;

	(void)state;
	memset(&r, 0, sizeof(r));
	progress_init(&p, PROGRESS_NONE, f, 0);
	progress_page(&p, PROG_LISTS, 1, NULL, 1);
	progress_campaign_done(&p, "c", "n", 1, 1, 0, 2);
	progress_stream_done(&p, PROG_LISTS, 3);
	progress_run_done(&p, &r, "complete", 4);
	assert_string_equal(contents(f), "");
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_lines),
	    cmocka_unit_test(test_json_events),
	    cmocka_unit_test(test_tty_line),
	    cmocka_unit_test(test_quiet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

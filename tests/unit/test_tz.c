/* Tests of the TZif reader: offsets around the 2025 DST changes in
 * America/Chicago from the system file, local wall time to UTC in and
 * around both changes, the footer rule of a slim file without transitions,
 * and hostile names and data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/timeparse.h"
#include "util/tz.h"

static struct tz *chicago(void)
{
	struct tz *z = NULL;
	struct err e = ERR_INIT;

	assert_int_equal(tz_load(&z, NULL, "America/Chicago", &e), 0);
	assert_non_null(z);
	return z;
}

static int64_t local(const char *s)
{
	int64_t t;

	assert_int_equal(time_parse(s, 0, &t), 0);
	return t;
}

static void test_chicago_offsets(void **state)
{
	struct tz *z = chicago();

	(void)state;
	/* Fall back 2025-11-02 07:00Z, spring forward 2025-03-09 08:00Z. */
	assert_int_equal(tz_offset_at(z, 1762066799), -18000);
	assert_int_equal(tz_offset_at(z, 1762066800), -21600);
	assert_int_equal(tz_offset_at(z, 1741507199), -21600);
	assert_int_equal(tz_offset_at(z, 1741507200), -18000);
	/* Past the fat file's last transition the footer rule applies. */
	assert_int_equal(tz_offset_at(z, 2224756800), -18000);
	assert_int_equal(tz_offset_at(z, 2237976000), -21600);
	tz_free(z);
}

static void test_chicago_local_to_utc(void **state)
{
	struct tz *z = chicago();

	(void)state;
	assert_int_equal(tz_local_to_utc(z, local("2025-11-02 00:30:00")),
			 1762061400);
	/* After the fall-back change: CST. */
	assert_int_equal(tz_local_to_utc(z, local("2025-11-02 03:00:00")),
			 1762074000);
	/* The repeated hour names its earlier (CDT) instant. */
	assert_int_equal(tz_local_to_utc(z, local("2025-11-02 01:30:00")),
			 1762061400 + 3600);
	/* After spring forward: CDT. */
	assert_int_equal(tz_local_to_utc(z, local("2025-03-09 03:30:00")),
			 1741509000);
	assert_int_equal(tz_local_to_utc(z, local("2025-03-09 01:59:59")),
			 1741507199);
	tz_free(z);
}

static void test_utc_needs_no_file(void **state)
{
	struct tz *z = (struct tz *)1;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(tz_load(&z, "/nonexistent", "UTC", &e), 0);
	assert_null(z);
	assert_int_equal(tz_local_to_utc(NULL, 12345), 12345);
	assert_int_equal(tz_offset_at(NULL, 12345), 0);
}

static void test_bad_names(void **state)
{
	static const char *const bad[] = {"",
					  "/etc/passwd",
					  "../etc/passwd",
					  "America/../../etc/passwd",
					  "America/Chi cago",
					  "America\\Chicago",
					  "Europe/Berlin;rm"};
	struct tz *z = NULL;
	struct err e = ERR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(tz_name_is_valid(bad[i]));
		assert_int_equal(tz_load(&z, NULL, bad[i], &e), -1);
		assert_int_equal(e.kind, ERR_CONFIG);
		assert_null(z);
	}
	assert_int_equal(tz_load(&z, NULL, "Mars/Olympus_Mons", &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_non_null(strstr(e.msg, "Mars/Olympus_Mons"));
	assert_true(tz_name_is_valid("Etc/GMT+5"));
}

static void test_garbage(void **state)
{
	static const unsigned char junk[] = "TZif2 but not really a zone file";
	struct tz *z = NULL;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(tz_parse(&z, junk, sizeof(junk), &e), -1);
	assert_int_equal(e.kind, ERR_PARSE);
	assert_int_equal(tz_parse(&z, junk, 3, &e), -1);
	assert_null(z);
}

static size_t put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return 4;
}

/* A header with one type (CST) and "CST\0", no transitions. */
static size_t slim_block(unsigned char *p)
{
	size_t n = 0;

	memcpy(p, "TZif2", 5);
	memset(p + 5, 0, 15);
	n = 20;
	n += put32(p + n, 0); /* isutcnt */
	n += put32(p + n, 0); /* isstdcnt */
	n += put32(p + n, 0); /* leapcnt */
	n += put32(p + n, 0); /* timecnt */
	n += put32(p + n, 1); /* typecnt */
	n += put32(p + n, 4); /* charcnt */
	n += put32(p + n, (uint32_t)-21600);
	p[n++] = 0;
	p[n++] = 0;
	memcpy(p + n, "CST", 4);
	return n + 4;
}

static void test_slim_file_rule(void **state)
{
	static const char footer[] = "\nCST6CDT,M3.2.0,M11.1.0\n";
	unsigned char data[256];
	size_t n = 0;
	struct tz *z = NULL;
	struct err e = ERR_INIT;

	(void)state;
	n += slim_block(data);
	n += slim_block(data + n);
	memcpy(data + n, footer, sizeof(footer) - 1);
	n += sizeof(footer) - 1;
	assert_int_equal(tz_parse(&z, data, n, &e), 0);
	assert_int_equal(tz_offset_at(z, 1762066799), -18000);
	assert_int_equal(tz_offset_at(z, 1762066800), -21600);
	assert_int_equal(tz_offset_at(z, 1741507199), -21600);
	assert_int_equal(tz_offset_at(z, 1741507200), -18000);
	assert_int_equal(tz_local_to_utc(z, local("2025-03-09 03:30:00")),
			 1741509000);
	tz_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chicago_offsets),
	    cmocka_unit_test(test_chicago_local_to_utc),
	    cmocka_unit_test(test_utc_needs_no_file),
	    cmocka_unit_test(test_bad_names),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_slim_file_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

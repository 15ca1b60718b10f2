/* ISO 8601 timestamps to UTC epoch seconds and back with pure calendar
 * arithmetic (Howard Hinnant's days_from_civil), so no process time-zone
 * state or gmtime is involved. */
#include "util/timeparse.h"

#include <stdio.h>
#include <string.h>

#include "util/banned.h"

#define SECS_PER_DAY 86400

int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void time_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned char days[] = {31, 28, 31, 30, 31, 30,
					     31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Reads exactly n digits at *p; -1 when any is not a digit. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (; n > 0; n--, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return 0;
}

/* Parses "Z", "+HH:MM", "+HHMM", "+HH" (or "-") at p, up to the end. */
static int parse_offset(const char *p, int64_t *out)
{
	int sign, hh, mm = 0;

	if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
		*out = 0;
		return 0;
	}
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p == '-' ? -1 : 1;
	p++;
	if (digits(&p, 2, &hh) < 0)
		return -1;
	if (*p == ':')
		p++;
	if (*p && digits(&p, 2, &mm) < 0)
		return -1;
	if (*p || hh > 23 || mm > 59)
		return -1;
	*out = sign * ((int64_t)hh * 3600 + (int64_t)mm * 60);
	return 0;
}

int time_parse(const char *s, int64_t naive_offset_s, int64_t *out)
{
	const char *p = s;
	int y, mo, d, hh = 0, mi = 0, ss = 0;
	int64_t off = naive_offset_s, v;

	if (!s || !*s)
		goto null;
	if (strncmp(s, "0000-00-00", 10) == 0)
		goto null;
	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 ||
	    *p++ != '-' || digits(&p, 2, &d) < 0)
		return -1;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 ||
	    (unsigned)d > days_in_month(y, (unsigned)mo))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &hh) < 0 || *p++ != ':' ||
		    digits(&p, 2, &mi) < 0)
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &ss) < 0)
				return -1;
			if (*p == '.' || *p == ',') {
				p++;
				if (*p < '0' || *p > '9')
					return -1;
				while (*p >= '0' && *p <= '9')
					p++;
			}
		}
		/* 60 admits a leap second; it lands on the next minute. */
		if (hh > 23 || mi > 59 || ss > 60)
			return -1;
		if (*p && parse_offset(p, &off) < 0)
			return -1;
	} else if (*p) {
		return -1;
	}
	v = time_days_from_civil(y, (unsigned)mo, (unsigned)d) * SECS_PER_DAY +
	    (int64_t)hh * 3600 + (int64_t)mi * 60 + ss - off;
	*out = v;
	return 0;
null:
	*out = TIME_NULL;
	return 1;
}

/* Calendar fields of epoch_s clamped to years 0000..9999 so the formats
 * keep their fixed width. */
static void split(int64_t epoch_s, int64_t *y, unsigned *m, unsigned *d,
		  int64_t *sod)
{
	const int64_t lo = time_days_from_civil(0, 1, 1) * SECS_PER_DAY;
	const int64_t hi = time_days_from_civil(10000, 1, 1) * SECS_PER_DAY - 1;
	int64_t days;

	if (epoch_s < lo)
		epoch_s = lo;
	if (epoch_s > hi)
		epoch_s = hi;
	days = epoch_s / SECS_PER_DAY;
	*sod = epoch_s % SECS_PER_DAY;
	if (*sod < 0) {
		*sod += SECS_PER_DAY;
		days--;
	}
	time_civil_from_days(days, y, m, d);
}

void time_format_iso(int64_t epoch_s, char *out)
{
	int64_t y, sod;
	unsigned m, d;

	if (epoch_s == TIME_NULL) {
		out[0] = '\0';
		return;
	}
	split(epoch_s, &y, &m, &d, &sod);
	snprintf(out, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ",
		 (unsigned)y % 10000u, m % 100u, d % 100u,
		 (unsigned)(sod / 3600) % 100u, (unsigned)(sod / 60 % 60),
		 (unsigned)(sod % 60));
}

void time_format_date(int64_t epoch_s, char *out)
{
	int64_t y, sod;
	unsigned m, d;

	if (epoch_s == TIME_NULL) {
		out[0] = '\0';
		return;
	}
	split(epoch_s, &y, &m, &d, &sod);
	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, m % 100u,
		 d % 100u);
}

/* Calendar arithmetic for the simulator on util/timeparse's civil
 * algorithms (Howard Hinnant's), so no call depends on the process
 * time zone; see simtime.h. */
#include "simtime.h"

#include <string.h>

#include "util/banned.h"

static void civil(int64_t days, int *y, int *m, int *d)
{
	int64_t year;
	unsigned month, day;

	time_civil_from_days(days, &year, &month, &day);
	*y = (int)year;
	*m = (int)month;
	*d = (int)day;
}

static void split(int64_t t, int64_t *days, int *secs)
{
	*days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	*secs = (int)(t - *days * 86400);
}

/* Writes v as exactly n decimal digits. */
static char *put_num(char *p, unsigned v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

struct parts {
	int y, m, d, secs;
	int64_t days;
};

static void to_parts(int64_t t, struct parts *pt)
{
	split(t, &pt->days, &pt->secs);
	civil(pt->days, &pt->y, &pt->m, &pt->d);
	if (pt->y < 0)
		pt->y = 0;
}

static char *put_date(char *p, const struct parts *pt)
{
	p = put_num(p, (unsigned)pt->y % 10000, 4);
	*p++ = '-';
	p = put_num(p, (unsigned)pt->m, 2);
	*p++ = '-';
	return put_num(p, (unsigned)pt->d, 2);
}

static char *put_clock(char *p, int secs)
{
	p = put_num(p, (unsigned)secs / 3600, 2);
	*p++ = ':';
	p = put_num(p, (unsigned)secs / 60 % 60, 2);
	*p++ = ':';
	return put_num(p, (unsigned)secs % 60, 2);
}

void simtime_iso(char out[SIMTIME_ISO_LEN + 1], int64_t t)
{
	struct parts pt;
	char *p;

	to_parts(t, &pt);
	p = put_date(out, &pt);
	*p++ = 'T';
	p = put_clock(p, pt.secs);
	memcpy(p, "+00:00", 7);
}

int simtime_json(struct buf *out, int64_t t)
{
	char iso[SIMTIME_ISO_LEN + 1];

	if (t < 0)
		return buf_puts(out, "null");
	simtime_iso(iso, t);
	return buf_printf(out, "\"%s\"", iso);
}

void simtime_date(char out[11], int64_t t)
{
	struct parts pt;

	to_parts(t, &pt);
	*put_date(out, &pt) = '\0';
}

void simtime_http(char out[30], int64_t t)
{
	static const char wd[] = "ThuFriSatSunMonTueWed";
	static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct parts pt;
	char *p = out;
	int w;

	to_parts(t, &pt);
	w = (int)(((pt.days % 7) + 7) % 7);
	memcpy(p, wd + 3 * w, 3);
	p += 3;
	*p++ = ',';
	*p++ = ' ';
	p = put_num(p, (unsigned)pt.d, 2);
	*p++ = ' ';
	memcpy(p, mon + 3 * (pt.m - 1), 3);
	p += 3;
	*p++ = ' ';
	p = put_num(p, (unsigned)pt.y % 10000, 4);
	*p++ = ' ';
	p = put_clock(p, pt.secs);
	memcpy(p, " GMT", 5);
}

/* Reads exactly n digits at *p. */
static int digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int parse_offset(const char *p, int *off_s)
{
	int sign, hh, mm = 0;

	*off_s = 0;
	if (*p == '\0' || ((*p == 'Z' || *p == 'z') && p[1] == '\0'))
		return 0;
	if (*p != '+' && *p != '-' && *p != ' ')
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
	*off_s = sign * (hh * 3600 + mm * 60);
	return 0;
}

int simtime_parse(const char *s, int64_t *out)
{
	const char *p = s;
	int y, mo, d, hh = 0, mi = 0, ss = 0, off = 0;

	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 ||
	    *p++ != '-' || digits(&p, 2, &d) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return -1;
	if (*p == 'T' || *p == 't' || (*p == ' ' && strchr(p, ':'))) {
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
		if (hh > 23 || mi > 59 || ss > 60 || parse_offset(p, &off) < 0)
			return -1;
	} else if (*p) {
		return -1;
	}
	*out = time_days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 +
	       ss - off;
	return 0;
}

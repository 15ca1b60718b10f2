/* Built-in account time zones with US (second Sunday of March to first
 * Sunday of November, 02:00 local) and EU (last Sunday of March to last
 * Sunday of October, 01:00 UTC) daylight-saving rules; see ac_tz.h. */
#include "ac_tz.h"

#include <string.h>

#include "simtime.h"
#include "util/banned.h"

static const struct ac_tz zones[] = {
    {"UTC", 0, DST_NONE},
    {"America/New_York", -5 * 3600, DST_US},
    {"America/Chicago", -6 * 3600, DST_US},
    {"America/Denver", -7 * 3600, DST_US},
    {"America/Phoenix", -7 * 3600, DST_NONE},
    {"America/Los_Angeles", -8 * 3600, DST_US},
    {"Europe/London", 0, DST_EU},
    {"Europe/Berlin", 3600, DST_EU},
    {"America/Sao_Paulo", -3 * 3600, DST_NONE},
};

int ac_tz_lookup(const char *name, struct ac_tz *out)
{
	size_t i;

	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		if (strcmp(zones[i].name, name) == 0) {
			*out = zones[i];
			return 0;
		}
	}
	return -1;
}

const char *ac_tz_names(void)
{
	return "UTC, America/New_York, America/Chicago, America/Denver, "
	       "America/Phoenix, America/Los_Angeles, Europe/London, "
	       "Europe/Berlin, America/Sao_Paulo";
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Days since the epoch of the n-th Sunday (n >= 1) of y-m, or of the last
 * Sunday when n is 0. */
static int64_t sunday(int y, int m, int n)
{
	int64_t d;
	int wd;

	if (n == 0) {
		d = time_days_from_civil(m == 12 ? y + 1 : y,
					 m == 12 ? 1 : m + 1, 1) -
		    1;
		wd = (int)(((d + 4) % 7 + 7) % 7); /* 0 = Sunday */
		return d - wd;
	}
	d = time_days_from_civil(y, m, 1);
	wd = (int)(((d + 4) % 7 + 7) % 7);
	return d + (7 - wd) % 7 + 7 * (n - 1);
}

static int year_of(int64_t t)
{
	char date[11];
	int y = 0, i;

	simtime_date(date, t);
	for (i = 0; i < 4; i++)
		y = y * 10 + (date[i] - '0');
	return y;
}

/* The UTC instants daylight time starts and ends in year y. */
static void dst_bounds(const struct ac_tz *z, int y, int64_t *start,
		       int64_t *end)
{
	if (z->rule == DST_US) {
		*start = sunday(y, 3, 2) * 86400 + 2 * 3600 - z->std_offset;
		*end = sunday(y, 11, 1) * 86400 + 2 * 3600 -
		       (z->std_offset + 3600);
	} else {
		*start = sunday(y, 3, 0) * 86400 + 3600;
		*end = sunday(y, 10, 0) * 86400 + 3600;
	}
}

int ac_tz_offset(const struct ac_tz *z, int64_t t)
{
	int64_t start, end;

	if (z->rule == DST_NONE)
		return z->std_offset;
	dst_bounds(z, year_of(t + z->std_offset), &start, &end);
	return t >= start && t < end ? z->std_offset + 3600 : z->std_offset;
}

int ac_tz_is_ambiguous(const struct ac_tz *z, int64_t t)
{
	int64_t wall = t + ac_tz_offset(z, t);
	int n = 0, o;

	for (o = z->std_offset; o <= z->std_offset + 3600; o += 3600)
		if (ac_tz_offset(z, wall - o) == o)
			n++;
	return z->rule != DST_NONE && n > 1;
}

int64_t ac_tz_next_change(const struct ac_tz *z, int64_t from, int64_t to)
{
	int64_t start, end, best = -1;
	int y;

	if (z->rule == DST_NONE)
		return -1;
	for (y = year_of(from) - 1; y <= year_of(to) + 1; y++) {
		dst_bounds(z, y, &start, &end);
		if (start >= from && start < to && (best < 0 || start < best))
			best = start;
		if (end >= from && end < to && (best < 0 || end < best))
			best = end;
	}
	return best;
}

void ac_tz_naive(const struct ac_tz *z, int64_t t, char out[20])
{
	char iso[SIMTIME_ISO_LEN + 1];

	simtime_iso(iso, t + ac_tz_offset(z, t));
	memcpy(out, iso, 19);
	out[10] = ' ';
	out[19] = '\0';
}

void ac_tz_iso(const struct ac_tz *z, int64_t t, char out[26])
{
	char iso[SIMTIME_ISO_LEN + 1];
	int off = ac_tz_offset(z, t), a = off < 0 ? -off : off;

	simtime_iso(iso, t + off);
	memcpy(out, iso, 19);
	a = a % 86400;
	out[19] = off < 0 ? '-' : '+';
	out[20] = (char)('0' + a / 36000);
	out[21] = (char)('0' + a / 3600 % 10);
	out[22] = ':';
	out[23] = (char)('0' + a / 600 % 6);
	out[24] = (char)('0' + a / 60 % 10);
	out[25] = '\0';
}

void ac_tz_date(const struct ac_tz *z, int64_t t, char out[11])
{
	simtime_date(out, t + ac_tz_offset(z, t));
}

/* The UTC instant of a local wall time (seconds as if UTC); in a gap the
 * standard-time reading, when ambiguous the first (daylight) one. */
static int64_t from_wall(const struct ac_tz *z, int64_t wall)
{
	int64_t u = wall - (z->std_offset + 3600);

	if (z->rule != DST_NONE && ac_tz_offset(z, u) == z->std_offset + 3600)
		return u;
	return wall - z->std_offset;
}

int64_t ac_tz_local_midnight(const struct ac_tz *z, int64_t t)
{
	int64_t wall = t + ac_tz_offset(z, t);

	return from_wall(z, floor_div(wall, 86400) * 86400);
}

int ac_tz_parse(const struct ac_tz *z, const char *s, int64_t *out)
{
	int64_t t;
	size_t n = strlen(s);
	int has_offset = 0;

	if (simtime_parse(s, &t) < 0)
		return -1;
	if (n > 10 &&
	    (strchr(s + 10, 'Z') || strchr(s + 10, 'z') ||
	     strchr(s + 11, '+') || strchr(s + 11, '-') || strchr(s + 11, ' ')))
		has_offset = 1;
	*out = has_offset ? t : from_wall(z, t);
	return 0;
}

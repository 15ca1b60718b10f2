/* A small TZif reader (RFC 8536): transition times and their UTC offsets,
 * plus the footer's POSIX rule ("CST6CDT,M3.2.0,M11.1.0") for instants
 * after the last transition, so slim and fat zone files both work. Only the
 * Mm.w.d rule form is understood; other forms keep the standard offset. */
#include "util/tz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timeparse.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define TZ_MAX_FILE (256 * 1024)
#define TZ_MAX_NAME 64

struct tz_rule_date {
	int month, week, wday; /* Mm.w.d */
	int64_t time_s;	       /* local time of day of the change */
};

struct tz {
	size_t n_times;
	int64_t *times;	  /* transition instants, ascending */
	int32_t *offsets; /* offset in effect from times[i] */
	int32_t first_offset;
	int has_rule;
	int32_t std_off, dst_off;
	struct tz_rule_date start, end;
};

int tz_name_is_valid(const char *name)
{
	const char *p;

	if (!name || !*name || name[0] == '/' || strlen(name) > TZ_MAX_NAME ||
	    strstr(name, ".."))
		return 0;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '/' || *p == '_' ||
		      *p == '+' || *p == '-'))
			return 0;
	return 1;
}

static int64_t be32(const unsigned char *p)
{
	uint32_t v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		     (uint32_t)p[2] << 8 | p[3];

	return (int32_t)v;
}

static int64_t be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

/* Footer rule parsing: [+-]hh[:mm[:ss]] into seconds. */
static const char *rule_hms(const char *p, int64_t *out)
{
	int64_t sign = 1, v = 0, part = 0;
	int n = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (*p < '0' || *p > '9')
		return NULL;
	while (n < 3) {
		part = 0;
		if (*p < '0' || *p > '9')
			return NULL;
		while (*p >= '0' && *p <= '9' && part < 1000)
			part = part * 10 + (*p++ - '0');
		v = v * 60 + part;
		n++;
		if (*p != ':')
			break;
		p++;
	}
	while (n++ < 3)
		v *= 60;
	*out = sign * v;
	return p;
}

static const char *rule_name(const char *p)
{
	if (*p == '<') {
		p = strchr(p, '>');
		return p ? p + 1 : NULL;
	}
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
		p++;
	return p;
}

static const char *rule_date(const char *p, struct tz_rule_date *d)
{
	int64_t t = 7200;

	if (*p != 'M' ||
	    sscanf(p, "M%d.%d.%d", &d->month, &d->week, &d->wday) != 3 ||
	    d->month < 1 || d->month > 12 || d->week < 1 || d->week > 5 ||
	    d->wday < 0 || d->wday > 6)
		return NULL;
	p += strcspn(p, ",/");
	if (*p == '/') {
		p = rule_hms(p + 1, &t);
		if (!p)
			return NULL;
	}
	d->time_s = t;
	return p;
}

/* POSIX offsets are west-positive: "CST6" is UTC-6. */
static void parse_rule(struct tz *z, const char *s)
{
	int64_t std, dst;
	const char *p = rule_name(s);

	if (!p || p == s || !(p = rule_hms(p, &std)))
		return;
	z->std_off = (int32_t)-std;
	if (!*p)
		return;
	s = p;
	p = rule_name(p);
	if (!p || p == s)
		return;
	dst = std - 3600;
	if (*p && *p != ',' && !(p = rule_hms(p, &dst)))
		return;
	z->dst_off = (int32_t)-dst;
	if (*p++ != ',' || !(p = rule_date(p, &z->start)) || *p++ != ',' ||
	    !(p = rule_date(p, &z->end)))
		return;
	z->has_rule = 1;
}

static int64_t rule_day(int64_t year, const struct tz_rule_date *d)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	int64_t first = time_days_from_civil(year, (unsigned)d->month, 1);
	int64_t wd = ((first + 4) % 7 + 7) % 7;
	int64_t day = (d->wday - wd + 7) % 7 + (int64_t)(d->week - 1) * 7;
	int64_t len = mdays[d->month - 1];

	if (d->month == 2 &&
	    ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		len = 29;
	while (day >= len)
		day -= 7;
	return first + day;
}

static int32_t rule_offset(const struct tz *z, int64_t utc_s)
{
	int64_t days = (utc_s + z->std_off) / 86400, y, start, end;
	int64_t lo = 1970 + days / 366 - 1, hi = 1970 + days / 365 + 1;

	if (!z->has_rule)
		return z->std_off;
	/* The year of the standard local time. */
	for (y = hi; y > lo && time_days_from_civil(y, 1, 1) > days; y--)
		;
	start = rule_day(y, &z->start) * 86400 + z->start.time_s - z->std_off;
	end = rule_day(y, &z->end) * 86400 + z->end.time_s - z->dst_off;
	if (start < end)
		return utc_s >= start && utc_s < end ? z->dst_off : z->std_off;
	return utc_s >= end && utc_s < start ? z->std_off : z->dst_off;
}

int tz_parse(struct tz **out, const unsigned char *data, size_t len,
	     struct err *err)
{
	const unsigned char *p = data, *end = data + len;
	struct tz *z = NULL;
	int64_t cnt[6];
	size_t i, tsize = 4, need;
	int pass, rc = -1;

	*out = NULL;
	for (pass = 0; pass < 2; pass++) {
		if ((size_t)(end - p) < 44 || memcmp(p, "TZif", 4) != 0)
			goto bad;
		for (i = 0; i < 6; i++) {
			cnt[i] = be32(p + 20 + 4 * i);
			if (cnt[i] < 0 || cnt[i] > 100000)
				goto bad;
		}
		need = 44 + (size_t)cnt[3] * (tsize + 1) + (size_t)cnt[4] * 6 +
		       (size_t)cnt[5] + (size_t)cnt[2] * (tsize + 4) +
		       (size_t)cnt[1] + (size_t)cnt[0];
		if ((size_t)(end - p) < need || cnt[4] < 1)
			goto bad;
		if (pass == 0 && p[4] >= '2') {
			p += need;
			tsize = 8;
			continue;
		}
		break;
	}
	z = xcalloc(1, sizeof(*z));
	z->n_times = (size_t)cnt[3];
	z->times = xcalloc(z->n_times + 1, sizeof(*z->times));
	z->offsets = xcalloc(z->n_times + 1, sizeof(*z->offsets));
	{
		const unsigned char *tt = p + 44;
		const unsigned char *idx = tt + z->n_times * tsize;
		const unsigned char *info = idx + z->n_times;

		for (i = 0; i < z->n_times; i++) {
			z->times[i] =
			    tsize == 8 ? be64(tt + 8 * i) : be32(tt + 4 * i);
			if (idx[i] >= cnt[4] ||
			    (i && z->times[i] <= z->times[i - 1]))
				goto bad;
			z->offsets[i] = (int32_t)be32(info + 6 * idx[i]);
		}
		/* Before the first transition: the first non-DST type. */
		z->first_offset = (int32_t)be32(info);
		for (i = 0; i < (size_t)cnt[4]; i++)
			if (!info[6 * i + 4]) {
				z->first_offset = (int32_t)be32(info + 6 * i);
				break;
			}
		z->std_off =
		    z->n_times ? z->offsets[z->n_times - 1] : z->first_offset;
		p += need;
	}
	if (tsize == 8 && p < end && *p == '\n') {
		char rule[128];
		const unsigned char *nl =
		    memchr(p + 1, '\n', (size_t)(end - p - 1));
		size_t n = nl ? (size_t)(nl - p - 1) : 0;

		if (nl && n < sizeof(rule)) {
			memcpy(rule, p + 1, n);
			rule[n] = '\0';
			parse_rule(z, rule);
		}
	}
	*out = z;
	z = NULL;
	rc = 0;
	goto done;
bad:
	err_set(err, ERR_PARSE, 0, "time zone data is not a valid tzif file");
done:
	tz_free(z);
	return rc;
}

int tz_load(struct tz **out, const char *dir, const char *name, struct err *err)
{
	char path[512];
	unsigned char *data = NULL;
	FILE *f = NULL;
	size_t n;
	int rc = -1;

	*out = NULL;
	if (!tz_name_is_valid(name)) {
		err_set(err, ERR_CONFIG, 0,
			"invalid time zone '%.64s': expected an iana name "
			"such as America/Chicago",
			name ? name : "");
		goto done;
	}
	if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC")) {
		rc = 0;
		goto done;
	}
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : TZ_DEFAULT_DIR, name);
	f = fopen(path, "rb");
	if (!f) {
		err_set(err, ERR_CONFIG, errno,
			"unknown time zone '%.64s': no such zone in %s "
			"(install tzdata)",
			name, dir ? dir : TZ_DEFAULT_DIR);
		goto done;
	}
	data = xmalloc(TZ_MAX_FILE);
	n = fread(data, 1, TZ_MAX_FILE, f);
	if (tz_parse(out, data, n, err) < 0) {
		err_prefix(err, "time zone '%.64s'", name);
		err->kind = ERR_CONFIG;
		goto done;
	}
	rc = 0;
done:
	if (f)
		fclose(f);
	free(data);
	return rc;
}

void tz_free(struct tz *tz)
{
	if (!tz)
		return;
	free(tz->times);
	free(tz->offsets);
	free(tz);
}

int64_t tz_offset_at(const struct tz *tz, int64_t utc_s)
{
	size_t lo = 0, hi;

	if (!tz)
		return 0;
	hi = tz->n_times;
	if (hi == 0 || utc_s < tz->times[0])
		return hi == 0 && tz->has_rule ? rule_offset(tz, utc_s)
					       : tz->first_offset;
	if (utc_s >= tz->times[hi - 1])
		return tz->has_rule ? rule_offset(tz, utc_s)
				    : tz->offsets[hi - 1];
	/* Invariant: times[lo] <= utc_s < times[hi]. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (tz->times[mid] <= utc_s)
			lo = mid;
		else
			hi = mid;
	}
	return tz->offsets[lo];
}

int64_t tz_local_to_utc(const struct tz *tz, int64_t local_s)
{
	int64_t before, after, u;

	if (!tz)
		return local_s;
	/* The offsets a day either side cover any change near local_s. */
	before = tz_offset_at(tz, local_s - 86400);
	after = tz_offset_at(tz, local_s + 86400);
	u = local_s - before;
	if (tz_offset_at(tz, u) == before)
		return u;
	u = local_s - after;
	if (tz_offset_at(tz, u) == after)
		return u;
	return local_s - before;
}

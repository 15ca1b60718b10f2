/* Checked number parsing; see num.h. */
#include "util/num.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

int num_parse_i64(const char *s, int64_t *out)
{
	char *end = NULL;
	long long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = (int64_t)v;
	return 0;
}

int num_parse_i64_range(const char *s, int64_t min, int64_t max, int64_t *out)
{
	int64_t v;

	if (num_parse_i64(s, &v) < 0 || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int num_parse_double(const char *s, double *out)
{
	char *end = NULL;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int num_parse_duration_ms(const char *s, int64_t *out)
{
	char *end = NULL;
	double v, mult = 1000.0;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -1;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		mult = 1000.0;
	else if (!strcmp(end, "ms"))
		mult = 1.0;
	else if (!strcmp(end, "m"))
		mult = 60000.0;
	else if (!strcmp(end, "h"))
		mult = 3600000.0;
	else
		return -1;
	if (v * mult > 9.0e15)
		return -1;
	*out = (int64_t)(v * mult);
	return 0;
}

/* Fuzz target for time parsing: any string parses or is refused without
 * touching memory past its end, and what parses formats and parses back to
 * the same instant. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/timeparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t offsets[] = {0, 3600, -18000, 50400};
	const int64_t lo = time_days_from_civil(1, 1, 2) * 86400;
	const int64_t hi = time_days_from_civil(9999, 12, 30) * 86400;
	char *s = malloc(size + 1);
	size_t i;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		int64_t t = 7, back = 0;
		int rc = time_parse(s, offsets[i], &t);
		char iso[21], date[11];

		if (rc < 0 && t != 7)
			abort();
		if (rc == 1 && t != TIME_NULL)
			abort();
		if (rc != 0)
			continue;
		time_format_iso(t, iso);
		time_format_date(t, date);
		if (strlen(iso) != 20 || strlen(date) != 10)
			abort();
		if (t >= lo && t <= hi &&
		    (time_parse(iso, 0, &back) != 0 || back != t))
			abort();
	}
	free(s);
	return 0;
}

/* Fuzz target for the rate-limit response headers: Retry-After (and the
 * providers' X-RateLimit-Retry-After) and the remaining-tokens count
 * (X-RateLimit-*, RateLimit-Remaining). Any value parses or is refused;
 * a wait that parses is never negative, and a count is a finite number. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/retry.h"
#include "util/num.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The wall clock is ours, not the input's: sane instants only. */
	static const int64_t nows[] = {0, 784111777, 1700000000, 4102444800};
	char *s = malloc(size + 1);
	double d;
	size_t i;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (i = 0; i < sizeof(nows) / sizeof(nows[0]); i++) {
		int64_t ms = -7;
		int rc = retry_after_parse(s, nows[i], &ms);

		if (rc == 0 && ms < 0)
			abort();
		if (rc != 0 && rc != -1)
			abort();
	}
	if (num_parse_double(s, &d) == 0 && isnan(d))
		abort();
	free(s);
	return 0;
}

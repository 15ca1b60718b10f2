/* Token bucket refilled continuously; see bucket.h. */
#include "bucket.h"

#include <math.h>

#include "util/banned.h"

void bucket_init(struct bucket *b, double capacity, double rate_per_sec,
		 uint64_t now_ms)
{
	b->capacity = capacity < 1 ? 1 : capacity;
	b->rate_per_sec = rate_per_sec;
	b->tokens = b->capacity;
	b->last_ms = now_ms;
}

int bucket_take(struct bucket *b, uint64_t now_ms, long *remaining_out,
		uint64_t *wait_ms_out)
{
	double need;

	if (now_ms > b->last_ms) {
		b->tokens +=
		    (double)(now_ms - b->last_ms) / 1000.0 * b->rate_per_sec;
		if (b->tokens > b->capacity)
			b->tokens = b->capacity;
		b->last_ms = now_ms;
	}
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		*remaining_out = (long)floor(b->tokens);
		return 0;
	}
	need = 1.0 - b->tokens;
	if (b->rate_per_sec <= 0)
		*wait_ms_out = 3600 * 1000;
	else
		*wait_ms_out = (uint64_t)ceil(need / b->rate_per_sec * 1000.0);
	if (*wait_ms_out < 1)
		*wait_ms_out = 1;
	return -1;
}

/* Token bucket (EmailOctopus v2: capacity 100, refill 10/s, 1 token per
 * request). The caller passes the time in, so the bucket never reads a
 * clock itself. */
#ifndef ESPSYNC_SIM_BUCKET_H
#define ESPSYNC_SIM_BUCKET_H

#include <stdint.h>

struct bucket {
	double tokens;
	double capacity;
	double rate_per_sec;
	uint64_t last_ms;
};

/* Starts full. */
void bucket_init(struct bucket *b, double capacity, double rate_per_sec,
		 uint64_t now_ms);
/* Takes one token: 0 and the whole tokens left, or -1 and how long until a
 * token is available (in ms, at least 1) when empty. */
int bucket_take(struct bucket *b, uint64_t now_ms, long *remaining_out,
		uint64_t *wait_ms_out);

#endif

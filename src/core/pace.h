/* Token bucket for one provider account: pure arithmetic on a caller-owned
 * struct, with time passed in, so tests never sleep. */
#ifndef ESPSYNC_PACE_H
#define ESPSYNC_PACE_H

#include <stdint.h>

struct pace {
	double rate_per_sec;	 /* refill, tokens per second (> 0) */
	double capacity;	 /* burst; at least 1 */
	double tokens;		 /* may go below 0 after a server resync */
	int64_t last_ms;	 /* time tokens was computed for */
	int64_t paused_until_ms; /* no token before this (429 wait) */
};

/* Starts full, as a provider bucket that has been idle is. */
void pace_init(struct pace *p, double rate_per_sec, double capacity,
	       int64_t now_ms);
/* Takes one token: 1 when taken, 0 when none is available yet. */
int pace_take(struct pace *p, int64_t now_ms);
/* Tokens available at now_ms (fractional, may be negative). */
double pace_tokens(struct pace *p, int64_t now_ms);
/* Milliseconds from now_ms until pace_take() can succeed; 0 when it can. */
int64_t pace_wait_ms(struct pace *p, int64_t now_ms);
/* The server says it has `remaining` tokens (already reduced by requests
 * it has not seen yet): tokens drop to that if lower, never rise. */
void pace_observe_remaining(struct pace *p, double remaining, int64_t now_ms);
/* A throttled response: no token until until_ms, and the bucket is empty
 * then (the server's is). */
void pace_pause_until(struct pace *p, int64_t until_ms, int64_t now_ms);

#endif

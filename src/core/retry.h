/* The retry policy, in one place and pure: given what an attempt returned,
 * the request's counters, a parsed Retry-After and a seeded RNG, it decides
 * whether to try again and after how long. Nothing here reads the clock. */
#ifndef ESPSYNC_RETRY_H
#define ESPSYNC_RETRY_H

#include <stdint.h>

struct retry_policy {
	int max_attempts;	   /* failed attempts, first try included */
	int max_throttle_attempts; /* throttled answers tolerated, separately */
	int retry_403_attempts;	   /* 403 retried this many times */
	int is_503_throttle;	   /* 503 means "slow down" (some providers) */
	int64_t backoff_base_ms, backoff_max_ms;
	int64_t max_retry_after_ms;   /* cap on a server-requested wait */
	int64_t min_throttle_wait_ms; /* floor after a throttle (one token) */
};

/* Per-request counters; start zeroed, updated by retry_decide(). */
struct retry_state {
	int attempts;  /* every answered or failed attempt */
	int errors;    /* attempts that failed and were not throttled */
	int throttles; /* 429, or 503 when it means throttling */
	int forbidden; /* 403s in a row (reset by any other answer) */
};

enum retry_net {
	RETRY_NET_NONE = 0,  /* a response arrived */
	RETRY_NET_TRANSIENT, /* timeout, refused, dropped, truncated */
	RETRY_NET_FATAL,     /* bad URL, certificate, body over the cap */
};

struct retry_response {
	long status; /* 0 when no response */
	enum retry_net net;
	int is_body_unusable;	/* 2xx whose body could not be used */
	int64_t retry_after_ms; /* from retry_after_parse(); -1 when none */
	/* The caller recognised a throttled answer by its shape (a 403
	 * without a body where the provider throttles that way). */
	int is_throttle;
};

enum retry_action {
	RETRY_FINAL = 0, /* hand the result to the caller */
	RETRY_AGAIN,	 /* try again after delay_ms */
};

struct retry_decision {
	enum retry_action action;
	int is_throttle; /* the server asked us to slow down: pause all */
	int64_t delay_ms;
};

/* Counts the attempt in st and decides. rng is the caller's RNG state. */
void retry_decide(struct retry_decision *out, const struct retry_policy *pol,
		  struct retry_state *st, const struct retry_response *resp,
		  uint64_t *rng);

/* A Retry-After value: delta seconds ("30", "1.5"), an HTTP date
 * ("Sun, 06 Nov 1994 08:49:37 GMT", RFC 850, asctime) or, for providers
 * that send one, a Unix timestamp in seconds or milliseconds; dates become
 * a wait from now_wall_s. Returns 0 with *out_ms >= 0, or -1. */
int retry_after_parse(const char *s, int64_t now_wall_s, int64_t *out_ms);

/* Jittered exponential wait before retry number n (1-based): uniform in
 * [base, min(max, base * 2^n)]. */
int64_t retry_backoff_ms(const struct retry_policy *pol, int n, uint64_t *rng);

/* splitmix64: the next pseudo-random number from *state. */
uint64_t retry_rand(uint64_t *state);

#endif

/* The fetch engine shared by every provider: concurrent HTTP GETs (libcurl
 * multi through net/http.h) paced by one token bucket per provider account,
 * with the retry policy in one place. Single-threaded: callbacks run inside
 * fetch_run() and may submit more requests. Provider differences are data in
 * struct fetch_options. */
#ifndef ESPSYNC_FETCH_H
#define ESPSYNC_FETCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct fetch;

struct fetch_options {
	/* Token refill rate: the ceiling. With burst < 2 requests go at 98%
	 * of it, as such a bucket leaves no room for network jitter; each
	 * 429 then slows them a further 3%, down to 85% of the ceiling. */
	double rate_per_sec;
	double burst;	  /* bucket capacity (1 for no burst) */
	int max_inflight; /* concurrent requests */
	int max_attempts; /* per request, first try included */
	/* 429s (and 503-as-throttle) tolerated per request, counted apart
	 * from max_attempts; 0: 3 x max_attempts, at least 10. */
	int max_throttle_attempts;
	int retry_403_attempts; /* 403 retried this many times, then final */
	int is_503_throttle; /* treat 503 like 429 (source.is_503_throttle) */
	/* A 403 whose body is not JSON is a throttled answer. */
	int is_bare_403_throttle;
	/* The provider limits simultaneous requests, not their rate: a
	 * throttled answer lowers the in-flight cap by one (down to 1)
	 * instead of pausing every request, and the cap climbs back one
	 * step per FETCH_CONN_RECOVER_MS without a throttled answer. */
	int is_throttle_connections;
	int64_t backoff_base_ms, backoff_max_ms; /* exponential, full jitter */
	int64_t max_retry_after_ms; /* cap on a server-requested wait */
	long timeout_ms;	    /* whole request */
	long connect_timeout_ms;
	size_t max_body_bytes;
	int64_t deadline_mono_ms; /* 0: none. No request starts after it */
	/* Nonzero (a signal's number) once the caller was told to stop: no
	 * request starts, waits end, requests in flight get FETCH_DRAIN_MS to
	 * finish and are then abandoned. NULL: none. */
	const volatile sig_atomic_t *stop_signal;
	/* Start with an empty bucket (a request was just sent on the same
	 * account, e.g. the probe); matters only without burst. */
	int is_bucket_empty;
	uint64_t seed; /* jitter randomness */
	/* Header lines sent with every request ("Authorization: Bearer …");
	 * NULL-terminated, borrowed for the fetch's life. Never logged. */
	const char *const *headers;
	/* Response header naming the provider's remaining tokens, or NULL.
	 * When set, one request goes first and the bucket follows its
	 * answer (the server's bucket may be emptier than a fresh one). */
	const char *remaining_header;
	/* Response headers holding the wait after a 429 (seconds or an
	 * HTTP date), tried in order; NULL-terminated. */
	const char *const *retry_after_headers;
	/* Query parameters whose values are redacted in logs ("api_key"). */
	const char *const *secret_params;
};

#define FETCH_OPTIONS_INIT                                                     \
	{                                                                      \
		.rate_per_sec = 10.0, .burst = 100.0, .max_inflight = 8,       \
		.max_attempts = 8, .backoff_base_ms = 1000,                    \
		.backoff_max_ms = 30000, .max_retry_after_ms = 120000,         \
		.timeout_ms = 30000, .connect_timeout_ms = 10000,              \
		.max_body_bytes = (size_t)32 << 20                             \
	}

#define FETCH_CONN_RECOVER_MS 30000

/* In-flight requests are abandoned (FETCH_CANCELLED) this long after the
 * deadline, so --max-runtime is kept even against a slow server. */
#define FETCH_DRAIN_MS 2000
/* fetch_is_deadline_near() answers 1 this long before the deadline. */
#define FETCH_DEADLINE_NEAR_MS 5000

enum fetch_outcome {
	FETCH_OK = 0,	  /* 2xx with the body */
	FETCH_HTTP_ERROR, /* final non-2xx (4xx not retried, or retries spent)
			   */
	FETCH_FAILED,	  /* network/parse failures, retries spent */
	FETCH_CANCELLED,  /* never sent or abandoned: deadline or fetch_stop */
};

struct fetch_result {
	enum fetch_outcome outcome;
	long status;	  /* HTTP status, 0 when none */
	const char *body; /* NUL-terminated; valid during the callback only */
	size_t body_len;
	int attempts;
	struct err err; /* set unless FETCH_OK; message has no secrets */
};

enum fetch_verdict {
	FETCH_ACCEPT = 0, /* done with this response */
	FETCH_RETRY = 1,  /* body unusable (truncated, empty, unparsable):
			     retry with backoff, counts as an attempt */
};

/* Called once per submitted request with its final result. A 2xx answered
 * with FETCH_RETRY is tried again; once attempts are spent the callback is
 * called one last time with FETCH_FAILED (ERR_PARSE), verdict ignored. A
 * 2xx web page (HTML) is FETCH_FAILED (ERR_CONFIG) at once, never retried,
 * and so is a refused connection before the first answer once retries would
 * pass 8 s. */
typedef enum fetch_verdict (*fetch_done_fn)(void *userdata,
					    const struct fetch_result *res);

struct fetch_stats {
	int64_t requests;  /* HTTP requests sent (attempts) */
	int64_t retries;   /* attempts after the first */
	int64_t throttled; /* 429 (and 503 when throttle) responses */
	int64_t failures;  /* requests ending in FETCH_FAILED/HTTP_ERROR */
	int64_t bytes;
	int64_t started_mono_ms, last_mono_ms;
};

struct fetch *fetch_new(const struct fetch_options *opts, struct err *err);
/* Frees requests still queued without calling their callbacks. */
void fetch_free(struct fetch *f);
/* Queues a GET of url (copied). The callback gets FETCH_CANCELLED if the
 * request is never completed. */
int fetch_submit(struct fetch *f, const char *url, fetch_done_fn done,
		 void *userdata);
/* Runs until nothing is queued or in flight. After the deadline or
 * fetch_stop() no request starts; queued ones are cancelled, in-flight ones
 * finish. Returns 0, or -1 on an internal failure. */
int fetch_run(struct fetch *f, struct err *err);
/* From inside a callback about to do slow work (a store write): starts the
 * requests that are due now and hands them to the network at once, so the
 * connections are busy meanwhile instead of waiting for the loop. Nothing
 * after the deadline or fetch_stop(), nor with a bucket without burst;
 * answers wait for the loop, and so does a request that could not be
 * started (the loop reports it). */
void fetch_kick(struct fetch *f);
/* No new requests from now on (e.g. credentials rejected). */
void fetch_stop(struct fetch *f);
/* 1 when the deadline or a stop signal stopped work that was still queued
 * or wanted. */
int fetch_is_cut_short(const struct fetch *f);
int fetch_is_deadline_near(const struct fetch *f);
/* 1 when a connection would sit idle: no new request waits to start and
 * fewer than the in-flight cap are under way. */
int fetch_has_room(const struct fetch *f);
void fetch_get_stats(const struct fetch *f, struct fetch_stats *out);
/* Redacts values of secret query parameters; owned by caller. A url past
 * the buffer maximum comes back as "(url too long to show)". */
char *fetch_redact_url(const struct fetch *f, const char *url);

#endif

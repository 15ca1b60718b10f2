/* HTTP glue of the simulator (the only file that includes microhttpd.h):
 * routing to providers, authentication hand-off, rate limiting, fault
 * injection, latency, request counters and the /_sim/ control API.
 * Providers are tables of functions (struct sim_provider), so a second
 * provider is one more file and one more server_add_provider() call. */
#ifndef ESPSYNC_SIM_SERVER_H
#define ESPSYNC_SIM_SERVER_H

#include <stdint.h>

#include "util/buf.h"

struct sim_request;

const char *sim_request_method(const struct sim_request *r);
const char *sim_request_path(const struct sim_request *r);
/* A decoded query parameter, or NULL. */
const char *sim_request_arg(const struct sim_request *r, const char *name);
/* A 0|1 argument into *out (left as it was when absent); -1 when it is
 * something else. */
int sim_request_flag(const struct sim_request *r, const char *name, int *out);
const char *sim_request_header(const struct sim_request *r, const char *name);
/* "http://127.0.0.1:PORT", for absolute paging links. */
const char *sim_request_base_url(const struct sim_request *r);

#define SIM_MAX_HEADERS 4

struct sim_response {
	unsigned int status;
	struct buf body;
	const char *content_type; /* static string; NULL: no header */
	/* Static name of the route class the provider served (counted per
	 * provider in /_sim/stats "by_route"); NULL: not counted. */
	const char *route;
	int n_headers;
	char header_name[SIM_MAX_HEADERS][48];
	char header_value[SIM_MAX_HEADERS][96];
};

void sim_response_header(struct sim_response *r, const char *name,
			 const char *value);
/* A body that could not be written whole (its buffer reached the maximum)
 * is never sent cut: the response becomes a 500 with a short JSON error. */
void sim_response_fail(struct sim_response *r);

struct sim_provider {
	const char *name;
	/* Prefix of the control parameters for its bucket: "eo" gives
	 * eo_rate and eo_burst. */
	const char *param_prefix;
	/* Both may be NULL: no such header (v1.6 sends none). */
	const char *remaining_header;	/* on responses that took a token */
	const char *retry_after_header; /* on 429 */
	/* May be NULL: a header carrying the bucket's refill rate per
	 * second, rounded up, on every authenticated response. */
	const char *limit_header;
	/* 1 when the path belongs to this provider. */
	int (*claims)(void *state, const char *path);
	/* The key's bucket slot (>= 0), or -1 with the refusal in resp. */
	int (*authenticate)(void *state, const struct sim_request *req,
			    struct sim_response *resp);
	void (*throttled)(void *state, struct sim_response *resp);
	/* An injected error: 500, 503 (throttle-like) or 403. */
	void (*fault_error)(void *state, unsigned status,
			    struct sim_response *resp);
	/* 0, or -1 when resp->body reached its maximum (the server then
	 * answers 500). */
	int (*handle)(void *state, const struct sim_request *req,
		      struct sim_response *resp);
	/* Control API: JSON into out; -1 on a bad argument or when out
	 * reached its maximum. Either may be NULL for a provider that
	 * shares another's account. */
	int (*advance)(void *state, int64_t seconds, struct buf *out);
	int (*truth)(void *state, struct buf *out);
	/* May be NULL: GET/POST /_sim/<param_prefix>?... reads or changes
	 * provider switches; JSON into out, -1 on a bad argument, -2 when
	 * out reached its maximum. */
	int (*control)(void *state, const struct sim_request *req,
		       struct buf *out);
};

enum retry_after_format { RA_SECONDS, RA_DATE, RA_NONE };

struct fault_options {
	double pct_5xx, pct_503, pct_403, pct_truncate, pct_empty, pct_drop;
	double pct_slow;
	long slow_ms;
	long latency_ms;
	long storm_429;
};

struct server_options {
	int port; /* 0: random */
	enum retry_after_format retry_after;
	struct fault_options faults;
	uint64_t fault_seed;
	int is_quiet;
};

struct server;

struct server *server_new(const struct server_options *opt);
struct provider_limits {
	double rate_per_sec;
	double burst;
	/* > 0: once the bucket runs dry, every request of that key is
	 * refused for this long (EmailOctopus v1.6: "up to a minute"). */
	long block_ms;
	/* > 0: a request arriving while this many of the provider's are in
	 * flight is throttled (Mailchimp: 10 simultaneous connections). */
	int max_in_flight;
};

/* The server borrows ops and state; one bucket per key slot. Paths go to
 * the first provider that claims them. /_sim/truth and /_sim/advance
 * answer for the last registered provider (the catch-all one) unless
 * ?provider=NAME is given; other providers advance too and appear in the
 * advance answer under their name. */
void server_add_provider(struct server *s, const struct sim_provider *ops,
			 void *state, const struct provider_limits *lim);
/* 0 and the bound port, or -1. */
int server_start(struct server *s, int *port_out);
void server_free(struct server *s);

#endif

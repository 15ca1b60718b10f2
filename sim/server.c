/* libmicrohttpd glue: one thread per connection (so injected latency only
 * stalls its own connection), keep-alive, the request pipeline (auth, storm,
 * bucket, faults, latency, provider) and the /_sim/ control API. This is the
 * only file of the simulator that reads the clocks. */
#include "server.h"

#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bucket.h"
#include "rng.h"
#include "simtime.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_PROVIDERS 4
#define MAX_KEYS 4
#define MAX_ROUTES 8 /* route names counted per provider slot */

struct provider_slot {
	const struct sim_provider *ops;
	void *state;
	struct provider_limits lim;
	struct bucket buckets[MAX_KEYS];
	uint64_t blocked_until_ms[MAX_KEYS];
	/* Per-provider request counters (guarded by the server lock). */
	long requests, throttled, faults;
	long by_status[600];
	long in_flight, peak_in_flight;
	/* Requests per sim_response.route name (static strings). */
	const char *route_names[MAX_ROUTES];
	long by_route[MAX_ROUTES];
};

struct stats {
	long requests, throttled, faults, dropped;
	long in_flight, peak_in_flight;
	long by_status[600];
	uint64_t first_ms, last_ms;
};

struct server {
	struct server_options opt;
	struct MHD_Daemon *daemon;
	char base_url[64];
	struct provider_slot providers[MAX_PROVIDERS];
	int n_providers;
	/* Guards stats, faults, buckets and the fault RNG (not provider
	 * state, which each provider locks itself). */
	pthread_mutex_t lock;
	struct stats stats;
	struct rng fault_rng;
};

struct sim_request {
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	const struct server *srv;
};

enum fault {
	FAULT_NONE,
	FAULT_5XX,
	FAULT_503,
	FAULT_403,
	FAULT_TRUNCATE,
	FAULT_EMPTY,
	FAULT_DROP
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const char *sim_request_method(const struct sim_request *r)
{
	return r->method;
}

const char *sim_request_path(const struct sim_request *r)
{
	return r->path;
}

const char *sim_request_arg(const struct sim_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

int sim_request_flag(const struct sim_request *r, const char *name, int *out)
{
	const char *v = sim_request_arg(r, name);

	if (!v)
		return 0;
	if (strcmp(v, "0") && strcmp(v, "1"))
		return -1;
	*out = v[0] == '1';
	return 0;
}

const char *sim_request_header(const struct sim_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *sim_request_base_url(const struct sim_request *r)
{
	return r->srv->base_url;
}

void sim_response_header(struct sim_response *r, const char *name,
			 const char *value)
{
	if (r->n_headers >= SIM_MAX_HEADERS)
		BUG("too many response headers");
	snprintf(r->header_name[r->n_headers], sizeof(r->header_name[0]), "%s",
		 name);
	snprintf(r->header_value[r->n_headers], sizeof(r->header_value[0]),
		 "%s", value);
	r->n_headers++;
}

static void response_init(struct sim_response *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, (size_t)1 << 30);
	r->status = 200;
	r->content_type = "application/json";
}

static enum MHD_Result queue(struct MHD_Connection *conn,
			     struct sim_response *r)
{
	size_t len;
	char *body = buf_detach(&r->body, &len);
	struct MHD_Response *mr;
	enum MHD_Result ret;
	int i;

	mr = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!mr) {
		free(body);
		return MHD_NO;
	}
	if (r->content_type)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
					r->content_type);
	for (i = 0; i < r->n_headers; i++)
		MHD_add_response_header(mr, r->header_name[i],
					r->header_value[i]);
	ret = MHD_queue_response(conn, r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static void json_error(struct sim_response *r, unsigned status, const char *msg)
{
	r->status = status;
	buf_reset(&r->body);
	if (buf_printf(&r->body, "{\"error\":\"%s\"}\n", msg) < 0)
		buf_reset(&r->body); /* an empty body rather than a cut one */
}

void sim_response_fail(struct sim_response *r)
{
	r->content_type = "application/json";
	json_error(r, 500, "response body too large");
}

static enum fault draw_fault(struct server *s, int *is_slow)
{
	const struct fault_options *f = &s->opt.faults;
	const double pct[] = {f->pct_5xx,      f->pct_503,   f->pct_403,
			      f->pct_truncate, f->pct_empty, f->pct_drop};
	double u = rng_unit(&s->fault_rng) * 100.0, acc = 0;
	enum fault kind = FAULT_NONE;
	int i;

	/* At most one of them, in this order, by cumulative percentage. */
	for (i = 0; i < 6 && kind == FAULT_NONE; i++) {
		acc += pct[i];
		if (u < acc)
			kind = (enum fault)(FAULT_5XX + i);
	}
	*is_slow = rng_pct(&s->fault_rng, f->pct_slow);
	return kind;
}

static void retry_after_value(const struct server *s, uint64_t wait_ms,
			      char *out, size_t cap)
{
	uint64_t secs = (wait_ms + 999) / 1000;
	struct timespec ts;

	if (secs < 1)
		secs = 1;
	out[0] = '\0';
	if (s->opt.retry_after == RA_SECONDS) {
		snprintf(out, cap, "%llu", (unsigned long long)secs);
	} else if (s->opt.retry_after == RA_DATE && cap >= 30) {
		clock_gettime(CLOCK_REALTIME, &ts);
		simtime_http(out, (int64_t)ts.tv_sec + (int64_t)secs +
				      (ts.tv_nsec > 0));
	}
}

/* Counts a request in (d 1) or out (d -1) of flight, keeping the peaks. */
static void flight(struct server *s, struct provider_slot *p, int d)
{
	s->stats.in_flight += d;
	p->in_flight += d;
	if (s->stats.in_flight > s->stats.peak_in_flight)
		s->stats.peak_in_flight = s->stats.in_flight;
	if (p->in_flight > p->peak_in_flight)
		p->peak_in_flight = p->in_flight;
}

/* Counts the status, and the request out of flight before its response
 * is queued: a client that sends its next request after reading this
 * response never finds the old one still counted. */
static void count_route(struct provider_slot *p, const char *route)
{
	int i;

	for (i = 0; route && i < MAX_ROUTES; i++) {
		if (!p->route_names[i])
			p->route_names[i] = route;
		if (!strcmp(p->route_names[i], route)) {
			p->by_route[i]++;
			return;
		}
	}
}

static void count_status(struct server *s, struct provider_slot *p,
			 unsigned status, const char *route)
{
	pthread_mutex_lock(&s->lock);
	if (p)
		count_route(p, route);
	if (p)
		flight(s, p, -1);
	if (status < 600)
		s->stats.by_status[status]++;
	if (p && status < 600)
		p->by_status[status]++;
	pthread_mutex_unlock(&s->lock);
}

/* The API pipeline: count, authenticate, storm, bucket, faults, latency,
 * then the provider. Faults never touch provider state. */
static enum MHD_Result handle_api(struct server *s, struct sim_request *req)
{
	struct provider_slot *p = NULL;
	struct sim_response resp;
	enum fault fault = FAULT_NONE;
	int slot, is_slow = 0, is_throttled = 0, i;
	long remaining = -1, delay_ms;
	uint64_t now = mono_ms(), wait_ms = 0;
	char ra[64] = "";
	enum MHD_Result ret;

	for (i = 0; i < s->n_providers && !p; i++)
		if (s->providers[i].ops->claims(s->providers[i].state,
						req->path))
			p = &s->providers[i];
	response_init(&resp);
	pthread_mutex_lock(&s->lock);
	if (s->stats.requests++ == 0)
		s->stats.first_ms = now;
	s->stats.last_ms = now;
	if (p)
		flight(s, p, 1);
	pthread_mutex_unlock(&s->lock);
	if (!p) {
		json_error(&resp, 404, "no provider serves this path");
		count_status(s, NULL, resp.status, NULL);
		return queue(req->conn, &resp);
	}
	slot = p->ops->authenticate(p->state, req, &resp);
	pthread_mutex_lock(&s->lock);
	p->requests++;
	if (slot >= 0) {
		if (slot >= MAX_KEYS)
			BUG("key slot out of range");
		if (s->opt.faults.storm_429 > 0) {
			s->opt.faults.storm_429--;
			is_throttled = 1;
			wait_ms = 1000;
		} else if (p->lim.max_in_flight > 0 &&
			   p->in_flight > p->lim.max_in_flight) {
			is_throttled = 1; /* no wait hint: none is sent */
		} else if (now < p->blocked_until_ms[slot]) {
			is_throttled = 1;
			wait_ms = p->blocked_until_ms[slot] - now;
		} else if (bucket_take(&p->buckets[slot], now, &remaining,
				       &wait_ms) < 0) {
			is_throttled = 1;
			if (p->lim.block_ms > 0) {
				wait_ms = (uint64_t)p->lim.block_ms;
				p->blocked_until_ms[slot] = now + wait_ms;
			}
		}
		if (is_throttled) {
			s->stats.throttled++;
			p->throttled++;
			retry_after_value(s, wait_ms, ra, sizeof(ra));
		} else {
			fault = draw_fault(s, &is_slow);
			if (fault != FAULT_NONE || is_slow) {
				s->stats.faults++;
				p->faults++;
			}
			if (fault == FAULT_DROP)
				s->stats.dropped++;
		}
	}
	delay_ms =
	    s->opt.faults.latency_ms + (is_slow ? s->opt.faults.slow_ms : 0);
	pthread_mutex_unlock(&s->lock);
	sleep_ms(delay_ms);
	if (slot < 0) {
		/* resp holds the provider's refusal */
	} else if (is_throttled) {
		p->ops->throttled(p->state, &resp);
		if (ra[0] && p->ops->retry_after_header)
			sim_response_header(&resp, p->ops->retry_after_header,
					    ra);
	} else if (fault == FAULT_DROP) {
		buf_release(&resp.body);
		pthread_mutex_lock(&s->lock);
		flight(s, p, -1);
		pthread_mutex_unlock(&s->lock);
		return MHD_NO;
	} else if (fault == FAULT_5XX) {
		p->ops->fault_error(p->state, 500, &resp);
	} else if (fault == FAULT_403) {
		p->ops->fault_error(p->state, 403, &resp);
	} else if (fault == FAULT_503) {
		/* Overload as some gateways show it: 503 with a retry hint. */
		p->ops->fault_error(p->state, 503, &resp);
		retry_after_value(s, 1000, ra, sizeof(ra));
		if (ra[0] && p->ops->retry_after_header)
			sim_response_header(&resp, p->ops->retry_after_header,
					    ra);
	} else {
		if (p->ops->handle(p->state, req, &resp) < 0)
			sim_response_fail(&resp);
		if (resp.status == 200 && fault == FAULT_TRUNCATE)
			resp.body.len /= 2;
		else if (resp.status == 200 && fault == FAULT_EMPTY)
			resp.body.len = 0;
	}
	if (remaining >= 0 && p->ops->remaining_header) {
		char v[32];

		snprintf(v, sizeof(v), "%ld", remaining);
		sim_response_header(&resp, p->ops->remaining_header, v);
	}
	if (slot >= 0 && p->ops->limit_header) {
		char v[32];

		snprintf(v, sizeof(v), "%.0f", ceil(p->lim.rate_per_sec));
		sim_response_header(&resp, p->ops->limit_header, v);
	}
	count_status(s, p, resp.status, resp.route);
	ret = queue(req->conn, &resp);
	return ret;
}

static int parse_double(const char *v, double lo, double hi, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !(d >= lo && d <= hi))
		return -1;
	*out = d;
	return 0;
}

static int parse_long(const char *v, long lo, long hi, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

static BUF_MUST_CHECK int faults_json(const struct server *s, struct buf *b)
{
	const struct fault_options *f = &s->opt.faults;
	int i, rc = 0;

	rc |= buf_printf(b,
			 "{\"fault_5xx\":%g,\"fault_503\":%g,\"fault_403\":%g,"
			 "\"fault_truncate\":%g,\"fault_empty\":%g,"
			 "\"fault_drop\":%g,\"fault_slow\":%g,\"slow_ms\":%ld,"
			 "\"latency_ms\":%ld,\"storm_429\":%ld",
			 f->pct_5xx, f->pct_503, f->pct_403, f->pct_truncate,
			 f->pct_empty, f->pct_drop, f->pct_slow, f->slow_ms,
			 f->latency_ms, f->storm_429);
	for (i = 0; i < s->n_providers; i++)
		rc |= buf_printf(
		    b,
		    ",\"%s_rate\":%g,\"%s_burst\":%g,\"%s_block_ms\":%ld,"
		    "\"%s_connections\":%d",
		    s->providers[i].ops->param_prefix,
		    s->providers[i].lim.rate_per_sec,
		    s->providers[i].ops->param_prefix,
		    s->providers[i].lim.burst,
		    s->providers[i].ops->param_prefix,
		    s->providers[i].lim.block_ms,
		    s->providers[i].ops->param_prefix,
		    s->providers[i].lim.max_in_flight);
	rc |= buf_puts(b, "}\n");
	return rc;
}

/* POST /_sim/faults?...: every parameter optional; all are validated
 * before any is applied. */
static void set_faults(struct server *s, struct sim_request *req,
		       struct sim_response *resp)
{
	struct fault_options f;
	struct provider_limits lim[MAX_PROVIDERS];
	const char *v;
	int i, bad = 0, changed[MAX_PROVIDERS] = {0};
	char name[64];
	uint64_t now = mono_ms();

	pthread_mutex_lock(&s->lock);
	f = s->opt.faults;
	for (i = 0; i < s->n_providers; i++) {
		lim[i] = s->providers[i].lim;
	}
	pthread_mutex_unlock(&s->lock);
#define PCT(key, field)                                                        \
	if ((v = sim_request_arg(req, key)) &&                                 \
	    parse_double(v, 0, 100, &f.field) < 0)                             \
		bad = 1;
#define NUM(key, field)                                                        \
	if ((v = sim_request_arg(req, key)) &&                                 \
	    parse_long(v, 0, 3600000, &f.field) < 0)                           \
		bad = 1;
	PCT("fault_5xx", pct_5xx)
	PCT("fault_503", pct_503)
	PCT("fault_403", pct_403)
	PCT("fault_truncate", pct_truncate)
	PCT("fault_empty", pct_empty)
	PCT("fault_drop", pct_drop)
	PCT("fault_slow", pct_slow)
	NUM("slow_ms", slow_ms)
	NUM("latency_ms", latency_ms)
	NUM("storm_429", storm_429)
#undef PCT
#undef NUM
	for (i = 0; i < s->n_providers; i++) {
		snprintf(name, sizeof(name), "%s_rate",
			 s->providers[i].ops->param_prefix);
		if ((v = sim_request_arg(req, name))) {
			bad |=
			    parse_double(v, 0, 1e6, &lim[i].rate_per_sec) < 0;
			changed[i] = 1;
		}
		snprintf(name, sizeof(name), "%s_burst",
			 s->providers[i].ops->param_prefix);
		if ((v = sim_request_arg(req, name))) {
			bad |= parse_double(v, 1, 1e6, &lim[i].burst) < 0;
			changed[i] = 1;
		}
		snprintf(name, sizeof(name), "%s_block_ms",
			 s->providers[i].ops->param_prefix);
		if ((v = sim_request_arg(req, name))) {
			bad |= parse_long(v, 0, 3600000, &lim[i].block_ms) < 0;
			changed[i] = 1;
		}
		snprintf(name, sizeof(name), "%s_connections",
			 s->providers[i].ops->param_prefix);
		if ((v = sim_request_arg(req, name))) {
			long n = 0;

			bad |= parse_long(v, 0, 100000, &n) < 0;
			lim[i].max_in_flight = (int)n;
			changed[i] = 1;
		}
	}
	if (bad) {
		json_error(resp, 400, "invalid fault parameter");
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->opt.faults = f;
	for (i = 0; i < s->n_providers; i++) {
		struct provider_slot *p = &s->providers[i];
		int k;

		if (!changed[i])
			continue;
		/* A reconfigured bucket starts full, so tests are exact. */
		p->lim = lim[i];
		for (k = 0; k < MAX_KEYS; k++) {
			bucket_init(&p->buckets[k], p->lim.burst,
				    p->lim.rate_per_sec, now);
			p->blocked_until_ms[k] = 0;
		}
	}
	if (faults_json(s, &resp->body) < 0)
		sim_response_fail(resp);
	pthread_mutex_unlock(&s->lock);
}

/* "by_provider":{"NAME":{"requests":n,"by_status":{..},"by_route":{..},
 * "throttled":n,"faults":n,"peak_in_flight":n},...}, (slots of the same
 * name are summed; the peak is the largest slot's; by_route names the
 * routes the first slot saw). */
static BUF_MUST_CHECK int provider_stats_json(struct server *s, struct buf *b)
{
	int i, j, k, first, rc = 0;

	rc |= buf_puts(b, "\"by_provider\":{");
	for (i = 0; i < s->n_providers; i++) {
		const char *name = s->providers[i].ops->name;
		long req = 0, thr = 0, flt = 0, st, peak = 0;

		for (j = 0; j < i; j++)
			if (!strcmp(s->providers[j].ops->name, name))
				break;
		if (j < i)
			continue; /* summed with an earlier slot */
		for (j = i; j < s->n_providers; j++) {
			if (strcmp(s->providers[j].ops->name, name))
				continue;
			req += s->providers[j].requests;
			if (s->providers[j].peak_in_flight > peak)
				peak = s->providers[j].peak_in_flight;
			thr += s->providers[j].throttled;
			flt += s->providers[j].faults;
		}
		rc |=
		    buf_printf(b, "%s\"%s\":{\"requests\":%ld,\"by_status\":{",
			       i ? "," : "", name, req);
		for (k = 0, first = 1; k < 600; k++) {
			for (j = i, st = 0; j < s->n_providers; j++)
				if (!strcmp(s->providers[j].ops->name, name))
					st += s->providers[j].by_status[k];
			if (!st)
				continue;
			rc |= buf_printf(b, "%s\"%d\":%ld", first ? "" : ",", k,
					 st);
			first = 0;
		}
		rc |= buf_puts(b, "},\"by_route\":{");
		for (k = 0, first = 1; k < MAX_ROUTES; k++) {
			const char *r = s->providers[i].route_names[k];

			if (!r)
				break;
			for (j = i, st = 0; j < s->n_providers; j++) {
				const struct provider_slot *q =
				    &s->providers[j];
				int m;

				if (strcmp(q->ops->name, name))
					continue;
				for (m = 0; m < MAX_ROUTES && q->route_names[m];
				     m++)
					if (!strcmp(q->route_names[m], r))
						st += q->by_route[m];
			}
			rc |= buf_printf(b, "%s\"%s\":%ld", first ? "" : ",", r,
					 st);
			first = 0;
		}
		rc |= buf_printf(b,
				 "},\"throttled\":%ld,\"faults\":%ld,"
				 "\"peak_in_flight\":%ld}",
				 thr, flt, peak);
	}
	rc |= buf_puts(b, "},");
	return rc;
}

static BUF_MUST_CHECK int stats_json(struct server *s, struct buf *b)
{
	int i, first = 1, rc = 0;

	pthread_mutex_lock(&s->lock);
	rc |= buf_printf(b, "{\"requests\":%ld,\"by_status\":{",
			 s->stats.requests);
	for (i = 0; i < 600; i++) {
		if (!s->stats.by_status[i])
			continue;
		rc |= buf_printf(b, "%s\"%d\":%ld", first ? "" : ",", i,
				 s->stats.by_status[i]);
		first = 0;
	}
	rc |= buf_printf(b,
			 "},\"throttled\":%ld,\"faults\":%ld,\"dropped\":%ld,"
			 "\"in_flight\":%ld,\"peak_in_flight\":%ld,",
			 s->stats.throttled, s->stats.faults, s->stats.dropped,
			 s->stats.in_flight, s->stats.peak_in_flight);
	rc |= provider_stats_json(s, b);
	if (s->stats.requests)
		rc |= buf_printf(
		    b, "\"first_request_ms\":%llu,\"last_request_ms\":%llu}\n",
		    (unsigned long long)s->stats.first_ms,
		    (unsigned long long)s->stats.last_ms);
	else
		rc |= buf_puts(
		    b, "\"first_request_ms\":null,\"last_request_ms\":null}\n");
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* The provider named name (or, name NULL, the last registered one) that
 * has a truth (is_truth) or an advance function. */
static const struct provider_slot *pick_provider(const struct server *s,
						 const char *name, int is_truth)
{
	int i;

	for (i = s->n_providers - 1; i >= 0; i--) {
		const struct provider_slot *p = &s->providers[i];

		if ((is_truth ? !!p->ops->truth : !!p->ops->advance) &&
		    (!name || !strcmp(name, p->ops->name)))
			return p;
	}
	return NULL;
}

static const struct provider_slot *control_provider(const struct server *s,
						    const char *op)
{
	int i;

	for (i = 0; i < s->n_providers; i++)
		if (s->providers[i].ops->control &&
		    !strcmp(op, s->providers[i].ops->param_prefix))
			return &s->providers[i];
	return NULL;
}

/* Every account advances. The default provider answers; the others'
 * answers become members named after them. -1 when an answer could not be
 * written whole. */
static BUF_MUST_CHECK int advance_all(struct server *s, long secs,
				      struct buf *out)
{
	const struct provider_slot *main_p = pick_provider(s, NULL, 0);
	struct buf other = BUF_INIT;
	int i, rc = 0;

	if (main_p)
		rc |= main_p->ops->advance(main_p->state, secs, out);
	for (i = 0; i < s->n_providers; i++) {
		const struct provider_slot *p = &s->providers[i];

		if (!p->ops->advance || p == main_p)
			continue;
		buf_reset(&other);
		if (p->ops->advance(p->state, secs, &other) < 0) {
			rc = -1;
			continue;
		}
		if (!other.len)
			continue;
		while (other.len && other.data[other.len - 1] == '\n')
			other.data[--other.len] = '\0';
		while (out->len && out->data[out->len - 1] == '\n')
			out->data[--out->len] = '\0';
		if (out->len && out->data[out->len - 1] == '}')
			out->data[--out->len] = '\0';
		if (!out->len)
			rc |= buf_putc(out, '{');
		rc |= buf_printf(out, "%s\"%s\":%s}\n", out->len > 1 ? "," : "",
				 p->ops->name, other.data);
	}
	buf_release(&other);
	return rc;
}

static enum MHD_Result handle_control(struct server *s, struct sim_request *req)
{
	const char *op = req->path + strlen("/_sim/");
	int is_post = strcmp(req->method, "POST") == 0;
	int is_get =
	    strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	struct sim_response resp;
	const struct provider_slot *p_ctl;
	const char *v;
	long secs;
	int i, rc = 0;

	response_init(&resp);
	if (strcmp(op, "stats") == 0 && is_get) {
		rc = stats_json(s, &resp.body);
	} else if (strcmp(op, "reset-stats") == 0 && is_post) {
		long fl;

		pthread_mutex_lock(&s->lock);
		fl = s->stats.in_flight;
		memset(&s->stats, 0, sizeof(s->stats));
		s->stats.in_flight = s->stats.peak_in_flight = fl;
		for (i = 0; i < s->n_providers; i++) {
			struct provider_slot *p = &s->providers[i];

			p->requests = p->throttled = p->faults = 0;
			p->peak_in_flight = p->in_flight;
			memset(p->by_status, 0, sizeof(p->by_status));
			memset(p->by_route, 0, sizeof(p->by_route));
		}
		pthread_mutex_unlock(&s->lock);
		rc = buf_puts(&resp.body, "{\"ok\":true}\n");
	} else if (strcmp(op, "faults") == 0 && (is_post || is_get)) {
		if (is_post) {
			set_faults(s, req, &resp);
		} else {
			pthread_mutex_lock(&s->lock);
			rc = faults_json(s, &resp.body);
			pthread_mutex_unlock(&s->lock);
		}
	} else if (strcmp(op, "advance") == 0 && is_post) {
		v = sim_request_arg(req, "seconds");
		if (!v || parse_long(v, 1, 10L * 365 * 86400, &secs) < 0) {
			json_error(&resp, 400,
				   "seconds must be an integer from 1 to "
				   "315360000");
		} else {
			rc = advance_all(s, secs, &resp.body);
		}
	} else if (strcmp(op, "truth") == 0 && is_get) {
		const struct provider_slot *p =
		    pick_provider(s, sim_request_arg(req, "provider"), 1);

		if (!p || p->ops->truth(p->state, &resp.body) < 0)
			json_error(&resp, 500, "truth unavailable");
	} else if ((p_ctl = control_provider(s, op)) != NULL &&
		   (is_get || is_post)) {
		rc = p_ctl->ops->control(p_ctl->state, req, &resp.body);
		if (rc == -1) {
			json_error(&resp, 400, "invalid parameter");
			rc = 0;
		}
	} else if (strcmp(op, "health") == 0 && is_get) {
		rc = buf_puts(&resp.body, "{\"ok\":true}\n");
	} else if (!strcmp(op, "stats") || !strcmp(op, "reset-stats") ||
		   !strcmp(op, "faults") || !strcmp(op, "advance") ||
		   !strcmp(op, "truth") || !strcmp(op, "health")) {
		json_error(&resp, 405, "method not allowed");
	} else {
		json_error(&resp, 404, "unknown control endpoint");
	}
	if (rc < 0)
		sim_response_fail(&resp);
	return queue(req->conn, &resp);
}

/* GET /_site/...: a web site, not an API. A provider's API URL pointed at
 * {sim}/_site gets an HTML page with status 200 for every request. */
static enum MHD_Result handle_site(struct sim_request *req)
{
	struct sim_response resp;

	response_init(&resp);
	resp.content_type = "text/html; charset=utf-8";
	if (buf_puts(&resp.body, "<!DOCTYPE html>\n<html><head><title>Welcome"
				 "</title></head>\n<body><h1>Welcome</h1>"
				 "</body></html>\n") < 0)
		sim_response_fail(&resp);
	return queue(req->conn, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	static int marker;
	struct server *s = cls;
	struct sim_request req;

	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		*con_cls = &marker;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* request bodies are ignored */
		return MHD_YES;
	}
	req.conn = conn;
	req.method = method;
	req.path = url;
	req.srv = s;
	if (strncmp(url, "/_sim/", 6) == 0)
		return handle_control(s, &req);
	if (strncmp(url, "/_site/", 7) == 0)
		return handle_site(&req);
	return handle_api(s, &req);
}

struct server *server_new(const struct server_options *opt)
{
	struct server *s = xcalloc(1, sizeof(*s));

	s->opt = *opt;
	pthread_mutex_init(&s->lock, NULL);
	rng_init(&s->fault_rng, opt->fault_seed);
	return s;
}

void server_add_provider(struct server *s, const struct sim_provider *ops,
			 void *state, const struct provider_limits *lim)
{
	struct provider_slot *p;
	uint64_t now = mono_ms();
	int k;

	if (s->n_providers >= MAX_PROVIDERS)
		BUG("too many providers");
	p = &s->providers[s->n_providers++];
	p->ops = ops;
	p->state = state;
	p->lim = *lim;
	for (k = 0; k < MAX_KEYS; k++)
		bucket_init(&p->buckets[k], lim->burst, lim->rate_per_sec, now);
}

int server_start(struct server *s, int *port_out)
{
	struct sockaddr_in addr;
	const union MHD_DaemonInfo *info;

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)s->opt.port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->daemon = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
		MHD_USE_POLL,
	    (uint16_t)s->opt.port, NULL, NULL, on_request, s,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1000,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)512, MHD_OPTION_END);
	if (!s->daemon)
		return -1;
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || info->port == 0)
		return -1;
	*port_out = info->port;
	snprintf(s->base_url, sizeof(s->base_url), "http://127.0.0.1:%d",
		 *port_out);
	return 0;
}

void server_free(struct server *s)
{
	if (!s)
		return;
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

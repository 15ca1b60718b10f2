/* The fetch engine (see fetch.h): one loop that starts queued GETs as fast
 * as the account's token bucket and the in-flight cap allow, hands finished
 * ones to their callbacks, and requeues failures as the retry policy says.
 * A throttled answer pauses every request, since the limit is per account. */
#include "core/fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/pace.h"
#include "core/retry.h"
#include "net/http.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/num.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_CAPTURE 8
#define MAX_POLL_MS 50
/* Before the first answer we do not know how full the server's bucket is
 * (another client, a run moments ago): send one request, then resync from
 * its remaining-tokens header. Bounded so a slow first answer cannot stall. */
#define WARMUP_MS 1000
/* A bucket without burst has no room for network jitter: a request that
 * arrives a millisecond early is refused. Pace that far under the ceiling. */
#define NO_BURST_RATE_FACTOR 0.98
#define NO_BURST_BACKOFF 0.97
#define NO_BURST_MIN_FACTOR 0.85
/* Until the server has answered once, a refused connection is most likely
 * a wrong URL or a server that is down: retries stop this long after the
 * first request started, instead of spending the whole backoff. */
#define FIRST_CONNECT_BUDGET_MS 8000

struct freq {
	struct freq *next; /* in a queue, or in the in-flight list */
	char *url;
	fetch_done_fn done;
	void *userdata;
	struct retry_state rs;
	int64_t not_before_ms;
	int64_t started_ms;
	uint64_t seq;	     /* start order, for the log */
	double tokens_after; /* local bucket right after our token */
	double debit_before; /* fetch's debit total when we started */
};

struct fetch {
	struct fetch_options opts;
	struct retry_policy pol;
	struct pace pace;
	struct http *http;
	const char **headers;
	const char *capture[MAX_CAPTURE + 1];
	struct freq *ready_head, *ready_tail; /* FIFO of new requests */
	struct freq *waiting; /* retries, sorted by not_before_ms */
	struct freq *flying;  /* started, not finished */
	int in_flight;
	/* In-flight cap after connection throttling (is_throttle_connections)
	 * and when it next climbs a step. */
	int conn_cap;
	int64_t conn_recover_ms;
	uint64_t seq;
	double debit; /* tokens removed so far on the server's word */
	int64_t first_start_ms;
	int has_answer;
	int has_response; /* an HTTP answer arrived, not a network error */
	int is_stopped, is_stopping, is_deadline_stop, is_cut_short;
	int is_signal_stop;
	int64_t signal_stop_ms; /* when the stop signal was seen */
	uint64_t rng;
	struct fetch_stats stats;
};

struct fetch *fetch_new(const struct fetch_options *opts, struct err *err)
{
	struct fetch *f = NULL;
	size_t i, n = 0, c = 0;

	if (!(opts->rate_per_sec > 0)) {
		err_set(err, ERR_CONFIG, 0, "invalid request rate '%g'",
			opts->rate_per_sec);
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->opts = *opts;
	if (f->opts.max_inflight < 1)
		f->opts.max_inflight = 1;
	if (f->opts.max_attempts < 1)
		f->opts.max_attempts = 1;
	f->conn_cap = f->opts.max_inflight;
	if (f->opts.max_throttle_attempts < 1) {
		f->opts.max_throttle_attempts = 3 * f->opts.max_attempts;
		if (f->opts.max_throttle_attempts < 10)
			f->opts.max_throttle_attempts = 10;
	}
	if (!f->opts.max_body_bytes)
		f->opts.max_body_bytes = BUF_DEFAULT_MAX;
	f->pol.max_attempts = f->opts.max_attempts;
	f->pol.max_throttle_attempts = f->opts.max_throttle_attempts;
	f->pol.retry_403_attempts = f->opts.retry_403_attempts;
	f->pol.is_503_throttle = f->opts.is_503_throttle;
	f->pol.backoff_base_ms = f->opts.backoff_base_ms;
	f->pol.backoff_max_ms = f->opts.backoff_max_ms;
	f->pol.max_retry_after_ms = f->opts.max_retry_after_ms;
	f->pol.min_throttle_wait_ms =
	    (int64_t)(1000.0 / f->opts.rate_per_sec + 0.999);
	f->rng = opts->seed;
	pace_init(&f->pace,
		  f->opts.rate_per_sec *
		      (f->opts.burst < 2 ? NO_BURST_RATE_FACTOR : 1.0),
		  f->opts.burst, clock_mono_ms());
	if (opts->is_bucket_empty && f->opts.burst < 2)
		f->pace.tokens = 0;

	while (opts->headers && opts->headers[n])
		n++;
	f->headers = xcalloc(n + 3, sizeof(*f->headers));
	f->headers[0] = "Accept: application/json";
	f->headers[1] = "User-Agent: espsync/0.1";
	for (i = 0; i < n; i++)
		f->headers[i + 2] = opts->headers[i];
	f->capture[c++] = "Content-Type"; /* see is_web_page */
	if (opts->remaining_header)
		f->capture[c++] = opts->remaining_header;
	for (i = 0; opts->retry_after_headers && opts->retry_after_headers[i] &&
		    c < MAX_CAPTURE;
	     i++)
		f->capture[c++] = opts->retry_after_headers[i];

	if (http_new(&f->http, f->opts.max_inflight, err) < 0) {
		fetch_free(f);
		return NULL;
	}
	return f;
}

static void freq_free(struct freq *r)
{
	if (!r)
		return;
	free(r->url);
	free(r);
}

static void free_list(struct freq *r)
{
	while (r) {
		struct freq *next = r->next;
		freq_free(r);
		r = next;
	}
}

void fetch_free(struct fetch *f)
{
	if (!f)
		return;
	http_free(f->http);
	free_list(f->flying);
	free_list(f->ready_head);
	free_list(f->waiting);
	free(f->headers);
	free(f);
}

int fetch_submit(struct fetch *f, const char *url, fetch_done_fn done,
		 void *userdata)
{
	struct freq *r = xcalloc(1, sizeof(*r));

	r->url = xstrdup(url);
	r->done = done;
	r->userdata = userdata;
	if (f->ready_tail)
		f->ready_tail->next = r;
	else
		f->ready_head = r;
	f->ready_tail = r;
	return 0;
}

void fetch_stop(struct fetch *f)
{
	f->is_stopped = 1;
}

int fetch_is_cut_short(const struct fetch *f)
{
	return f->is_cut_short;
}

int fetch_has_room(const struct fetch *f)
{
	return !f->ready_head && !f->is_stopped && !f->is_stopping &&
	       f->in_flight < f->conn_cap;
}

int fetch_is_deadline_near(const struct fetch *f)
{
	return f->opts.deadline_mono_ms > 0 &&
	       clock_mono_ms() >=
		   f->opts.deadline_mono_ms - FETCH_DEADLINE_NEAR_MS;
}

void fetch_get_stats(const struct fetch *f, struct fetch_stats *out)
{
	*out = f->stats;
}

static int is_secret(const struct fetch *f, const char *name, size_t len)
{
	size_t i;

	for (i = 0; f->opts.secret_params && f->opts.secret_params[i]; i++)
		if (strlen(f->opts.secret_params[i]) == len &&
		    !strncasecmp(f->opts.secret_params[i], name, len))
			return 1;
	return 0;
}

char *fetch_redact_url(const struct fetch *f, const char *url)
{
	struct buf b = BUF_INIT;
	const char *p = url, *auth, *at, *end;
	int rc = 0;

	/* user:password@ in the authority */
	auth = strstr(p, "://");
	if (auth) {
		auth += 3;
		end = auth + strcspn(auth, "/?#");
		at = memchr(auth, '@', (size_t)(end - auth));
		rc |= buf_append(&b, p, (size_t)(auth - p));
		if (at) {
			rc |= buf_puts(&b, "***");
			auth = at;
		}
		p = auth;
	}
	end = p + strcspn(p, "?#");
	rc |= buf_append(&b, p, (size_t)(end - p));
	p = end;
	if (*p == '?') {
		rc |= buf_putc(&b, '?');
		p++;
		while (*p && *p != '#') {
			size_t len = strcspn(p, "&#");
			size_t name_len = strcspn(p, "=&#");

			if (name_len < len && is_secret(f, p, name_len)) {
				rc |= buf_append(&b, p, name_len);
				rc |= buf_puts(&b, "=***");
			} else {
				rc |= buf_append(&b, p, len);
			}
			p += len;
			if (*p == '&')
				rc |= buf_putc(&b, *p++);
		}
	}
	rc |= buf_puts(&b, p);
	if (rc) {
		/* A url with pieces missing would mislead the reader. */
		buf_release(&b);
		return xstrdup("(url too long to show)");
	}
	return buf_detach(&b, NULL);
}

static int64_t deadline(const struct fetch *f)
{
	return f->opts.deadline_mono_ms;
}

static void push_waiting(struct fetch *f, struct freq *r)
{
	struct freq **pp = &f->waiting;

	while (*pp && (*pp)->not_before_ms <= r->not_before_ms)
		pp = &(*pp)->next;
	r->next = *pp;
	*pp = r;
}

/* The request to start next: a due retry first (it is older), else the
 * oldest new one. */
static struct freq *pop_due(struct fetch *f, int64_t now)
{
	struct freq *r = NULL;

	if (f->waiting && f->waiting->not_before_ms <= now) {
		r = f->waiting;
		f->waiting = r->next;
	} else if (f->ready_head) {
		r = f->ready_head;
		f->ready_head = r->next;
		if (!f->ready_head)
			f->ready_tail = NULL;
	}
	if (r)
		r->next = NULL;
	return r;
}

static int has_due(const struct fetch *f, int64_t now)
{
	return f->ready_head ||
	       (f->waiting && f->waiting->not_before_ms <= now);
}

static int inflight_cap(const struct fetch *f, int64_t now)
{
	if (f->opts.remaining_header && !f->has_answer && f->first_start_ms &&
	    now - f->first_start_ms < WARMUP_MS)
		return 1;
	return f->conn_cap;
}

/* Connection throttling: one connection fewer for a while. */
static void conn_throttled(struct fetch *f, int64_t now)
{
	if (f->conn_cap > 1)
		f->conn_cap--;
	f->conn_recover_ms = now + FETCH_CONN_RECOVER_MS;
	log_debug("too many simultaneous requests: at most %d in flight",
		  f->conn_cap);
}

static void conn_recover(struct fetch *f, int64_t now)
{
	if (f->conn_cap < f->opts.max_inflight && now >= f->conn_recover_ms) {
		f->conn_cap++;
		f->conn_recover_ms = now + FETCH_CONN_RECOVER_MS;
	}
}

/* A body that holds no JSON object (an empty or HTML 403). */
static int is_bare_body(const char *body, size_t len)
{
	return !body || !memchr(body, '{', len);
}

static void finish(struct fetch *f, struct freq *r, struct fetch_result *res)
{
	res->attempts = r->rs.attempts;
	if (res->outcome == FETCH_FAILED || res->outcome == FETCH_HTTP_ERROR)
		f->stats.failures++;
	if (!res->body) {
		res->body = "";
		res->body_len = 0;
	}
	r->done(r->userdata, res);
	freq_free(r);
}

static void cancel(struct fetch *f, struct freq *r)
{
	struct fetch_result res;

	memset(&res, 0, sizeof(res));
	res.outcome = FETCH_CANCELLED;
	if (f->is_deadline_stop) {
		f->is_cut_short = 1;
		err_set(&res.err, ERR_PARTIAL, 0, "time budget reached");
	} else if (f->is_signal_stop) {
		f->is_cut_short = 1;
		err_set(&res.err, ERR_INTERRUPTED, (int)*f->opts.stop_signal,
			"stopped by a signal");
	} else {
		err_set(&res.err, ERR_PARTIAL, 0, "fetching stopped");
	}
	finish(f, r, &res);
}

static void fail_start(struct fetch *f, struct freq *r, const struct err *e)
{
	struct fetch_result res;

	memset(&res, 0, sizeof(res));
	res.outcome = FETCH_FAILED;
	res.err = *e;
	finish(f, r, &res);
}

/* Starts r; -1 when it could not be: with is_kick r goes back to the
 * front of the queue for the loop, else its callback gets the failure. */
static int start_one(struct fetch *f, struct freq *r, int64_t now, int is_kick)
{
	struct http_get req = HTTP_GET_INIT;
	struct http_xfer *x = NULL;
	struct err e = ERR_INIT;
	int64_t left;

	req.url = r->url;
	req.headers = f->headers;
	req.capture = f->capture;
	req.timeout_ms = f->opts.timeout_ms;
	req.connect_timeout_ms = f->opts.connect_timeout_ms;
	req.max_body_bytes = f->opts.max_body_bytes;
	req.userdata = r;
	if (deadline(f) > 0) {
		left = deadline(f) + FETCH_DRAIN_MS - now;
		if (req.timeout_ms <= 0 || left < req.timeout_ms)
			req.timeout_ms = left > 1 ? (long)left : 1;
	}
	if (log_get_level() >= LOG_DEBUG) {
		char *shown = fetch_redact_url(f, r->url);
		log_debug("GET %s (attempt %d)", shown, r->rs.attempts + 1);
		free(shown);
	}
	if (http_start(&x, f->http, &req, &e) < 0) {
		if (!is_kick) {
			fail_start(f, r, &e);
			return -1;
		}
		r->next = f->ready_head;
		f->ready_head = r;
		if (!f->ready_tail)
			f->ready_tail = r;
		return -1;
	}
	r->seq = ++f->seq;
	r->started_ms = now;
	r->tokens_after = pace_tokens(&f->pace, now);
	r->debit_before = f->debit;
	if (!f->first_start_ms)
		f->first_start_ms = now;
	if (!f->stats.started_mono_ms)
		f->stats.started_mono_ms = now;
	f->stats.requests++;
	if (r->rs.attempts > 0)
		f->stats.retries++;
	f->in_flight++;
	r->next = f->flying;
	f->flying = r;
	return 0;
}

static void unlink_flying(struct fetch *f, struct freq *r)
{
	struct freq **pp = &f->flying;

	while (*pp && *pp != r)
		pp = &(*pp)->next;
	if (*pp)
		*pp = r->next;
	r->next = NULL;
	f->in_flight--;
}

static void start_due(struct fetch *f, int64_t now, int is_kick)
{
	struct freq *r;

	while (f->in_flight < inflight_cap(f, now) && has_due(f, now) &&
	       pace_take(&f->pace, now)) {
		r = pop_due(f, now);
		if (start_one(f, r, now, is_kick) < 0 && is_kick)
			break;
	}
}

void fetch_kick(struct fetch *f)
{
	struct err e = ERR_INIT;
	int64_t now = clock_mono_ms();

	/* A bucket without burst keeps the loop's timing: a request sent
	 * the moment its token appears leaves no room for send jitter. */
	if (f->is_stopped || f->is_stopping || f->opts.burst < 2 ||
	    (deadline(f) > 0 && now >= deadline(f)))
		return;
	start_due(f, now, 1);
	/* sends them; a failure shows again in the loop's own poll */
	if (http_poll(f->http, 0, &e) < 0)
		log_debug("%s", e.msg);
}

/* The server's remaining tokens right after it took ours, against what our
 * bucket held right after we took it (less what earlier answers already
 * removed): if the server has fewer (another client, an earlier run, its
 * rounding down), our bucket loses the difference. The server may have
 * refilled a little between our send and its count: that only errs on the
 * safe side. */
static void resync(struct fetch *f, struct http_xfer *x, struct freq *r,
		   int64_t now)
{
	const char *v;
	double remaining, excess, before, after;

	if (!f->opts.remaining_header)
		return;
	v = http_xfer_header(x, f->opts.remaining_header);
	if (!v || num_parse_double(v, &remaining) < 0 || remaining < 0)
		return;
	excess = r->tokens_after - (f->debit - r->debit_before) - remaining;
	if (excess <= 0)
		return;
	before = pace_tokens(&f->pace, now);
	pace_observe_remaining(&f->pace, before - excess, now);
	after = pace_tokens(&f->pace, now);
	f->debit += before - after;
}

static int64_t retry_after(const struct fetch *f, struct http_xfer *x)
{
	const char *const *names = f->opts.retry_after_headers;
	int64_t ms;
	size_t i;

	for (i = 0; names && names[i]; i++)
		if (retry_after_parse(http_xfer_header(x, names[i]),
				      clock_wall_s(), &ms) == 0)
			return ms;
	return -1;
}

static enum retry_net net_class(enum http_net_err e)
{
	switch (e) {
	case HTTP_NET_OK:
		return RETRY_NET_NONE;
	case HTTP_NET_TIMEOUT:
	case HTTP_NET_CONNECT:
	case HTTP_NET_PARTIAL:
		return RETRY_NET_TRANSIENT;
	case HTTP_NET_TOO_LARGE:
	case HTTP_NET_OTHER:
		break;
	}
	return RETRY_NET_FATAL;
}

static enum err_kind status_kind(long status)
{
	switch (status) {
	case 401:
	case 403:
		return ERR_AUTH;
	case 402:
		return ERR_INACTIVE;
	case 404:
		return ERR_NOT_FOUND;
	default:
		return ERR_HTTP;
	}
}

/* A JSON API never answers with a web page: a 2xx HTML page (its
 * Content-Type, or a body opening with an HTML tag) means the API URL
 * names a site or a proxy's login page, and asking again will not change
 * it. Other markup (some APIs answer XML errors with 200) is the source's
 * to read. */
static int is_web_page(struct http_xfer *x)
{
	static const char *const tags[] = {"<!doctype html", "<html",  "<head",
					   "<body",	     "<title", "<meta"};
	const char *ct = http_xfer_header(x, "Content-Type");
	size_t len = 0, i = 0, k;
	const char *body = http_xfer_body(x, &len);

	if (ct && !strncasecmp(ct, "text/html", 9))
		return 1;
	if (len >= 3 && !memcmp(body, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len && strchr(" \t\r\n", body[i]))
		i++;
	for (k = 0; k < sizeof(tags) / sizeof(tags[0]); k++)
		if (len - i >= strlen(tags[k]) &&
		    !strncasecmp(body + i, tags[k], strlen(tags[k])))
			return 1;
	return 0;
}

/* Fills res for a final failure; the message names the redacted URL. */
static void describe_failure(struct fetch *f, struct freq *r,
			     struct http_xfer *x,
			     const struct retry_response *resp,
			     struct fetch_result *res)
{
	char *shown = fetch_redact_url(f, r->url);
	char tries[48] = "";
	enum http_net_err ne = http_xfer_net_err(x);

	if (r->rs.attempts > 1)
		snprintf(tries, sizeof(tries), " after %d attempts",
			 r->rs.attempts);
	if (resp->net != RETRY_NET_NONE) {
		res->outcome = FETCH_FAILED;
		err_set(&res->err,
			ne == HTTP_NET_TOO_LARGE ? ERR_PARSE : ERR_NET, (int)ne,
			"cannot fetch '%s': %s%s", shown, http_xfer_errmsg(x),
			tries);
	} else if (resp->status >= 200 && resp->status <= 299 &&
		   is_web_page(x)) {
		res->outcome = FETCH_FAILED;
		err_set(&res->err, ERR_CONFIG, (int)resp->status,
			"'%s' answered HTML, not JSON: is the API URL right?",
			shown);
	} else if (resp->is_body_unusable) {
		res->outcome = FETCH_FAILED;
		err_set(&res->err, ERR_PARSE, (int)resp->status,
			"cannot read the response from '%s'%s", shown, tries);
	} else {
		res->outcome = FETCH_HTTP_ERROR;
		err_set(&res->err, status_kind(resp->status), (int)resp->status,
			"cannot fetch '%s': HTTP %ld%s", shown, resp->status,
			tries);
	}
	free(shown);
}

static void on_done(struct fetch *f, struct http_xfer *x, int64_t now)
{
	struct freq *r = http_xfer_userdata(x);
	struct retry_response resp;
	struct retry_decision d;
	struct fetch_result res;
	size_t len = 0;
	const char *body = http_xfer_body(x, &len);

	unlink_flying(f, r);
	f->has_answer = 1;
	f->stats.bytes += (int64_t)len;
	f->stats.last_mono_ms = now;
	memset(&resp, 0, sizeof(resp));
	memset(&res, 0, sizeof(res));
	resp.status = http_xfer_status(x);
	resp.net = net_class(http_xfer_net_err(x));
	resp.retry_after_ms = -1;
	if (resp.net == RETRY_NET_NONE) {
		resync(f, x, r, now);
		resp.retry_after_ms = retry_after(f, x);
	}
	log_debug("GET #%llu: HTTP %ld, %zu bytes, %lld ms%s%s",
		  (unsigned long long)r->seq, resp.status, len,
		  (long long)(now - r->started_ms),
		  resp.net != RETRY_NET_NONE ? ", " : "",
		  resp.net != RETRY_NET_NONE ? http_xfer_errmsg(x) : "");
	res.status = resp.status;
	res.body = body;
	res.body_len = len;
	if (resp.net == RETRY_NET_NONE)
		f->has_response = 1;
	if (resp.net == RETRY_NET_NONE && resp.status >= 200 &&
	    resp.status <= 299 && is_web_page(x)) {
		r->rs.attempts++;
		goto fail;
	}
	if (resp.net == RETRY_NET_NONE && resp.status >= 200 &&
	    resp.status <= 299) {
		res.outcome = FETCH_OK;
		res.attempts = r->rs.attempts + 1;
		if (r->done(r->userdata, &res) == FETCH_ACCEPT) {
			freq_free(r);
			goto done;
		}
		resp.is_body_unusable = 1;
	}
	if (resp.net == RETRY_NET_NONE && resp.status == 403 &&
	    f->opts.is_bare_403_throttle && is_bare_body(body, len))
		resp.is_throttle = 1;
	retry_decide(&d, &f->pol, &r->rs, &resp, &f->rng);
	if (d.action == RETRY_AGAIN && !f->has_response &&
	    http_xfer_net_err(x) == HTTP_NET_CONNECT &&
	    now + d.delay_ms - f->first_start_ms > FIRST_CONNECT_BUDGET_MS)
		d.action = RETRY_FINAL;
	if (d.is_throttle && f->opts.is_throttle_connections) {
		f->stats.throttled++;
		conn_throttled(f, now);
	} else if (d.is_throttle) {
		f->stats.throttled++;
		pace_pause_until(&f->pace, now + d.delay_ms, now);
		log_debug("throttled: pausing requests for %lld ms",
			  (long long)d.delay_ms);
		/* Without burst a 429 means two requests arrived closer
		 * than 1/rate (send jitter on a loaded host, or another
		 * client on the account): widen the gap a little each
		 * time, down to 85% of the ceiling. */
		if (f->opts.burst < 2 &&
		    f->pace.rate_per_sec * NO_BURST_BACKOFF >=
			f->opts.rate_per_sec * NO_BURST_MIN_FACTOR)
			f->pace.rate_per_sec *= NO_BURST_BACKOFF;
	}
	if (d.action == RETRY_AGAIN) {
		if (f->is_stopping) {
			cancel(f, r);
		} else {
			r->not_before_ms = now + d.delay_ms;
			push_waiting(f, r);
		}
		goto done;
	}
fail:
	describe_failure(f, r, x, &resp, &res);
	finish(f, r, &res);
done:
	http_xfer_free(x);
}

static int poll_wait_ms(struct fetch *f, int64_t now)
{
	int64_t wait = MAX_POLL_MS, due;

	if (!f->is_stopping && f->in_flight < inflight_cap(f, now) &&
	    (f->ready_head || f->waiting)) {
		due = f->ready_head ? now : f->waiting->not_before_ms;
		if (due - now < wait)
			wait = due - now;
		due = pace_wait_ms(&f->pace, now);
		if (due > wait)
			wait = due;
		if (wait > MAX_POLL_MS)
			wait = MAX_POLL_MS;
	}
	if (!f->is_stopping && deadline(f) > 0 && deadline(f) - now < wait)
		wait = deadline(f) - now;
	return wait > 0 ? (int)wait : 0;
}

static void cancel_queued(struct fetch *f)
{
	struct freq *r;

	/* Callbacks may submit more; those are cancelled too. */
	while ((r = pop_due(f, INT64_MAX)))
		cancel(f, r);
}

static int is_signalled(const struct fetch *f)
{
	return f->opts.stop_signal && *f->opts.stop_signal;
}

/* Requests still in flight FETCH_DRAIN_MS after a stop signal are given up
 * (FETCH_CANCELLED): their transfers stay with f->http, which aborts them
 * when the fetch is freed. */
static void abandon_flying(struct fetch *f)
{
	struct freq *r;

	while ((r = f->flying)) {
		unlink_flying(f, r);
		cancel(f, r);
	}
}

int fetch_run(struct fetch *f, struct err *err)
{
	struct http_xfer *x;
	int64_t now;
	int ret = -1;

	for (;;) {
		now = clock_mono_ms();
		if (!f->is_stopping && is_signalled(f)) {
			f->is_stopping = 1;
			f->is_signal_stop = 1;
			f->signal_stop_ms = now;
		}
		if (f->is_signal_stop && f->in_flight &&
		    now - f->signal_stop_ms >= FETCH_DRAIN_MS)
			abandon_flying(f);
		if (!f->is_stopping &&
		    (f->is_stopped ||
		     (deadline(f) > 0 && now >= deadline(f)))) {
			f->is_stopping = 1;
			f->is_deadline_stop = !f->is_stopped;
		}
		if (!f->is_stopping) {
			conn_recover(f, now);
			start_due(f, now, 0);
		}
		if (!f->in_flight) {
			if (f->is_stopping) {
				cancel_queued(f);
				break;
			}
			if (!f->ready_head && !f->waiting)
				break;
		}
		if (http_poll(f->http, poll_wait_ms(f, now), err) < 0)
			goto done;
		while ((x = http_next_done(f->http)))
			on_done(f, x, clock_mono_ms());
	}
	ret = 0;
done:
	return ret;
}

/* The fetch engine against a tiny scripted HTTP/1.1 server running in a
 * thread on 127.0.0.1: retries, throttling, pacing, deadlines, body caps,
 * keep-alive and log redaction. Backoffs are shrunk so the file runs in a
 * few seconds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/fetch.h"
#include "util/clock.h"
#include "util/log.h"

/* ---- the scripted server ---- */

struct reply {
	int status;	   /* 0: close the connection without answering */
	char headers[256]; /* extra lines, each ending in \r\n */
	char body[512];
	size_t fill_bytes;	/* > 0: body is this many 'x' instead */
	int delay_ms;		/* answer this long after the request */
	int is_truncated;	/* Content-Length promises more; then close */
	int is_close_delimited; /* no Content-Length; close ends the body */
};

struct server;
typedef void (*handler_fn)(struct server *s, int index, const char *path,
			   struct reply *out);

#define MAX_CONNS 32
#define MAX_LOG 256

struct conn {
	int fd;
	char in[8192];
	size_t len;
	int has_pending;
	int64_t due_ms;
	struct reply reply;
};

struct log_entry {
	char path[256];
	char head[1024];
	int64_t at_ms;
};

struct server {
	int lfd, port, wake[2];
	pthread_t thread;
	pthread_mutex_t mu;
	handler_fn handler;
	void *ctx;
	struct conn conns[MAX_CONNS];
	int nreq, naccepted, active, max_active;
	struct log_entry log[MAX_LOG];
};

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
	c->has_pending = 0;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void send_reply(struct server *s, struct conn *c)
{
	struct reply *r = &c->reply;
	char head[1024];
	char *body;
	size_t body_len;
	int n;

	pthread_mutex_lock(&s->mu);
	s->active--;
	pthread_mutex_unlock(&s->mu);
	c->has_pending = 0;
	if (r->status == 0) {
		conn_close(c);
		return;
	}
	if (r->fill_bytes) {
		body_len = r->fill_bytes;
		body = malloc(body_len);
		memset(body, 'x', body_len);
	} else {
		body_len = strlen(r->body);
		body = malloc(body_len + 1);
		memcpy(body, r->body, body_len + 1);
	}
	if (r->is_close_delimited)
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %d X\r\nContent-Type: application/json"
			     "\r\n%sConnection: close\r\n\r\n",
			     r->status, r->headers);
	else
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %d X\r\nContent-Type: application/json"
			     "\r\n%sContent-Length: %zu\r\n\r\n",
			     r->status, r->headers,
			     body_len + (r->is_truncated ? 100 : 0));
	write_all(c->fd, head, (size_t)n);
	write_all(c->fd, body, body_len);
	free(body);
	if (r->is_truncated || r->is_close_delimited)
		conn_close(c);
}

static void take_request(struct server *s, struct conn *c, int64_t now)
{
	char *end = strstr(c->in, "\r\n\r\n");
	size_t used;
	struct log_entry *e;
	char path[256] = "";
	size_t n;
	int index;

	if (!end)
		return;
	used = (size_t)(end - c->in) + 4;
	sscanf(c->in, "GET %255s", path);
	pthread_mutex_lock(&s->mu);
	index = s->nreq++;
	if (index < MAX_LOG) {
		e = &s->log[index];
		snprintf(e->path, sizeof(e->path), "%s", path);
		n = used < sizeof(e->head) ? used : sizeof(e->head) - 1;
		memcpy(e->head, c->in, n);
		e->head[n] = '\0';
		e->at_ms = now;
	}
	memset(&c->reply, 0, sizeof(c->reply));
	c->reply.status = 200;
	s->handler(s, index, path, &c->reply);
	s->active++;
	if (s->active > s->max_active)
		s->max_active = s->active;
	pthread_mutex_unlock(&s->mu);
	c->has_pending = 1;
	c->due_ms = now + c->reply.delay_ms;
	memmove(c->in, c->in + used, c->len - used);
	c->len -= used;
}

static void accept_conn(struct server *s)
{
	int fd = accept(s->lfd, NULL, NULL);
	int i, one = 1;

	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (i = 0; i < MAX_CONNS; i++) {
		if (s->conns[i].fd < 0) {
			s->conns[i].fd = fd;
			s->conns[i].len = 0;
			pthread_mutex_lock(&s->mu);
			s->naccepted++;
			pthread_mutex_unlock(&s->mu);
			return;
		}
	}
	close(fd);
}

static void read_conn(struct server *s, struct conn *c)
{
	ssize_t n = recv(c->fd, c->in + c->len, sizeof(c->in) - c->len - 1, 0);

	if (n <= 0) {
		if (c->has_pending) {
			pthread_mutex_lock(&s->mu);
			s->active--;
			pthread_mutex_unlock(&s->mu);
		}
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	c->in[c->len] = '\0';
	if (!c->has_pending)
		take_request(s, c, clock_mono_ms());
}

static int poll_timeout(struct server *s, int64_t now)
{
	int64_t t = 1000;
	int i;

	for (i = 0; i < MAX_CONNS; i++)
		if (s->conns[i].fd >= 0 && s->conns[i].has_pending &&
		    s->conns[i].due_ms - now < t)
			t = s->conns[i].due_ms - now;
	return t > 0 ? (int)t : 0;
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	struct pollfd pfd[2 + MAX_CONNS];
	int idx[2 + MAX_CONNS];
	int i, n;
	int64_t now;

	for (;;) {
		n = 0;
		pfd[n].fd = s->wake[0];
		pfd[n++].events = POLLIN;
		pfd[n].fd = s->lfd;
		pfd[n++].events = POLLIN;
		for (i = 0; i < MAX_CONNS; i++) {
			if (s->conns[i].fd < 0 || s->conns[i].has_pending)
				continue;
			idx[n] = i;
			pfd[n].fd = s->conns[i].fd;
			pfd[n++].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)n, poll_timeout(s, clock_mono_ms())) <
			0 &&
		    errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		if (pfd[1].revents & POLLIN)
			accept_conn(s);
		for (i = 2; i < n; i++)
			if (pfd[i].revents)
				read_conn(s, &s->conns[idx[i]]);
		now = clock_mono_ms();
		for (i = 0; i < MAX_CONNS; i++)
			if (s->conns[i].fd >= 0 && s->conns[i].has_pending &&
			    s->conns[i].due_ms <= now)
				send_reply(s, &s->conns[i]);
	}
	for (i = 0; i < MAX_CONNS; i++)
		conn_close(&s->conns[i]);
	return NULL;
}

static struct server *server_start(handler_fn handler, void *ctx)
{
	struct server *s = calloc(1, sizeof(*s));
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int i, one = 1;

	assert_non_null(s);
	s->handler = handler;
	s->ctx = ctx;
	for (i = 0; i < MAX_CONNS; i++)
		s->conns[i].fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	assert_int_equal(pipe(s->wake), 0);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 64), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	return s;
}

static void server_stop(struct server *s)
{
	assert_int_equal(write(s->wake[1], "x", 1), 1);
	pthread_join(s->thread, NULL);
	close(s->lfd);
	close(s->wake[0]);
	close(s->wake[1]);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static void url(char *out, size_t n, const struct server *s, const char *path)
{
	snprintf(out, n, "http://127.0.0.1:%d%s", s->port, path);
}

/* ---- a callback that records what it got ---- */

#define MAX_GOT 64

struct one {
	enum fetch_outcome outcome;
	long status;
	int attempts;
	enum err_kind kind;
	char body[64];
	char msg[256];
};

struct got {
	struct fetch *f;
	int n;
	struct one r[MAX_GOT];
	int is_retry_on_brace; /* answer FETCH_RETRY to the body "{" */
	int stop_after;	       /* fetch_stop() after this many results */
	int chain_left;	       /* submit another request per result */
	char chain_url[128];
};

static enum fetch_verdict on_result(void *ud, const struct fetch_result *res)
{
	struct got *g = ud;
	struct one *o;

	assert_non_null(res->body);
	assert_int_equal(res->body[res->body_len], '\0');
	if (res->outcome == FETCH_OK && g->is_retry_on_brace &&
	    !strcmp(res->body, "{"))
		return FETCH_RETRY;
	assert_true(g->n < MAX_GOT);
	o = &g->r[g->n++];
	o->outcome = res->outcome;
	o->status = res->status;
	o->attempts = res->attempts;
	o->kind = res->err.kind;
	snprintf(o->body, sizeof(o->body), "%s", res->body);
	snprintf(o->msg, sizeof(o->msg), "%s", res->err.msg);
	if (res->outcome == FETCH_OK)
		assert_int_equal(res->err.kind, ERR_NONE);
	else
		assert_true(res->err.kind != ERR_NONE);
	if (g->stop_after && g->n == g->stop_after)
		fetch_stop(g->f);
	if (g->chain_left > 0) {
		g->chain_left--;
		fetch_submit(g->f, g->chain_url, on_result, g);
	}
	return FETCH_ACCEPT;
}

static const char *const RETRY_AFTER[] = {"X-RateLimit-Retry-After",
					  "Retry-After", NULL};
static const char *const SECRETS[] = {"api_key", NULL};
static const char *const AUTH[] = {"Authorization: Bearer TOKEN123", NULL};

static struct fetch_options fast_opts(void)
{
	struct fetch_options o = FETCH_OPTIONS_INIT;

	o.rate_per_sec = 1000;
	o.burst = 1000;
	o.max_attempts = 4;
	o.backoff_base_ms = 5;
	o.backoff_max_ms = 40;
	o.timeout_ms = 3000;
	o.connect_timeout_ms = 1000;
	o.seed = 1;
	o.headers = AUTH;
	o.retry_after_headers = RETRY_AFTER;
	o.secret_params = SECRETS;
	return o;
}

/* Runs n GETs of path against s; returns the elapsed milliseconds. */
static int64_t run_gets(const struct fetch_options *o, struct server *s,
			const char *path, int n, struct got *g,
			struct fetch_stats *stats)
{
	struct err e = ERR_INIT;
	char u[128];
	int64_t t0;
	int i;

	g->f = fetch_new(o, &e);
	assert_non_null(g->f);
	url(u, sizeof(u), s, path);
	for (i = 0; i < n; i++)
		assert_int_equal(fetch_submit(g->f, u, on_result, g), 0);
	t0 = clock_mono_ms();
	assert_int_equal(fetch_run(g->f, &e), 0);
	t0 = clock_mono_ms() - t0;
	if (stats)
		fetch_get_stats(g->f, stats);
	return t0;
}

static void done_gets(struct got *g)
{
	fetch_free(g->f);
	g->f = NULL;
}

/* ---- handlers ---- */

static void h_hello(struct server *s, int i, const char *path, struct reply *r)
{
	(void)s;
	(void)i;
	(void)path;
	snprintf(r->body, sizeof(r->body), "{\"hello\":1}");
}

static void h_429_then_ok(struct server *s, int i, const char *path,
			  struct reply *r)
{
	(void)s;
	(void)path;
	if (i == 0) {
		r->status = 429;
		snprintf(r->headers, sizeof(r->headers),
			 "X-RateLimit-Retry-After: 1\r\n");
		return;
	}
	snprintf(r->body, sizeof(r->body), "ok%d", i);
}

static void h_500_500_ok(struct server *s, int i, const char *path,
			 struct reply *r)
{
	(void)s;
	(void)path;
	r->status = i < 2 ? 500 : 200;
	snprintf(r->body, sizeof(r->body), "b%d", i);
}

static void h_brace_then_ok(struct server *s, int i, const char *path,
			    struct reply *r)
{
	(void)s;
	(void)path;
	snprintf(r->body, sizeof(r->body), "%s", i == 0 ? "{" : "{}");
}

static void h_always_brace(struct server *s, int i, const char *path,
			   struct reply *r)
{
	(void)s;
	(void)i;
	(void)path;
	snprintf(r->body, sizeof(r->body), "{");
}

static void h_truncated_then_ok(struct server *s, int i, const char *path,
				struct reply *r)
{
	(void)s;
	(void)path;
	snprintf(r->body, sizeof(r->body), "{\"data\":[");
	if (i == 0)
		r->is_truncated = 1;
	else
		snprintf(r->body, sizeof(r->body), "{\"data\":[]}");
}

static void h_drop_then_ok(struct server *s, int i, const char *path,
			   struct reply *r)
{
	(void)s;
	(void)path;
	r->status = i == 0 ? 0 : 200;
	snprintf(r->body, sizeof(r->body), "fine");
}

/* A web site where the API should be: /bom gets a BOM and blanks first,
 * /ct a body that is no tag but a text/html Content-Type, /404 a not-found
 * page (still an HTTP error, not a web page verdict), /xml an XML error
 * with 200 (ActiveCampaign v1's refused key: the source reads it). */
static void h_html(struct server *s, int i, const char *path, struct reply *r)
{
	(void)s;
	(void)i;
	r->status = !strcmp(path, "/404") ? 404 : 200;
	if (!strcmp(path, "/xml")) {
		snprintf(r->body, sizeof(r->body),
			 "<?xml version='1.0'?><not_allowed/>");
		return;
	}
	if (!strcmp(path, "/ct"))
		snprintf(r->headers, sizeof(r->headers),
			 "Content-Type: text/html; charset=utf-8\r\n");
	snprintf(r->body, sizeof(r->body), "%s<!DOCTYPE html><html></html>",
		 !strcmp(path, "/bom")	? "\xef\xbb\xbf \r\n "
		 : !strcmp(path, "/ct") ? "Welcome "
					: "");
}

/* Status from the path: /status/NNN */
static void h_status(struct server *s, int i, const char *path, struct reply *r)
{
	(void)s;
	(void)i;
	r->status = (int)strtol(path + strlen("/status/"), NULL, 10);
	snprintf(r->body, sizeof(r->body), "{\"status\":%d}", r->status);
}

static void h_403_403_ok(struct server *s, int i, const char *path,
			 struct reply *r)
{
	(void)s;
	(void)path;
	r->status = i < 2 ? 403 : 200;
}

static void h_503_throttle(struct server *s, int i, const char *path,
			   struct reply *r)
{
	(void)s;
	(void)path;
	if (i == 0) {
		r->status = 503;
		snprintf(r->headers, sizeof(r->headers), "Retry-After: 0\r\n");
	}
}

static void h_big(struct server *s, int i, const char *path, struct reply *r)
{
	(void)s;
	(void)i;
	r->fill_bytes = 5000;
	r->is_close_delimited = !strcmp(path, "/close");
}

static void h_slow(struct server *s, int i, const char *path, struct reply *r)
{
	(void)s;
	(void)i;
	(void)path;
	r->delay_ms = 1500;
}

static void h_latency_100(struct server *s, int i, const char *path,
			  struct reply *r)
{
	(void)s;
	(void)i;
	(void)path;
	r->delay_ms = 100;
}

/* ActiveCampaign-like: slow, and its bucket is always just emptied. */
static void h_latency_300(struct server *s, int i, const char *path,
			  struct reply *r)
{
	(void)s;
	(void)i;
	(void)path;
	r->delay_ms = 300;
	snprintf(r->headers, sizeof(r->headers), "RateLimit-Remaining: 0\r\n");
}

/* The first answer says the server's bucket is empty. */
static void h_remaining(struct server *s, int i, const char *path,
			struct reply *r)
{
	int *first = s->ctx;

	(void)path;
	snprintf(r->headers, sizeof(r->headers),
		 "X-RateLimiting-Remaining: %d\r\n", i == 0 ? *first : 100);
}

/* ---- tests ---- */

static void test_ok_with_headers(void **state)
{
	struct server *s = server_start(h_hello, NULL);
	struct got g = {0};
	struct fetch_stats st;

	struct fetch_options o = fast_opts();

	(void)state;
	run_gets(&o, s, "/a", 1, &g, &st);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].outcome, FETCH_OK);
	assert_int_equal(g.r[0].status, 200);
	assert_int_equal(g.r[0].attempts, 1);
	assert_string_equal(g.r[0].body, "{\"hello\":1}");
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.retries, 0);
	assert_int_equal(st.bytes, 11);
	assert_int_equal(fetch_is_cut_short(g.f), 0);
	assert_non_null(strstr(s->log[0].head, "Accept: application/json\r\n"));
	assert_non_null(strstr(s->log[0].head, "User-Agent: espsync/0.1\r\n"));
	assert_non_null(
	    strstr(s->log[0].head, "Authorization: Bearer TOKEN123\r\n"));
	done_gets(&g);
	server_stop(s);
}

static void test_429_waits_retry_after_and_pauses_all(void **state)
{
	struct server *s = server_start(h_429_then_ok, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};
	struct fetch_stats st;
	int64_t ms;
	int i;

	(void)state;
	o.max_inflight = 1;
	ms = run_gets(&o, s, "/x", 3, &g, &st);
	assert_int_equal(g.n, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(g.r[i].outcome, FETCH_OK);
	assert_true(ms >= 950);
	assert_true(ms < 3000);
	assert_int_equal(st.throttled, 1);
	assert_int_equal(st.requests, 4);
	assert_int_equal(st.retries, 1);
	/* nothing at all went out during the wait */
	assert_int_equal(s->nreq, 4);
	for (i = 1; i < 4; i++)
		assert_true(s->log[i].at_ms - s->log[0].at_ms >= 950);
	done_gets(&g);
	server_stop(s);
}

static void test_5xx_retried_then_ok(void **state)
{
	struct server *s = server_start(h_500_500_ok, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};
	struct fetch_stats st;

	(void)state;
	run_gets(&o, s, "/x", 1, &g, &st);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].outcome, FETCH_OK);
	assert_string_equal(g.r[0].body, "b2");
	assert_int_equal(g.r[0].attempts, 3);
	assert_int_equal(st.requests, 3);
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.throttled, 0);
	assert_int_equal(st.failures, 0);
	done_gets(&g);
	server_stop(s);
}

static void test_5xx_retries_bounded(void **state)
{
	struct server *s = server_start(h_status, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};
	struct fetch_stats st;

	(void)state;
	o.max_attempts = 3;
	run_gets(&o, s, "/status/502", 1, &g, &st);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].outcome, FETCH_HTTP_ERROR);
	assert_int_equal(g.r[0].status, 502);
	assert_int_equal(g.r[0].kind, ERR_HTTP);
	assert_int_equal(g.r[0].attempts, 3);
	assert_non_null(strstr(g.r[0].msg, "HTTP 502"));
	assert_int_equal(st.requests, 3);
	assert_int_equal(st.failures, 1);
	done_gets(&g);
	server_stop(s);
}

static void test_unusable_body_retried(void **state)
{
	struct server *s = server_start(h_brace_then_ok, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};

	(void)state;
	g.is_retry_on_brace = 1;
	run_gets(&o, s, "/x", 1, &g, NULL);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].outcome, FETCH_OK);
	assert_string_equal(g.r[0].body, "{}");
	assert_int_equal(g.r[0].attempts, 2);
	done_gets(&g);
	server_stop(s);
}

static void test_unusable_body_gives_up(void **state)
{
	struct server *s = server_start(h_always_brace, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};

	(void)state;
	o.max_attempts = 3;
	g.is_retry_on_brace = 1;
	run_gets(&o, s, "/x", 1, &g, NULL);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].outcome, FETCH_FAILED);
	assert_int_equal(g.r[0].kind, ERR_PARSE);
	assert_int_equal(g.r[0].attempts, 3);
	assert_int_equal(s->nreq, 3);
	done_gets(&g);
	server_stop(s);
}

static void test_truncated_body_retried(void **state)
{
	struct server *s = server_start(h_truncated_then_ok, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};

	(void)state;
	run_gets(&o, s, "/x", 1, &g, NULL);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].outcome, FETCH_OK);
	assert_string_equal(g.r[0].body, "{\"data\":[]}");
	assert_int_equal(g.r[0].attempts, 2);
	done_gets(&g);
	server_stop(s);
}

static void test_dropped_connection_retried(void **state)
{
	struct server *s = server_start(h_drop_then_ok, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};

	(void)state;
	run_gets(&o, s, "/x", 1, &g, NULL);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].outcome, FETCH_OK);
	assert_string_equal(g.r[0].body, "fine");
	assert_int_equal(g.r[0].attempts, 2);
	done_gets(&g);
	server_stop(s);
}

/* Client errors are final at once, with the kind the exit code needs. */
static void test_4xx_final(void **state)
{
	static const struct {
		const char *path;
		long status;
		enum err_kind kind;
	} cases[] = {
	    {"/status/400", 400, ERR_HTTP},	 {"/status/401", 401, ERR_AUTH},
	    {"/status/402", 402, ERR_INACTIVE},	 {"/status/403", 403, ERR_AUTH},
	    {"/status/404", 404, ERR_NOT_FOUND}, {"/status/422", 422, ERR_HTTP},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct server *s = server_start(h_status, NULL);
		struct fetch_options o = fast_opts();
		struct got g = {0};

		o.retry_403_attempts = 0;
		run_gets(&o, s, cases[i].path, 1, &g, NULL);
		assert_int_equal(g.n, 1);
		assert_int_equal(g.r[0].outcome, FETCH_HTTP_ERROR);
		assert_int_equal(g.r[0].status, cases[i].status);
		assert_int_equal(g.r[0].kind, cases[i].kind);
		assert_int_equal(g.r[0].attempts, 1);
		assert_int_equal(s->nreq, 1);
		/* the error body is still handed over */
		assert_non_null(strstr(g.r[0].body, "\"status\""));
		done_gets(&g);
		server_stop(s);
	}
}

static void test_403_retried_a_few_times(void **state)
{
	struct server *s = server_start(h_403_403_ok, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};

	(void)state;
	o.retry_403_attempts = 2;
	run_gets(&o, s, "/x", 1, &g, NULL);
	assert_int_equal(g.r[0].outcome, FETCH_OK);
	assert_int_equal(g.r[0].attempts, 3);
	done_gets(&g);
	server_stop(s);

	s = server_start(h_403_403_ok, NULL);
	memset(&g, 0, sizeof(g));
	o.retry_403_attempts = 1;
	run_gets(&o, s, "/x", 1, &g, NULL);
	assert_int_equal(g.r[0].outcome, FETCH_HTTP_ERROR);
	assert_int_equal(g.r[0].kind, ERR_AUTH);
	assert_int_equal(g.r[0].attempts, 2);
	done_gets(&g);
	server_stop(s);
}

static void test_503_as_throttle(void **state)
{
	struct server *s = server_start(h_503_throttle, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};
	struct fetch_stats st;

	(void)state;
	o.is_503_throttle = 1;
	run_gets(&o, s, "/x", 1, &g, &st);
	assert_int_equal(g.r[0].outcome, FETCH_OK);
	assert_int_equal(st.throttled, 1);
	assert_int_equal(st.retries, 1);
	done_gets(&g);
	server_stop(s);
}

static void test_body_over_cap_not_retried(void **state)
{
	static const char *const paths[] = {"/length", "/close"};
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct server *s = server_start(h_big, NULL);
		struct fetch_options o = fast_opts();
		struct got g = {0};

		o.max_body_bytes = 1000;
		run_gets(&o, s, paths[i], 1, &g, NULL);
		assert_int_equal(g.n, 1);
		assert_int_equal(g.r[0].outcome, FETCH_FAILED);
		assert_int_equal(g.r[0].kind, ERR_PARSE);
		assert_int_equal(g.r[0].attempts, 1);
		assert_non_null(strstr(g.r[0].msg, "1000 bytes"));
		done_gets(&g);
		server_stop(s);
	}
}

static void test_connect_refused(void **state)
{
	struct fetch_options o = fast_opts();
	struct server fake;
	struct got g = {0};
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &alen);
	close(fd); /* nobody listens there now */
	fake.port = ntohs(a.sin_port);
	o.max_attempts = 2;
	run_gets(&o, &fake, "/x?api_key=SECRET", 1, &g, NULL);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].outcome, FETCH_FAILED);
	assert_int_equal(g.r[0].kind, ERR_NET);
	assert_int_equal(g.r[0].attempts, 2);
	assert_null(strstr(g.r[0].msg, "SECRET"));
	assert_non_null(strstr(g.r[0].msg, "api_key=***"));
	done_gets(&g);
}

/* A 2xx web page is a wrong API URL: one request, no retry, ERR_CONFIG
 * naming the cause (issue 10). */
static void test_html_page_not_retried(void **state)
{
	static const char *const paths[] = {"/x", "/bom", "/ct"};
	struct server *s = server_start(h_html, NULL);
	struct fetch_options o = fast_opts();
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct got g = {0};

		s->nreq = 0;
		run_gets(&o, s, paths[i], 1, &g, NULL);
		assert_int_equal(g.n, 1);
		assert_int_equal(g.r[0].outcome, FETCH_FAILED);
		assert_int_equal(g.r[0].kind, ERR_CONFIG);
		assert_int_equal(g.r[0].attempts, 1);
		assert_int_equal(s->nreq, 1);
		assert_non_null(strstr(g.r[0].msg, "answered HTML, not JSON: "
						   "is the API URL right?"));
		done_gets(&g);
	}
	{
		struct got g = {0};

		run_gets(&o, s, "/404", 1, &g, NULL);
		assert_int_equal(g.r[0].outcome, FETCH_HTTP_ERROR);
		assert_int_equal(g.r[0].kind, ERR_NOT_FOUND);
		done_gets(&g);
	}
	{
		struct got g = {0};

		run_gets(&o, s, "/xml", 1, &g, NULL);
		assert_int_equal(g.r[0].outcome, FETCH_OK);
		assert_string_equal(g.r[0].body,
				    "<?xml version='1.0'?><not_allowed/>");
		done_gets(&g);
	}
	server_stop(s);
}

/* Nobody listens and nothing has answered yet: with the real backoff (8
 * attempts, up to 30 s apart) the request fails within 10 s, not after a
 * minute and a half of retries (issue 10). */
static void test_connect_refused_first_request_fast(void **state)
{
	struct fetch_options o = fast_opts();
	struct server fake;
	struct got g = {0};
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int64_t ms;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &alen);
	close(fd);
	fake.port = ntohs(a.sin_port);
	o.max_attempts = 8;
	o.backoff_base_ms = 1000;
	o.backoff_max_ms = 30000;
	ms = run_gets(&o, &fake, "/x", 1, &g, NULL);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].outcome, FETCH_FAILED);
	assert_int_equal(g.r[0].kind, ERR_NET);
	assert_true(g.r[0].attempts >= 2);
	assert_true(ms < 10000);
	done_gets(&g);
}

static void test_timeout(void **state)
{
	struct server *s = server_start(h_slow, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};
	int64_t ms;

	(void)state;
	o.timeout_ms = 200;
	o.max_attempts = 1;
	ms = run_gets(&o, s, "/x", 1, &g, NULL);
	assert_int_equal(g.r[0].outcome, FETCH_FAILED);
	assert_int_equal(g.r[0].kind, ERR_NET);
	assert_true(ms < 1000);
	done_gets(&g);
	server_stop(s);
}

/* 5/s without burst and a deadline 500 ms away: about three requests go
 * out, the rest are cancelled, and fetch_run returns in time. */
static void test_deadline_cancels_queued(void **state)
{
	struct server *s = server_start(h_hello, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};
	int64_t ms;
	int i, ok = 0, cancelled = 0;

	(void)state;
	o.rate_per_sec = 5;
	o.burst = 1;
	o.deadline_mono_ms = clock_mono_ms() + 500;
	ms = run_gets(&o, s, "/x", 20, &g, NULL);
	assert_int_equal(g.n, 20);
	for (i = 0; i < 20; i++) {
		ok += g.r[i].outcome == FETCH_OK;
		if (g.r[i].outcome == FETCH_CANCELLED) {
			cancelled++;
			assert_int_equal(g.r[i].kind, ERR_PARTIAL);
		}
	}
	assert_in_range(ok, 2, 4);
	assert_int_equal(ok + cancelled, 20);
	assert_true(ms < 900);
	assert_int_equal(fetch_is_cut_short(g.f), 1);
	assert_int_equal(fetch_is_deadline_near(g.f), 1);
	done_gets(&g);
	server_stop(s);
}

/* A request in flight at the deadline finishes normally. */
static void test_deadline_lets_inflight_finish(void **state)
{
	struct server *s = server_start(h_latency_300, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};

	(void)state;
	o.max_inflight = 1;
	o.deadline_mono_ms = clock_mono_ms() + 100;
	run_gets(&o, s, "/x", 2, &g, NULL);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].outcome, FETCH_OK);
	assert_int_equal(g.r[1].outcome, FETCH_CANCELLED);
	assert_int_equal(s->nreq, 1);
	assert_int_equal(fetch_is_cut_short(g.f), 1);
	done_gets(&g);
	server_stop(s);
}

static void test_stop_from_callback(void **state)
{
	struct server *s = server_start(h_hello, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};
	int i;

	(void)state;
	o.max_inflight = 1;
	g.stop_after = 1;
	run_gets(&o, s, "/x", 5, &g, NULL);
	assert_int_equal(g.n, 5);
	assert_int_equal(g.r[0].outcome, FETCH_OK);
	for (i = 1; i < 5; i++)
		assert_int_equal(g.r[i].outcome, FETCH_CANCELLED);
	assert_int_equal(s->nreq, 1);
	assert_int_equal(fetch_is_cut_short(g.f), 0);
	done_gets(&g);
	server_stop(s);
}

/* 30 requests at 20/s with a burst of 5: 25 wait for tokens, >= 1.25 s. */
static void test_pacing(void **state)
{
	struct server *s = server_start(h_hello, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};
	int64_t ms;
	int i, j;

	(void)state;
	o.rate_per_sec = 20;
	o.burst = 5;
	ms = run_gets(&o, s, "/x", 30, &g, NULL);
	assert_int_equal(g.n, 30);
	assert_true(ms >= 1200);
	assert_true(ms < 2500);
	/* the server never saw more than burst + rate x window */
	for (i = 0; i < 30; i++) {
		int n = 0;
		for (j = i; j < 30; j++)
			n += s->log[j].at_ms - s->log[i].at_ms < 500;
		assert_true(n <= 5 + 10 + 1);
	}
	done_gets(&g);
	server_stop(s);
}

/* Room for more work: a fetch with nothing queued has it, one with a
 * request waiting to start or stopped has none. */
static void test_has_room(void **state)
{
	struct fetch_options o = fast_opts();
	struct err e = ERR_INIT;
	struct got g = {0};
	struct fetch *f;

	(void)state;
	f = fetch_new(&o, &e);
	assert_non_null(f);
	assert_int_equal(fetch_has_room(f), 1);
	assert_int_equal(fetch_submit(f, "http://127.0.0.1:9/x", on_result, &g),
			 0);
	assert_int_equal(fetch_has_room(f), 0);
	fetch_free(f);
	f = fetch_new(&o, &e);
	assert_non_null(f);
	fetch_stop(f);
	assert_int_equal(fetch_has_room(f), 0);
	fetch_free(f);
}

/* Requests start at the bucket's pace, not one after another: 16 requests
 * with 100 ms latency and 4 in flight take about 400 ms, over at most 4
 * kept-alive connections. */
static void test_concurrency_and_keepalive(void **state)
{
	struct server *s = server_start(h_latency_100, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};
	int64_t ms;

	(void)state;
	o.max_inflight = 4;
	ms = run_gets(&o, s, "/x", 16, &g, NULL);
	assert_int_equal(g.n, 16);
	assert_true(ms >= 390);
	assert_true(ms < 1500);
	assert_int_equal(s->max_active, 4);
	assert_true(s->naccepted <= 4);
	done_gets(&g);
	server_stop(s);
}

/* The reachable rate with latency: 5/s without burst and 300 ms latency
 * (more than one request in flight is needed), paced 3% under the ceiling;
 * a server reporting an empty bucket after each request changes nothing. */
static void test_rate_reached_with_latency(void **state)
{
	struct server *s = server_start(h_latency_300, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};
	int64_t span;

	(void)state;
	o.rate_per_sec = 5;
	o.burst = 1;
	o.remaining_header = "RateLimit-Remaining";
	run_gets(&o, s, "/x", 8, &g, NULL);
	assert_int_equal(s->nreq, 8);
	/* 7 gaps of 206 ms between sends, at the server */
	span = s->log[7].at_ms - s->log[0].at_ms;
	assert_in_range(span, 1430, 1700);
	done_gets(&g);
	server_stop(s);
}

/* The server says its bucket is empty: the local one follows. */
static void test_remaining_header_resyncs(void **state)
{
	int first = 0;
	struct server *s = server_start(h_remaining, &first);
	struct fetch_options o = fast_opts();
	struct got g = {0};
	int64_t ms;

	(void)state;
	o.rate_per_sec = 10;
	o.burst = 100;
	o.remaining_header = "X-RateLimiting-Remaining";
	ms = run_gets(&o, s, "/x", 5, &g, NULL);
	assert_int_equal(g.n, 5);
	/* the remaining 4 came at 10/s */
	assert_true(ms >= 350);
	assert_true(s->log[1].at_ms - s->log[0].at_ms >= 80);
	done_gets(&g);
	server_stop(s);

	first = 99; /* a full server bucket changes nothing */
	s = server_start(h_remaining, &first);
	memset(&g, 0, sizeof(g));
	ms = run_gets(&o, s, "/x", 5, &g, NULL);
	assert_int_equal(g.n, 5);
	assert_true(ms < 400);
	done_gets(&g);
	server_stop(s);
}

/* A callback may submit the next page of its stream. */
static void test_callback_submits_more(void **state)
{
	struct server *s = server_start(h_hello, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};
	int i;

	(void)state;
	g.chain_left = 9;
	url(g.chain_url, sizeof(g.chain_url), s, "/next");
	run_gets(&o, s, "/first", 1, &g, NULL);
	assert_int_equal(g.n, 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(g.r[i].outcome, FETCH_OK);
	assert_string_equal(s->log[9].path, "/next");
	done_gets(&g);
	server_stop(s);
}

static void test_redact_url(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"https://h/p?api_key=abc&limit=10",
	     "https://h/p?api_key=***&limit=10"},
	    {"https://h/p?limit=10&API_KEY=abc#top",
	     "https://h/p?limit=10&API_KEY=***#top"},
	    {"https://u:pw@h/p?x=1", "https://***@h/p?x=1"},
	    {"https://h/p?api_key", "https://h/p?api_key"},
	    {"https://h/p?my_api_key=1&api_key=",
	     "https://h/p?my_api_key=1&api_key=***"},
	    {"https://h/a@b", "https://h/a@b"},
	    {"/relative?api_key=zz", "/relative?api_key=***"},
	};
	struct fetch_options o = fast_opts();
	struct err e = ERR_INIT;
	struct fetch *f = fetch_new(&o, &e);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = fetch_redact_url(f, cases[i].in);
		assert_string_equal(got, cases[i].out);
		free(got);
	}
	fetch_free(f);
}

/* Debug logging names every request, and never a secret. */
static void test_log_has_no_secrets(void **state)
{
	struct server *s = server_start(h_500_500_ok, NULL);
	struct fetch_options o = fast_opts();
	struct got g = {0};
	char text[8192];
	size_t n;
	FILE *tmp = tmpfile();
	int saved = dup(2);

	(void)state;
	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	log_set_level(LOG_DEBUG);
	run_gets(&o, s, "/x?api_key=SECRET42&limit=1", 1, &g, NULL);
	log_set_level(LOG_INFO);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(text, 1, sizeof(text) - 1, tmp);
	text[n] = '\0';
	fclose(tmp);
	assert_int_equal(g.r[0].outcome, FETCH_OK);
	assert_non_null(strstr(text, "api_key=***"));
	assert_null(strstr(text, "SECRET42"));
	assert_null(strstr(text, "TOKEN123"));
	done_gets(&g);
	server_stop(s);
}

static void test_bad_options(void **state)
{
	struct fetch_options o = fast_opts();
	struct err e = ERR_INIT;

	(void)state;
	o.rate_per_sec = 0;
	assert_null(fetch_new(&o, &e));
	assert_int_equal(e.kind, ERR_CONFIG);
}

static void test_nothing_to_do(void **state)
{
	struct fetch_options o = fast_opts();
	struct err e = ERR_INIT;
	struct fetch *f = fetch_new(&o, &e);

	(void)state;
	assert_non_null(f);
	assert_int_equal(fetch_run(f, &e), 0);
	assert_int_equal(fetch_is_cut_short(f), 0);
	assert_int_equal(fetch_is_deadline_near(f), 0);
	fetch_free(f);
	fetch_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ok_with_headers),
	    cmocka_unit_test(test_429_waits_retry_after_and_pauses_all),
	    cmocka_unit_test(test_5xx_retried_then_ok),
	    cmocka_unit_test(test_5xx_retries_bounded),
	    cmocka_unit_test(test_unusable_body_retried),
	    cmocka_unit_test(test_unusable_body_gives_up),
	    cmocka_unit_test(test_truncated_body_retried),
	    cmocka_unit_test(test_dropped_connection_retried),
	    cmocka_unit_test(test_4xx_final),
	    cmocka_unit_test(test_403_retried_a_few_times),
	    cmocka_unit_test(test_503_as_throttle),
	    cmocka_unit_test(test_body_over_cap_not_retried),
	    cmocka_unit_test(test_connect_refused),
	    cmocka_unit_test(test_html_page_not_retried),
	    cmocka_unit_test(test_connect_refused_first_request_fast),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_deadline_cancels_queued),
	    cmocka_unit_test(test_deadline_lets_inflight_finish),
	    cmocka_unit_test(test_stop_from_callback),
	    cmocka_unit_test(test_pacing),
	    cmocka_unit_test(test_concurrency_and_keepalive),
	    cmocka_unit_test(test_has_room),
	    cmocka_unit_test(test_rate_reached_with_latency),
	    cmocka_unit_test(test_remaining_header_resyncs),
	    cmocka_unit_test(test_callback_submits_more),
	    cmocka_unit_test(test_redact_url),
	    cmocka_unit_test(test_log_has_no_secrets),
	    cmocka_unit_test(test_bad_options),
	    cmocka_unit_test(test_nothing_to_do),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Thin non-blocking wrapper over a libcurl multi handle: GETs with header
 * lines, timeouts and a body cap, captured response headers, and libcurl's
 * error codes folded into the few classes a retry policy needs. */
#include "net/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_CAPTURE 8
#define MAX_HEADER_VALUE 512

enum xfer_state { XFER_RUNNING, XFER_DONE_QUEUED, XFER_DONE_TAKEN };

struct http_xfer {
	struct http *h;
	CURL *easy;
	struct curl_slist *headers;
	struct buf body;
	const char *const *capture;
	char *values[MAX_CAPTURE];
	size_t ncapture;
	long status;
	int is_too_large;
	enum http_net_err net_err;
	enum xfer_state state;
	char errbuf[CURL_ERROR_SIZE];
	void *userdata;
	struct http_xfer *prev, *next; /* every transfer of h */
	struct http_xfer *next_done;   /* finished, not yet taken */
};

struct http {
	CURLM *multi;
	struct http_xfer *all;
	struct http_xfer *done_head, *done_tail;
	int running;
};

int http_new(struct http **out, int max_connections, struct err *err)
{
	struct http *h = NULL;
	int ret = -1;

	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		err_set(err, ERR_RUNTIME, 0, "cannot initialize libcurl");
		goto done;
	}
	h = xcalloc(1, sizeof(*h));
	h->multi = curl_multi_init();
	if (!h->multi) {
		curl_global_cleanup();
		free(h);
		h = NULL;
		err_set(err, ERR_RUNTIME, 0, "cannot create curl multi handle");
		goto done;
	}
	if (max_connections > 0) {
		curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
				  (long)max_connections);
		curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
				  (long)max_connections);
	}
	*out = h;
	ret = 0;
done:
	return ret;
}

static void unlink_done(struct http *h, struct http_xfer *x)
{
	struct http_xfer **pp = &h->done_head;
	struct http_xfer *prev = NULL;

	while (*pp && *pp != x) {
		prev = *pp;
		pp = &(*pp)->next_done;
	}
	if (!*pp)
		return;
	*pp = x->next_done;
	if (h->done_tail == x)
		h->done_tail = prev;
	x->next_done = NULL;
}

void http_xfer_free(struct http_xfer *x)
{
	struct http *h;
	size_t i;

	if (!x)
		return;
	h = x->h;
	if (x->state == XFER_RUNNING) {
		curl_multi_remove_handle(h->multi, x->easy);
		h->running--;
	} else if (x->state == XFER_DONE_QUEUED) {
		unlink_done(h, x);
		h->running--;
	}
	if (x->prev)
		x->prev->next = x->next;
	else
		h->all = x->next;
	if (x->next)
		x->next->prev = x->prev;
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	buf_release(&x->body);
	for (i = 0; i < MAX_CAPTURE; i++)
		free(x->values[i]);
	free(x);
}

void http_free(struct http *h)
{
	if (!h)
		return;
	while (h->all)
		http_xfer_free(h->all);
	curl_multi_cleanup(h->multi);
	curl_global_cleanup();
	free(h);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct http_xfer *x = ud;

	if (buf_append(&x->body, p, size * n) < 0) {
		x->is_too_large = 1;
		return 0; /* makes curl abort with CURLE_WRITE_ERROR */
	}
	return size * n;
}

static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && strchr(" \t\r\n", (*s)[*len - 1]))
		(*len)--;
}

/* Keeps the named headers of the final response: a new status line (after
 * 100 Continue or a proxy's CONNECT) forgets what came before. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct http_xfer *x = ud;
	size_t len = size * n, name_len, value_len, i;
	const char *colon, *name = p, *value;

	if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
		for (i = 0; i < MAX_CAPTURE; i++) {
			free(x->values[i]);
			x->values[i] = NULL;
		}
		return len;
	}
	colon = memchr(p, ':', len);
	if (!colon)
		return len;
	name_len = (size_t)(colon - p);
	trim(&name, &name_len);
	value = colon + 1;
	value_len = len - (size_t)(value - p);
	trim(&value, &value_len);
	if (value_len > MAX_HEADER_VALUE)
		value_len = MAX_HEADER_VALUE;
	for (i = 0; i < x->ncapture; i++) {
		if (strlen(x->capture[i]) != name_len ||
		    strncasecmp(x->capture[i], name, name_len))
			continue;
		free(x->values[i]);
		x->values[i] = xstrndup(value, value_len);
	}
	return len;
}

static int setup_easy(struct http_xfer *x, const struct http_get *req)
{
	CURL *e = x->easy;
	CURLcode c = CURLE_OK;
	size_t i;

	for (i = 0; req->headers && req->headers[i]; i++) {
		struct curl_slist *l =
		    curl_slist_append(x->headers, req->headers[i]);
		if (!l)
			return -1;
		x->headers = l;
	}
	c |= curl_easy_setopt(e, CURLOPT_URL, req->url);
	if (req->method) {
		c |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				      (curl_off_t)req->body_len);
		c |= curl_easy_setopt(e, CURLOPT_POSTFIELDS,
				      req->body ? req->body : "");
		c |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	} else {
		c |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	c |= curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)x);
	c |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	c |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	c |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	c |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	c |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	c |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	c |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	c |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	c |= curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)x);
	c |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	c |= curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)x);
	c |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
			      (curl_off_t)x->body.max);
	if (req->timeout_ms > 0)
		c |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	if (req->connect_timeout_ms > 0)
		c |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
				      req->connect_timeout_ms);
	return c == CURLE_OK ? 0 : -1;
}

int http_start(struct http_xfer **out, struct http *h,
	       const struct http_get *req, struct err *err)
{
	struct http_xfer *x = NULL;
	int ret = -1;

	*out = NULL;
	x = xcalloc(1, sizeof(*x));
	x->h = h;
	x->userdata = req->userdata;
	x->capture = req->capture;
	while (x->capture && x->capture[x->ncapture] &&
	       x->ncapture < MAX_CAPTURE)
		x->ncapture++;
	buf_init(&x->body, req->max_body_bytes);
	x->state = XFER_DONE_TAKEN; /* not in the multi handle yet */
	x->next = h->all;
	if (h->all)
		h->all->prev = x;
	h->all = x;
	x->easy = curl_easy_init();
	if (!x->easy) {
		err_set(err, ERR_RUNTIME, 0, "cannot create curl handle");
		goto done;
	}
	if (setup_easy(x, req) < 0) {
		err_set(err, ERR_RUNTIME, 0, "cannot set up request");
		goto done;
	}
	if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK) {
		err_set(err, ERR_RUNTIME, 0, "cannot start request");
		goto done;
	}
	x->state = XFER_RUNNING;
	h->running++;
	*out = x;
	ret = 0;
done:
	if (ret < 0)
		http_xfer_free(x);
	return ret;
}

static enum http_net_err classify(CURLcode c, int is_too_large)
{
	switch (c) {
	case CURLE_OK:
		return HTTP_NET_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_NET_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
		return HTTP_NET_CONNECT;
	case CURLE_FILESIZE_EXCEEDED:
		return HTTP_NET_TOO_LARGE;
	case CURLE_WRITE_ERROR:
		return is_too_large ? HTTP_NET_TOO_LARGE : HTTP_NET_OTHER;
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
		return HTTP_NET_PARTIAL;
	default:
		return HTTP_NET_OTHER;
	}
}

static void collect(struct http *h)
{
	CURLMsg *m;
	int left = 0;

	while ((m = curl_multi_info_read(h->multi, &left))) {
		struct http_xfer *x = NULL;
		char *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		x = (struct http_xfer *)(void *)priv;
		if (!x || x->state != XFER_RUNNING)
			continue;
		x->net_err = classify(m->data.result, x->is_too_large);
		if (x->net_err != HTTP_NET_OK && !x->errbuf[0])
			snprintf(x->errbuf, sizeof(x->errbuf), "%s",
				 curl_easy_strerror(m->data.result));
		if (x->net_err == HTTP_NET_TOO_LARGE)
			snprintf(x->errbuf, sizeof(x->errbuf),
				 "response body exceeds %zu bytes",
				 x->body.max);
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
		curl_multi_remove_handle(h->multi, x->easy);
		x->state = XFER_DONE_QUEUED;
		if (h->done_tail)
			h->done_tail->next_done = x;
		else
			h->done_head = x;
		h->done_tail = x;
	}
}

int http_poll(struct http *h, int timeout_ms, struct err *err)
{
	int still = 0, ret = -1;
	CURLMcode mc;

	mc = curl_multi_perform(h->multi, &still);
	if (mc != CURLM_OK)
		goto fail;
	collect(h);
	if (h->done_head || timeout_ms <= 0) {
		ret = 0;
		goto done;
	}
	mc = curl_multi_poll(h->multi, NULL, 0, timeout_ms, NULL);
	if (mc != CURLM_OK)
		goto fail;
	mc = curl_multi_perform(h->multi, &still);
	if (mc != CURLM_OK)
		goto fail;
	collect(h);
	ret = 0;
	goto done;
fail:
	err_set(err, ERR_RUNTIME, (int)mc, "http: %s", curl_multi_strerror(mc));
done:
	return ret;
}

struct http_xfer *http_next_done(struct http *h)
{
	struct http_xfer *x = h->done_head;

	if (!x)
		return NULL;
	h->done_head = x->next_done;
	if (!h->done_head)
		h->done_tail = NULL;
	x->next_done = NULL;
	x->state = XFER_DONE_TAKEN;
	h->running--;
	return x;
}

void *http_xfer_userdata(const struct http_xfer *x)
{
	return x->userdata;
}

long http_xfer_status(const struct http_xfer *x)
{
	return x->status;
}

enum http_net_err http_xfer_net_err(const struct http_xfer *x)
{
	return x->net_err;
}

const char *http_xfer_errmsg(const struct http_xfer *x)
{
	return x->errbuf;
}

const char *http_xfer_body(const struct http_xfer *x, size_t *len_out)
{
	if (len_out)
		*len_out = x->body.len;
	return buf_str(&x->body);
}

const char *http_xfer_header(const struct http_xfer *x, const char *name)
{
	size_t i;

	for (i = 0; i < x->ncapture; i++)
		if (!strcasecmp(x->capture[i], name))
			return x->values[i];
	return NULL;
}

int http_do(struct http_xfer **out, struct http *h, const struct http_get *req,
	    struct err *err)
{
	struct http_xfer *x = NULL, *d;

	*out = NULL;
	if (http_start(&x, h, req, err) < 0)
		return -1;
	for (;;) {
		if (http_poll(h, 1000, err) < 0) {
			http_xfer_free(x);
			return -1;
		}
		while ((d = http_next_done(h)) != NULL) {
			if (d == x) {
				*out = x;
				return 0;
			}
		}
	}
}

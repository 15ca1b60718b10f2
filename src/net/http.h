/* Non-blocking HTTP GETs over one libcurl multi handle (keep-alive, shared
 * connection cache). The only module that includes curl.h. A struct http owns
 * every transfer started on it until http_xfer_free(); a transfer owns its
 * body and captured header values. */
#ifndef ESPSYNC_HTTP_H
#define ESPSYNC_HTTP_H

#include <stddef.h>

#include "util/err.h"

struct http;
struct http_xfer;

/* Transport failures, coarse enough for a retry policy. */
enum http_net_err {
	HTTP_NET_OK = 0,
	HTTP_NET_TIMEOUT,   /* connect or whole-transfer timeout */
	HTTP_NET_CONNECT,   /* resolve/connect/TLS handshake failed */
	HTTP_NET_PARTIAL,   /* connection dropped, truncated or bad reply */
	HTTP_NET_TOO_LARGE, /* body exceeded max_body_bytes: aborted */
	HTTP_NET_OTHER,	    /* anything else (bad URL, TLS certificate, ...) */
};

struct http_get {
	const char *url;
	/* "Name: value" lines, NULL-terminated; copied by http_start. */
	const char *const *headers;
	/* Response header names to keep (case-insensitive), NULL-terminated;
	 * borrowed for the transfer's life. */
	const char *const *capture;
	long timeout_ms;	 /* whole transfer; 0: none */
	long connect_timeout_ms; /* 0: curl's default */
	size_t max_body_bytes;	 /* 0: BUF_DEFAULT_MAX */
	void *userdata;
	/* NULL: GET. Else the method ("POST", "PUT", ...) sending body_len
	 * bytes of body (borrowed for the transfer's life). */
	const char *method;
	const char *body;
	size_t body_len;
};

#define HTTP_GET_INIT                                                          \
	{                                                                      \
		NULL, NULL, NULL, 30000, 10000, 0, NULL, NULL, NULL, 0         \
	}

/* max_connections bounds the connection cache and the connections per host;
 * 0 leaves curl's defaults. */
int http_new(struct http **out, int max_connections, struct err *err);
/* Aborts and frees every transfer still owned by h. NULL is fine. */
void http_free(struct http *h);

/* Starts a GET; the transfer runs inside http_poll(). */
int http_start(struct http_xfer **out, struct http *h,
	       const struct http_get *req, struct err *err);
/* Moves transfers along, waiting at most timeout_ms for activity. Returns
 * at once when a finished transfer is waiting for http_next_done(). */
int http_poll(struct http *h, int timeout_ms, struct err *err);
/* A finished transfer, or NULL. The caller frees it with http_xfer_free. */
struct http_xfer *http_next_done(struct http *h);

void *http_xfer_userdata(const struct http_xfer *x);
/* Last HTTP status seen, 0 when no response line arrived. */
long http_xfer_status(const struct http_xfer *x);
enum http_net_err http_xfer_net_err(const struct http_xfer *x);
/* Library message for a network error ("" when none); names no URL. */
const char *http_xfer_errmsg(const struct http_xfer *x);
/* Body received so far; NUL-terminated, never NULL. */
const char *http_xfer_body(const struct http_xfer *x, size_t *len_out);
/* Value of a captured response header (last occurrence), or NULL. */
const char *http_xfer_header(const struct http_xfer *x, const char *name);
/* Aborts the transfer if still running. NULL is fine. */
void http_xfer_free(struct http_xfer *x);

/* Runs one request to its end on h (which must have no other transfer
 * running): *out is the finished transfer, freed by the caller. -1 only
 * when it could not be started or polled; a network error is in *out. */
int http_do(struct http_xfer **out, struct http *h, const struct http_get *req,
	    struct err *err);

#endif

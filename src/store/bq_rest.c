/* The BigQuery REST client: requests with a current token, retries with
 * backoff for what BigQuery says is worth retrying, one token refresh on
 * 401, errors mapped to one line; jobs under ids espsync makes (a repeated
 * insert answers 409 and the existing job is polled), uploads (multipart,
 * resumable in chunks above 5 MiB), queries with parameters, paged. */
#include "store/bq_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/clock.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MULTIPART_MAX (5 << 20)
#define CHUNK (8 << 20) /* a multiple of 256 KiB */
#define BOUNDARY "===============espsync7330845974216740156=="

static void sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0)
		;
}

void bq_resp_release(struct bq_resp *r)
{
	buf_release(&r->body);
	free(r->location);
	free(r->range);
	r->location = r->range = NULL;
	r->status = 0;
}

void bq_error_parse(const char *body, size_t len, char *reason,
		    size_t reason_size, char *msg, size_t msg_size)
{
	struct json_doc *doc = NULL;
	const struct json *e, *first;
	const char *r = NULL, *m = NULL;

	if (json_parse(&doc, body, len, NULL) == 0) {
		e = json_get(json_root(doc), "error");
		first = json_at(json_get(e, "errors"), 0);
		r = json_str(json_get(first, "reason"));
		m = json_str(json_get(e, "message"));
		if (!m)
			m = json_str(json_get(first, "message"));
		if (!r)
			r = json_str(json_get(e, "status"));
	}
	snprintf(reason, reason_size, "%s", r ? r : "");
	snprintf(msg, msg_size, "%s", m ? m : "");
	json_doc_free(doc);
}

int bq_is_retryable(long status, const char *reason)
{
	if (status >= 500 || status == 429 || status == 408)
		return 1;
	return reason && (!strcmp(reason, "rateLimitExceeded") ||
			  !strcmp(reason, "backendError") ||
			  !strcmp(reason, "internalError"));
}

int bq_job_is_retryable(const char *reason, const char *message)
{
	static const char *const reasons[] = {"jobBackendError",
					      "jobInternalError",
					      "jobRateLimitExceeded",
					      "backendError",
					      "internalError",
					      "rateLimitExceeded",
					      NULL};
	size_t i;

	for (i = 0; reason && reasons[i]; i++)
		if (!strcmp(reason, reasons[i]))
			return 1;
	return message &&
	       (strstr(message, "Could not serialize access") ||
		strstr(message, "Transaction is aborted due to concurrent"));
}

int bq_fail(struct bq_client *c, const struct bq_resp *r, const char *what,
	    struct err *err)
{
	char reason[64], msg[160];

	bq_error_parse(r->body.data ? r->body.data : "", r->body.len, reason,
		       sizeof(reason), msg, sizeof(msg));
	/* what to do before BigQuery's message: a long one is cut at the end */
	if (r->status == 404)
		return err_set(err, ERR_STORE, 404,
			       "cannot %s bigquery store '%s': not found "
			       "(check the project and dataset): %s",
			       what, c->safe, msg[0] ? msg : "(no message)");
	if (r->status == 403 && (!strcmp(reason, "accessDenied") ||
				 !strcmp(reason, "billingNotEnabled") ||
				 !strcmp(reason, "blocked")))
		return err_set(err, ERR_STORE, 403,
			       "cannot %s bigquery store '%s': %s (the "
			       "account needs BigQuery Data Editor on the "
			       "dataset and BigQuery Job User on the "
			       "project): %s",
			       what, c->safe, reason, msg);
	if (r->status == 401)
		return err_set(err, ERR_STORE, 401,
			       "cannot %s bigquery store '%s': the credentials "
			       "'%s' were refused (HTTP 401) after a token "
			       "refresh",
			       what, c->safe, c->cred.source);
	return err_set(err, ERR_STORE, (int)r->status,
		       "cannot %s bigquery store '%s': HTTP %ld%s%s: %s", what,
		       c->safe, r->status, reason[0] ? " " : "", reason,
		       msg[0] ? msg : "(no message)");
}

static int ensure_token(struct bq_client *c, int is_forced, struct err *err)
{
	if (!is_forced && c->cred.token &&
	    clock_wall_s() < c->cred.expires_at - BQ_REFRESH_EARLY_S)
		return 0;
	c->requests++;
	return bq_token_fetch(&c->cred, c->http, err);
}

int bq_call(struct bq_client *c, const char *method, const char *url,
	    const char *ctype, const char *body, size_t len,
	    const char *const *headers, struct bq_resp *r, struct err *err)
{
	static const char *const capture[] = {"Location", "Range", NULL};
	const char *hdr[12];
	struct buf auth = BUF_INIT, ct = BUF_INIT;
	struct http_get req = HTTP_GET_INIT;
	struct http_xfer *x = NULL;
	int attempt, is_refreshed = 0, n, ret = -1;
	int64_t wait = c->backoff_ms;
	const char *b, *v;
	size_t blen, i;

	bq_resp_release(r);
	for (attempt = 0;; attempt++) {
		if (ensure_token(c, 0, err) < 0)
			goto done;
		buf_reset(&auth);
		buf_reset(&ct);
		n = 0;
		if (buf_printf(&auth, "Authorization: Bearer %s",
			       c->cred.token) < 0 ||
		    (ctype && buf_printf(&ct, "Content-Type: %s", ctype) < 0)) {
			err_set(err, ERR_STORE, 0, "request header too long");
			goto done;
		}
		hdr[n++] = buf_str(&auth);
		if (ctype)
			hdr[n++] = buf_str(&ct);
		hdr[n++] = "Expect:";
		for (i = 0; headers && headers[i] && n < 11; i++)
			hdr[n++] = headers[i];
		hdr[n] = NULL;
		req.url = url;
		req.headers = hdr;
		req.capture = capture;
		req.method = strcmp(method, "GET") ? method : NULL;
		req.body = body;
		req.body_len = len;
		req.timeout_ms = 300000;
		c->requests++;
		if (len && req.method)
			c->bytes_up += (int64_t)len;
		http_xfer_free(x);
		x = NULL;
		if (http_do(&x, c->http, &req, err) < 0)
			goto done;
		if (http_xfer_net_err(x) == HTTP_NET_OK) {
			char reason[64], msg[8];

			r->status = http_xfer_status(x);
			b = http_xfer_body(x, &blen);
			if (r->status == 401 && !is_refreshed) {
				is_refreshed = 1;
				log_debug("bigquery: HTTP 401, refreshing the "
					  "token once");
				if (ensure_token(c, 1, err) < 0)
					goto done;
				attempt--;
				continue;
			}
			bq_error_parse(b, blen, reason, sizeof(reason), msg,
				       sizeof(msg));
			if (r->status / 100 == 2 || r->status == 308 ||
			    !bq_is_retryable(r->status, reason) ||
			    attempt + 1 >= c->max_attempts)
				break;
			log_debug("bigquery: HTTP %ld %s, retrying in %lld ms",
				  r->status, reason, (long long)wait);
		} else if (attempt + 1 >= c->max_attempts) {
			err_set(err, ERR_STORE, 0,
				"cannot reach bigquery store '%s': %s", c->safe,
				http_xfer_errmsg(x));
			goto done;
		} else {
			log_debug("bigquery: %s, retrying in %lld ms",
				  http_xfer_errmsg(x), (long long)wait);
		}
		sleep_ms(wait);
		wait = wait * 2 > 32000 ? 32000 : wait * 2;
	}
	b = http_xfer_body(x, &blen);
	if (buf_append(&r->body, b, blen) < 0) {
		err_set(err, ERR_STORE, 0, "bigquery answer too large");
		goto done;
	}
	if ((v = http_xfer_header(x, "Location")) != NULL)
		r->location = xstrdup(v);
	if ((v = http_xfer_header(x, "Range")) != NULL)
		r->range = xstrdup(v);
	ret = 0;
done:
	http_xfer_free(x);
	if (auth.data)
		memset(auth.data, 0, auth.len);
	buf_release(&auth);
	buf_release(&ct);
	return ret;
}

int bq_table_ref(struct buf *b, const struct bq_client *c, const char *table)
{
	return buf_printf(b, "`%s.%s.%s`", c->project, c->dataset, table);
}

int bq_params_json(struct buf *b, const struct bq_param *p, size_t n)
{
	size_t i, k;
	int rc = 0;

	if (!n)
		return 0;
	rc |= buf_puts(b, ",\"parameterMode\":\"NAMED\",\"queryParameters\":[");
	for (i = 0; i < n; i++) {
		rc |= buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		rc |= jsonw_string(b, p[i].name);
		if (p[i].values || !strcmp(p[i].type, "ARRAY")) {
			rc |= buf_puts(b, ",\"parameterType\":{\"type\":"
					  "\"ARRAY\",\"arrayType\":{\"type\":"
					  "\"STRING\"}},\"parameterValue\":{"
					  "\"arrayValues\":[");
			for (k = 0; k < p[i].n_values; k++) {
				rc |= buf_puts(b, k ? ",{\"value\":"
						    : "{\"value\":");
				rc |= jsonw_string(b, p[i].values[k]);
				rc |= buf_putc(b, '}');
			}
			rc |= buf_puts(b, "]}}");
			continue;
		}
		rc |= buf_puts(b, ",\"parameterType\":{\"type\":");
		rc |= jsonw_string(b, p[i].type);
		rc |= buf_puts(b, "}");
		if (p[i].value) {
			rc |= buf_puts(b, ",\"parameterValue\":{\"value\":");
			rc |= jsonw_string(b, p[i].value);
			rc |= buf_putc(b, '}');
		}
		rc |= buf_putc(b, '}');
	}
	rc |= buf_putc(b, ']');
	return rc;
}

/* ---- jobs ---------------------------------------------------------------- */

static int job_url(struct buf *u, struct bq_client *c, const char *id)
{
	return buf_printf(u, "%s/projects/%s/jobs/%s?location=%s", c->api,
			  c->project, id, c->location);
}

/* Sends the job (with its data, if any); 0 with the Job JSON in r. */
static int job_insert(struct bq_client *c, const char *job, FILE *data,
		      int64_t data_len, struct bq_resp *r, struct err *err)
{
	struct buf u = BUF_INIT, body = BUF_INIT, hb = BUF_INIT, hl = BUF_INIT;
	const char *hdrs[3];
	char *chunk = NULL;
	int64_t off = 0;
	size_t n;
	int rc = 0, ret = -1;

	if (!data) {
		rc |= buf_printf(&u, "%s/projects/%s/jobs", c->api, c->project);
		if (rc)
			goto too_long;
		ret = bq_call(c, "POST", buf_str(&u), "application/json", job,
			      strlen(job), NULL, r, err);
		goto done;
	}
	if (fseek(data, 0, SEEK_SET) != 0)
		goto io;
	if (data_len <= MULTIPART_MAX) {
		rc |= buf_printf(&u, "%s/projects/%s/jobs?uploadType=multipart",
				 c->upload, c->project);
		rc |=
		    buf_puts(&body, "--" BOUNDARY "\r\ncontent-type: "
				    "application/json; charset=UTF-8\r\n\r\n");
		rc |= buf_puts(&body, job);
		rc |= buf_puts(&body, "\r\n--" BOUNDARY
				      "\r\ncontent-type: */*\r\n\r\n");
		chunk = xmalloc(data_len > 0 ? (size_t)data_len : 1);
		if (data_len &&
		    fread(chunk, 1, (size_t)data_len, data) != (size_t)data_len)
			goto io;
		rc |= buf_append(&body, chunk, (size_t)data_len);
		rc |= buf_puts(&body, "\r\n--" BOUNDARY "--");
		if (rc)
			goto too_long;
		ret = bq_call(c, "POST", buf_str(&u),
			      "multipart/related; boundary=\"" BOUNDARY "\"",
			      body.data, body.len, NULL, r, err);
		goto done;
	}
	/* Resumable: open a session, then PUT chunks; 308 asks for more. */
	rc |= buf_printf(&u, "%s/projects/%s/jobs?uploadType=resumable",
			 c->upload, c->project);
	rc |= buf_printf(&hl, "X-Upload-Content-Length: %" PRId64, data_len);
	if (rc)
		goto too_long;
	hdrs[0] = "X-Upload-Content-Type: */*";
	hdrs[1] = buf_str(&hl);
	hdrs[2] = NULL;
	if (bq_call(c, "POST", buf_str(&u), "application/json; charset=UTF-8",
		    job, strlen(job), hdrs, r, err) < 0)
		goto done;
	if (r->status == 409) {
		ret = 0;
		goto done;
	}
	if (r->status / 100 != 2 || !r->location) {
		bq_fail(c, r, "start an upload to", err);
		goto done;
	}
	buf_reset(&u);
	if (buf_puts(&u, r->location) < 0)
		goto too_long;
	chunk = xmalloc(CHUNK);
	while (off < data_len) {
		if (fseek(data, (long)off, SEEK_SET) != 0)
			goto io;
		n = fread(chunk, 1, CHUNK, data);
		if (n == 0)
			goto io;
		buf_reset(&hb);
		if (buf_printf(&hb,
			       "Content-Range: bytes %" PRId64 "-%" PRId64
			       "/%" PRId64,
			       off, off + (int64_t)n - 1, data_len) < 0)
			goto too_long;
		hdrs[0] = buf_str(&hb);
		hdrs[1] = NULL;
		if (bq_call(c, "PUT", buf_str(&u), "*/*", chunk, n, hdrs, r,
			    err) < 0)
			goto done;
		if (r->status == 308) {
			const char *dash =
			    r->range ? strchr(r->range, '-') : NULL;
			off = dash ? strtoll(dash + 1, NULL, 10) + 1
				   : off + (int64_t)n;
			continue;
		}
		break;
	}
	ret = 0;
	goto done;
io:
	err_set(err, ERR_IO, 0, "cannot read the bigquery spool file");
	goto done;
too_long:
	err_set(err, ERR_STORE, 0, "bigquery request too long");
done:
	free(chunk);
	buf_release(&u);
	buf_release(&body);
	buf_release(&hb);
	buf_release(&hl);
	return ret;
}

/* Polls a job until DONE; r holds the last Job JSON. */
static int job_wait(struct bq_client *c, const char *id, struct bq_resp *r,
		    struct json_doc **doc, struct err *err)
{
	struct buf u = BUF_INIT;
	const struct json *st;
	int64_t pause = 50;
	int n404 = 0, ret = -1;

	if (job_url(&u, c, id) < 0) {
		err_set(err, ERR_STORE, 0, "bigquery request too long");
		goto done;
	}
	for (;;) {
		json_doc_free(*doc);
		*doc = NULL;
		if (r->status / 100 == 2 &&
		    json_parse(doc, r->body.data, r->body.len, NULL) == 0) {
			st = json_get(json_root(*doc), "status");
			if (!strcmp(json_str(json_get(st, "state"))
					? json_str(json_get(st, "state"))
					: "",
				    "DONE")) {
				ret = 0;
				goto done;
			}
			sleep_ms(pause);
			pause = pause * 2 > 2000 ? 2000 : pause * 2;
		} else if (r->status == 404 && n404++ < 3) {
			/* right after a 409 a job can briefly be unknown */
			sleep_ms(pause);
		} else if (r->status / 100 != 2 && r->status != 409) {
			bq_fail(c, r, "poll a job of", err);
			goto done;
		}
		if (bq_call(c, "GET", buf_str(&u), NULL, NULL, 0, NULL, r,
			    err) < 0)
			goto done;
	}
done:
	buf_release(&u);
	return ret;
}

int bq_job_run(struct bq_client *c, const char *config, FILE *data,
	       int64_t data_len, struct buf *job_out, struct err *err)
{
	struct bq_resp r = {0, BUF_INIT, NULL, NULL};
	struct json_doc *doc = NULL;
	struct buf job = BUF_INIT;
	char id[96];
	int attempt, rc, ret = -1;
	int64_t wait = c->backoff_ms;
	int64_t seq = ++c->job_seq;

	for (attempt = 0;; attempt++) {
		const struct json *er;
		const char *reason, *msg;

		snprintf(id, sizeof(id), "espsync_%s_%" PRId64 "_a%d",
			 c->run_tag, seq, attempt);
		buf_reset(&job);
		rc = buf_puts(&job, "{\"jobReference\":{\"projectId\":");
		rc |= jsonw_string(&job, c->project);
		rc |= buf_printf(&job, ",\"jobId\":\"%s\",\"location\":", id);
		rc |= jsonw_string(&job, c->location);
		rc |= buf_puts(&job, "},\"configuration\":");
		rc |= buf_puts(&job, config);
		rc |= buf_putc(&job, '}');
		if (rc) {
			err_set(err, ERR_STORE, 0, "bigquery job too long");
			goto done;
		}
		c->jobs++;
		if (job_insert(c, buf_str(&job), data, data_len, &r, err) < 0)
			goto done;
		if (r.status == 409) {
			log_debug("bigquery: job %s exists, polling it", id);
			r.status = 404; /* makes job_wait fetch it */
		} else if (r.status / 100 != 2) {
			bq_fail(c, &r, "run a job in", err);
			goto done;
		}
		if (job_wait(c, id, &r, &doc, err) < 0)
			goto done;
		er =
		    json_get(json_get(json_root(doc), "status"), "errorResult");
		if (json_type(er) != JSON_OBJECT)
			break;
		reason = json_str(json_get(er, "reason"));
		msg = json_str(json_get(er, "message"));
		if (!bq_job_is_retryable(reason, msg) ||
		    attempt + 1 >= c->max_attempts) {
			err_set(err, ERR_STORE, 0,
				"bigquery job in '%s' failed: %s: %.160s",
				c->safe, reason ? reason : "error",
				msg ? msg : "(no message)");
			goto done;
		}
		log_debug("bigquery: job %s failed (%s), running it again", id,
			  reason ? reason : "");
		sleep_ms(wait);
		wait = wait * 2 > 32000 ? 32000 : wait * 2;
	}
	if (job_out && buf_append(job_out, r.body.data, r.body.len) < 0) {
		err_set(err, ERR_STORE, 0, "bigquery answer too large");
		goto done;
	}
	ret = 0;
done:
	json_doc_free(doc);
	bq_resp_release(&r);
	buf_release(&job);
	return ret;
}

int bq_exec(struct bq_client *c, const char *sql, const struct bq_param *params,
	    size_t n_params, struct err *err)
{
	struct buf cfg = BUF_INIT;
	int rc, ret;

	rc = buf_puts(&cfg, "{\"query\":{\"query\":");
	rc |= jsonw_string(&cfg, sql);
	rc |= buf_puts(&cfg, ",\"useLegacySql\":false");
	rc |= bq_params_json(&cfg, params, n_params);
	rc |= buf_puts(&cfg, "},\"labels\":{\"app\":\"espsync\"}}");
	if (rc) {
		buf_release(&cfg);
		return err_set(err, ERR_STORE, 0, "bigquery query too long");
	}
	ret = bq_job_run(c, buf_str(&cfg), NULL, 0, NULL, err);
	buf_release(&cfg);
	return ret;
}

/* ---- queries --------------------------------------------------------- */

/* Hands each row of a QueryResponse page to fn. */
static int page_rows(const struct json *root, bq_row_fn fn, void *ctx,
		     struct err *err)
{
	const struct json *rows = json_get(root, "rows");
	size_t i, k, n = json_len(rows);
	int ret = 0;

	for (i = 0; i < n && !ret; i++) {
		const struct json *f = json_get(json_at(rows, i), "f");
		size_t nc = json_len(f);
		const char **cells = xcalloc(nc ? nc : 1, sizeof(*cells));
		struct buf *tmp = xcalloc(nc ? nc : 1, sizeof(*tmp));

		for (k = 0; k < nc; k++) {
			const struct json *v = json_get(json_at(f, k), "v");

			buf_init(&tmp[k], 0);
			if (json_type(v) == JSON_STRING) {
				cells[k] = json_str(v);
			} else if (json_type(v) == JSON_NULL ||
				   json_type(v) == JSON_MISSING) {
				cells[k] = NULL;
			} else if (json_write(&tmp[k], v) < 0) {
				ret = err_set(err, ERR_STORE, 0,
					      "bigquery cell too large");
			} else {
				cells[k] = buf_str(&tmp[k]);
			}
		}
		if (!ret)
			ret = fn(ctx, cells, nc);
		for (k = 0; k < nc; k++)
			buf_release(&tmp[k]);
		free(tmp);
		free(cells);
	}
	return ret;
}

int bq_query(struct bq_client *c, const char *sql,
	     const struct bq_param *params, size_t n_params, bq_row_fn fn,
	     void *ctx, struct err *err)
{
	struct bq_resp r = {0, BUF_INIT, NULL, NULL};
	struct buf u = BUF_INIT, q = BUF_INIT, job_id = BUF_INIT,
		   token = BUF_INIT;
	struct json_doc *doc = NULL;
	const struct json *root;
	int rc, ret = -1;
	const char *t;

	rc = buf_puts(&q, "{\"query\":");
	rc |= jsonw_string(&q, sql);
	rc |= buf_puts(&q, ",\"useLegacySql\":false,\"location\":");
	rc |= jsonw_string(&q, c->location);
	rc |= buf_puts(&q, ",\"timeoutMs\":10000,\"maxResults\":10000");
	rc |= bq_params_json(&q, params, n_params);
	rc |= buf_putc(&q, '}');
	rc |= buf_printf(&u, "%s/projects/%s/queries", c->api, c->project);
	if (rc) {
		err_set(err, ERR_STORE, 0, "bigquery query too long");
		goto done;
	}
	c->queries++;
	if (bq_call(c, "POST", buf_str(&u), "application/json", q.data, q.len,
		    NULL, &r, err) < 0)
		goto done;
	for (;;) {
		const struct json *jc;
		int is_done = 0;

		if (r.status / 100 != 2) {
			bq_fail(c, &r, "query", err);
			goto done;
		}
		json_doc_free(doc);
		doc = NULL;
		if (json_parse(&doc, r.body.data, r.body.len, NULL) < 0) {
			err_set(err, ERR_STORE, 0,
				"bigquery store '%s' sent an unreadable "
				"query answer",
				c->safe);
			goto done;
		}
		root = json_root(doc);
		jc = json_get(root, "jobComplete");
		if (json_type(jc) != JSON_BOOL || json_bool(jc, &is_done) < 0)
			is_done = 1;
		if (!job_id.len) {
			t = json_str(
			    json_get(json_get(root, "jobReference"), "jobId"));
			if (buf_puts(&job_id, t ? t : "") < 0)
				goto too_long;
		}
		buf_reset(&token);
		if (is_done) {
			ret = page_rows(root, fn, ctx, err);
			if (ret)
				goto done;
			ret = -1;
			t = json_str(json_get(root, "pageToken"));
			if (!t || !*t)
				break;
			if (buf_puts(&token, t) < 0)
				goto too_long;
		}
		buf_reset(&u);
		rc = buf_printf(&u,
				"%s/projects/%s/queries/%s?location=%s"
				"&maxResults=10000&timeoutMs=10000",
				c->api, c->project, buf_str(&job_id),
				c->location);
		if (token.len)
			rc |= buf_printf(&u, "&pageToken=%s", buf_str(&token));
		if (rc)
			goto too_long;
		if (bq_call(c, "GET", buf_str(&u), NULL, NULL, 0, NULL, &r,
			    err) < 0)
			goto done;
	}
	ret = 0;
	goto done;
too_long:
	err_set(err, ERR_STORE, 0, "bigquery request too long");
done:
	json_doc_free(doc);
	bq_resp_release(&r);
	buf_release(&u);
	buf_release(&q);
	buf_release(&job_id);
	buf_release(&token);
	return ret;
}

/* Sync entry points: request validation, the probe, the --campaign lookup,
 * the run log (run_begin/run_finish) and the mapping of what happened to
 * one error. The page loop itself is in sync_streams.c. */
#include "core/sync_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/json.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define DEFAULT_ACCOUNT "default"
#define DEFAULT_LOOKBACK_S 3600
#define DEFAULT_INFLIGHT 8
#define MAX_INFLIGHT 64
#define PROBE_ATTEMPTS 4

static const char *const stream_names[] = {
    "campaigns", "reports", "participants", "activities", "contacts", "lists"};

int sync_streams_parse(const char *list, unsigned *out, struct err *err)
{
	unsigned bits = 0;
	const char *p = list;

	if (!list || !*list)
		return err_set(err, ERR_USAGE, 0, "empty stream list");
	while (*p) {
		size_t n = strcspn(p, ","), i;
		const char *w = p;
		size_t wn = n;
		int is_known = 0;

		while (wn && (*w == ' ' || *w == '\t')) {
			w++;
			wn--;
		}
		while (wn && (w[wn - 1] == ' ' || w[wn - 1] == '\t'))
			wn--;
		if (wn == 3 && strncmp(w, "all", 3) == 0) {
			bits |= STREAM_ALL;
			is_known = 1;
		}
		for (i = 0; i < SLOT__COUNT && !is_known; i++)
			if (strlen(stream_names[i]) == wn &&
			    strncmp(w, stream_names[i], wn) == 0) {
				bits |= 1u << i;
				is_known = 1;
			}
		if (!is_known)
			return err_set(err, ERR_USAGE, 0,
				       "unknown stream '%.*s': expected "
				       "campaigns, reports, participants, "
				       "activities, contacts, lists or all",
				       (int)(wn > 40 ? 40 : wn), w);
		p += n;
		if (*p == ',')
			p++;
	}
	*out = bits;
	return 0;
}

/* The name of the source's credential key, for "set ..." hints. */
static const char *api_key_name(const struct source *src)
{
	const struct option_def *def = source_key(src->keys, PROLE_API_KEY);

	return def && def->key ? def->key : "its api key";
}

/* Names the probe request in messages. */
static const char *probe_what(const struct source *src)
{
	return src->probe_what ? src->probe_what : "the lists";
}

/* Checks what the request carries; a normalised copy of the API URL (no
 * trailing slash) goes to api_url. */
static int validate(const struct sync_request *req, struct buf *api_url,
		    struct err *err)
{
	struct buf origin = BUF_INIT, derived = BUF_INIT;
	const char *k, *url;
	int rc = -1;

	if (!req) {
		err_set(err, ERR_USAGE, 0, "no sync request");
		goto done;
	}
	if (!req->source) {
		err_set(err, ERR_CONFIG, 0, "no provider to sync");
		goto done;
	}
	url = req->api_url;
	if (!url && req->source->api_url_for && req->api_key && *req->api_key) {
		/* The key names its data center. */
		if (req->source->api_url_for(&derived, req->api_key,
					     req->region, err) < 0)
			goto done;
		url = buf_str(&derived);
	} else if (!url && req->source->api_url_for) {
		err_set(err, ERR_CONFIG, 0, "no api key for %s: set %s",
			req->source->name, api_key_name(req->source));
		goto done;
	}
	if (!url || source_url_origin(&origin, url) < 0 ||
	    (strncmp(buf_str(&origin), "https://", 8) != 0 &&
	     strncmp(buf_str(&origin), "http://", 7) != 0)) {
		/* A URL with user info may hold a password: not echoed. */
		err_set(err, ERR_CONFIG, 0,
			"invalid %s api url '%.80s': expected "
			"https://host[:port]",
			req->source->name,
			!url		   ? ""
			: strchr(url, '@') ? "***"
					   : url);
		goto done;
	}
	buf_reset(api_url);
	if (buf_puts(api_url, url) < 0) {
		err_set(err, ERR_CONFIG, 0,
			"%s api url too long: more than %zu bytes",
			req->source->name, api_url->max);
		goto done;
	}
	while (api_url->len && api_url->data[api_url->len - 1] == '/')
		api_url->data[--api_url->len] = '\0';
	if (!req->api_key || !*req->api_key) {
		err_set(err, ERR_CONFIG, 0, "no api key for %s: set %s",
			req->source->name, api_key_name(req->source));
		goto done;
	}
	for (k = req->api_key; *k; k++)
		if ((unsigned char)*k < 0x20 || *k == 0x7f) {
			err_set(err, ERR_CONFIG, 0,
				"the %s api key contains control characters",
				req->source->name);
			goto done;
		}
	if (req->campaign_id &&
	    (!*req->campaign_id || strlen(req->campaign_id) > 200)) {
		err_set(err, ERR_USAGE, 0, "invalid campaign id '%.60s'",
			req->campaign_id);
		goto done;
	}
	if (req->hours < 0 || req->lookback_s < 0) {
		err_set(err, ERR_USAGE, 0,
			"hours and lookback must not be negative");
		goto done;
	}
	rc = 0;
done:
	buf_release(&origin);
	buf_release(&derived);
	return rc;
}

/* The source's auth header for api_key into out; ERR_CONFIG when it passes
 * out's maximum (a key of megabytes). */
static int auth_header(struct buf *out, const struct source *src,
		       const char *api_key, struct err *err)
{
	if (src->auth_header(out, api_key) == 0)
		return 0;
	return err_set(err, ERR_CONFIG, 0,
		       "%s api key too long: more than %zu bytes", src->name,
		       out->max);
}

/* The URL of q under api_url into out; ERR_CONFIG when it passes out's
 * maximum (an api url of megabytes: ids in q are bounded). */
static int query_url(struct buf *out, const struct source *src,
		     const char *api_url, const struct source_query *q,
		     struct err *err)
{
	if (src->url(out, api_url, q) == 0)
		return 0;
	return err_set(err, ERR_CONFIG, 0,
		       "%s api url too long: more than %zu bytes", src->name,
		       out->max);
}

static void fetch_options_for(struct fetch_options *fo,
			      const struct source *src,
			      const struct sync_request *req,
			      const char *const *headers)
{
	struct fetch_options def = FETCH_OPTIONS_INIT;

	*fo = def;
	fo->rate_per_sec =
	    req->rate_per_sec > 0 ? req->rate_per_sec : src->rate_per_sec;
	fo->burst = req->burst > 0 ? req->burst : src->burst;
	fo->max_inflight =
	    req->max_inflight > 0 ? req->max_inflight : DEFAULT_INFLIGHT;
	if (fo->max_inflight > MAX_INFLIGHT)
		fo->max_inflight = MAX_INFLIGHT;
	fo->retry_403_attempts = src->retry_403_attempts;
	fo->is_503_throttle = src->is_503_throttle;
	fo->is_bare_403_throttle = src->is_bare_403_throttle;
	fo->is_throttle_connections = src->is_throttle_connections;
	if (src->timeout_s > 0)
		fo->timeout_ms = src->timeout_s * 1000;
	fo->deadline_mono_ms = req->deadline_mono_ms;
	fo->stop_signal = req->stop_signal;
	fo->seed = (uint64_t)clock_wall_ms() ^ (uint64_t)clock_mono_ms() << 20;
	fo->headers = headers;
	fo->remaining_header = src->remaining_header;
	fo->retry_after_headers = src->retry_after_headers;
	fo->secret_params = src->secret_params;
}

/* One request run to completion (the probe and the --campaign lookup). */
struct one_shot {
	enum fetch_outcome outcome;
	long status;
	struct buf body;
	struct err err;
	int wants_json;
	/* Totals over every one-shot fetch, for the run log. */
	int64_t requests, retries, throttled;
};

static enum fetch_verdict one_shot_done(void *userdata,
					const struct fetch_result *res)
{
	struct one_shot *o = userdata;
	struct json_doc *doc = NULL;

	if (res->outcome == FETCH_OK && o->wants_json) {
		if (json_parse(&doc, res->body, res->body_len, NULL) < 0)
			return FETCH_RETRY;
		json_doc_free(doc);
	}
	o->outcome = res->outcome;
	o->status = res->status;
	o->err = res->err;
	buf_reset(&o->body);
	if (buf_append(&o->body, res->body, res->body_len) < 0) {
		o->outcome = FETCH_FAILED;
		err_set(&o->err, ERR_RUNTIME, 0,
			"answer too long: more than %zu bytes", o->body.max);
	}
	return FETCH_ACCEPT;
}

static int one_shot_run(struct one_shot *o, struct fetch_options *fo,
			const char *url, struct err *err)
{
	struct fetch *f = fetch_new(fo, err);
	struct fetch_stats st;
	int rc = -1;

	if (!f)
		goto done;
	o->outcome = FETCH_CANCELLED;
	if (fetch_submit(f, url, one_shot_done, o) < 0 || fetch_run(f, err) < 0)
		goto done;
	rc = 0;
done:
	if (f) {
		fetch_get_stats(f, &st);
		o->requests += st.requests;
		o->retries += st.retries;
		o->throttled += st.throttled;
	}
	fetch_free(f);
	return rc;
}

static void host_of(char *out, size_t n, const char *url)
{
	const char *p = strstr(url, "://");
	size_t len;

	p = p ? p + 3 : url;
	len = strcspn(p, "/?#");
	snprintf(out, n, "%.*s", (int)(len > 100 ? 100 : len), p);
}

/* Turns a one-shot outcome other than FETCH_OK into err. */
static int one_shot_error(const struct one_shot *o, const struct source *src,
			  const char *api_url, const char *what,
			  struct err *err)
{
	char host[128];

	switch (o->outcome) {
	case FETCH_OK:
		return 0;
	case FETCH_HTTP_ERROR:
		src->http_error(err, o->status, buf_str(&o->body), o->body.len,
				what);
		return -1;
	case FETCH_FAILED:
		if (o->err.kind == ERR_RUNTIME) /* see one_shot_done */
			return err_set(err, ERR_RUNTIME, 0,
				       "%s answered %s with more than %zu "
				       "bytes",
				       src->name, what, o->body.max);
		host_of(host, sizeof(host), api_url);
		if (o->err.kind == ERR_CONFIG) /* a web page: see fetch.h */
			return err_set(err, ERR_CONFIG, 0,
				       "%s at '%s' answered HTML, not JSON: "
				       "is the API URL right?",
				       src->name, host);
		if (o->err.kind == ERR_PARSE)
			return err_set(err, ERR_PARSE, 0,
				       "%s answered %s with a body that is not "
				       "json",
				       src->name, what);
		return err_set(err, ERR_NET, o->err.code,
			       "cannot reach %s at '%s': %s", src->name, host,
			       o->err.msg);
	case FETCH_CANCELLED:
	default:
		if (o->err.kind == ERR_INTERRUPTED)
			return sync_interrupted(err, o->err.code,
						" before %s answered; nothing "
						"was synced",
						src->name);
		return err_set(err, ERR_PARTIAL, 0,
			       "time budget reached before %s answered; "
			       "nothing was synced",
			       src->name);
	}
}

int sync_probe(const struct sync_request *req, struct probe_result *out,
	       struct err *err)
{
	const struct source *src;
	struct buf api_url = BUF_INIT, auth = BUF_INIT, url = BUF_INIT;
	struct one_shot o;
	struct fetch_options fo;
	struct source_query q = {.endpoint = SRC_PROBE};
	struct json_doc *doc = NULL;
	const char *headers[2] = {NULL, NULL};
	int64_t t0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&o, 0, sizeof(o));
	buf_init(&o.body, (size_t)1 << 20);
	if (validate(req, &api_url, err) < 0)
		goto done;
	src = req->source;
	if (auth_header(&auth, src, req->api_key, err) < 0 ||
	    query_url(&url, src, buf_str(&api_url), &q, err) < 0)
		goto done;
	headers[0] = buf_str(&auth);
	fetch_options_for(&fo, src, req, headers);
	fo.max_attempts = PROBE_ATTEMPTS;
	fo.max_body_bytes = o.body.max;
	t0 = clock_mono_ms();
	if (one_shot_run(&o, &fo, buf_str(&url), err) < 0)
		goto done;
	out->latency_ms = clock_mono_ms() - t0;
	out->status = o.status;
	if (one_shot_error(&o, src, buf_str(&api_url), probe_what(src), err) <
	    0)
		goto done;
	if (json_parse(&doc, buf_str(&o.body), o.body.len, NULL) == 0)
		src->probe_detail(out->detail, sizeof(out->detail),
				  json_root(doc));
	else
		snprintf(out->detail, sizeof(out->detail),
			 "reached, answer is not json");
	rc = 0;
done:
	if (rc < 0)
		sync_scrub(err, req ? req->api_key : NULL);
	json_doc_free(doc);
	buf_release(&o.body);
	buf_release(&api_url);
	buf_release(&auth);
	buf_release(&url);
	return rc;
}

/* Reads the count of today so far and the account's newest event
 * (windowed sources). */
static void load_today(struct sync_ctx *ctx)
{
	struct buf val = BUF_INIT;
	int found = 0;

	ctx->today_day = -1;
	ctx->account_newest = TIME_NULL;
	if (!ctx->src->is_report_windowed)
		return;
	if (sync_state_get(ctx, CKPT_TODAY_STREAM, &val, &found) == 0 && found)
		ckpt_today_parse(&ctx->today_day, &ctx->today_count,
				 buf_str(&val));
	if (sync_state_get(ctx, CKPT_NEWEST_STREAM, &val, &found) == 0 && found)
		ctx->account_newest = ckpt_newest_parse(buf_str(&val));
	buf_release(&val);
}

/* --campaign ID: the campaign must exist before a run is recorded. */
static int lookup_campaign(struct sync_ctx *ctx, struct fetch_options *fo,
			   struct one_shot *o, struct err *err)
{
	struct buf url = BUF_INIT;
	struct source_query q = {.endpoint = SRC_CAMPAIGN};
	char what[96];
	int rc = -1;

	q.campaign_id = ctx->req->campaign_id;
	o->wants_json = 1;
	if (query_url(&url, ctx->src, ctx->req->api_url, &q, err) < 0 ||
	    one_shot_run(o, fo, buf_str(&url), err) < 0)
		goto done;
	if (o->outcome == FETCH_HTTP_ERROR && o->status == 404) {
		err_set(err, ERR_NOT_FOUND, 404,
			"campaign '%.80s' not found on %s",
			ctx->req->campaign_id, ctx->src->name);
		goto done;
	}
	snprintf(what, sizeof(what), "campaign '%.60s'", ctx->req->campaign_id);
	if (one_shot_error(o, ctx->src, ctx->req->api_url, what, err) < 0)
		goto done;
	rc = 0;
done:
	buf_release(&url);
	return rc;
}

/* Maps the looked-up campaign into the batch and starts its work. */
static int seed_campaign(struct sync_ctx *ctx, const struct one_shot *o,
			 struct err *err)
{
	struct json_doc *doc = NULL;
	struct source_map m;
	int rc = -1;

	memset(&m, 0, sizeof(m));
	m.batch = &ctx->batch;
	m.newest_updated_at = TIME_NULL;
	m.cutoff = TIME_NULL;
	m.tz = ctx->tz;
	if (json_parse(&doc, buf_str(&o->body), o->body.len, err) < 0 ||
	    ctx->src->map_campaign(&m, json_root(doc), err) < 0 ||
	    ctx->batch.n_campaigns != 1)
		goto done;
	ctx->report->records[SLOT_CAMPAIGNS]++;
	if (!ctx->batch.campaigns[0].has_sends &&
	    !ctx->src->is_reportable(ctx->batch.campaigns[0].status))
		log_info("campaign '%.80s' is %s: it has no reports",
			 ctx->req->campaign_id,
			 ctx->batch.campaigns[0].status
			     ? ctx->batch.campaigns[0].status
			     : "without status");
	sync_start_campaign(ctx, &ctx->batch.campaigns[0]);
	ctx->campaigns_listing_done = 1;
	rc = sync_commit(ctx);
done:
	json_doc_free(doc);
	return rc;
}

static int records_json(struct buf *b, const struct sync_report *r)
{
	size_t i;
	int rc = buf_putc(b, '{');

	for (i = 0; i < SLOT__COUNT; i++) {
		rc |= jsonw_key(b, stream_names[i], i == 0);
		rc |= jsonw_int(b, r->records[i]);
	}
	return rc | buf_putc(b, '}');
}

/* Decides the run status and the error returned for it. */
static enum run_status conclude(struct sync_ctx *ctx, int64_t budget_s,
				struct err *err)
{
	int is_cut_short = ctx->fetch && fetch_is_cut_short(ctx->fetch);
	int sig = sync_stop_signal(ctx->req);

	if (ctx->is_fatal) {
		*err = ctx->fatal;
		return RUN_FAILED;
	}
	if (sig) {
		sync_interrupted(err, sig,
				 "; state saved, run again to "
				 "continue");
		return RUN_INTERRUPTED;
	}
	if (ctx->n_failed && !is_cut_short) {
		*err = ctx->first_failure;
		if (err->kind != ERR_NET && err->kind != ERR_HTTP &&
		    err->kind != ERR_PARSE)
			err->kind = ERR_RUNTIME;
		if (ctx->n_failed > 1)
			err_prefix(err, "%d requests failed for good, first",
				   ctx->n_failed);
		return RUN_FAILED;
	}
	if (ctx->n_failed || ctx->n_cut || is_cut_short) {
		if (is_cut_short && budget_s > 0)
			err_set(err, ERR_PARTIAL, 0,
				"time budget of %" PRId64 " s reached; state "
				"saved, run again to continue",
				budget_s);
		else
			err_set(err, ERR_PARTIAL, 0,
				"sync stopped early; state saved, run again "
				"to continue");
		return RUN_PARTIAL;
	}
	return RUN_COMPLETE;
}

static void ctx_init(struct sync_ctx *ctx, struct store *store,
		     const struct sync_request *req, const struct source *src,
		     struct sync_report *out)
{
	unsigned streams = req->streams & STREAM_ALL;
	size_t i;

	memset(ctx, 0, sizeof(*ctx));
	ctx->store = store;
	ctx->req = req;
	ctx->src = src;
	ctx->report = out;
	ctx->on_page = sync_on_page;
	if (!streams)
		streams = STREAM_ALL;
	ctx->want_campaign_rows = !!(streams & STREAM_CAMPAIGNS);
	ctx->want_reports = !!(streams & STREAM_REPORTS);
	ctx->want_participants = !!(streams & STREAM_PARTICIPANTS);
	ctx->want_events = !!(streams & STREAM_ACTIVITIES);
	ctx->want_lists = !!(streams & STREAM_LISTS);
	ctx->want_contacts = !!(streams & STREAM_CONTACTS);
	ctx->is_tracking =
	    ctx->want_reports && ctx->want_participants && ctx->want_events;
	ctx->lookback_s = req->lookback_s > 0 ? req->lookback_s
			  : src->default_lookback_s > 0
			      ? src->default_lookback_s
			      : DEFAULT_LOOKBACK_S;
	/* The CLI supplies the default (24); 0 skips nothing. */
	ctx->hours = req->hours;
	for (i = 0; i < src->n_report_kinds && i < SYNC_MAX_REPORT_KINDS; i++)
		ctx->done_names[i] = src->report_kinds[i].status;
	ctx->done_names[i] = "links";
	ctx->n_done_names = i + 1;
	/* Enough campaigns in flight to keep the connections busy while one
	 * campaign's long sent report runs alone. */
	ctx->max_running = req->max_inflight > 0 ? req->max_inflight / 2
						 : DEFAULT_INFLIGHT / 2;
	if (ctx->max_running < 2)
		ctx->max_running = 2;
	batch_init(&ctx->batch, src->name, req->account);
	progress_init(&ctx->progress, req->progress, stderr, clock_mono_ms());
	progress_set_hook(&ctx->progress, req->progress_hook,
			  req->progress_data);
}

/* What sync_run carries from one step to the next. */
struct run {
	struct sync_request req; /* the request, API URL normalised */
	const struct source *src;
	struct tz *tz; /* until the context takes it */
	struct buf api_url, auth;
	const char *headers[2];
	struct fetch_options fo;
	struct one_shot o; /* the probe, then the --campaign answer */
	struct run_row row;
	struct sync_ctx ctx;
	int has_ctx, has_lease;
	int64_t t0, budget_s;
	char host[128];
};

static void run_init(struct run *r)
{
	struct buf b = BUF_INIT;

	memset(r, 0, sizeof(*r));
	r->t0 = clock_mono_ms();
	r->api_url = b;
	r->auth = b;
	buf_init(&r->o.body, (size_t)32 << 20);
}

/* Checks the request and readies what every request needs: the request
 * copy, the source, the account zone, the auth header, fetch options. */
static int run_prepare(struct run *r, struct store *store,
		       const struct sync_request *req_in, struct err *err)
{
	struct sync_request *req = &r->req;
	int rc = -1;

	if (!store) {
		err_set(err, ERR_STORE, 0, "no store to sync into");
		goto done;
	}
	if (validate(req_in, &r->api_url, err) < 0)
		goto done;
	*req = *req_in;
	req->api_url = buf_str(&r->api_url);
	if (!req->account || !*req->account)
		req->account = DEFAULT_ACCOUNT;
	if (req->deadline_mono_ms > 0)
		r->budget_s = (req->deadline_mono_ms - r->t0 + 999) / 1000;
	r->src = req->source;
	if (req->timezone && tz_load(&r->tz, NULL, req->timezone, err) < 0)
		goto done;
	if (auth_header(&r->auth, r->src, req->api_key, err) < 0)
		goto done;
	r->headers[0] = buf_str(&r->auth);
	fetch_options_for(&r->fo, r->src, req, r->headers);
	/* Without burst, a run started right after another (cron, a
	 * --max-runtime loop) must not spend the token that run just
	 * took: the probe waits one token interval. */
	r->fo.is_bucket_empty = 1;
	rc = 0;
done:
	return rc;
}

/* The probe: nothing is written when the key is rejected. */
static int run_probe(struct run *r, struct err *err)
{
	struct buf url = BUF_INIT;
	struct source_query q = {.endpoint = SRC_PROBE};
	int rc = -1;

	if (query_url(&url, r->src, r->req.api_url, &q, err) < 0 ||
	    one_shot_run(&r->o, &r->fo, buf_str(&url), err) < 0 ||
	    one_shot_error(&r->o, r->src, r->req.api_url, probe_what(r->src),
			   err) < 0)
		goto done;
	/* The probe just took the token a bucket without burst holds. */
	r->fo.is_bucket_empty = 1;
	rc = 0;
done:
	buf_release(&url);
	return rc;
}

/* The context of the run; a --campaign lookup must succeed before the
 * run is recorded. */
static int run_context(struct run *r, struct store *store,
		       struct sync_report *out, struct err *err)
{
	int rc = -1;

	ctx_init(&r->ctx, store, &r->req, r->src, out);
	r->has_ctx = 1;
	r->ctx.tz = r->tz;
	r->tz = NULL;
	if (r->req.campaign_id &&
	    lookup_campaign(&r->ctx, &r->fo, &r->o, err) < 0)
		goto done;
	rc = 0;
done:
	return rc;
}

/* The run log row: from here on the run is recorded, however it ends. */
static int run_begin(struct run *r, struct err *err)
{
	struct store *store = r->ctx.store;
	int rc = -1;

	r->row.provider = r->src->name;
	r->row.account = r->req.account;
	r->row.started_at = clock_wall_s();
	r->row.finished_at = TIME_NULL;
	r->row.status = RUN_RUNNING;
	store_host_name(r->host, sizeof(r->host));
	r->row.host = r->host;
	r->row.pid = (int64_t)getpid();
	r->row.heartbeat_at = r->row.started_at;
	if (sync_reap(&r->ctx, err) < 0)
		goto done;
	if (store->ops->run_begin(store, &r->row, err) < 0) {
		if (err && err->kind == ERR_NONE)
			err->kind = ERR_STORE;
		goto done;
	}
	r->ctx.report->run_id = r->row.run_id;
	r->ctx.run_started_s = r->row.started_at;
	load_today(&r->ctx);
	rc = 0;
done:
	return rc;
}

/* Queues the first page of every stream the request asks for. */
static void run_start_streams(struct run *r)
{
	struct sync_ctx *ctx = &r->ctx;
	struct err e = ERR_INIT;

	sync_scan_plan(ctx);
	if ((ctx->want_lists || ctx->want_contacts) &&
	    r->src->has_contacts_keyset)
		sync_start_contacts(ctx);
	else if ((ctx->want_lists || ctx->want_contacts) && r->src->map_lists)
		sync_start_lists(ctx);
	if (r->req.campaign_id) {
		if (seed_campaign(ctx, &r->o, &e) < 0 && !ctx->is_fatal)
			sync_failure(ctx, &e);
	} else if (ctx->want_campaign_rows || ctx->want_reports ||
		   ctx->want_participants || ctx->want_events) {
		/* The probe was the first campaigns page: no second ask. */
		if (r->src->is_probe_campaigns_page && r->o.outcome == FETCH_OK)
			sync_start_campaigns_from(ctx, buf_str(&r->o.body),
						  r->o.body.len);
		else
			sync_start_campaigns(ctx);
	}
}

/* Runs the streams until they end, the budget runs out or a fatal error
 * (kept in the context) stops them, then links participants. */
static void run_streams(struct run *r)
{
	struct sync_ctx *ctx = &r->ctx;
	struct store *store = ctx->store;
	struct err e = ERR_INIT;
	int64_t changed = 0;

	ctx->fetch = fetch_new(&r->fo, &e);
	if (ctx->fetch) {
		run_start_streams(r);
		buf_release(&r->o.body);
		if (fetch_run(ctx->fetch, &e) < 0)
			sync_fatal(ctx, &e);
	} else {
		sync_fatal(ctx, &e);
	}
	if (!ctx->is_fatal && ctx->fetch)
		sync_scan_finish(ctx);
	if (!ctx->is_fatal && ctx->want_participants &&
	    store->ops->link_participants(store, r->src->name, r->req.account,
					  &changed, &e) < 0) {
		if (e.kind == ERR_NONE)
			e.kind = ERR_STORE;
		sync_fatal(ctx, &e);
	}
}

/* Request totals of the one-shot fetches and the stream fetch. */
static void run_totals(struct run *r, struct sync_report *out)
{
	struct fetch_stats fs;

	out->requests = r->o.requests;
	out->retries = r->o.retries;
	out->throttled = r->o.throttled;
	if (r->ctx.fetch) {
		fetch_get_stats(r->ctx.fetch, &fs);
		out->requests += fs.requests;
		out->retries += fs.retries;
		out->throttled += fs.throttled;
	}
}

/* Concludes the run and records it in the run log and the closing
 * progress line; 0 only for a complete run, else err says why. */
static int run_record(struct run *r, struct err *err)
{
	struct sync_ctx *ctx = &r->ctx;
	struct sync_report *out = ctx->report;
	struct buf records = BUF_INIT;
	struct err e = ERR_INIT, fe = ERR_INIT;
	int rc = -1;

	run_totals(r, out);
	r->row.status = conclude(ctx, r->budget_s, &e);
	out->is_partial = r->row.status == RUN_PARTIAL;
	if (r->row.status != RUN_COMPLETE)
		out->campaigns_remaining =
		    ctx->campaigns_started - ctx->campaigns_finished;
	out->elapsed_s = (double)(clock_mono_ms() - r->t0) / 1000.0;
	/* One counter per stream in a buffer of BUF_DEFAULT_MAX: not fitting
	 * is a broken invariant, nothing a provider or a run can cause. */
	if (records_json(&records, out) < 0)
		BUG("run counters do not fit their buffer");
	r->row.finished_at = clock_wall_s();
	r->row.requests = out->requests;
	r->row.retries = out->retries;
	r->row.throttled = out->throttled;
	r->row.outside_retention = out->events_outside_retention;
	r->row.records_json = buf_str(&records);
	r->row.error = r->row.status == RUN_COMPLETE ? NULL : e.msg;
	if (ctx->store->ops->run_finish(ctx->store, &r->row, &fe) < 0 &&
	    r->row.status != RUN_FAILED) {
		if (fe.kind == ERR_NONE)
			fe.kind = ERR_STORE;
		e = fe;
		r->row.status = RUN_FAILED;
	}
	progress_run_done(&ctx->progress, out,
			  store_run_status_name(r->row.status),
			  clock_mono_ms());
	if (r->row.status == RUN_COMPLETE)
		rc = 0;
	else if (err)
		*err = e;
	buf_release(&records);
	return rc;
}

/* The account's lease, before the first request: a second sync of the
 * account asks nothing of the provider. */
static int run_lease(struct run *r, struct store *store, struct err *err)
{
	if (sync_lease_take(store, &r->req, r->req.account, err) < 0)
		return -1;
	r->has_lease = 1;
	return 0;
}

static void run_release(struct run *r, struct store *store)
{
	if (r->has_lease)
		sync_lease_drop(store, &r->req, r->req.account);
	if (r->has_ctx) {
		sync_campaigns_release(&r->ctx);
		sync_contacts_release(&r->ctx);
		sync_scan_release(&r->ctx);
		fetch_free(r->ctx.fetch);
		tz_free(r->ctx.tz);
		batch_release(&r->ctx.batch);
	}
	tz_free(r->tz);
	buf_release(&r->o.body);
	buf_release(&r->api_url);
	buf_release(&r->auth);
}

/* The counters of the store's own API (requests, jobs, bytes sent) since
 * it was opened; zeros for a store that keeps none. */
static void store_usage_now(struct store *store, struct store_usage *u)
{
	memset(u, 0, sizeof(*u));
	if (store && store->ops && store->ops->usage)
		store->ops->usage(store, u);
}

/* The steps of a run: prepare, probe, context, run log row, streams,
 * record. Until the row is written a failure records nothing. */
int sync_run(struct store *store, const struct sync_request *req_in,
	     struct sync_report *out, struct err *err)
{
	struct store_usage u0, u1;
	struct run r;
	int rc = -1;

	run_init(&r);
	memset(out, 0, sizeof(*out));
	store_usage_now(store, &u0);
	if (run_prepare(&r, store, req_in, err) < 0 ||
	    run_lease(&r, store, err) < 0 || run_probe(&r, err) < 0 ||
	    run_context(&r, store, out, err) < 0 || run_begin(&r, err) < 0)
		goto done;
	run_streams(&r);
	rc = run_record(&r, err);
done:
	if (rc < 0)
		sync_scrub(err, req_in ? req_in->api_key : NULL);
	run_release(&r, store);
	/* what this run cost the store's API, whatever its outcome */
	store_usage_now(store, &u1);
	out->store_requests = u1.requests - u0.requests;
	out->store_jobs = u1.jobs - u0.jobs;
	out->store_bytes_up = u1.bytes_up - u0.bytes_up;
	return rc;
}

/* Mailchimp Marketing API v3.0 under /3.0/: authentication (Basic with any
 * user, Bearer, OAuth, apikey; the data center from the key's suffix),
 * problem+json errors, throttle bodies, fields/exclude_fields projections,
 * the OAuth metadata endpoint, /_sim/mc and the provider table. The
 * routes are in mc_api.c and mc_members.c. Shapes follow
 * shared/api/mailchimp.md. */
#include "mc_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "codec.h"
#include "simtime.h"
#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define PREFIX "/3.0"
#define METADATA "/oauth2/metadata"
#define MAX_SEGS 7
#define ERR_TYPE "https://mailchimp.com/developer/marketing/docs/errors/"
#define CT_JSON "application/json; charset=utf-8"
#define CT_PROBLEM "application/problem+json; charset=utf-8"

/* The data center of the request being handled, for _links hrefs. */
static __thread const char *tls_dc = "us1";

int mc_put_time(struct buf *b, int64_t t)
{
	char s[SIMTIME_ISO_LEN + 1];

	if (t < 0)
		return buf_puts(b, "\"\"");
	simtime_iso(s, t);
	return buf_printf(b, "\"%s\"", s);
}

int mc_put_links(struct buf *b, const char *path)
{
	return buf_printf(
	    b,
	    "\"_links\":[{\"rel\":\"self\",\"href\":\"https://%s.api."
	    "mailchimp.com/3.0%s\",\"method\":\"GET\",\"targetSchema\":"
	    "\"https://%s.api.mailchimp.com/schema/3.0/Definitions/"
	    "Instance.json\"},{\"rel\":\"parent\",\"href\":\"https://%s.api."
	    "mailchimp.com/3.0\",\"method\":\"GET\"}]",
	    tls_dc, path, tls_dc, tls_dc);
}

static void request_id(struct mc *mc, char out[UUID_LEN + 1])
{
	struct rng r;
	uint64_t hi, lo;
	long n;

	/* Atomic, not under mc->lock: routes answer errors holding it. */
	n = __atomic_add_fetch(&mc->n_ids, 1, __ATOMIC_RELAXED);
	rng_init(&r, rng_mix(mc->opt.seed, (uint64_t)n << 20));
	rng_uuid(&r, &hi, &lo);
	uuid_format(out, hi, lo);
}

static struct mc *tls_mc;

void mc_problem(struct sim_response *r, unsigned status, const char *title,
		const char *detail)
{
	char id[UUID_LEN + 1] = "00000000-0000-4000-8000-000000000000";
	int rc = 0;

	if (tls_mc)
		request_id(tls_mc, id);
	r->status = status;
	r->content_type = CT_PROBLEM;
	buf_reset(&r->body);
	rc |= buf_puts(&r->body, "{\"type\":\"" ERR_TYPE "\",\"title\":");
	rc |= jsonw_string(&r->body, title);
	rc |= buf_printf(&r->body, ",\"status\":%u,\"detail\":", status);
	rc |= jsonw_string(&r->body, detail);
	rc |= buf_printf(&r->body, ",\"instance\":\"%s\"}", id);
	if (rc < 0)
		sim_response_fail(r);
	else
		sim_response_header(r, "X-Request-Id", id);
}

void mc_not_found(struct sim_response *r)
{
	mc_problem(r, 404, "Resource Not Found",
		   "The requested resource could not be found.");
}

void mc_paging(const struct sim_request *req, long *count, long *offset)
{
	const char *c = sim_request_arg(req, "count");
	const char *o = sim_request_arg(req, "offset");
	char *end;
	long n;

	*count = 10;
	*offset = 0;
	if (c && *c) {
		n = strtol(c, &end, 10);
		if (!*end && n >= 0)
			*count = n > MC_MAX_COUNT ? MC_MAX_COUNT : n;
	}
	if (o && *o) {
		n = strtol(o, &end, 10);
		if (!*end && n >= 0)
			*offset = n;
	}
}

int mc_time_arg(const struct sim_request *req, const char *name, int64_t *t)
{
	const char *v = sim_request_arg(req, name);
	char date[20];
	size_t n, i;

	if (!v)
		return 0;
	n = strlen(v);
	/* "+0000" (no colon) after the seconds: the recorded 500. */
	if (n >= 24 && (v[n - 5] == '+' || v[n - 5] == ' ') &&
	    strspn(v + n - 4, "0123456789") == 4)
		return -1;
	/* More than 6 fractional digits: the filter is dropped. */
	if (n > 19 && v[19] == '.') {
		for (i = 20; i < n && v[i] >= '0' && v[i] <= '9'; i++)
			;
		if (i - 20 > 6)
			return 0;
	}
	/* The offset is ignored: the wall time is read as UTC. */
	if (n < 19)
		return simtime_parse(v, t) < 0 ? 0 : 1;
	memcpy(date, v, 19);
	date[19] = '\0';
	return simtime_parse(date, t) < 0 ? 0 : 1;
}

/* ---------------------------------------------------------- projections */

static void prune_keep(cJSON *node, char **paths, int n, int depth);

/* Keeps, in object node, the members named by the paths' segment at
 * depth (a path that ends there keeps the whole member). */
static void prune_keep(cJSON *node, char **paths, int n, int depth)
{
	cJSON *it, *next;
	int i;

	if (cJSON_IsArray(node)) {
		cJSON_ArrayForEach(it, node) prune_keep(it, paths, n, depth);
		return;
	}
	if (!cJSON_IsObject(node))
		return;
	for (it = node->child; it; it = next) {
		int keep = 0, whole = 0;
		char *sub[32];
		int n_sub = 0;

		next = it->next;
		for (i = 0; i < n; i++) {
			const char *p = paths[i];
			int d;

			for (d = 0; d < depth && p; d++) {
				p = strchr(p, '.');
				p = p ? p + 1 : NULL;
			}
			if (!p)
				continue;
			{
				size_t len = strcspn(p, ".");

				if (strlen(it->string) != len ||
				    strncmp(p, it->string, len))
					continue;
				keep = 1;
				if (!p[len])
					whole = 1;
				else if (n_sub < 32)
					sub[n_sub++] = paths[i];
			}
		}
		if (!keep)
			cJSON_Delete(cJSON_DetachItemViaPointer(node, it));
		else if (!whole)
			prune_keep(it, sub, n_sub, depth + 1);
	}
}

static void prune_drop(cJSON *node, const char *path)
{
	size_t len = strcspn(path, ".");
	cJSON *it, *next;

	if (cJSON_IsArray(node)) {
		cJSON_ArrayForEach(it, node) prune_drop(it, path);
		return;
	}
	if (!cJSON_IsObject(node))
		return;
	for (it = node->child; it; it = next) {
		next = it->next;
		if (strlen(it->string) != len || strncmp(path, it->string, len))
			continue;
		if (!path[len])
			cJSON_Delete(cJSON_DetachItemViaPointer(node, it));
		else
			prune_drop(it, path + len + 1);
	}
}

/* fields= / exclude_fields= applied to a 200 JSON body; 0, or -1 when the
 * body could not be rewritten. */
static int project(const struct sim_request *req, struct sim_response *r)
{
	const char *f = sim_request_arg(req, "fields");
	const char *x = sim_request_arg(req, "exclude_fields");
	char *list, *paths[64], *tok, *save = NULL, *out;
	cJSON *root;
	int n = 0, rc = 0;

	if (!f && !x)
		return 0;
	if (f && x) {
		mc_problem(r, 400, "Invalid Resource",
			   "fields and exclude_fields are mutually exclusive.");
		return 0;
	}
	root = cJSON_ParseWithLength(r->body.data, r->body.len);
	if (!root)
		return -1;
	list = xstrdup(f ? f : x);
	for (tok = strtok_r(list, ",", &save); tok && n < 64;
	     tok = strtok_r(NULL, ",", &save))
		if (*tok)
			paths[n++] = tok;
	if (f) {
		prune_keep(root, paths, n, 0);
	} else {
		int i;

		for (i = 0; i < n; i++)
			prune_drop(root, paths[i]);
	}
	out = cJSON_PrintUnformatted(root);
	buf_reset(&r->body);
	rc = out ? buf_puts(&r->body, out) : -1;
	free(out);
	free(list);
	cJSON_Delete(root);
	return rc;
}

static int split_path(char *tmp, char **segs)
{
	int n = 0;
	char *p = tmp;

	while (*p && n < MAX_SEGS) {
		while (*p == '/')
			*p++ = '\0';
		if (!*p)
			break;
		segs[n++] = p;
		while (*p && *p != '/')
			p++;
	}
	return *p ? MAX_SEGS + 1 : n;
}

/* ---------------------------------------------------------- provider */

static int mc_claims(void *state, const char *path)
{
	(void)state;
	size_t n = strlen(PREFIX);

	if (!strcmp(path, METADATA))
		return 1;
	return !strncmp(path, PREFIX, n) && (path[n] == '/' || !path[n]);
}

/* The credential of an Authorization header: Basic (any user, the key as
 * password), Bearer, OAuth or apikey. NULL when absent or malformed. */
static char *credential(const struct sim_request *req, int *is_token)
{
	const char *h = sim_request_header(req, "Authorization");
	struct buf dec = BUF_INIT;
	char *p, *colon, *out = NULL;

	*is_token = 0;
	if (!h)
		return NULL;
	if (!strncasecmp(h, "Bearer ", 7) || !strncasecmp(h, "OAuth ", 6)) {
		*is_token = 1;
		return xstrdup(strchr(h, ' ') + 1);
	}
	if (!strncasecmp(h, "apikey ", 7))
		return xstrdup(h + 7);
	if (strncasecmp(h, "Basic ", 6))
		return NULL;
	p = xstrdup(h + 6);
	for (colon = p; *colon; colon++)
		if (*colon == '+' || *colon == '/')
			*colon = *colon == '+' ? '-' : '_';
	buf_init(&dec, 4096);
	if (b64url_decode(&dec, p) == 0 && buf_putc(&dec, '\0') == 0 &&
	    (colon = strchr(dec.data, ':')) != NULL)
		out = xstrdup(colon + 1);
	buf_release(&dec);
	free(p);
	return out;
}

static void metadata(struct mc *mc, const struct sim_request *req,
		     struct sim_response *resp, int ok)
{
	int rc = 0;

	resp->status = 200;
	resp->content_type = CT_JSON;
	buf_reset(&resp->body);
	if (!ok) {
		rc |= buf_puts(&resp->body, "{\"error\":\"invalid_token\"}");
	} else {
		rc |= buf_printf(&resp->body,
				 "{\"dc\":\"%s\",\"role\":\"owner\","
				 "\"accountname\":\"Energy Co\",\"user_id\":"
				 "10001,\"login\":{\"email\":\"owner@example."
				 "com\",\"login_name\":\"energyco\"},"
				 "\"login_url\":\"https://login.mailchimp."
				 "com\",\"api_endpoint\":\"%s\"}",
				 mc->dc, sim_request_base_url(req));
	}
	if (rc < 0)
		sim_response_fail(resp);
}

static int mc_authenticate(void *state, const struct sim_request *req,
			   struct sim_response *resp)
{
	struct mc *mc = state;
	const char *key = mc->opt.key, *dash = strrchr(key, '-');
	size_t stem = dash ? (size_t)(dash - key) : strlen(key);
	int is_token, ok = 0, wrong_dc = 0, wrong_403, disabled;
	char *cred = credential(req, &is_token);

	tls_mc = mc;
	tls_dc = mc->dc;
	if (cred) {
		const char *cd = strrchr(cred, '-');

		if (!strcmp(cred, key) || (is_token && strlen(cred) == stem &&
					   !strncmp(cred, key, stem)))
			ok = 1;
		else if (cd && (size_t)(cd - cred) == stem &&
			 !strncmp(cred, key, stem))
			wrong_dc = 1;
	}
	free(cred);
	if (!strcmp(sim_request_path(req), METADATA)) {
		metadata(mc, req, resp, ok && is_token);
		return -1;
	}
	pthread_mutex_lock(&mc->lock);
	wrong_403 = mc->opt.is_wrong_dc_403;
	disabled = mc->opt.is_disabled;
	pthread_mutex_unlock(&mc->lock);
	if (!sim_request_header(req, "Authorization"))
		mc_problem(resp, 401, "API Key Missing",
			   "Your request did not include an API key.");
	else if (wrong_dc && wrong_403)
		mc_problem(resp, 403, "Wrong Datacenter",
			   "The API key provided is linked to a different "
			   "data center.");
	else if (!ok)
		mc_problem(resp, 401, "API Key Invalid",
			   "Your API key may be invalid, or you've attempted "
			   "to access the wrong datacenter.");
	else if (disabled)
		mc_problem(resp, 403, "User Disabled",
			   "This account has been deactivated.");
	else
		return 0;
	return -1;
}

static void mc_throttled(void *state, struct sim_response *resp)
{
	struct mc *mc = state;
	enum mc_throttle m;
	long n;

	pthread_mutex_lock(&mc->lock);
	m = mc->opt.throttle;
	n = mc->n_throttled++;
	pthread_mutex_unlock(&mc->lock);
	if (m == MC_THR_MIXED)
		m = (enum mc_throttle)(n % 3);
	if (m == MC_THR_JSON) {
		mc_problem(resp, 429, "Too Many Requests",
			   "You have exceeded the limit of 10 simultaneous "
			   "connections.");
		return;
	}
	resp->status = m == MC_THR_BARE429 ? 429 : 403;
	resp->content_type = NULL;
	buf_reset(&resp->body);
}

static void mc_fault_error(void *state, unsigned status,
			   struct sim_response *resp)
{
	(void)state;
	if (status == 403) {
		/* "429 or 403 without a JSON body" under load */
		resp->status = 403;
		resp->content_type = NULL;
		buf_reset(&resp->body);
	} else if (status == 503) {
		mc_problem(resp, 503, "Service Unavailable",
			   "The service is temporarily unavailable.");
	} else {
		mc_problem(resp, 500, "Internal Server Error",
			   "An unexpected internal error has occurred. Please "
			   "contact Support for more information.");
	}
}

static int mc_handle(void *state, const struct sim_request *req,
		     struct sim_response *resp)
{
	struct mc *mc = state;
	const char *path = sim_request_path(req);
	char *segs[MAX_SEGS], *tmp;
	int n, rc = 0, is_close;
	long delay;
	struct timespec ts;

	pthread_mutex_lock(&mc->lock);
	delay = mc->opt.latency_ms;
	pthread_mutex_unlock(&mc->lock);
	ts.tv_sec = delay / 1000;
	ts.tv_nsec = (delay % 1000) * 1000000L;
	while (delay > 0 && nanosleep(&ts, &ts) < 0)
		;
	if (strcmp(sim_request_method(req), "GET") &&
	    strcmp(sim_request_method(req), "HEAD")) {
		mc_problem(resp, 405, "Method Not Allowed",
			   "The requested method and resource are not "
			   "compatible. See the Allow header for this "
			   "resource's available methods.");
		sim_response_header(resp, "Allow", "GET");
		return 0;
	}
	resp->content_type = CT_JSON;
	tmp = xstrdup(path + strlen(PREFIX));
	n = split_path(tmp, segs);
	pthread_mutex_lock(&mc->lock);
	is_close = !mc->opt.is_keep_alive;
	if (n > MAX_SEGS)
		mc_not_found(resp);
	else
		rc |= mc_route(mc, req, resp, segs, n);
	pthread_mutex_unlock(&mc->lock);
	free(tmp);
	if (rc == 0 && resp->status == 200) {
		rc = project(req, resp);
		sim_response_header(resp, "Vary", "Accept-Encoding");
	}
	if (is_close)
		sim_response_header(resp, "Connection", "close");
	return rc;
}

static int mc_advance(void *state, int64_t seconds, struct buf *out)
{
	struct mc *mc = state;
	struct mc_advance_result r;
	int rc = 0;

	pthread_mutex_lock(&mc->lock);
	mc_account_advance(mc->acct, seconds, mc->opt.is_tags_silent, &r);
	rc |= buf_puts(out, "{\"now\":");
	rc |= jsonw_time(out, mc->acct->now);
	rc |= buf_printf(out,
			 ",\"new_events\":%ld,\"updated_members\":%ld,"
			 "\"new_members\":%ld,\"deleted_members\":%ld,"
			 "\"sent_campaigns\":%ld}\n",
			 r.new_events, r.updated_members, r.new_members,
			 r.deleted_members, r.sent_campaigns);
	pthread_mutex_unlock(&mc->lock);
	return rc;
}

static int mc_truth_cb(void *state, struct buf *out)
{
	struct mc *mc = state;
	int rc;

	pthread_mutex_lock(&mc->lock);
	tls_dc = mc->dc;
	rc = mc_truth(mc->acct, out);
	pthread_mutex_unlock(&mc->lock);
	return rc;
}

/* GET/POST /_sim/mc?throttle=json|bare429|bare403|mixed&wrong_dc_403=0|1&
 * tags_silent=0|1&insertion_order=0|1&disabled=0|1&keep_alive=0|1&
 * latency_ms=N&reset_reads=1; the answer also has "reads":{campaign id:
 * requests for its per-recipient reports} */
static int mc_control(void *state, const struct sim_request *req,
		      struct buf *out)
{
	static const char *const modes[] = {"json", "bare429", "bare403",
					    "mixed"};
	struct mc *mc = state;
	struct mc_options o;
	const char *v;
	int bad = 0, k, rc, reset = 0;
	size_t i;

	pthread_mutex_lock(&mc->lock);
	o = mc->opt;
	bad |= sim_request_flag(req, "wrong_dc_403", &o.is_wrong_dc_403);
	bad |= sim_request_flag(req, "tags_silent", &o.is_tags_silent);
	bad |= sim_request_flag(req, "insertion_order", &o.is_insertion);
	bad |= sim_request_flag(req, "disabled", &o.is_disabled);
	bad |= sim_request_flag(req, "keep_alive", &o.is_keep_alive);
	if ((v = sim_request_arg(req, "latency_ms"))) {
		char *end;

		o.latency_ms = strtol(v, &end, 10);
		bad |= *end || end == v || o.latency_ms < 0 ||
		       o.latency_ms > 3600000;
	}
	if ((v = sim_request_arg(req, "throttle"))) {
		for (k = 0; k < 4 && strcmp(v, modes[k]); k++)
			;
		bad |= k == 4;
		o.throttle = (enum mc_throttle)(k % 4);
	}
	bad |= sim_request_flag(req, "reset_reads", &reset);
	if (!bad)
		mc->opt = o;
	for (i = 0; !bad && reset && i < mc->acct->n_camps; i++)
		mc->acct->camps[i].reads = 0;
	rc = buf_puts(out, "{\"reads\":{");
	for (i = 0, k = 0; i < mc->acct->n_camps; i++)
		if (mc->acct->camps[i].reads)
			rc |= buf_printf(out, "%s\"%s\":%ld", k++ ? "," : "",
					 mc->acct->camps[i].id,
					 mc->acct->camps[i].reads);
	rc |= buf_printf(out,
			 "},\"throttle\":\"%s\",\"wrong_dc_403\":%d,"
			 "\"tags_silent\":%d,\"insertion_order\":%d,"
			 "\"disabled\":%d,\"keep_alive\":%d,"
			 "\"latency_ms\":%ld,\"dc\":\"%s\"}\n",
			 modes[mc->opt.throttle], mc->opt.is_wrong_dc_403,
			 mc->opt.is_tags_silent, mc->opt.is_insertion,
			 mc->opt.is_disabled, mc->opt.is_keep_alive,
			 mc->opt.latency_ms, mc->dc);
	pthread_mutex_unlock(&mc->lock);
	return bad ? -1 : rc < 0 ? -2 : 0;
}

const struct sim_provider mc_provider = {
    .name = "mailchimp",
    .param_prefix = "mc",
    .claims = mc_claims,
    .authenticate = mc_authenticate,
    .throttled = mc_throttled,
    .fault_error = mc_fault_error,
    .handle = mc_handle,
    .advance = mc_advance,
    .truth = mc_truth_cb,
    .control = mc_control,
};

struct mc *mc_new(const struct mc_options *opt)
{
	struct mc *mc = xcalloc(1, sizeof(*mc));
	const char *dash = strrchr(opt->key, '-');

	mc->opt = *opt;
	snprintf(mc->dc, sizeof(mc->dc), "%s", dash ? dash + 1 : "us1");
	pthread_mutex_init(&mc->lock, NULL);
	mc->acct = mc_account_new(opt);
	return mc;
}

void mc_free(struct mc *mc)
{
	if (!mc)
		return;
	mc_account_free(mc->acct);
	pthread_mutex_destroy(&mc->lock);
	free(mc);
}

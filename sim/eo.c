/* EmailOctopus v2: authentication, errors, routing, the campaign and report
 * endpoints, and the provider table the server calls. Lists and contacts
 * are in eo_lists.c. Shapes follow shared/api/emailoctopus.md §1. */
#include "eo_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "simtime.h"
#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_SEGS 8

void eo_error(struct sim_response *r, unsigned status, const char *slug,
	      const char *detail, const char *errors_json)
{
	int rc = 0;

	r->status = status;
	r->content_type = "application/json";
	buf_reset(&r->body);
	rc |=
	    buf_puts(&r->body, "{\"title\":\"An error occurred.\",\"detail\":");
	rc |= jsonw_string(&r->body, detail);
	rc |= buf_printf(&r->body, ",\"status\":%u,", status);
	if (errors_json)
		rc |= buf_printf(&r->body, "\"errors\":[%s],", errors_json);
	rc |= buf_printf(&r->body, "\"type\":\"" EO_TYPE_URL "%s\"}", slug);
	if (rc < 0)
		sim_response_fail(r);
}

void eo_not_found(struct sim_response *r)
{
	eo_error(r, 404, "not-found", "Resource not found.", NULL);
}

void eo_bad_cursor(struct sim_response *r)
{
	eo_error(r, 400, "bad-request", "Bad request.",
		 "{\"parameter\":\"starting_after\","
		 "\"detail\":\"This value is not a valid cursor.\"}");
}

int eo_paging_args(const struct sim_request *req, struct sim_response *resp,
		   long *limit, struct cursor_key *after, int *has_after)
{
	const char *v = sim_request_arg(req, "limit");
	long n = 0;
	int ok = 1;

	*limit = 100;
	*has_after = 0;
	if (v) {
		const char *p = v;

		if (!*p || strlen(p) > 6)
			ok = 0;
		for (; ok && *p; p++) {
			if (*p < '0' || *p > '9')
				ok = 0;
			else
				n = n * 10 + (*p - '0');
		}
		if (!ok || n < 1 || n > 100) {
			eo_error(resp, 400, "bad-request", "Bad request.",
				 "{\"parameter\":\"limit\",\"detail\":\"This "
				 "value should be between 1 and 100.\"}");
			return -1;
		}
		*limit = n;
	}
	v = sim_request_arg(req, "starting_after");
	if (v) {
		if (cursor_decode(v, after) < 0) {
			eo_bad_cursor(resp);
			return -1;
		}
		*has_after = 1;
	}
	return 0;
}

static BUF_MUST_CHECK int campaign_json(const struct account *a,
					const struct campaign *c, struct buf *b)
{
	int rc = 0;
	int j;

	rc |= buf_printf(b, "{\"id\":\"%s\",\"status\":\"%s\",\"name\":", c->id,
			 campaign_status_name(c->status));
	rc |= jsonw_string(b, c->name);
	rc |= buf_puts(b, ",\"subject\":");
	rc |= jsonw_string(b, c->subject);
	rc |= buf_puts(b, ",\"to\":[");
	for (j = 0; j < c->n_to; j++)
		rc |= buf_printf(b, "%s\"%s\"", j ? "," : "",
				 a->lists[c->to[j]].id);
	rc |= buf_puts(b, "],\"from\":{\"name\":");
	rc |= jsonw_string(b, c->from_name);
	rc |= buf_puts(b, ",\"email_address\":");
	rc |= jsonw_string(b, c->from_email);
	rc |= buf_puts(b, "},\"content\":{\"html\":");
	rc |= jsonw_string(b, c->html);
	rc |= buf_puts(b, "},\"created_at\":");
	rc |= simtime_json(b, c->created_at);
	rc |= buf_puts(b, ",\"sent_at\":");
	rc |= simtime_json(b, c->sent_at);
	rc |= buf_putc(b, '}');
	return rc;
}

/* Campaigns are ordered by (created_at, id); the cursor holds both. */
static BUF_MUST_CHECK int get_campaigns(struct eo *eo,
					const struct sim_request *req,
					struct sim_response *resp)
{
	int rc = 0;
	const struct account *a = eo->acct;
	struct cursor_key after;
	struct page pg;
	int64_t after_t = 0;
	int has_after;
	long limit;
	size_t i;

	if (eo_paging_args(req, resp, &limit, &after, &has_after) < 0)
		return rc;
	if (has_after && (after.n != 2 || after.is_int[0] || after.is_int[1] ||
			  simtime_parse(after.str[0], &after_t) < 0)) {
		eo_bad_cursor(resp);
		return rc;
	}
	rc |= buf_putc(&resp->body, '{');
	rc |= page_begin(&pg, &resp->body, limit);
	for (i = 0; i < a->n_camps; i++) {
		const struct campaign *c = &a->camps[i];
		char iso[SIMTIME_ISO_LEN + 1];

		if (has_after && (c->created_at < after_t ||
				  (c->created_at == after_t &&
				   strcmp(c->id, after.str[1]) <= 0)))
			continue;
		if (!page_next_item(&pg))
			break;
		rc |= campaign_json(a, c, &resp->body);
		simtime_iso(iso, c->created_at);
		cursor_set_str(&pg.last, 0, iso);
		cursor_set_str(&pg.last, 1, c->id);
	}
	rc |= page_finish(&pg, sim_request_base_url(req), "/campaigns", NULL, 0,
			  eo->opt.paging_end);
	rc |= buf_putc(&resp->body, '}');
	return rc;
}

static BUF_MUST_CHECK int get_links(const struct campaign *c, struct buf *b)
{
	int rc = 0;
	int k;

	rc |= buf_puts(b, "{\"data\":[");
	for (k = 0; k < c->n_links; k++) {
		rc |= buf_puts(b, k ? ",{\"url\":" : "{\"url\":");
		rc |= jsonw_string(b, c->links[k].url);
		rc |= buf_printf(
		    b, ",\"clicked_total\":%ld,\"clicked_unique\":%ld}",
		    c->links[k].clicked_total, c->links[k].clicked_unique);
	}
	rc |= buf_puts(b, "]}");
	return rc;
}

static int parse_report_status(const char *s, enum report_type *out)
{
	int k;

	for (k = 0; k < RT_ALL; k++)
		if (strcmp(s, report_type_name((enum report_type)k)) == 0) {
			*out = (enum report_type)k;
			return 0;
		}
	return -1;
}

/* First row strictly after (ms, hi, lo) in a (t, id)-sorted array. */
static size_t rows_after(const struct rows *rs, int64_t ms, uint64_t hi,
			 uint64_t lo)
{
	size_t l = 0, h = rs->n;
	struct row key;

	memset(&key, 0, sizeof(key));
	key.t = ms / 1000;
	key.idh = hi;
	key.idl = lo;
	if (ms % 1000)
		key.idh = key.idl = UINT64_MAX;
	while (l < h) {
		size_t m = l + (h - l) / 2;

		if (row_cmp(&rs->v[m], &key) <= 0)
			l = m + 1;
		else
			h = m;
	}
	return l;
}

static BUF_MUST_CHECK int get_report(struct eo *eo,
				     const struct sim_request *req,
				     struct sim_response *resp,
				     const struct campaign *c, const char *path)
{
	int rc = 0;
	const struct account *a = eo->acct;
	const char *st = sim_request_arg(req, "status");
	enum report_type rt;
	const struct rows *rs;
	struct cursor_key after;
	struct page_param param;
	struct page pg;
	uint64_t hi = 0, lo = 0;
	uint16_t skip_flag = 0;
	int has_after;
	long limit;
	size_t i = 0;

	if (!st || !*st) {
		eo_error(resp, 400, "bad-request", "Bad request.",
			 "{\"parameter\":\"status\",\"detail\":\"This value "
			 "should not be blank.\"}");
		return rc;
	}
	if (parse_report_status(st, &rt) < 0) {
		eo_error(resp, 400, "bad-request", "Bad request.",
			 "{\"parameter\":\"status\",\"detail\":\"The value you "
			 "selected is not a valid choice.\"}");
		return rc;
	}
	if (eo_paging_args(req, resp, &limit, &after, &has_after) < 0)
		return rc;
	if (has_after && (after.n != 2 || !after.is_int[0] || after.is_int[1] ||
			  uuid_parse(after.str[1], &hi, &lo) < 0)) {
		eo_bad_cursor(resp);
		return rc;
	}
	if (!account_has_reports(c)) {
		eo_error(resp, 400, "bad-request", "Bad request.", NULL);
		return rc;
	}
	if (rt == RT_NOT_OPENED || rt == RT_NOT_CLICKED) {
		rs = &c->rep[RT_SENT];
		skip_flag =
		    (uint16_t)(1u << (rt == RT_NOT_OPENED ? RT_OPENED
							  : RT_CLICKED));
	} else {
		rs = &c->rep[rt];
	}
	if (has_after)
		i = rows_after(rs, after.num[0], hi, lo);
	rc |= buf_printf(&resp->body, "{\"status\":\"%s\",",
			 report_type_name(rt));
	rc |= page_begin(&pg, &resp->body, limit);
	for (; i < rs->n; i++) {
		const struct row *r = &rs->v[i];
		const struct contact *ct = &a->contacts[r->contact];
		char id[UUID_LEN + 1];
		enum occ_mode occ = account_row_occ(a, r);

		if (skip_flag && (c->flags[r->contact] & skip_flag))
			continue;
		if (!page_next_item(&pg))
			break;
		rc |= buf_printf(&resp->body,
				 "{\"contact_id\":\"%s\","
				 "\"contact_email_address\":",
				 ct->id);
		rc |= jsonw_string(&resp->body, a->persons[ct->person].email);
		if (!skip_flag && occ == OCC_PRESENT) {
			rc |= buf_puts(&resp->body, ",\"occurred_at\":");
			rc |= simtime_json(&resp->body, r->t);
		} else if (!skip_flag && occ == OCC_NULL) {
			rc |= buf_puts(&resp->body, ",\"occurred_at\":null");
		}
		rc |= buf_putc(&resp->body, '}');
		uuid_format(id, r->idh, r->idl);
		cursor_set_int(&pg.last, 0, r->t * 1000);
		cursor_set_str(&pg.last, 1, id);
	}
	param.name = "status";
	param.value = report_type_name(rt);
	rc |= page_finish(&pg, sim_request_base_url(req), path, &param, 1,
			  eo->opt.paging_end);
	rc |= buf_putc(&resp->body, '}');
	return rc;
}

static BUF_MUST_CHECK int campaigns_route(struct eo *eo,
					  const struct sim_request *req,
					  struct sim_response *resp,
					  char **segs, int n)
{
	int rc = 0;
	const struct account *a = eo->acct;
	const struct campaign *c;
	long ci;

	if (n == 1) {
		rc |= get_campaigns(eo, req, resp);
		return rc;
	}
	ci = account_find_campaign(a, segs[1]);
	if (ci < 0 || n > 4 || (n >= 3 && strcmp(segs[2], "reports") != 0) ||
	    (n == 4 && strcmp(segs[3], "summary") != 0 &&
	     strcmp(segs[3], "links") != 0)) {
		eo_not_found(resp);
		return rc;
	}
	c = &a->camps[ci];
	if (n == 2) {
		rc |= campaign_json(a, c, &resp->body);
	} else if (n == 3) {
		rc |= get_report(eo, req, resp, c, sim_request_path(req));
	} else if (!account_has_reports(c) && c->status == CAMP_DRAFT &&
		   a->opt.is_draft_sent_at) {
		/* What a live account answered for a draft's summary. */
		eo_error(resp, 403, "forbidden", "Forbidden.", NULL);
	} else if (!account_has_reports(c)) {
		/* Unsent campaigns have no reports; v2's answer is
		 * undocumented, 400 is the likely one (api doc §1.7). */
		eo_error(resp, 400, "bad-request", "Bad request.", NULL);
	} else if (strcmp(segs[3], "summary") == 0) {
		rc |= account_summary_json(c, &resp->body);
	} else {
		rc |= get_links(c, &resp->body);
	}
	return rc;
}

/* Splits a copy of path into segments; an empty trailing one is dropped. */
static int split_path(char *p, char **segs)
{
	int n = 0;

	if (*p == '/')
		p++;
	while (*p && n < MAX_SEGS) {
		char *e = strchr(p, '/');

		segs[n++] = p;
		if (!e)
			return n;
		*e = '\0';
		p = e + 1;
	}
	return *p ? MAX_SEGS + 1 : n;
}

static BUF_MUST_CHECK int eo_handle(void *state, const struct sim_request *req,
				    struct sim_response *resp)
{
	int rc = 0;
	struct eo *eo = state;
	const char *m = sim_request_method(req);
	char *path = xstrdup(sim_request_path(req));
	char *segs[MAX_SEGS];
	int n = split_path(path, segs), i;

	for (i = 0; i < n && i < MAX_SEGS; i++)
		if (!*segs[i])
			n = MAX_SEGS + 1;
	if (n == 0 || n > MAX_SEGS ||
	    (strcmp(segs[0], "campaigns") != 0 && strcmp(segs[0], "lists"))) {
		eo_not_found(resp);
	} else if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
		eo_error(resp, 405, "method-not-allowed", "Method not allowed.",
			 NULL);
	} else {
		pthread_mutex_lock(&eo->lock);
		if (segs[0][0] == 'c')
			rc |= campaigns_route(eo, req, resp, segs, n);
		else
			rc |= eo_lists_route(eo, req, resp, segs + 1, n - 1);
		pthread_mutex_unlock(&eo->lock);
	}
	free(path);
	return rc;
}

static int eo_claims(void *state, const char *path)
{
	(void)state;
	(void)path;
	return 1; /* v2 lives at the root: every non-control path */
}

static int eo_authenticate(void *state, const struct sim_request *req,
			   struct sim_response *resp)
{
	const struct eo *eo = state;
	const char *h = sim_request_header(req, "Authorization");

	if (h && strncasecmp(h, "Bearer ", 7) == 0) {
		h += 7;
		while (*h == ' ')
			h++;
		/* A legacy (pre-v2) key is refused exactly like a wrong one. */
		if (strcmp(h, eo->opt.key) == 0)
			return 0;
	}
	eo_error(resp, 401, "unauthorized", "Invalid key.", NULL);
	return -1;
}

static void eo_throttled(void *state, struct sim_response *resp)
{
	(void)state;
	eo_error(resp, 429, "too-many-requests", "Too many requests.", NULL);
}

static void eo_fault_error(void *state, unsigned status,
			   struct sim_response *resp)
{
	(void)state;
	if (status == 403)
		eo_error(resp, 403, "access-denied", "Access denied.", NULL);
	else if (status == 503)
		eo_error(resp, 503, "internal-error", "Service unavailable.",
			 NULL);
	else
		eo_error(resp, 500, "internal-error", "Internal error.", NULL);
}

static int eo_advance(void *state, int64_t seconds, struct buf *out)
{
	struct eo *eo = state;
	struct advance_result res;
	int rc;

	pthread_mutex_lock(&eo->lock);
	rc = account_advance(eo->acct, seconds, &res);
	if (rc == 0) {
		rc |= buf_puts(out, "{\"now\":");
		rc |= simtime_json(out, eo->acct->now);
		rc |= buf_printf(
		    out, ",\"new_events\":%ld,\"updated_contacts\":%ld}\n",
		    res.new_events, res.updated_contacts);
	}
	pthread_mutex_unlock(&eo->lock);
	return rc;
}

static int eo_truth(void *state, struct buf *out)
{
	struct eo *eo = state;
	int rc;

	pthread_mutex_lock(&eo->lock);
	rc = account_truth(eo->acct, out);
	pthread_mutex_unlock(&eo->lock);
	return rc;
}

const struct sim_provider eo_provider = {
    .name = "emailoctopus",
    .param_prefix = "eo",
    .remaining_header = "X-RateLimiting-Remaining",
    .retry_after_header = "X-RateLimit-Retry-After",
    .claims = eo_claims,
    .authenticate = eo_authenticate,
    .throttled = eo_throttled,
    .fault_error = eo_fault_error,
    .handle = eo_handle,
    .advance = eo_advance,
    .truth = eo_truth,
};

struct eo *eo_new(const struct eo_options *opt)
{
	struct eo *eo = xcalloc(1, sizeof(*eo));

	eo->opt = *opt;
	pthread_mutex_init(&eo->lock, NULL);
	eo->acct = account_new(&opt->account);
	return eo;
}

void eo_free(struct eo *eo)
{
	if (!eo)
		return;
	account_free(eo->acct);
	pthread_mutex_destroy(&eo->lock);
	free(eo);
}

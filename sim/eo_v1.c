/* EmailOctopus API v1.6 (legacy) under /api/1.6/, over the same account as
 * v2: api_key in the query, UPPERCASE enums, page-style paging with relative
 * previous/next links for collections, next-only paging for reports and
 * tag-filtered contacts, full contacts in report rows, {"error":{code,
 * message}} errors, and no rate-limit headers (api doc §2). */
#include "eo_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simtime.h"
#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define V1_PREFIX "/api/1.6"
#define V1_MAX_SEGS 8

/* Paging of one request: the path and key repeat in the links. */
struct v1_page {
	long limit;
	long page;
	const char *path; /* full request path */
	const char *key;
	const char *extra; /* extra query, e.g. "&status=x"; may be "" */
};

static void v1_error(struct sim_response *r, unsigned status, const char *code,
		     const char *message)
{
	int rc = 0;

	r->status = status;
	buf_reset(&r->body);
	rc |= buf_printf(&r->body,
			 "{\"error\":{\"code\":\"%s\",\"message\":", code);
	rc |= jsonw_string(&r->body, message);
	rc |= buf_puts(&r->body, "}}");
	if (rc < 0)
		sim_response_fail(r);
}

static void v1_not_found(struct sim_response *r)
{
	v1_error(r, 404, "NOT_FOUND", "The endpoint does not exist.");
}

/* Writes s as a JSON string in upper case (enums only, ASCII). */
static BUF_MUST_CHECK int put_upper(struct buf *b, const char *s)
{
	char tmp[32];
	size_t i;

	for (i = 0; s[i] && i + 1 < sizeof(tmp); i++)
		tmp[i] =
		    (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) : s[i];
	tmp[i] = '\0';
	return jsonw_string(b, tmp);
}

static BUF_MUST_CHECK int put_plain_text(struct buf *b, const char *html)
{
	int rc = 0;
	struct buf t = BUF_INIT;
	int in_tag = 0;

	/* Tags become single spaces, so words do not run together. */
	for (; html && *html; html++) {
		if (*html == '<') {
			in_tag = 1;
			if (t.len && t.data[t.len - 1] != ' ')
				rc |= buf_putc(&t, ' ');
		} else if (*html == '>') {
			in_tag = 0;
		} else if (!in_tag && (*html != ' ' ||
				       (t.len && t.data[t.len - 1] != ' '))) {
			rc |= buf_putc(&t, *html);
		}
	}
	while (t.len && t.data[t.len - 1] == ' ')
		t.data[--t.len] = '\0';
	rc |= jsonw_stringn(b, t.data ? t.data : "", t.len);
	buf_release(&t);
	return rc;
}

static BUF_MUST_CHECK int v1_campaign(const struct account *a,
				      const struct campaign *c, struct buf *b)
{
	int rc = 0;
	int j;

	rc |= buf_printf(b, "{\"id\":\"%s\",\"status\":", c->id);
	rc |= put_upper(b, campaign_status_name(c->status));
	rc |= buf_puts(b, ",\"name\":");
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
	rc |= buf_puts(b, ",\"plain_text\":");
	rc |= put_plain_text(b, c->html);
	rc |= buf_puts(b, "},\"created_at\":");
	rc |= simtime_json(b, c->created_at);
	rc |= buf_puts(b, ",\"sent_at\":");
	rc |= simtime_json(b, c->sent_at);
	rc |= buf_putc(b, '}');
	return rc;
}

static BUF_MUST_CHECK int v1_list(const struct account *a, const struct list *l,
				  struct buf *b)
{
	int rc = 0;
	long counts[3];
	int k;

	rc |= buf_printf(b, "{\"id\":\"%s\",\"name\":", l->id);
	rc |= jsonw_string(b, l->name);
	rc |= buf_puts(b, ",\"double_opt_in\":false,\"fields\":[");
	for (k = 0; k < l->n_fields; k++) {
		rc |= buf_puts(b, k ? ",{\"tag\":" : "{\"tag\":");
		rc |= jsonw_string(b, l->fields[k].tag);
		rc |= buf_puts(b, ",\"type\":");
		rc |= put_upper(b, field_type_name(l->fields[k].type));
		rc |= buf_puts(b, ",\"label\":");
		rc |= jsonw_string(b, l->fields[k].label);
		rc |= buf_puts(b, ",\"fallback\":");
		rc |= jsonw_string(b, l->fields[k].fallback);
		rc |= buf_putc(b, '}');
	}
	rc |= buf_puts(b, "],\"tags\":[");
	for (k = 0; k < l->n_tags; k++) {
		if (k)
			rc |= buf_putc(b, ',');
		rc |= jsonw_string(b, l->tags[k]);
	}
	account_list_counts(a, l, counts);
	rc |= buf_printf(b,
			 "],\"counts\":{\"pending\":%ld,\"subscribed\":%ld,"
			 "\"unsubscribed\":%ld},\"created_at\":",
			 counts[CS_PENDING], counts[CS_SUBSCRIBED],
			 counts[CS_UNSUBSCRIBED]);
	rc |= simtime_json(b, l->created_at);
	rc |= buf_putc(b, '}');
	return rc;
}

static BUF_MUST_CHECK int v1_contact(const struct account *a,
				     const struct contact *c, int has_deleted,
				     struct buf *b)
{
	int rc = 0;

	rc |= buf_printf(b, "{\"id\":\"%s\",\"email_address\":", c->id);
	rc |= jsonw_string(b, a->persons[c->person].email);
	rc |= buf_puts(b, ",\"fields\":");
	rc |= account_fields_json(a, c, b);
	rc |= buf_puts(b, ",\"tags\":");
	rc |= account_tags_json(a, c, b);
	rc |= buf_puts(b, ",\"status\":");
	rc |= put_upper(b, contact_status_name(c->status));
	if (has_deleted)
		rc |= buf_puts(b, ",\"deleted\":false");
	rc |= buf_puts(b, ",\"created_at\":");
	rc |= simtime_json(b, c->created_at);
	rc |= buf_puts(b, ",\"last_updated_at\":");
	rc |= simtime_json(b, c->last_updated_at);
	rc |= buf_putc(b, '}');
	return rc;
}

static int parse_pos(const char *v, long max, long *out)
{
	char *end;
	long n;

	if (!v)
		return 0;
	n = strtol(v, &end, 10);
	if (end == v || *end || n < 1 || n > max)
		return -1;
	*out = n;
	return 0;
}

static int v1_page_args(const struct sim_request *req,
			struct sim_response *resp, struct v1_page *pg)
{
	pg->limit = 100;
	pg->page = 1;
	pg->path = sim_request_path(req);
	pg->key = sim_request_arg(req, "api_key");
	pg->extra = "";
	if (parse_pos(sim_request_arg(req, "limit"), 100, &pg->limit) < 0 ||
	    parse_pos(sim_request_arg(req, "page"), 10000000, &pg->page) < 0) {
		v1_error(resp, 400, "INVALID_PARAMETERS",
			 "Parameters are missing or invalid.");
		return -1;
	}
	return 0;
}

/* A relative link like the fixtures': "/api/1.6/campaigns?api_key=K&
 * limit=100&page=2"; page 1 carries no page parameter. */
static BUF_MUST_CHECK int put_link(struct buf *b, const struct v1_page *pg,
				   long page)
{
	int rc = 0;
	struct buf u = BUF_INIT;

	rc |= buf_printf(&u, "%s?api_key=", pg->path);
	rc |= url_encode(&u, pg->key ? pg->key : "");
	rc |= buf_printf(&u, "&limit=%ld%s", pg->limit, pg->extra);
	if (page > 1)
		rc |= buf_printf(&u, "&page=%ld", page);
	rc |= jsonw_string(b, buf_str(&u));
	buf_release(&u);
	return rc;
}

static void page_bounds(const struct v1_page *pg, size_t total, size_t *from,
			size_t *to)
{
	size_t start = (size_t)(pg->page - 1) * (size_t)pg->limit;

	*from = start < total ? start : total;
	*to = *from + (size_t)pg->limit < total ? *from + (size_t)pg->limit
						: total;
}

/* ,"paging":{"previous":..,"next":..} for page-style collections. */
static BUF_MUST_CHECK int
paging_prev_next(struct buf *b, const struct v1_page *pg, size_t total)
{
	int rc = 0;
	size_t from, to;

	page_bounds(pg, total, &from, &to);
	rc |= buf_puts(b, "],\"paging\":{\"previous\":");
	if (pg->page > 1)
		rc |= put_link(b, pg, pg->page - 1);
	else
		rc |= buf_puts(b, "null");
	rc |= buf_puts(b, ",\"next\":");
	if (to < total)
		rc |= put_link(b, pg, pg->page + 1);
	else
		rc |= buf_puts(b, "null");
	rc |= buf_puts(b, "}}");
	return rc;
}

/* ,"paging":{"next":..} while data remains, then "paging":[]. */
static BUF_MUST_CHECK int
paging_next_only(struct buf *b, const struct v1_page *pg, size_t total)
{
	int rc = 0;
	size_t from, to;

	page_bounds(pg, total, &from, &to);
	if (to < total) {
		rc |= buf_puts(b, "],\"paging\":{\"next\":");
		rc |= put_link(b, pg, pg->page + 1);
		rc |= buf_puts(b, "}}");
	} else {
		rc |= buf_puts(b, "],\"paging\":[]}");
	}
	return rc;
}

static BUF_MUST_CHECK int get_campaigns(struct eo *eo,
					const struct sim_request *req,
					struct sim_response *resp)
{
	int rc = 0;
	const struct account *a = eo->acct;
	struct v1_page pg;
	size_t from, to, i;

	if (v1_page_args(req, resp, &pg) < 0)
		return rc;
	page_bounds(&pg, a->n_camps, &from, &to);
	rc |= buf_puts(&resp->body, "{\"data\":[");
	for (i = from; i < to; i++) {
		if (i > from)
			rc |= buf_putc(&resp->body, ',');
		rc |= v1_campaign(a, &a->camps[i], &resp->body);
	}
	rc |= paging_prev_next(&resp->body, &pg, a->n_camps);
	return rc;
}

static BUF_MUST_CHECK int get_report(struct eo *eo,
				     const struct sim_request *req,
				     struct sim_response *resp,
				     const struct campaign *c, const char *type)
{
	int rc = 0;
	const struct account *a = eo->acct;
	enum report_type rt = RT_ALL;
	const struct rows *rs;
	uint32_t *idx = NULL;
	uint16_t skip = 0;
	struct v1_page pg;
	size_t n = 0, from, to, i;
	int k;

	for (k = 0; k < RT_ALL; k++)
		if (!strcmp(type, report_type_name((enum report_type)k)))
			rt = (enum report_type)k;
	if (rt == RT_ALL) {
		v1_not_found(resp);
		return rc;
	}
	if (v1_page_args(req, resp, &pg) < 0)
		return rc;
	rs = rt >= RT_STORED ? &c->rep[RT_SENT] : &c->rep[rt];
	if (rt >= RT_STORED)
		skip = (uint16_t)(1u << (rt == RT_NOT_OPENED ? RT_OPENED
							     : RT_CLICKED));
	idx = xcalloc(rs->n + 1, sizeof(*idx));
	for (i = 0; i < rs->n; i++)
		if (!skip || !(c->flags[rs->v[i].contact] & skip))
			idx[n++] = (uint32_t)i;
	page_bounds(&pg, n, &from, &to);
	rc |= buf_puts(&resp->body, "{\"data\":[");
	for (i = from; i < to; i++) {
		const struct row *r = &rs->v[idx[i]];
		enum occ_mode occ = account_row_occ(a, r);

		rc |= buf_puts(&resp->body,
			       i > from ? ",{\"contact\":" : "{\"contact\":");
		rc |= v1_contact(a, &a->contacts[r->contact], 1, &resp->body);
		if (!skip && occ == OCC_PRESENT) {
			rc |= buf_puts(&resp->body, ",\"occurred_at\":");
			rc |= simtime_json(&resp->body, r->t);
		} else if (!skip && occ == OCC_NULL) {
			rc |= buf_puts(&resp->body, ",\"occurred_at\":null");
		}
		rc |= buf_putc(&resp->body, '}');
	}
	rc |= paging_next_only(&resp->body, &pg, n);
	free(idx);
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
	if (ci < 0) {
		v1_error(resp, 404, "CAMPAIGN_NOT_FOUND",
			 "The campaign could not be found.");
		return rc;
	}
	c = &a->camps[ci];
	if (n == 2) {
		rc |= v1_campaign(a, c, &resp->body);
		return rc;
	}
	if (n != 4 || strcmp(segs[2], "reports") != 0) {
		v1_not_found(resp);
		return rc;
	}
	/* Only SENT campaigns have reports on v1.6 (sending ones too are
	 * refused: "does not have a status of 'SENT'"). */
	if (c->status != CAMP_SENT) {
		v1_error(resp, 400, "CAMPAIGN_NOT_SENT",
			 "The campaign does not have a status of 'SENT'.");
	} else if (!strcmp(segs[3], "summary")) {
		rc |= account_summary_json(c, &resp->body);
	} else if (!strcmp(segs[3], "links")) {
		int k;

		rc |= buf_puts(&resp->body, "{\"data\":[");
		for (k = 0; k < c->n_links; k++) {
			rc |= buf_puts(&resp->body,
				       k ? ",{\"url\":" : "{\"url\":");
			rc |= jsonw_string(&resp->body, c->links[k].url);
			rc |= buf_printf(&resp->body,
					 ",\"clicked_total\":%ld,"
					 "\"clicked_unique\":%ld}",
					 c->links[k].clicked_total,
					 c->links[k].clicked_unique);
		}
		rc |= buf_puts(&resp->body, "],\"paging\":[]}");
	} else {
		rc |= get_report(eo, req, resp, c, segs[3]);
	}
	return rc;
}

/* Contacts of a list in (created_at, id) order. status_mask bit i admits
 * status i; tag_bit < 0 admits any tag. */
static BUF_MUST_CHECK int
get_contacts(struct eo *eo, const struct sim_request *req,
	     struct sim_response *resp, const struct list *l,
	     unsigned status_mask, int tag_bit, int is_next_only)
{
	int rc = 0;
	const struct account *a = eo->acct;
	uint32_t *idx = xcalloc(l->n_members + 1, sizeof(*idx));
	struct v1_page pg;
	size_t n = 0, from, to, i;

	if (v1_page_args(req, resp, &pg) < 0)
		goto done;
	for (i = 0; i < l->n_members; i++) {
		const struct contact *c = &a->contacts[l->members[i]];

		if (!(status_mask & (1u << c->status)))
			continue;
		if (tag_bit >= 0 && !(c->tags & (1u << tag_bit)))
			continue;
		idx[n++] = l->members[i];
	}
	page_bounds(&pg, n, &from, &to);
	rc |= buf_puts(&resp->body, "{\"data\":[");
	for (i = from; i < to; i++) {
		if (i > from)
			rc |= buf_putc(&resp->body, ',');
		rc |= v1_contact(a, &a->contacts[idx[i]], 0, &resp->body);
	}
	if (is_next_only)
		rc |= paging_next_only(&resp->body, &pg, n);
	else
		rc |= paging_prev_next(&resp->body, &pg, n);
done:
	free(idx);
	return rc;
}

static BUF_MUST_CHECK int lists_route(struct eo *eo,
				      const struct sim_request *req,
				      struct sim_response *resp, char **segs,
				      int n)
{
	int rc = 0;
	const struct account *a = eo->acct;
	const struct list *l;
	struct v1_page pg;
	long li, ci;
	size_t from, to, i;
	int k;

	if (n == 1) {
		if (v1_page_args(req, resp, &pg) < 0)
			return rc;
		page_bounds(&pg, a->n_lists, &from, &to);
		rc |= buf_puts(&resp->body, "{\"data\":[");
		for (i = from; i < to; i++) {
			if (i > from)
				rc |= buf_putc(&resp->body, ',');
			rc |= v1_list(a, &a->lists[i], &resp->body);
		}
		rc |= paging_prev_next(&resp->body, &pg, a->n_lists);
		return rc;
	}
	li = account_find_list(a, segs[1]);
	if (li < 0) {
		v1_error(resp, 404, "LIST_NOT_FOUND",
			 "The list could not be found.");
		return rc;
	}
	l = &a->lists[li];
	if (n == 2) {
		rc |= v1_list(a, l, &resp->body);
	} else if (!strcmp(segs[2], "tags") && n == 3) {
		rc |= buf_puts(&resp->body, "{\"data\":[");
		for (k = 0; k < l->n_tags; k++) {
			rc |= buf_puts(&resp->body,
				       k ? ",{\"tag\":" : "{\"tag\":");
			rc |= jsonw_string(&resp->body, l->tags[k]);
			rc |= buf_putc(&resp->body, '}');
		}
		rc |= buf_puts(&resp->body, "]}");
	} else if (!strcmp(segs[2], "tags") && n == 5 &&
		   !strcmp(segs[4], "contacts")) {
		int bit = 31; /* an unknown tag: no contact has bit 31 */

		for (k = 0; k < l->n_tags; k++)
			if (!strcmp(segs[3], l->tags[k]))
				bit = k;
		rc |= get_contacts(eo, req, resp, l, 7u, bit, 1);
	} else if (strcmp(segs[2], "contacts") != 0 || n > 4) {
		v1_not_found(resp);
	} else if (n == 3) {
		rc |= get_contacts(eo, req, resp, l, 7u, -1, 0);
	} else if (!strcmp(segs[3], "subscribed")) {
		rc |=
		    get_contacts(eo, req, resp, l, 1u << CS_SUBSCRIBED, -1, 0);
	} else if (!strcmp(segs[3], "unsubscribed")) {
		rc |= get_contacts(eo, req, resp, l, 1u << CS_UNSUBSCRIBED, -1,
				   0);
	} else if ((ci = account_find_contact(a, (size_t)li, segs[3])) < 0) {
		v1_error(resp, 404, "MEMBER_NOT_FOUND",
			 "The contact could not be found.");
	} else {
		rc |= v1_contact(a, &a->contacts[ci], 0, &resp->body);
	}
	return rc;
}

static BUF_MUST_CHECK int v1_handle(void *state, const struct sim_request *req,
				    struct sim_response *resp)
{
	int rc = 0;
	struct eo *eo = state;
	char *path = xstrdup(sim_request_path(req) + strlen(V1_PREFIX));
	char *segs[V1_MAX_SEGS], *p = path;
	int n = 0, is_too_deep = 0;

	if (*p == '/')
		p++;
	while (*p) {
		char *e = strchr(p, '/');

		if (n == V1_MAX_SEGS) {
			is_too_deep = 1;
			break;
		}
		segs[n++] = p;
		if (!e)
			break;
		*e = '\0';
		p = e + 1;
	}
	if (n == 0 || is_too_deep ||
	    strcmp(sim_request_method(req), "GET") != 0) {
		v1_not_found(resp);
	} else if (!strcmp(segs[0], "campaigns") || !strcmp(segs[0], "lists")) {
		pthread_mutex_lock(&eo->lock);
		if (segs[0][0] == 'c')
			rc |= campaigns_route(eo, req, resp, segs, n);
		else
			rc |= lists_route(eo, req, resp, segs, n);
		pthread_mutex_unlock(&eo->lock);
	} else {
		v1_not_found(resp);
	}
	free(path);
	return rc;
}

static int v1_claims(void *state, const char *path)
{
	(void)state;
	return !strncmp(path, V1_PREFIX "/", strlen(V1_PREFIX) + 1) ||
	       !strcmp(path, V1_PREFIX);
}

/* Both key kinds work on v1.6; each has its own bucket. */
static int v1_authenticate(void *state, const struct sim_request *req,
			   struct sim_response *resp)
{
	const struct eo *eo = state;
	const char *k = sim_request_arg(req, "api_key");

	if (k && !strcmp(k, eo->opt.key))
		return 0;
	if (k && eo->opt.legacy_key && !strcmp(k, eo->opt.legacy_key))
		return 1;
	v1_error(resp, 401, "API_KEY_INVALID", "Invalid API key");
	return -1;
}

static void v1_throttled(void *state, struct sim_response *resp)
{
	(void)state;
	v1_error(resp, 429, "TOO_MANY_REQUESTS",
		 "You have exceeded the rate limit.");
}

static void v1_fault_error(void *state, unsigned status,
			   struct sim_response *resp)
{
	(void)state;
	if (status == 403)
		v1_error(resp, 403, "UNAUTHORISED",
			 "You're not authorised to perform that action.");
	else
		v1_error(resp, status, "UNKNOWN", "An unknown error occurred.");
}

const struct sim_provider eo_v1_provider = {
    .name = "emailoctopus-v1.6",
    .param_prefix = "eo_v1",
    .remaining_header = NULL,
    .retry_after_header = NULL,
    .claims = v1_claims,
    .authenticate = v1_authenticate,
    .throttled = v1_throttled,
    .fault_error = v1_fault_error,
    .handle = v1_handle,
    .advance = NULL,
    .truth = NULL,
};

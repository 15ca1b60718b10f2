/* ActiveCampaign v3 under /api/3/: Api-Token authentication, the 402, 403,
 * 429/503 and error bodies, offset paging with meta.total as a string, the
 * campaign, list, tag, field and user routes, the /_sim/ac switches, and
 * the provider table. Contacts are in ac_contacts.c, v1 in ac_v1.c. Shapes
 * follow shared/api/activecampaign.md. */
#include "ac_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_SEGS 6
#define V3_PREFIX "/api/3"
#define V1_PATH "/admin/api.php"
#define LINK_BASE "https://sim.api-us1.com/api/3"

int ac_put_iso(const struct ac_account *a, struct buf *b, int64_t t)
{
	char s[26];

	if (t < 0)
		return buf_puts(b, "null");
	ac_tz_iso(&a->tz, t, s);
	return buf_printf(b, "\"%s\"", s);
}

int ac_put_naive(const struct ac_account *a, struct buf *b, int64_t t)
{
	char s[20];

	if (t < 0)
		return buf_puts(b, "null");
	ac_tz_naive(&a->tz, t, s);
	return buf_printf(b, "\"%s\"", s);
}

int ac_put_date(const struct ac_account *a, struct buf *b, int64_t t)
{
	char s[11];

	if (t < 0)
		return buf_puts(b, "null");
	ac_tz_date(&a->tz, t, s);
	return buf_printf(b, "\"%s\"", s);
}

void ac_message(struct sim_response *r, unsigned status, const char *msg)
{
	int rc = 0;

	r->status = status;
	r->content_type = "application/json";
	buf_reset(&r->body);
	rc |= buf_puts(&r->body, "{\"message\":");
	rc |= jsonw_string(&r->body, msg);
	rc |= buf_putc(&r->body, '}');
	if (rc < 0)
		sim_response_fail(r);
}

static void not_found_errors(struct sim_response *r)
{
	int rc = 0;

	r->status = 404;
	buf_reset(&r->body);
	rc |= buf_puts(&r->body, "{\"errors\":[{\"status\":404,\"title\":\"Not "
				 "Found\"}]}");
	if (rc < 0)
		sim_response_fail(r);
}

long ac_parse_id(const char *s)
{
	long n = 0;

	if (!s || !*s || strlen(s) > 15)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (*s - '0');
	}
	return n;
}

/* A non-negative number, or -1 when absent or not digits only. */
static long digits_arg(const char *v)
{
	return v ? ac_parse_id(v) : -1;
}

int ac_paging(const struct ac *ac, const struct sim_request *req,
	      struct sim_response *resp, long *limit, long *offset)
{
	const char *lv = sim_request_arg(req, "limit");
	long l = digits_arg(lv), o = digits_arg(sim_request_arg(req, "offset"));

	if (lv && (l < 1 || l > 100) && ac->opt.is_limit_422) {
		resp->status = 422;
		buf_reset(&resp->body);
		if (buf_puts(&resp->body,
			     "{\"errors\":[{\"title\":\"Digits only, 1 or "
			     "greater, and no greater than 100\",\"detail\":"
			     "\"\",\"code\":\"field_invalid\",\"source\":"
			     "{\"pointer\":\"/limit\"}}]}") < 0)
			sim_response_fail(resp);
		return -1;
	}
	*limit = l < 1 ? 20 : l > 100 ? 100 : l;
	*offset = o < 0 ? 0 : o;
	return 0;
}

static BUF_MUST_CHECK int put_str(struct buf *b, const char *key, const char *v)
{
	int rc = 0;

	rc |= buf_printf(b, "\"%s\":", key);
	rc |= jsonw_string(b, v);
	rc |= buf_putc(b, ',');
	return rc;
}

static BUF_MUST_CHECK int put_num(struct buf *b, const char *key, long v)
{
	return buf_printf(b, "\"%s\":\"%ld\",", key, v);
}

static BUF_MUST_CHECK int put_campaign(const struct ac_account *a,
				       const struct ac_campaign *c,
				       struct buf *b)
{
	int rc = 0;
	const struct ac_counts *n = &c->cnt;
	int sent = !c->is_draft;

	/* Automation emails show status "1" and an automation id; their
	 * type is "automation" or "single" (both seen). */
	rc |= buf_printf(b,
			 "{\"type\":\"%s\",\"userid\":\"1\",\"segmentid\":"
			 "\"0\",\"bounceid\":\"-1\",\"realcid\":\"0\","
			 "\"sendid\":\"0\",\"threadid\":\"0\",\"seriesid\":"
			 "\"0\",\"formid\":\"0\",\"basetemplateid\":\"0\","
			 "\"basemessageid\":\"0\",\"addressid\":\"0\","
			 "\"source\":\"web\",",
			 c->automation && c->automation % 4 == 2 ? "automation"
								 : "single");
	rc |= put_str(b, "name", c->name);
	rc |= buf_puts(b, "\"cdate\":");
	rc |= ac_put_iso(a, b, c->cdate);
	rc |= buf_puts(b, ",\"mdate\":");
	rc |= ac_put_iso(a, b, c->mdate);
	rc |= buf_puts(b, ",\"sdate\":");
	if (sent)
		rc |= ac_put_iso(a, b, c->sdate);
	else
		rc |= buf_puts(b, c->draft_style ? "\"0000-00-00 00:00:00\""
						 : "null");
	rc |= buf_puts(b, ",\"ldate\":");
	rc |= ac_put_iso(a, b,
			 !sent		 ? -1
			 : c->automation ? c->updated
					 : c->sdate + 300);
	rc |= buf_putc(b, ',');
	rc |= put_num(b, "send_amt", (long)c->n_rcpt);
	rc |= put_num(b, "total_amt", (long)c->n_rcpt);
	rc |= put_num(b, "opens", n->opens);
	rc |= put_num(b, "uniqueopens", n->uniqueopens);
	rc |= put_num(b, "linkclicks", n->linkclicks);
	rc |= put_num(b, "uniquelinkclicks", n->uniquelinkclicks);
	rc |= put_num(b, "subscriberclicks", n->uniquelinkclicks);
	rc |= buf_puts(b, "\"forwards\":\"0\",\"uniqueforwards\":\"0\",");
	rc |= put_num(b, "hardbounces", n->hardbounces);
	rc |= put_num(b, "softbounces", n->softbounces);
	rc |= put_num(b, "unsubscribes", n->unsubscribes);
	rc |= put_num(b, "unsubreasons", n->unsubscribes / 3);
	rc |= buf_printf(
	    b,
	    "\"updates\":\"0\",\"socialshares\":\"0\",\"replies\":\"0\","
	    "\"uniquereplies\":\"0\",\"status\":\"%s\",\"public\":\"1\","
	    "\"mail_transfer\":\"0\",\"mail_send\":\"%s\","
	    "\"mail_cleanup\":\"%s\",\"tracklinks\":\"all\","
	    "\"trackreads\":\"1\",\"htmlunsubdata\":%s,"
	    "\"scheduleddate\":%s,\"deletestamp\":null,"
	    "\"created_timestamp\":",
	    c->automation ? "1"
	    : sent	  ? "5"
			  : "0",
	    sent ? "1" : "0", sent ? "1" : "0", c->id % 2 ? "null" : "\"\"",
	    c->draft_style && !sent ? "\"0000-00-00 00:00:00\"" : "null");
	rc |= ac_put_naive(a, b, c->cdate);
	rc |= buf_puts(b, ",\"updated_timestamp\":");
	rc |= ac_put_naive(a, b, c->updated);
	rc |=
	    buf_puts(b, ",\"series_send_lock_time\":\"0000-00-00 00:00:00\",");
	/* Machine opens (Apple Mail Privacy Protection, scanners) are left
	 * out of the verified counts: about one open in six. */
	rc |= put_num(b, "verified_opens", n->opens - n->opens / 6);
	rc |= put_num(b, "verified_unique_opens",
		      n->uniqueopens - n->uniqueopens / 6);
	rc |= put_num(b, "message_id", c->message_id);
	rc |= put_num(b, "campaign_message_id", c->message_id);
	rc |=
	    buf_printf(b,
		       "\"links\":{\"links\":\"" LINK_BASE
		       "/campaigns/%ld/links\",\"campaignMessage\":\"" LINK_BASE
		       "/campaigns/%ld/campaignMessage\",\"campaignMessages\":"
		       "\"" LINK_BASE "/campaigns/%ld/campaignMessages\","
		       "\"campaignLists\":\"" LINK_BASE
		       "/campaigns/%ld/campaignLists\"},\"id\":\"%ld\","
		       "\"user\":\"1\",\"automation\":",
		       c->id, c->id, c->id, c->id, c->id);
	if (c->automation)
		rc |= buf_printf(b, "\"%ld\"}", c->automation);
	else
		rc |= buf_puts(b, "null}");
	return rc;
}

/* Campaign indexes in the requested order: orders[sdate|ldate|id]. */
static int64_t camp_key(const struct ac_campaign *c, int which)
{
	return which == 0 ? c->id : c->is_draft ? -1 : c->sdate;
}

static BUF_MUST_CHECK int campaigns_list(struct ac *ac,
					 const struct sim_request *req,
					 struct sim_response *resp)
{
	int rc = 0;
	const struct ac_account *a = ac->acct;
	const char *keys[] = {"orders[id]", "orders[sdate]", "orders[ldate]"};
	size_t *idx = xmalloc((a->n_camps + 1) * sizeof(*idx)), i, j;
	long limit, offset, k;
	int which = 0, desc = 0;

	if (ac_paging(ac, req, resp, &limit, &offset) < 0)
		goto done;
	for (k = 0; k < 3; k++) {
		const char *v = sim_request_arg(req, keys[k]);

		if (v) {
			which = k == 0 ? 0 : 1;
			desc = v[0] == 'd' || v[0] == 'D';
			break;
		}
	}
	for (i = 0; i < a->n_camps; i++)
		idx[i] = i;
	for (i = 1; i < a->n_camps; i++) { /* stable insertion sort */
		size_t x = idx[i];
		int64_t kx = camp_key(&a->camps[x], which);

		for (j = i; j > 0; j--) {
			int64_t kp = camp_key(&a->camps[idx[j - 1]], which);

			if (desc ? kp >= kx : kp <= kx)
				break;
			idx[j] = idx[j - 1];
		}
		idx[j] = x;
	}
	rc |= buf_puts(&resp->body, "{\"campaigns\":[");
	for (i = (size_t)offset; i < a->n_camps && i < (size_t)(offset + limit);
	     i++) {
		if (i > (size_t)offset)
			rc |= buf_putc(&resp->body, ',');
		rc |= put_campaign(a, &a->camps[idx[i]], &resp->body);
	}
	rc |= buf_printf(&resp->body, "],\"meta\":{\"total\":\"%zu\"}}",
			 a->n_camps);
done:
	free(idx);
	return rc;
}

static BUF_MUST_CHECK int campaign_links(const struct ac_account *a,
					 const struct ac_campaign *c,
					 struct buf *b)
{
	int rc = 0;
	int k;

	rc |= buf_puts(b, "{\"links\":[");
	for (k = 0; k < c->n_links + 2; k++) {
		long id = k < 2 ? c->id * 10 + 7 + k : c->link_id[k - 2];
		long msg = k == 1 ? 0 : c->message_id;

		rc |= buf_printf(
		    b,
		    "%s{\"campaignid\":\"%ld\",\"messageid\":\"%ld\","
		    "\"link\":",
		    k ? "," : "", c->id, msg);
		rc |= jsonw_string(b, k < 2 ? "open" : c->link_url[k - 2]);
		rc |= buf_printf(
		    b,
		    ",\"name\":\"%s\",\"ref\":\"\",\"tracked\":\"1\","
		    "\"links\":{\"campaign\":\"" LINK_BASE
		    "/links/%ld/campaign\"},\"id\":\"%ld\","
		    "\"campaign\":\"%ld\",\"message\":",
		    k < 2 ? "Read Tracker" : "Link", id, id, c->id);
		if (msg)
			rc |= buf_printf(b, "\"%ld\"}", msg);
		else
			rc |= buf_puts(b, "null}");
	}
	rc |= buf_puts(b, "]}");
	(void)a;
	return rc;
}

static BUF_MUST_CHECK int put_list(const struct ac_account *a, int k,
				   struct buf *b)
{
	int rc = 0;

	rc |= buf_printf(b, "{\"stringid\":\"%s\",\"userid\":\"1\",\"name\":",
			 ac_list_stringids[k]);
	rc |= jsonw_string(b, ac_list_names[k]);
	rc |= buf_puts(b, ",\"cdate\":");
	rc |= ac_put_iso(a, b, a->lists_cdate + k * 86400L);
	rc |= buf_printf(
	    b, ",\"p_use_tracking\":\"1\",\"p_use_analytics_read\":\"0\","
	       "\"p_use_captcha\":\"1\",\"private\":\"0\","
	       "\"analytics_domains\":null,\"to_name\":\"Subscriber\","
	       "\"optinoptout\":\"1\",\"sender_name\":\"\","
	       "\"sender_url\":\"https://www.example.com\","
	       "\"deletestamp\":null,\"udate\":null,"
	       "\"created_timestamp\":");
	rc |= ac_put_naive(a, b, a->lists_cdate + k * 86400L);
	rc |= buf_puts(b, ",\"updated_timestamp\":");
	rc |= ac_put_naive(a, b, a->lists_cdate + k * 86400L);
	rc |= buf_printf(
	    b,
	    ",\"created_by\":null,\"updated_by\":null,\"links\":"
	    "{\"contactGoalLists\":\"" LINK_BASE
	    "/lists/%d/contactGoalLists\"},\"id\":\"%d\",\"user\":\"1\"}",
	    k + 1, k + 1);
	return rc;
}

static BUF_MUST_CHECK int put_tag(const struct ac_account *a, int k,
				  struct buf *b)
{
	int rc = 0;

	rc |= buf_puts(b, "{\"tagType\":\"contact\",\"tag\":");
	rc |= jsonw_string(b, ac_tag_names[k]);
	rc |= buf_puts(b, ",\"description\":\"\",\"subscriber_count\":");
	{
		long n = 0;
		size_t i;

		for (i = 0; i < a->n_contacts; i++)
			if (a->contacts[i].deleted_at < 0 &&
			    (a->contacts[i].tags & (1u << k)))
				n++;
		rc |= buf_printf(b, "\"%ld\"", n);
	}
	rc |= buf_puts(b, ",\"cdate\":");
	rc |= ac_put_iso(a, b, a->lists_cdate + 3600L * k);
	rc |= buf_printf(b,
			 ",\"links\":{\"contactGoalTags\":\"" LINK_BASE
			 "/tags/%d/contactGoalTags\"},\"id\":\"%d\"}",
			 k + 1, k + 1);
	return rc;
}

static BUF_MUST_CHECK int put_field(const struct ac_account *a, int k,
				    struct buf *b)
{
	int rc = 0;
	const struct ac_field *f = &ac_fields[k];

	rc |= buf_printf(b, "{\"title\":");
	rc |= jsonw_string(b, f->title);
	rc |= buf_printf(
	    b,
	    ",\"descript\":null,\"type\":\"%s\",\"isrequired\":\"0\","
	    "\"perstag\":\"%s\",\"defval\":%s,\"show_in_list\":\"0\","
	    "\"rows\":\"0\",\"cols\":\"0\",\"visible\":\"1\","
	    "\"service\":\"\",\"ordernum\":\"%d\",\"cdate\":",
	    f->type, f->perstag, k == 3 ? "\"Basic\"" : "null", k + 1);
	rc |= ac_put_iso(a, b, a->lists_cdate);
	rc |= buf_puts(b, ",\"udate\":");
	rc |= ac_put_iso(a, b, a->lists_cdate);
	rc |= buf_printf(
	    b,
	    ",\"options\":[],\"relations\":[],\"links\":{\"options\":"
	    "\"" LINK_BASE "/fields/%ld/options\"},\"id\":\"%ld\"}",
	    f->id, f->id);
	return rc;
}

/* A fixed small collection (lists, tags, fields) with offset paging. */
static BUF_MUST_CHECK int
small_collection(struct ac *ac, const struct sim_request *req,
		 struct sim_response *resp, const char *name, int total,
		 int (*put)(const struct ac_account *, int, struct buf *))
{
	int rc = 0;
	long limit, offset, i;

	if (ac_paging(ac, req, resp, &limit, &offset) < 0)
		return rc;
	rc |= buf_printf(&resp->body, "{\"%s\":[", name);
	for (i = offset; i < total && i < offset + limit; i++) {
		if (i > offset)
			rc |= buf_putc(&resp->body, ',');
		rc |= put(ac->acct, (int)i, &resp->body);
	}
	rc |= buf_putc(&resp->body, ']');
	/* Live /fields pages side-load the options of dropdowns and the
	 * field-to-list relations. */
	if (!strcmp(name, "fields"))
		rc |=
		    buf_puts(&resp->body,
			     ",\"fieldOptions\":[{\"field\":\"4\",\"orderid\":"
			     "\"1\",\"value\":\"Basic\",\"label\":\"Basic\","
			     "\"isdefault\":\"1\",\"id\":\"1\"},{\"field\":"
			     "\"4\",\"orderid\":\"2\",\"value\":\"Pro\","
			     "\"label\":\"Pro\",\"isdefault\":\"0\",\"id\":"
			     "\"2\"}],\"fieldRels\":[{\"field\":\"1\","
			     "\"relid\":\"0\",\"dorder\":\"0\",\"id\":\"1\"}]");
	rc |= buf_printf(&resp->body, ",\"meta\":{\"total\":\"%d\"}}", total);
	return rc;
}

static BUF_MUST_CHECK int
by_id(struct ac *ac, struct sim_response *resp, const char *seg,
      const char *wrapper, const char *what, int total,
      int (*put)(const struct ac_account *, int, struct buf *))
{
	int rc = 0;
	long id = ac_parse_id(seg);
	char msg[96];

	if (id < 1 || id > total) {
		snprintf(msg, sizeof(msg), "No Result found for %s with id %s",
			 what, seg);
		ac_message(resp, 404, msg);
		return rc;
	}
	rc |= buf_printf(&resp->body, "{\"%s\":", wrapper);
	rc |= put(ac->acct, (int)id - 1, &resp->body);
	rc |= buf_putc(&resp->body, '}');
	return rc;
}

static BUF_MUST_CHECK int route_v3(struct ac *ac, const struct sim_request *req,
				   struct sim_response *resp, char **segs,
				   int n)
{
	int rc = 0;
	const struct ac_account *a = ac->acct;
	char msg[96];
	long i;

	if (n == 2 && !strcmp(segs[0], "users") && !strcmp(segs[1], "me")) {
		rc |= buf_puts(
		    &resp->body,
		    "{\"user\":{\"username\":\"admin\",\"firstName\":"
		    "\"Sim\",\"lastName\":\"Admin\",\"email\":"
		    "\"admin@example.com\",\"phone\":\"\",\"signature\":"
		    "null,\"links\":{},\"id\":\"1\"}}");
	} else if (n == 1 && !strcmp(segs[0], "campaigns")) {
		rc |= campaigns_list(ac, req, resp);
	} else if ((n == 2 || n == 3) && !strcmp(segs[0], "campaigns")) {
		i = ac_find_campaign(a, ac_parse_id(segs[1]));
		if (i < 0) {
			snprintf(msg, sizeof(msg),
				 "No Result found for Campaign with id %s",
				 segs[1]);
			ac_message(resp, 404, msg);
		} else if (n == 2) {
			rc |= buf_puts(&resp->body, "{\"campaign\":");
			rc |= put_campaign(a, &a->camps[i], &resp->body);
			rc |= buf_putc(&resp->body, '}');
		} else if (!strcmp(segs[2], "links")) {
			rc |= campaign_links(a, &a->camps[i], &resp->body);
		} else {
			int d =
			    ac_detail_route(ac, resp, &a->camps[i], segs[2]);

			if (d > 0)
				not_found_errors(resp);
			else
				rc |= d;
		}
	} else if (n == 2 && !strcmp(segs[0], "messages")) {
		rc |= ac_message_route(ac, resp, segs[1]);
	} else if (n == 1 && !strcmp(segs[0], "lists")) {
		rc |= small_collection(ac, req, resp, "lists", AC_N_LISTS,
				       put_list);
	} else if (n == 2 && !strcmp(segs[0], "lists")) {
		rc |= by_id(ac, resp, segs[1], "list", "List", AC_N_LISTS,
			    put_list);
	} else if (n == 1 && !strcmp(segs[0], "tags")) {
		rc |=
		    small_collection(ac, req, resp, "tags", AC_N_TAGS, put_tag);
	} else if (n == 2 && !strcmp(segs[0], "tags")) {
		rc |=
		    by_id(ac, resp, segs[1], "tag", "Tag", AC_N_TAGS, put_tag);
	} else if (n == 1 && !strcmp(segs[0], "fields")) {
		rc |= small_collection(ac, req, resp, "fields", AC_N_FIELDS,
				       put_field);
	} else if (n == 2 && !strcmp(segs[0], "fields")) {
		rc |= by_id(ac, resp, segs[1], "field", "Field", AC_N_FIELDS,
			    put_field);
	} else {
		not_found_errors(resp);
	}
	return rc;
}

static int ac_claims(void *state, const char *path)
{
	(void)state;
	return !strcmp(path, V1_PATH) || !strcmp(path, V3_PREFIX) ||
	       !strncmp(path, V3_PREFIX "/", strlen(V3_PREFIX) + 1);
}

static void xml_not_allowed(struct sim_response *r)
{
	int rc = 0;

	r->status = 200;
	r->content_type = "text/xml";
	buf_reset(&r->body);
	rc |=
	    buf_puts(&r->body, "<?xml version='1.0' encoding='utf-8'?>\n"
			       "<not_allowed><error>You are not authorized to "
			       "access this file</error></not_allowed>");
	if (rc < 0)
		sim_response_fail(r);
}

static int ac_authenticate(void *state, const struct sim_request *req,
			   struct sim_response *resp)
{
	struct ac *ac = state;
	const char *h = sim_request_header(req, "Api-Token");
	int is_v1 = !strcmp(sim_request_path(req), V1_PATH), inactive;

	if (is_v1 && !h)
		h = sim_request_arg(req, "api_key");
	if (!h || strcmp(h, ac->opt.key) != 0) {
		if (is_v1)
			xml_not_allowed(resp);
		else
			ac_message(resp, 401, "Unauthorized");
		return -1;
	}
	pthread_mutex_lock(&ac->lock);
	inactive = ac->opt.is_inactive;
	pthread_mutex_unlock(&ac->lock);
	if (inactive) {
		ac_message(resp, 402,
			   "Payment Required: this account is inactive");
		return -1;
	}
	return 0;
}

static void gateway_503(struct sim_response *r)
{
	int rc = 0;

	r->status = 503;
	r->content_type = "text/html";
	buf_reset(&r->body);
	rc |= buf_puts(&r->body,
		       "<html><head><title>503 Service Temporarily "
		       "Unavailable</title></head><body><center><h1>503 "
		       "Service Temporarily Unavailable</h1></center>"
		       "</body></html>\n");
	if (rc < 0)
		sim_response_fail(r);
}

static void ac_throttled(void *state, struct sim_response *resp)
{
	struct ac *ac = state;
	int is_503;

	pthread_mutex_lock(&ac->lock);
	is_503 = ac->opt.is_throttle_503;
	pthread_mutex_unlock(&ac->lock);
	if (is_503) {
		gateway_503(resp);
		return;
	}
	ac_message(resp, 429, "Too Many Requests");
	sim_response_header(resp, "RateLimit-Remaining", "0");
}

static void ac_fault_error(void *state, unsigned status,
			   struct sim_response *resp)
{
	(void)state;
	if (status == 403)
		ac_message(resp, 403, "Forbidden");
	else if (status == 503)
		gateway_503(resp);
	else
		ac_message(resp, 500, "Internal Server Error");
}

/* Splits the path after /api/3 into segments (in place, in tmp). */
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

static BUF_MUST_CHECK int ac_handle(void *state, const struct sim_request *req,
				    struct sim_response *resp)
{
	int rc = 0;
	struct ac *ac = state;
	const char *path = sim_request_path(req);
	char *segs[MAX_SEGS], *tmp;
	int n, forbid = 0;

	pthread_mutex_lock(&ac->lock);
	if (rng_pct(&ac->fault_rng, ac->opt.pct_403))
		forbid = 1 + (int)(ac->n_403++ % 2);
	pthread_mutex_unlock(&ac->lock);
	if (forbid) {
		/* Every second one without a Content-Type header. */
		ac_message(resp, 403, "Forbidden");
		if (forbid == 2)
			resp->content_type = NULL;
		return rc;
	}
	if (strcmp(sim_request_method(req), "GET") &&
	    strcmp(sim_request_method(req), "HEAD")) {
		ac_message(resp, 405, "Method Not Allowed");
		return rc;
	}
	if (!strcmp(path, V1_PATH))
		return ac_v1_handle(ac, req, resp);
	tmp = xstrdup(path + strlen(V3_PREFIX));
	n = split_path(tmp, segs);
	if (n > MAX_SEGS || n == 0) {
		not_found_errors(resp);
	} else if (!strcmp(segs[0], "contacts") ||
		   !strcmp(segs[0], "contactLists") ||
		   !strcmp(segs[0], "contactTags") ||
		   !strcmp(segs[0], "fieldValues")) {
		/* Takes the lock itself, after any slow-offset delay. */
		rc |= ac_contacts_route(ac, req, resp, segs, n);
	} else {
		pthread_mutex_lock(&ac->lock);
		rc |= route_v3(ac, req, resp, segs, n);
		pthread_mutex_unlock(&ac->lock);
	}
	free(tmp);
	return rc;
}

static int ac_advance(void *state, int64_t seconds, struct buf *out)
{
	struct ac *ac = state;
	struct ac_advance_result r;
	int rc;

	pthread_mutex_lock(&ac->lock);
	rc = ac_account_advance(ac->acct, seconds, &r);
	if (rc == 0) {
		rc |= buf_puts(out, "{\"now\":");
		rc |= jsonw_time(out, ac->acct->now);
		rc |= buf_printf(
		    out,
		    ",\"new_events\":%ld,\"updated_contacts\":%ld,"
		    "\"new_contacts\":%ld,\"deleted_contacts\":%ld}\n",
		    r.new_events, r.updated_contacts, r.new_contacts,
		    r.deleted_contacts);
	}
	pthread_mutex_unlock(&ac->lock);
	return rc;
}

static int ac_truth_cb(void *state, struct buf *out)
{
	struct ac *ac = state;
	int rc;

	pthread_mutex_lock(&ac->lock);
	rc = ac_truth(ac->acct, out);
	pthread_mutex_unlock(&ac->lock);
	return rc;
}

/* GET/POST /_sim/ac?inactive=0|1&throttle_503=0|1&fault_403=PCT&
 * slow_offsets_ms=N&naive=0|1&limit_422=0|1&v1_desc=0|1&
 * updated_after=datetime|date|ignored&detail=plural|singular|lean */
static int ac_control(void *state, const struct sim_request *req,
		      struct buf *out)
{
	static const char *const modes[] = {"datetime", "date", "ignored"};
	static const char *const details[] = {"plural", "singular", "lean"};
	struct ac *ac = state;
	struct ac_options o;
	const char *v;
	char *end;
	int bad = 0, k, rc;

	pthread_mutex_lock(&ac->lock);
	o = ac->opt;
	bad |= sim_request_flag(req, "inactive", &o.is_inactive);
	bad |= sim_request_flag(req, "throttle_503", &o.is_throttle_503);
	bad |= sim_request_flag(req, "naive", &o.is_naive);
	bad |= sim_request_flag(req, "limit_422", &o.is_limit_422);
	bad |= sim_request_flag(req, "v1_desc", &o.is_v1_desc);
	bad |= sim_request_flag(req, "live", &o.is_live);
	if ((v = sim_request_arg(req, "fault_403"))) {
		o.pct_403 = strtod(v, &end);
		bad |=
		    *end || end == v || !(o.pct_403 >= 0 && o.pct_403 <= 100);
	}
	if ((v = sim_request_arg(req, "slow_offsets_ms"))) {
		o.slow_offset_ms = ac_parse_id(v);
		bad |= o.slow_offset_ms < 0 || o.slow_offset_ms > 600000;
	}
	if ((v = sim_request_arg(req, "updated_after"))) {
		for (k = 0; k < 3 && strcmp(v, modes[k]); k++)
			;
		bad |= k == 3;
		o.updated_mode = (enum ac_updated_mode)(k % 3);
	}
	if ((v = sim_request_arg(req, "detail"))) {
		for (k = 0; k < 3 && strcmp(v, details[k]); k++)
			;
		bad |= k == 3;
		o.detail_mode = (enum ac_detail_mode)(k % 3);
	}
	if (!bad) {
		ac->opt = o;
		ac->acct->is_live = o.is_live;
	}
	rc = buf_printf(
	    out,
	    "{\"inactive\":%d,\"throttle_503\":%d,\"fault_403\":%g,"
	    "\"slow_offsets_ms\":%ld,\"naive\":%d,\"limit_422\":%d,"
	    "\"v1_desc\":%d,\"updated_after\":\"%s\",\"detail\":\"%s\","
	    "\"timezone\":\"%s\"}\n",
	    ac->opt.is_inactive, ac->opt.is_throttle_503, ac->opt.pct_403,
	    ac->opt.slow_offset_ms, ac->opt.is_naive, ac->opt.is_limit_422,
	    ac->opt.is_v1_desc, modes[ac->opt.updated_mode],
	    details[ac->opt.detail_mode], ac->tz.name);
	pthread_mutex_unlock(&ac->lock);
	return bad ? -1 : rc < 0 ? -2 : 0;
}

const struct sim_provider ac_provider = {
    .name = "activecampaign",
    .param_prefix = "ac",
    .remaining_header = "RateLimit-Remaining",
    .retry_after_header = "Retry-After",
    .limit_header = "RateLimit-Limit",
    .claims = ac_claims,
    .authenticate = ac_authenticate,
    .throttled = ac_throttled,
    .fault_error = ac_fault_error,
    .handle = ac_handle,
    .advance = ac_advance,
    .truth = ac_truth_cb,
    .control = ac_control,
};

struct ac *ac_new(const struct ac_options *opt)
{
	struct ac *ac;
	struct ac_tz tz;

	if (ac_tz_lookup(opt->timezone, &tz) < 0)
		return NULL;
	ac = xcalloc(1, sizeof(*ac));
	ac->opt = *opt;
	ac->tz = tz;
	pthread_mutex_init(&ac->lock, NULL);
	rng_init(&ac->fault_rng, rng_mix(opt->seed, 0x403));
	ac->acct = ac_account_new(opt, &tz);
	return ac;
}

void ac_free(struct ac *ac)
{
	if (!ac)
		return;
	ac_account_free(ac->acct);
	pthread_mutex_destroy(&ac->lock);
	free(ac);
}

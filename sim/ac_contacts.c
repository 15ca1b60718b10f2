/* ActiveCampaign v3 contacts: GET /contacts with offset paging, orders[],
 * id_greater/id_less keyset paging, date and membership filters and
 * include= side-loads; GET /contacts/{id} and its contactLists,
 * contactTags and fieldValues; the account-wide /contactLists,
 * /contactTags and /fieldValues. Deleted contacts are gone from all of
 * them (404 by id). Deep offsets can be made slow (--ac-slow-offsets). */
#include "ac_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "codec.h"
#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define LINK_BASE "https://sim.api-us1.com/api/3"

enum { ORD_DEFAULT, ORD_ID, ORD_CDATE, ORD_EMAIL };

struct cfilter {
	long id_greater, id_less; /* -1: none */
	int64_t created_after, created_before, updated_after, updated_before;
	const char *email, *email_like;
	int listid, tagid, status;
	int order, desc;
};

struct sorted {
	uint64_t key;
	const char *email;
	long id;
	uint32_t idx;
};

static void sleep_ms(long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static BUF_MUST_CHECK int put_contact(const struct ac_account *a,
				      const struct ac_contact *c, struct buf *b,
				      int with_ids)
{
	int rc = 0;
	char md5[33], *low = xstrdup(c->email), *p;
	int k, first;

	for (p = low; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	md5_hex(low, strlen(low), md5);
	free(low);
	rc |= buf_puts(b, "{\"cdate\":");
	rc |= ac_put_iso(a, b, c->cdate);
	rc |= buf_puts(b, ",\"email\":");
	rc |= jsonw_string(b, c->email);
	rc |= buf_puts(b, ",\"phone\":");
	rc |= jsonw_string(b, c->phone);
	rc |= buf_puts(b, ",\"firstName\":");
	rc |= jsonw_string(b, c->first);
	rc |= buf_puts(b, ",\"lastName\":");
	rc |= jsonw_string(b, c->last);
	rc |= buf_printf(
	    b,
	    ",\"orgid\":\"0\",\"orgname\":\"\",\"segmentio_id\":\"\","
	    "\"bounced_hard\":\"%d\",\"bounced_soft\":\"%d\","
	    "\"bounced_date\":",
	    c->bounced_hard, c->bounced_soft);
	if (c->bounced_date >= 0)
		rc |= ac_put_date(a, b, c->bounced_date);
	else
		rc |= buf_puts(b, c->id % 2 ? "null" : "\"0000-00-00\"");
	rc |= buf_printf(
	    b,
	    ",\"ip\":\"2130706433\",\"ua\":null,\"hash\":\"%s\","
	    "\"socialdata_lastcheck\":\"0000-00-00 00:00:00\","
	    "\"email_local\":\"\",\"email_domain\":\"\","
	    "\"sentcnt\":\"0\",\"rating_tstamp\":\"0000-00-00\","
	    "\"gravatar\":\"0\",\"deleted\":\"0\",\"anonymized\":\"0\","
	    "\"adate\":null,\"udate\":",
	    md5);
	rc |= ac_put_iso(a, b, c->cdate);
	if (c->id % 9 != 4) { /* optional keys are missing on some rows */
		rc |= buf_puts(b, ",\"edate\":");
		rc |= ac_put_iso(a, b, c->updated);
	}
	rc |= buf_puts(b, ",\"deleted_at\":\"0000-00-00 00:00:00\","
			  "\"created_utc_timestamp\":");
	rc |= ac_put_naive(a, b, c->cdate);
	rc |= buf_puts(b, ",\"updated_utc_timestamp\":");
	rc |= ac_put_naive(a, b, c->updated);
	rc |= buf_puts(b, ",\"created_timestamp\":");
	rc |= ac_put_naive(a, b, c->cdate);
	rc |= buf_puts(b, ",\"updated_timestamp\":");
	rc |= ac_put_naive(a, b, c->updated);
	rc |= buf_puts(b, ",\"created_by\":\"0\",\"updated_by\":\"0\","
			  "\"email_empty\":false,\"mpp_tracking\":\"0\","
			  "\"scoreValues\":[],");
	if (with_ids) {
		rc |= buf_puts(b, "\"contactLists\":[");
		for (k = 0, first = 1; k < AC_N_LISTS; k++)
			if (c->lstat[k] != ACL_NONE) {
				rc |=
				    buf_printf(b, "%s\"%ld\"", first ? "" : ",",
					       c->id * 4 + k + 1);
				first = 0;
			}
		rc |= buf_puts(b, "],\"fieldValues\":[");
		for (k = 0, first = 1; k < AC_N_FIELDS; k++)
			if (c->vals[k]) {
				rc |=
				    buf_printf(b, "%s\"%ld\"", first ? "" : ",",
					       c->id * 8 + k + 1);
				first = 0;
			}
		rc |= buf_puts(b, "],\"contactAutomations\":[],\"deals\":[],"
				  "\"geoIps\":[],\"accountContacts\":[],");
	}
	rc |= buf_printf(
	    b,
	    "\"links\":{\"contactLists\":\"" LINK_BASE
	    "/contacts/%ld/contactLists\",\"contactTags\":\"" LINK_BASE
	    "/contacts/%ld/contactTags\",\"fieldValues\":\"" LINK_BASE
	    "/contacts/%ld/fieldValues\",\"bounceLogs\":\"" LINK_BASE
	    "/contacts/%ld/bounceLogs\"},\"id\":\"%ld\","
	    "\"organization\":null}",
	    c->id, c->id, c->id, c->id, c->id);
	return rc;
}

/* Rows of one contact; *first tracks the separator. */
static BUF_MUST_CHECK int put_contact_lists(const struct ac_account *a,
					    const struct ac_contact *c,
					    struct buf *b, int *first)
{
	int rc = 0;
	int k;

	for (k = 0; k < AC_N_LISTS; k++) {
		long camp = c->lunsub_campaign[k];
		long ci = camp ? ac_find_campaign(a, camp) : -1;

		if (c->lstat[k] == ACL_NONE)
			continue;
		rc |= buf_printf(
		    b,
		    "%s{\"contact\":\"%ld\",\"list\":\"%d\",\"form\":null,"
		    "\"seriesid\":\"0\",\"sdate\":",
		    *first ? "" : ",", c->id, k + 1);
		*first = 0;
		rc |= ac_put_iso(a, b, c->lsdate[k]);
		rc |= buf_puts(b, ",\"udate\":");
		rc |= ac_put_iso(a, b, c->ludate[k]);
		rc |= buf_printf(
		    b,
		    ",\"status\":\"%d\",\"responder\":\"1\",\"sync\":"
		    "\"0\",\"unsubreason\":%s,\"campaign\":",
		    c->lstat[k],
		    camp ? "\"Unsubscribed from a campaign\"" : "null");
		if (ci >= 0)
			rc |= buf_printf(b, "\"%ld\",\"message\":\"%ld\"", camp,
					 a->camps[ci].message_id);
		else
			rc |= buf_puts(b, "null,\"message\":null");
		rc |= buf_puts(b, ",\"first_name\":");
		rc |= jsonw_string(b, c->first);
		rc |= buf_puts(b, ",\"last_name\":");
		rc |= jsonw_string(b, c->last);
		rc |= buf_puts(b, ",\"ip4Sub\":\"0\",\"sourceid\":\"0\","
				  "\"autosyncLog\":null,\"ip4_last\":\"0\","
				  "\"ip4Unsub\":\"0\",\"created_timestamp\":");
		rc |= ac_put_naive(a, b, c->lsdate[k]);
		rc |= buf_puts(b, ",\"updated_timestamp\":");
		rc |= ac_put_naive(a, b, c->ludate[k]);
		rc |= buf_printf(b,
				 ",\"created_by\":null,\"updated_by\":null,"
				 "\"unsubscribeAutomation\":null,\"links\":{},"
				 "\"id\":\"%ld\",\"automation\":null}",
				 c->id * 4 + k + 1);
	}
	return rc;
}

static BUF_MUST_CHECK int put_contact_tags(const struct ac_account *a,
					   const struct ac_contact *c,
					   struct buf *b, int *first)
{
	int rc = 0;
	int k;

	for (k = 0; k < AC_N_TAGS; k++) {
		if (!(c->tags & (1u << k)))
			continue;
		rc |= buf_printf(
		    b, "%s{\"contact\":\"%ld\",\"tag\":\"%d\",\"cdate\":",
		    *first ? "" : ",", c->id, k + 1);
		*first = 0;
		rc |= ac_put_iso(a, b, c->tag_cdate);
		rc |= buf_puts(b, ",\"created_timestamp\":");
		rc |= ac_put_naive(a, b, c->tag_cdate);
		rc |= buf_puts(b, ",\"updated_timestamp\":");
		rc |= ac_put_naive(a, b, c->tag_cdate);
		rc |= buf_printf(
		    b,
		    ",\"created_by\":null,\"updated_by\":null,"
		    "\"links\":{\"contact\":\"/%ld/contact\",\"tag\":"
		    "\"/%ld/tag\"},\"id\":\"%ld\"}",
		    c->id * 8 + k + 1, c->id * 8 + k + 1, c->id * 8 + k + 1);
	}
	return rc;
}

static BUF_MUST_CHECK int put_field_values(const struct ac_account *a,
					   const struct ac_contact *c,
					   struct buf *b, int *first)
{
	int rc = 0;
	int k;

	for (k = 0; k < AC_N_FIELDS; k++) {
		if (!c->vals[k])
			continue;
		rc |= buf_printf(
		    b, "%s{\"contact\":\"%ld\",\"field\":\"%ld\",\"value\":",
		    *first ? "" : ",", c->id, ac_fields[k].id);
		*first = 0;
		rc |= jsonw_string(b, c->vals[k]);
		rc |= buf_puts(b, ",\"cdate\":");
		rc |= ac_put_iso(a, b, c->cdate);
		rc |= buf_puts(b, ",\"udate\":");
		rc |= ac_put_iso(a, b, c->updated);
		rc |=
		    buf_printf(b,
			       ",\"created_by\":null,\"updated_by\":null,"
			       "\"links\":{},\"id\":\"%ld\",\"owner\":\"%ld\"}",
			       c->id * 8 + k + 1, c->id);
	}
	return rc;
}

typedef int (*row_writer)(const struct ac_account *, const struct ac_contact *,
			  struct buf *, int *);

static int64_t time_arg(const struct ac *ac, const struct sim_request *req,
			const char *name, int64_t none, int *bad)
{
	const char *v = sim_request_arg(req, name);
	int64_t t;

	if (!v || !*v)
		return none;
	if (ac_tz_parse(&ac->tz, v, &t) < 0) {
		*bad = 1;
		return none;
	}
	return t;
}

static int read_filter(const struct ac *ac, const struct sim_request *req,
		       struct cfilter *f)
{
	static const char *const ords[] = {"orders[id]", "orders[cdate]",
					   "orders[email]"};
	const char *v;
	int bad = 0, k;

	memset(f, 0, sizeof(*f));
	v = sim_request_arg(req, "id_greater");
	f->id_greater = v ? ac_parse_id(v) : -1;
	v = sim_request_arg(req, "id_less");
	f->id_less = v ? ac_parse_id(v) : -1;
	f->created_after =
	    time_arg(ac, req, "filters[created_after]", INT64_MIN, &bad);
	f->created_before =
	    time_arg(ac, req, "filters[created_before]", INT64_MAX, &bad);
	f->updated_after =
	    time_arg(ac, req, "filters[updated_after]", INT64_MIN, &bad);
	f->updated_before =
	    time_arg(ac, req, "filters[updated_before]", INT64_MAX, &bad);
	if (ac->opt.updated_mode == AC_UPD_IGNORED) {
		f->updated_after = INT64_MIN;
		f->updated_before = INT64_MAX;
	} else if (ac->opt.updated_mode == AC_UPD_DATE &&
		   f->updated_after != INT64_MIN) {
		f->updated_after =
		    ac_tz_local_midnight(&ac->tz, f->updated_after);
	}
	f->email = sim_request_arg(req, "email");
	f->email_like = sim_request_arg(req, "email_like");
	v = sim_request_arg(req, "listid");
	f->listid = v ? (int)ac_parse_id(v) : 0;
	v = sim_request_arg(req, "tagid");
	f->tagid = v ? (int)ac_parse_id(v) : 0;
	v = sim_request_arg(req, "status");
	f->status = v && strcmp(v, "-1") ? (int)ac_parse_id(v) : -1;
	for (k = 0; k < 3; k++) {
		v = sim_request_arg(req, ords[k]);
		if (v && !f->order) {
			f->order = ORD_ID + k;
			f->desc = !strcasecmp(v, "desc");
		}
	}
	return bad ? -1 : 0;
}

static int matches(const struct ac_contact *c, const struct cfilter *f)
{
	int k, ok;

	if (c->deleted_at >= 0 ||
	    (f->id_greater >= 0 && c->id <= f->id_greater) ||
	    (f->id_less >= 0 && c->id >= f->id_less) ||
	    c->cdate < f->created_after || c->cdate >= f->created_before ||
	    c->updated < f->updated_after || c->updated >= f->updated_before)
		return 0;
	if (f->email && strcasecmp(f->email, c->email))
		return 0;
	if (f->email_like && !strstr(c->email, f->email_like))
		return 0;
	if (f->tagid > 0 &&
	    (f->tagid > AC_N_TAGS || !(c->tags & (1u << (f->tagid - 1)))))
		return 0;
	if (f->listid > 0) {
		if (f->listid > AC_N_LISTS ||
		    c->lstat[f->listid - 1] == ACL_NONE)
			return 0;
		return f->status < 0 || c->lstat[f->listid - 1] == f->status;
	}
	if (f->status < 0)
		return 1;
	for (k = 0, ok = 0; k < AC_N_LISTS; k++)
		ok |= c->lstat[k] != ACL_NONE && c->lstat[k] == f->status;
	return ok;
}

static int sorted_cmp(const void *x, const void *y)
{
	const struct sorted *p = x, *q = y;
	int r = 0;

	if (p->email && q->email)
		r = strcasecmp(p->email, q->email);
	if (!r && p->key != q->key)
		r = p->key < q->key ? -1 : 1;
	if (!r && p->id != q->id)
		r = p->id < q->id ? -1 : 1;
	return r;
}

static int has_include(const char *inc, const char *name)
{
	size_t n = strlen(name);
	const char *p = inc;

	while (p && (p = strstr(p, name))) {
		if ((p == inc || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return 1;
		p += n;
	}
	return 0;
}

static BUF_MUST_CHECK int contacts_list(struct ac *ac,
					const struct sim_request *req,
					struct sim_response *resp, long limit,
					long offset)
{
	int rc = 0;
	const struct ac_account *a = ac->acct;
	static const char *const side[] = {"contactLists", "contactTags",
					   "fieldValues"};
	static const row_writer writers[] = {
	    put_contact_lists, put_contact_tags, put_field_values};
	const char *inc = sim_request_arg(req, "include");
	struct sorted *v = xmalloc((a->n_contacts + 1) * sizeof(*v));
	struct cfilter f;
	size_t n = 0, i, end;
	int k, first;

	if (read_filter(ac, req, &f) < 0) {
		resp->status = 400;
		rc |= buf_puts(&resp->body, "{}");
		goto done;
	}
	for (i = 0; i < a->n_contacts; i++) {
		const struct ac_contact *c = &a->contacts[i];

		if (!matches(c, &f))
			continue;
		v[n].idx = (uint32_t)i;
		v[n].id = f.desc ? -c->id : c->id;
		v[n].email = f.order == ORD_EMAIL ? c->email : NULL;
		v[n].key = f.order == ORD_DEFAULT ? c->order_key
			   : f.order == ORD_CDATE ? (uint64_t)c->cdate
						  : 0;
		if (f.desc && f.order == ORD_CDATE)
			v[n].key = UINT64_MAX - v[n].key;
		n++;
	}
	qsort(v, n, sizeof(*v), sorted_cmp);
	if (f.desc && f.order == ORD_EMAIL)
		for (i = 0; i < n / 2; i++) {
			struct sorted t = v[i];

			v[i] = v[n - 1 - i];
			v[n - 1 - i] = t;
		}
	end = (size_t)offset + (size_t)limit < n ? (size_t)(offset + limit) : n;
	rc |= buf_puts(&resp->body, "{\"scoreValues\":[],\"contacts\":[");
	for (i = (size_t)offset; i < end; i++) {
		if (i > (size_t)offset)
			rc |= buf_putc(&resp->body, ',');
		rc |= put_contact(a, &a->contacts[v[i].idx], &resp->body, 0);
	}
	rc |= buf_putc(&resp->body, ']');
	for (k = 0; k < 3; k++) {
		if (!inc || !has_include(inc, side[k]))
			continue;
		rc |= buf_printf(&resp->body, ",\"%s\":[", side[k]);
		for (i = (size_t)offset, first = 1; i < end; i++)
			rc |= writers[k](a, &a->contacts[v[i].idx], &resp->body,
					 &first);
		rc |= buf_putc(&resp->body, ']');
	}
	rc |= buf_printf(
	    &resp->body,
	    ",\"meta\":{\"total\":\"%zu\",\"page_input\":{\"segmentid\":"
	    "0,\"formid\":0,\"listid\":%d,\"tagid\":%d,\"limit\":%ld,"
	    "\"offset\":%ld,\"search\":null,\"sort\":null,\"seriesid\":"
	    "0,\"waitid\":0,\"status\":%d,\"forceQuery\":0,\"cacheid\":"
	    "\"0f3c5a\"}}}",
	    n, f.listid, f.tagid, limit, offset, f.status);
done:
	free(v);
	return rc;
}

/* The account-wide rows of one kind over live contacts in id order. */
static BUF_MUST_CHECK int rows_list(struct ac *ac, struct sim_response *resp,
				    const char *name, row_writer w, long limit,
				    long offset)
{
	int rc = 0;
	const struct ac_account *a = ac->acct;
	struct buf one = BUF_INIT;
	long total = 0;
	size_t i;
	int first = 1;

	rc |= buf_printf(&resp->body, "{\"%s\":[", name);
	for (i = 0; i < a->n_contacts; i++) {
		const struct ac_contact *c = &a->contacts[i];
		const char *p;
		int f1 = 1;

		if (c->deleted_at >= 0)
			continue;
		buf_reset(&one);
		rc |= w(a, c, &one, &f1);
		/* Rows of one contact, split at their top-level objects. */
		for (p = one.data; p && *p;) {
			const char *q = p;
			int depth = 0, in_str = 0;

			for (; *q; q++) {
				if (in_str) {
					if (*q == '\\')
						q++;
					else if (*q == '"')
						in_str = 0;
				} else if (*q == '"') {
					in_str = 1;
				} else if (*q == '{') {
					depth++;
				} else if (*q == '}' && --depth == 0) {
					q++;
					break;
				}
			}
			if (total >= offset && total < offset + limit) {
				if (!first)
					rc |= buf_putc(&resp->body, ',');
				rc |=
				    buf_append(&resp->body, p, (size_t)(q - p));
				first = 0;
			}
			total++;
			p = *q == ',' ? q + 1 : q;
		}
	}
	rc |= buf_printf(&resp->body, "],\"meta\":{\"total\":\"%ld\"}}", total);
	buf_release(&one);
	return rc;
}

static BUF_MUST_CHECK int one_contact(struct ac *ac, struct sim_response *resp,
				      char **segs, int n)
{
	int rc = 0;
	const struct ac_account *a = ac->acct;
	long i = ac_find_contact(a, ac_parse_id(segs[1]));
	const struct ac_contact *c = i >= 0 ? &a->contacts[i] : NULL;
	struct buf *b = &resp->body;
	char msg[96];
	int first = 1;

	if (!c || c->deleted_at >= 0) {
		snprintf(msg, sizeof(msg),
			 "No Result found for Subscriber with id %s", segs[1]);
		ac_message(resp, 404, msg);
		return rc;
	}
	if (n == 2) {
		rc |= buf_puts(b,
			       "{\"contactAutomations\":[],\"contactLists\":[");
		rc |= put_contact_lists(a, c, b, &first);
		rc |= buf_puts(b, "],\"deals\":[],\"fieldValues\":[");
		first = 1;
		rc |= put_field_values(a, c, b, &first);
		rc |= buf_puts(
		    b, "],\"geoAddresses\":[],\"geoIps\":[],\"contact\":");
		rc |= put_contact(a, c, b, 1);
		rc |= buf_putc(b, '}');
	} else if (!strcmp(segs[2], "contactLists")) {
		rc |= buf_puts(b, "{\"contactLists\":[");
		rc |= put_contact_lists(a, c, b, &first);
		rc |= buf_puts(b, "]}");
	} else if (!strcmp(segs[2], "contactTags")) {
		rc |= buf_puts(b, "{\"contactTags\":[");
		rc |= put_contact_tags(a, c, b, &first);
		rc |= buf_puts(b, "]}");
	} else if (!strcmp(segs[2], "fieldValues")) {
		rc |= buf_puts(b, "{\"fieldValues\":[");
		rc |= put_field_values(a, c, b, &first);
		rc |= buf_puts(b, "]}");
	} else {
		resp->status = 404;
		rc |=
		    buf_puts(b, "{\"errors\":[{\"status\":404,\"title\":\"Not "
				"Found\"}]}");
	}
	return rc;
}

int ac_contacts_route(struct ac *ac, const struct sim_request *req,
		      struct sim_response *resp, char **segs, int n)
{
	int rc = 0;
	long limit = 20, offset = 0, slow;

	pthread_mutex_lock(&ac->lock);
	slow = ac->opt.slow_offset_ms;
	if (n == 1 && ac_paging(ac, req, resp, &limit, &offset) < 0) {
		pthread_mutex_unlock(&ac->lock);
		return rc;
	}
	pthread_mutex_unlock(&ac->lock);
	/* Deep offsets are slow on large accounts; id_greater is not. */
	if (n == 1 && !strcmp(segs[0], "contacts"))
		sleep_ms(offset / 1000 * slow + offset % 1000 * slow / 1000);
	pthread_mutex_lock(&ac->lock);
	if (n == 1 && !strcmp(segs[0], "contacts"))
		rc |= contacts_list(ac, req, resp, limit, offset);
	else if (n == 1 && !strcmp(segs[0], "contactLists"))
		rc |= rows_list(ac, resp, "contactLists", put_contact_lists,
				limit, offset);
	else if (n == 1 && !strcmp(segs[0], "contactTags"))
		rc |= rows_list(ac, resp, "contactTags", put_contact_tags,
				limit, offset);
	else if (n == 1 && !strcmp(segs[0], "fieldValues"))
		rc |= rows_list(ac, resp, "fieldValues", put_field_values,
				limit, offset);
	else if ((n == 2 || n == 3) && !strcmp(segs[0], "contacts"))
		rc |= one_contact(ac, resp, segs, n);
	else {
		resp->status = 404;
		rc |= buf_puts(&resp->body,
			       "{\"errors\":[{\"status\":404,\"title\":"
			       "\"Not Found\"}]}");
	}
	pthread_mutex_unlock(&ac->lock);
	return rc;
}

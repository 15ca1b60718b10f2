/* Mailchimp members and per-recipient reports: /lists/{id}/members (status,
 * since_/before_last_changed and _timestamp_opt, sort_field, archived only
 * on request, tags capped at 50), /members/{hash}, /members/{hash}/tags,
 * /merge-fields, /tag-search, and /reports/{id}/email-activity (every live
 * recipient, `since` filtering only the activity arrays), /sent-to,
 * /unsubscribed, /abuse-reports and /click-details. */
#include "mc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const struct {
	int id;
	const char *tag, *name, *type;
} merge_fields[] = {{1, "FNAME", "First Name", "text"},
		    {2, "LNAME", "Last Name", "text"},
		    {3, "ADDRESS", "Address", "address"},
		    {4, "PHONE", "Phone Number", "phone"}};

#define N_MERGE ((int)(sizeof(merge_fields) / sizeof(merge_fields[0])))

static void bad_since(struct sim_response *r)
{
	mc_problem(r, 500, "Internal Server Error",
		   "An unexpected internal error has occurred. Please contact "
		   "Support for more information.");
}

static long tag_id(int list, int k)
{
	return 10000L * (list + 1) + k + 1;
}

static BUF_MUST_CHECK int put_merge(const struct mc_member *m, struct buf *b)
{
	int rc = 0;

	rc |= buf_puts(b, "\"merge_fields\":{\"FNAME\":");
	rc |= jsonw_string(b, m->fname);
	rc |= buf_puts(b, ",\"LNAME\":");
	rc |= jsonw_string(b, m->lname);
	rc |= buf_puts(b, ",\"ADDRESS\":");
	if (m->has_address) {
		rc |= buf_puts(b, "{\"addr1\":\"1 Main St\",\"addr2\":\"\","
				  "\"city\":");
		rc |= jsonw_string(b, m->city);
		rc |= buf_puts(b, ",\"state\":\"IL\",\"zip\":\"60601\","
				  "\"country\":\"US\"}");
	} else {
		rc |= buf_puts(b, "\"\"");
	}
	rc |= buf_puts(b, ",\"PHONE\":");
	rc |= jsonw_string(b, m->phone);
	rc |= buf_putc(b, '}');
	return rc;
}

static int n_tags(const struct mc_member *m)
{
	return __builtin_popcountll(m->tags);
}

static BUF_MUST_CHECK int put_member(const struct mc_account *a,
				     const struct mc_member *m, struct buf *b)
{
	const char *lid = a->lists[m->list].id;
	char path[96];
	int rc = 0, k, shown = 0;

	rc |= buf_printf(b, "{\"id\":\"%s\",\"email_address\":", m->id);
	rc |= jsonw_string(b, m->email);
	rc |= buf_printf(b,
			 ",\"unique_email_id\":\"%s\",\"contact_id\":\"%s\","
			 "\"full_name\":",
			 m->unique_email_id, m->contact_id);
	if (*m->lname) {
		struct buf fn = BUF_INIT;

		rc |= buf_printf(&fn, "%s %s", m->fname, m->lname);
		rc |= jsonw_string(b, fn.data);
		buf_release(&fn);
	} else {
		rc |= jsonw_string(b, m->fname);
	}
	rc |= buf_printf(b,
			 ",\"web_id\":%ld,\"email_type\":\"html\","
			 "\"status\":\"%s\",",
			 m->web_id, mc_status_names[m->status]);
	if (m->status == MS_UNSUBSCRIBED)
		rc |= buf_puts(b, "\"unsubscribe_reason\":\"N/A (Unsubscribed "
				  "by admin)\",");
	rc |= buf_puts(b, "\"consents_to_one_to_one_messaging\":true,"
			  "\"sms_phone_number\":\"\",\"sms_subscription_"
			  "status\":\"\",\"sms_subscription_last_updated\":"
			  "\"\",");
	rc |= put_merge(m, b);
	rc |= buf_puts(b, ",\"interests\":{},\"stats\":{\"avg_open_rate\":0,"
			  "\"avg_click_rate\":0},\"ip_signup\":\"\","
			  "\"timestamp_signup\":");
	rc |= mc_put_time(b, m->signup);
	rc |= buf_puts(b, ",\"ip_opt\":\"198.51.100.7\",\"timestamp_opt\":");
	rc |= mc_put_time(b, m->opt);
	rc |= buf_printf(b, ",\"member_rating\":%d,\"last_changed\":",
			 2 + (int)(m->web_id % 4));
	rc |= mc_put_time(b, m->last_changed);
	rc |= buf_printf(b,
			 ",\"language\":\"\",\"vip\":false,\"email_client\":"
			 "\"\",\"location\":{\"latitude\":0,\"longitude\":0,"
			 "\"gmtoff\":0,\"dstoff\":0,\"country_code\":\"\","
			 "\"timezone\":\"\",\"region\":\"\"},\"source\":"
			 "\"%s\",\"tags_count\":%d,\"tags\":[",
			 m->signup < 0 ? "Admin Add" : "API - Generic",
			 n_tags(m));
	for (k = 0; k < MC_N_TAGS && shown < MC_SHOWN_TAGS; k++) {
		if (!(m->tags >> k & 1))
			continue;
		rc |= buf_printf(b, "%s{\"id\":%ld,\"name\":", shown ? "," : "",
				 tag_id(m->list, k));
		rc |= jsonw_string(b, mc_tag_names[k]);
		rc |= buf_putc(b, '}');
		shown++;
	}
	rc |= buf_printf(b, "],\"list_id\":\"%s\",", lid);
	snprintf(path, sizeof(path), "/lists/%s/members/%s", lid, m->id);
	rc |= mc_put_links(b, path);
	rc |= buf_putc(b, '}');
	return rc;
}

/* Sorting of member indexes (one request at a time: under mc->lock). */
static const struct mc_account *sort_acct;
static int sort_field, sort_dir;

static int64_t member_key(const struct mc_member *m)
{
	return sort_field == 1	 ? m->last_changed
	       : sort_field == 2 ? m->opt
	       : sort_field == 3 ? m->signup
				 : 0;
}

static int member_cmp(const void *x, const void *y)
{
	const struct mc_member *a = &sort_acct->members[*(const size_t *)x];
	const struct mc_member *b = &sort_acct->members[*(const size_t *)y];
	int64_t ka = member_key(a), kb = member_key(b);

	if (ka != kb)
		return (ka < kb ? -1 : 1) * sort_dir;
	if (a->order_key != b->order_key && sort_field >= 0)
		return a->order_key < b->order_key ? -1 : 1;
	return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

static BUF_MUST_CHECK int members_list(struct mc *mc,
				       const struct sim_request *req,
				       struct sim_response *resp, int list)
{
	static const char *const fields[] = {"last_changed", "timestamp_opt",
					     "timestamp_signup"};
	const struct mc_account *a = mc->acct;
	const char *st = sim_request_arg(req, "status");
	const char *sf = sim_request_arg(req, "sort_field");
	const char *sd = sim_request_arg(req, "sort_dir");
	const char *names[4] = {"since_last_changed", "before_last_changed",
				"since_timestamp_opt", "before_timestamp_opt"};
	int64_t t[4] = {0};
	int has[4], want = -1, i, rc = 0;
	size_t *v = xmalloc((a->n_members + 1) * sizeof(*v)), n = 0, j;
	long count, offset, k;

	for (i = 0; i < 4; i++)
		if ((has[i] = mc_time_arg(req, names[i], &t[i])) < 0) {
			bad_since(resp);
			goto done;
		}
	if (st) {
		for (want = 0; want < MS_N && strcmp(st, mc_status_names[want]);
		     want++)
			;
		if (want == MS_N) {
			mc_problem(resp, 400, "Invalid Resource",
				   "The resource submitted could not be "
				   "validated. For field-specific details, see "
				   "the 'errors' array.");
			goto done;
		}
	}
	mc_paging(req, &count, &offset);
	for (j = 0; j < a->n_members; j++) {
		const struct mc_member *m = &a->members[j];

		if (m->list != list || m->deleted_at >= 0 ||
		    (want < 0 && m->status == MS_ARCHIVED) ||
		    (want >= 0 && m->status != want) ||
		    (has[0] && m->last_changed <= t[0]) ||
		    (has[1] && m->last_changed > t[1]) ||
		    (has[2] && m->opt <= t[2]) || (has[3] && m->opt > t[3]))
			continue;
		v[n++] = j;
	}
	sort_acct = a;
	sort_field = mc->opt.is_insertion ? -1 : 0;
	for (i = 0; sf && i < 3; i++)
		if (!strcmp(sf, fields[i]))
			sort_field = i + 1;
	sort_dir = sd && !strcmp(sd, "DESC") ? -1 : 1;
	if (sort_field != -1)
		qsort(v, n, sizeof(*v), member_cmp);
	rc |= buf_puts(&resp->body, "{\"members\":[");
	for (k = offset; k < (long)n && k < offset + count; k++) {
		if (k > offset)
			rc |= buf_putc(&resp->body, ',');
		rc |= put_member(a, &a->members[v[k]], &resp->body);
	}
	rc |=
	    buf_printf(&resp->body, "],\"list_id\":\"%s\",\"total_items\":%zu,",
		       a->lists[list].id, n);
	rc |= mc_put_links(&resp->body, "/lists/members");
	rc |= buf_putc(&resp->body, '}');
done:
	free(v);
	return rc;
}

static BUF_MUST_CHECK int member_tags(const struct mc_account *a,
				      const struct sim_request *req,
				      const struct mc_member *m, struct buf *b)
{
	long count, offset, i = 0;
	int k, rc = 0, first = 1;

	mc_paging(req, &count, &offset);
	rc |= buf_puts(b, "{\"tags\":[");
	for (k = 0; k < MC_N_TAGS; k++) {
		if (!(m->tags >> k & 1))
			continue;
		if (i >= offset && i < offset + count) {
			rc |= buf_printf(b, "%s{\"id\":%ld,\"name\":",
					 first ? "" : ",", tag_id(m->list, k));
			rc |= jsonw_string(b, mc_tag_names[k]);
			rc |= buf_puts(b, ",\"date_added\":");
			rc |= mc_put_time(b, m->opt);
			rc |= buf_putc(b, '}');
			first = 0;
		}
		i++;
	}
	rc |= buf_printf(b, "],\"total_items\":%ld,", i);
	rc |= mc_put_links(b, "/lists/members/tags");
	rc |= buf_putc(b, '}');
	(void)a;
	return rc;
}

static BUF_MUST_CHECK int merge_fields_list(const struct mc_account *a,
					    const struct sim_request *req,
					    int list, struct buf *b)
{
	long count, offset, k;
	int rc = 0;

	mc_paging(req, &count, &offset);
	rc |= buf_puts(b, "{\"merge_fields\":[");
	for (k = offset; k < N_MERGE && k < offset + count; k++) {
		rc |= buf_printf(b,
				 "%s{\"merge_id\":%d,\"tag\":\"%s\",\"name\":"
				 "\"%s\",\"type\":\"%s\",\"required\":false,"
				 "\"default_value\":\"\",\"public\":true,"
				 "\"display_order\":%d,\"options\":{%s},"
				 "\"help_text\":\"\",\"list_id\":\"%s\",",
				 k > offset ? "," : "", merge_fields[k].id,
				 merge_fields[k].tag, merge_fields[k].name,
				 merge_fields[k].type, (int)k + 2,
				 k == 2	  ? "\"default_country\":164"
				 : k == 3 ? "\"phone_format\":\"US\""
					  : "\"size\":25",
				 a->lists[list].id);
		rc |= mc_put_links(b, "/lists/merge-fields");
		rc |= buf_putc(b, '}');
	}
	rc |= buf_printf(b, "],\"list_id\":\"%s\",\"total_items\":%d,",
			 a->lists[list].id, N_MERGE);
	rc |= mc_put_links(b, "/lists/merge-fields");
	rc |= buf_putc(b, '}');
	return rc;
}

static BUF_MUST_CHECK int tag_search(const struct mc_account *a,
				     const struct sim_request *req, int list,
				     struct buf *b)
{
	const char *name = sim_request_arg(req, "name");
	long count, offset, i = 0;
	int k, rc = 0, first = 1;

	mc_paging(req, &count, &offset);
	rc |= buf_puts(b, "{\"tags\":[");
	for (k = 0; k < MC_N_TAGS; k++) {
		if (name && strncasecmp(mc_tag_names[k], name, strlen(name)))
			continue;
		if (i >= offset && i < offset + count) {
			rc |= buf_printf(b, "%s{\"id\":%ld,\"name\":",
					 first ? "" : ",", tag_id(list, k));
			rc |= jsonw_string(b, mc_tag_names[k]);
			rc |= buf_putc(b, '}');
			first = 0;
		}
		i++;
	}
	rc |= buf_printf(b, "],\"total_items\":%ld}", i);
	(void)a;
	return rc;
}

int mc_members_route(struct mc *mc, const struct sim_request *req,
		     struct sim_response *resp, char **segs, int n)
{
	const struct mc_account *a = mc->acct;
	int list = mc_find_list(a, segs[1]);
	long mi;

	if (n == 3 && !strcmp(segs[2], "members"))
		return members_list(mc, req, resp, list);
	if (n == 3 && !strcmp(segs[2], "merge-fields"))
		return merge_fields_list(a, req, list, &resp->body);
	if (n == 3 && !strcmp(segs[2], "tag-search"))
		return tag_search(a, req, list, &resp->body);
	if ((n == 4 || (n == 5 && !strcmp(segs[4], "tags"))) &&
	    !strcmp(segs[2], "members")) {
		/* By subscriber hash, or by the email address itself. */
		mi = mc_find_member(a, list, segs[3]);
		if (mi < 0) {
			mc_not_found(resp);
			return 0;
		}
		return n == 4
			   ? put_member(a, &a->members[mi], &resp->body)
			   : member_tags(a, req, &a->members[mi], &resp->body);
	}
	mc_not_found(resp);
	return 0;
}

/* ---------------------------------------------------------- reports */

static BUF_MUST_CHECK int put_activity(const struct mc_campaign *c, size_t p,
				       int has_since, int64_t since,
				       struct buf *b)
{
	size_t i;
	int rc = 0, first = 1;

	rc |= buf_puts(b, "\"activity\":[");
	for (i = c->ev_start[p]; i < c->ev_start[p + 1]; i++) {
		const struct mc_event *e = &c->ev[i];

		if (e->action > MA_BOUNCE || (has_since && e->t <= since))
			continue;
		rc |= buf_printf(b, "%s{\"action\":\"%s\",", first ? "" : ",",
				 mc_action_names[e->action]);
		if (e->action == MA_BOUNCE)
			rc |= buf_printf(b, "\"type\":\"%s\",",
					 e->hard ? "hard" : "soft");
		rc |= buf_puts(b, "\"timestamp\":");
		rc |= mc_put_time(b, e->t);
		if (e->action == MA_CLICK) {
			rc |= buf_puts(b, ",\"url\":");
			rc |= jsonw_string(b, c->link_url[e->link]);
		}
		if (e->action != MA_BOUNCE)
			rc |= buf_printf(b, ",\"ip\":\"203.0.113.%u\"",
					 (unsigned)(p % 250) + 1);
		rc |= buf_putc(b, '}');
		first = 0;
	}
	rc |= buf_putc(b, ']');
	return rc;
}

/* The recipient columns every per-recipient row starts with. */
static BUF_MUST_CHECK int put_rcpt(const struct mc_account *a,
				   const struct mc_campaign *c,
				   const struct mc_member *m, int with_merge,
				   struct buf *b)
{
	int rc = 0;

	rc |= buf_printf(b,
			 "{\"campaign_id\":\"%s\",\"list_id\":\"%s\","
			 "\"list_is_active\":true,\"email_id\":\"%s\","
			 "\"email_address\":",
			 c->id, a->lists[c->list].id, m->id);
	rc |= jsonw_string(b, m->email);
	rc |= buf_putc(b, ',');
	if (with_merge) {
		rc |= put_merge(m, b);
		rc |= buf_puts(b, ",\"vip\":false,");
	}
	return rc;
}

/* Which rows a per-recipient report has: live recipients, and for the
 * unsubscribe/abuse reports only those with such an event. */
static int row_event(const struct mc_campaign *c, size_t p, int action)
{
	size_t i;

	for (i = c->ev_start[p]; i < c->ev_start[p + 1]; i++)
		if (c->ev[i].action == action)
			return (int)i;
	return -1;
}

enum rep_kind { REP_ACTIVITY, REP_SENT, REP_UNSUB, REP_ABUSE, REP_N };

static const char *const rep_paths[REP_N] = {"email-activity", "sent-to",
					     "unsubscribed", "abuse-reports"};
static const char *const rep_items[REP_N] = {"emails", "sent_to",
					     "unsubscribes", "abuse_reports"};

static BUF_MUST_CHECK int put_rep_row(const struct mc_account *a,
				      const struct mc_campaign *c, size_t p,
				      int kind, int ev, int has_since,
				      int64_t since, struct buf *b)
{
	const struct mc_member *m = &a->members[c->rcpt[p]];
	int rc = 0, opens = 0, bounce = -1;
	int64_t last_open = -1;
	size_t i;
	char path[96];

	rc |= put_rcpt(a, c, m, kind != REP_ACTIVITY, b);
	if (kind == REP_ACTIVITY) {
		rc |= put_activity(c, p, has_since, since, b);
	} else if (kind == REP_SENT) {
		for (i = c->ev_start[p]; i < c->ev_start[p + 1]; i++) {
			if (c->ev[i].action == MA_OPEN) {
				opens++;
				last_open = c->ev[i].t;
			} else if (c->ev[i].action == MA_BOUNCE) {
				bounce = c->ev[i].hard;
			}
		}
		rc |= buf_printf(b,
				 "\"status\":\"%s\",\"open_count\":%d,"
				 "\"last_open\":",
				 bounce < 0 ? "sent"
				 : bounce   ? "hard"
					    : "soft",
				 opens);
		rc |= mc_put_time(b, last_open);
		rc |= buf_puts(b, ",\"absplit_group\":\"\",\"gmt_offset\":0");
	} else if (kind == REP_UNSUB) {
		rc |= buf_puts(b, "\"timestamp\":");
		rc |= mc_put_time(b, c->ev[ev].t);
		rc |= buf_printf(b, ",\"reason\":\"%s\"",
				 p % 2 ? ""
				       : "I no longer want to receive "
					 "these emails");
	} else {
		rc |= buf_printf(b, "\"id\":%ld,\"date\":", c->ev[ev].id);
		rc |= mc_put_time(b, c->ev[ev].t);
	}
	rc |= buf_putc(b, ',');
	snprintf(path, sizeof(path), "/reports/%s/%s/%s", c->id,
		 rep_paths[kind], m->id);
	rc |= mc_put_links(b, path);
	rc |= buf_putc(b, '}');
	return rc;
}

static BUF_MUST_CHECK int per_recipient(struct mc *mc,
					const struct sim_request *req,
					struct sim_response *resp,
					const struct mc_campaign *c, int kind)
{
	const struct mc_account *a = mc->acct;
	int64_t since = 0;
	int has_since = 0, rc = 0, ev = -1;
	long count, offset, k = 0, shown = 0;
	size_t p;
	char path[64];

	if (kind == REP_ACTIVITY &&
	    (has_since = mc_time_arg(req, "since", &since)) < 0) {
		bad_since(resp);
		return 0;
	}
	mc_paging(req, &count, &offset);
	if (kind == REP_ABUSE) {
		count = 1L << 30; /* one response, no paging */
		offset = 0;
	}
	rc |= buf_printf(&resp->body, "{\"%s\":[", rep_items[kind]);
	for (p = 0; p < c->n_rcpt && !c->is_draft; p++) {
		if (a->members[c->rcpt[p]].deleted_at >= 0)
			continue;
		if (kind == REP_UNSUB || kind == REP_ABUSE) {
			ev = row_event(c, p,
				       kind == REP_UNSUB ? MA_UNSUB : MA_ABUSE);
			if (ev < 0)
				continue;
		}
		if (k >= offset && k < offset + count) {
			if (shown++)
				rc |= buf_putc(&resp->body, ',');
			rc |= put_rep_row(a, c, p, kind, ev, has_since, since,
					  &resp->body);
		}
		k++;
	}
	rc |= buf_printf(&resp->body,
			 "],\"campaign_id\":\"%s\",\"total_items\":%ld,", c->id,
			 k);
	snprintf(path, sizeof(path), "/reports/%s/%s", c->id, rep_paths[kind]);
	rc |= mc_put_links(&resp->body, path);
	rc |= buf_putc(&resp->body, '}');
	return rc;
}

static BUF_MUST_CHECK int click_details(const struct mc_account *a,
					const struct sim_request *req,
					const struct mc_campaign *c,
					struct buf *b)
{
	struct mc_counts n;
	long count, offset, k;
	int rc = 0;
	char path[64];

	mc_counts(a, c, &n);
	mc_paging(req, &count, &offset);
	rc |= buf_puts(b, "{\"urls_clicked\":[");
	for (k = offset; k < c->n_links && k < offset + count; k++) {
		rc |= buf_printf(b, "%s{\"id\":\"%s%ld\",\"url\":",
				 k > offset ? "," : "", c->id, k + 1);
		rc |= jsonw_string(b, c->link_url[k]);
		rc |= buf_printf(
		    b,
		    ",\"total_clicks\":%ld,\"click_percentage\":%.4f,"
		    "\"unique_clicks\":%ld,\"unique_click_percentage\":%.4f,"
		    "\"last_click\":",
		    n.link_total[k],
		    n.clicks ? (double)n.link_total[k] / (double)n.clicks : 0.0,
		    n.link_unique[k],
		    n.unique_clicks
			? (double)n.link_unique[k] / (double)n.unique_clicks
			: 0.0);
		rc |= mc_put_time(b, n.link_last[k]);
		rc |= buf_printf(b,
				 ",\"ab_split\":{\"a\":{},\"b\":{}},"
				 "\"campaign_id\":\"%s\",",
				 c->id);
		snprintf(path, sizeof(path), "/reports/%s/click-details",
			 c->id);
		rc |= mc_put_links(b, path);
		rc |= buf_putc(b, '}');
	}
	rc |= buf_printf(b, "],\"campaign_id\":\"%s\",\"total_items\":%d,",
			 c->id, c->n_links);
	rc |= mc_put_links(b, "/reports/click-details");
	rc |= buf_putc(b, '}');
	return rc;
}

int mc_report_route(struct mc *mc, const struct sim_request *req,
		    struct sim_response *resp, char **segs, int n)
{
	const struct mc_account *a = mc->acct;
	struct mc_campaign *c = &mc->acct->camps[mc_find_campaign(a, segs[1])];
	int kind;

	c->reads++;

	if (n == 3 && !strcmp(segs[2], "click-details"))
		return click_details(a, req, c, &resp->body);
	for (kind = 0; kind < REP_N; kind++)
		if (!strcmp(segs[2], rep_paths[kind]))
			break;
	if (n != 3 || kind == REP_N) {
		mc_not_found(resp);
		return 0;
	}
	return per_recipient(mc, req, resp, c, kind);
}

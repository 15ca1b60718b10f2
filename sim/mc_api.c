/* Mailchimp account-level routes: the root document, /ping, /lists and
 * /lists/{id} (members are in mc_members.c), /campaigns, /campaigns/{id},
 * /reports and /reports/{id} (per-recipient reports in mc_members.c). */
#include "mc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* ---------------------------------------------------------- writers */

static BUF_MUST_CHECK int put_rate(struct buf *b, const char *key, long num,
				   long den)
{
	return buf_printf(b, "\"%s\":%.4f", key,
			  den > 0 ? (double)num / (double)den : 0.0);
}

static BUF_MUST_CHECK int put_campaign(const struct mc_account *a,
				       const struct mc_campaign *c,
				       struct buf *b)
{
	const struct mc_list *l = &a->lists[c->list];
	struct mc_counts n;
	char path[64];
	int rc = 0;
	long delivered;

	mc_counts(a, c, &n);
	delivered = (long)c->n_rcpt - n.hard - n.soft;
	rc |= buf_printf(b,
			 "{\"id\":\"%s\",\"web_id\":%ld,\"parent_campaign_id\":"
			 "\"\",\"type\":\"regular\",\"create_time\":",
			 c->id, c->web_id);
	rc |= mc_put_time(b, c->create_time);
	rc |= buf_printf(b,
			 ",\"archive_url\":\"http://eepurl.com/%s\","
			 "\"long_archive_url\":\"https://us1.campaign-archive."
			 "com/?u=0&id=%s\",\"status\":\"%s\",\"emails_sent\":"
			 "%zu,\"send_time\":",
			 c->id, c->id, c->is_draft ? "save" : "sent",
			 c->is_draft ? (size_t)0 : c->n_rcpt);
	rc |= mc_put_time(b, c->send_time);
	rc |= buf_printf(b,
			 ",\"content_type\":\"template\",\"needs_block_"
			 "refresh\":false,\"resendable\":false,\"recipients\":"
			 "{\"list_id\":\"%s\",\"list_is_active\":true,"
			 "\"list_name\":",
			 l->id);
	rc |= jsonw_string(b, l->name);
	rc |= buf_printf(b,
			 ",\"segment_text\":\"\",\"recipient_count\":%zu},"
			 "\"settings\":{\"subject_line\":",
			 c->n_rcpt);
	rc |= jsonw_string(b, c->subject);
	rc |= buf_puts(b, ",\"preview_text\":\"\",\"title\":");
	rc |= jsonw_string(b, c->title);
	rc |= buf_puts(
	    b, ",\"from_name\":\"Energy Team\",\"reply_to\":\"news@example."
	       "com\",\"use_conversation\":false,\"to_name\":\"*|FNAME|*\","
	       "\"folder_id\":\"\",\"authenticate\":true,\"auto_footer\":"
	       "false,\"inline_css\":false,\"auto_tweet\":false,"
	       "\"fb_comments\":true,\"timewarp\":false,\"template_id\":0,"
	       "\"drag_and_drop\":true},\"tracking\":{\"opens\":true,"
	       "\"html_clicks\":true,\"text_clicks\":false,\"goal_tracking\":"
	       "false,\"ecomm360\":false,\"google_analytics\":\"\","
	       "\"clicktale\":\"\"},");
	if (!c->is_draft) {
		rc |= buf_printf(b,
				 "\"report_summary\":{\"opens\":%ld,"
				 "\"unique_opens\":%ld,",
				 n.opens, n.unique_opens);
		rc |= put_rate(b, "open_rate", n.unique_opens, delivered);
		rc |=
		    buf_printf(b, ",\"clicks\":%ld,\"subscriber_clicks\":%ld,",
			       n.clicks, n.unique_clicks);
		rc |= put_rate(b, "click_rate", n.unique_clicks, delivered);
		rc |= buf_puts(b, ",\"ecommerce\":{\"total_orders\":0,"
				  "\"total_spent\":0,\"total_revenue\":0}},");
	}
	rc |= buf_printf(b, "\"delivery_status\":{\"enabled\":false},");
	snprintf(path, sizeof(path), "/campaigns/%s", c->id);
	rc |= mc_put_links(b, path);
	rc |= buf_putc(b, '}');
	return rc;
}

static BUF_MUST_CHECK int put_report(const struct mc_account *a,
				     const struct mc_campaign *c, struct buf *b)
{
	const struct mc_list *l = &a->lists[c->list];
	struct mc_counts n;
	char path[64];
	int rc = 0;
	long delivered;

	mc_counts(a, c, &n);
	delivered = (long)c->n_rcpt - n.hard - n.soft;
	rc |= buf_printf(b, "{\"id\":\"%s\",\"campaign_title\":", c->id);
	rc |= jsonw_string(b, c->title);
	rc |= buf_printf(b,
			 ",\"type\":\"regular\",\"list_id\":\"%s\","
			 "\"list_is_active\":true,\"list_name\":",
			 l->id);
	rc |= jsonw_string(b, l->name);
	rc |= buf_puts(b, ",\"subject_line\":");
	rc |= jsonw_string(b, c->subject);
	rc |= buf_printf(b,
			 ",\"preview_text\":\"\",\"emails_sent\":%zu,"
			 "\"abuse_reports\":%ld,\"unsubscribed\":%ld,"
			 "\"send_time\":",
			 c->n_rcpt, n.abuse, n.unsub);
	rc |= mc_put_time(b, c->send_time);
	rc |= buf_printf(b,
			 ",\"rss_last_send\":\"\",\"bounces\":{\"hard_"
			 "bounces\":%ld,\"soft_bounces\":%ld,\"syntax_"
			 "errors\":0},\"forwards\":{\"forwards_count\":0,"
			 "\"forwards_opens\":0},\"opens\":{\"opens_total\":"
			 "%ld,\"unique_opens\":%ld,",
			 n.hard, n.soft, n.opens, n.unique_opens);
	rc |= put_rate(b, "open_rate", n.unique_opens, delivered);
	rc |= buf_puts(b, ",\"last_open\":");
	rc |= mc_put_time(b, n.last_open);
	rc |= buf_printf(b,
			 "},\"clicks\":{\"clicks_total\":%ld,\"unique_"
			 "clicks\":%ld,\"unique_subscriber_clicks\":%ld,",
			 n.clicks, n.unique_clicks, n.unique_clicks);
	rc |= put_rate(b, "click_rate", n.unique_clicks, delivered);
	rc |= buf_puts(b, ",\"last_click\":");
	rc |= mc_put_time(b, n.last_click);
	rc |= buf_puts(b, "},\"facebook_likes\":{\"recipient_likes\":0,"
			  "\"unique_likes\":0,\"facebook_likes\":0},"
			  "\"list_stats\":{\"sub_rate\":0,\"unsub_rate\":0,"
			  "\"open_rate\":0,\"click_rate\":0},\"timeseries\":"
			  "[],\"delivery_status\":{\"enabled\":false},");
	snprintf(path, sizeof(path), "/reports/%s", c->id);
	rc |= mc_put_links(b, path);
	rc |= buf_putc(b, '}');
	return rc;
}

static BUF_MUST_CHECK int put_list(const struct mc_account *a, int k,
				   struct buf *b)
{
	const struct mc_list *l = &a->lists[k];
	long cnt[MS_N] = {0}, camps = 0;
	int64_t last_sent = -1;
	char path[64];
	size_t i;
	int rc = 0;

	for (i = 0; i < a->n_members; i++)
		if (a->members[i].list == k && a->members[i].deleted_at < 0)
			cnt[a->members[i].status]++;
	for (i = 0; i < a->n_camps; i++)
		if (a->camps[i].list == k && !a->camps[i].is_draft) {
			camps++;
			if (a->camps[i].send_time > last_sent)
				last_sent = a->camps[i].send_time;
		}
	rc |= buf_printf(b, "{\"id\":\"%s\",\"web_id\":%ld,\"name\":", l->id,
			 l->web_id);
	rc |= jsonw_string(b, l->name);
	rc |= buf_puts(
	    b, ",\"contact\":{\"company\":\"Energy Co\",\"address1\":\"1 Main "
	       "St\",\"city\":\"Chicago\",\"state\":\"IL\",\"zip\":\"60601\","
	       "\"country\":\"US\"},\"permission_reminder\":\"You signed up on "
	       "our website.\",\"campaign_defaults\":{\"from_name\":\"Energy "
	       "Team\",\"from_email\":\"news@example.com\",\"subject\":\"\","
	       "\"language\":\"en\"},\"date_created\":");
	rc |= mc_put_time(b, l->created);
	rc |= buf_printf(b,
			 ",\"list_rating\":3,\"email_type_option\":false,"
			 "\"visibility\":\"pub\",\"double_optin\":false,"
			 "\"marketing_permissions\":false,\"stats\":{"
			 "\"member_count\":%ld,\"unsubscribe_count\":%ld,"
			 "\"cleaned_count\":%ld,\"campaign_count\":%ld,"
			 "\"campaign_last_sent\":",
			 cnt[MS_SUBSCRIBED], cnt[MS_UNSUBSCRIBED],
			 cnt[MS_CLEANED], camps);
	rc |= mc_put_time(b, last_sent);
	rc |= buf_puts(b, ",\"merge_field_count\":4,\"open_rate\":0,"
			  "\"click_rate\":0,\"last_sub_date\":\"\","
			  "\"last_unsub_date\":\"\"},");
	snprintf(path, sizeof(path), "/lists/%s", l->id);
	rc |= mc_put_links(b, path);
	rc |= buf_putc(b, '}');
	return rc;
}

/* ---------------------------------------------------------- routes */

static int sort_desc;
static int camp_cmp_send(const void *x, const void *y)
{
	const struct mc_campaign *a = *(const struct mc_campaign *const *)x;
	const struct mc_campaign *b = *(const struct mc_campaign *const *)y;
	int64_t ka = a->send_time, kb = b->send_time;
	int r = ka < kb ? -1 : ka > kb;

	if (!r)
		r = a->create_time < b->create_time
			? -1
			: a->create_time > b->create_time;
	return sort_desc ? -r : r;
}

/* GET /campaigns (is_report 0) or GET /reports (1). */
static BUF_MUST_CHECK int campaigns_list(struct mc *mc,
					 const struct sim_request *req,
					 struct sim_response *resp,
					 int is_report)
{
	const struct mc_account *a = mc->acct;
	const char *st = sim_request_arg(req, "status");
	const char *lid = sim_request_arg(req, "list_id");
	const char *sf = sim_request_arg(req, "sort_field");
	const char *sd = sim_request_arg(req, "sort_dir");
	const struct mc_campaign **v;
	int64_t sc = 0, bc = 0, ss = 0, bs = 0;
	int has[4], i, rc = 0;
	long count, offset, n = 0, k;
	size_t j;

	has[0] = mc_time_arg(req, "since_create_time", &sc);
	has[1] = mc_time_arg(req, "before_create_time", &bc);
	has[2] = mc_time_arg(req, "since_send_time", &ss);
	has[3] = mc_time_arg(req, "before_send_time", &bs);
	for (i = 0; i < 4; i++)
		if (has[i] < 0) {
			mc_problem(resp, 500, "Internal Server Error",
				   "An unexpected internal error has occurred. "
				   "Please contact Support for more "
				   "information.");
			return 0;
		}
	mc_paging(req, &count, &offset);
	v = xmalloc((a->n_camps + 1) * sizeof(*v));
	for (j = 0; j < a->n_camps; j++) {
		const struct mc_campaign *c = &a->camps[j];

		if ((is_report && c->is_draft) ||
		    (st && !strstr(st, c->is_draft ? "save" : "sent")) ||
		    (lid && strcmp(lid, a->lists[c->list].id)) ||
		    (has[0] && c->create_time <= sc) ||
		    (has[1] && c->create_time > bc) ||
		    ((has[2] || has[3]) && c->is_draft) ||
		    (has[2] && c->send_time <= ss) ||
		    (has[3] && c->send_time > bs))
			continue;
		v[n++] = c;
	}
	sort_desc = sd && !strcmp(sd, "DESC");
	if (!is_report && sf && !strcmp(sf, "send_time"))
		qsort(v, (size_t)n, sizeof(*v), camp_cmp_send);
	else if (sort_desc && !is_report)
		for (k = 0; k < n / 2; k++) {
			const struct mc_campaign *t = v[k];

			v[k] = v[n - 1 - k];
			v[n - 1 - k] = t;
		}
	rc |= buf_printf(&resp->body, "{\"%s\":[",
			 is_report ? "reports" : "campaigns");
	for (k = offset; k < n && k < offset + count; k++) {
		if (k > offset)
			rc |= buf_putc(&resp->body, ',');
		rc |= is_report ? put_report(a, v[k], &resp->body)
				: put_campaign(a, v[k], &resp->body);
	}
	rc |= buf_printf(&resp->body, "],\"total_items\":%ld,", n);
	rc |= mc_put_links(&resp->body, is_report ? "/reports" : "/campaigns");
	rc |= buf_putc(&resp->body, '}');
	free(v);
	return rc;
}

static BUF_MUST_CHECK int lists_route(struct mc *mc,
				      const struct sim_request *req,
				      struct sim_response *resp, char **segs,
				      int n)
{
	const struct mc_account *a = mc->acct;
	long count, offset, k;
	int rc = 0, l;

	if (n >= 2) {
		l = mc_find_list(a, segs[1]);
		if (l < 0)
			mc_not_found(resp);
		else if (n == 2)
			rc |= put_list(a, l, &resp->body);
		else
			rc |= mc_members_route(mc, req, resp, segs, n);
		return rc;
	}
	mc_paging(req, &count, &offset);
	rc |= buf_puts(&resp->body, "{\"lists\":[");
	for (k = offset; k < a->n_lists && k < offset + count; k++) {
		if (k > offset)
			rc |= buf_putc(&resp->body, ',');
		rc |= put_list(a, (int)k, &resp->body);
	}
	rc |= buf_printf(&resp->body,
			 "],\"total_items\":%d,\"constraints\":{\"may_create\":"
			 "true,\"max_instances\":5,\"current_total_instances\":"
			 "%d},",
			 a->n_lists, a->n_lists);
	rc |= mc_put_links(&resp->body, "/lists");
	rc |= buf_putc(&resp->body, '}');
	return rc;
}

static BUF_MUST_CHECK int root_doc(struct mc *mc, struct buf *b)
{
	const struct mc_account *a = mc->acct;
	size_t i;
	long subs = 0;
	int rc = 0;

	for (i = 0; i < a->n_members; i++)
		subs += a->members[i].status == MS_SUBSCRIBED &&
			a->members[i].deleted_at < 0;
	rc |= buf_printf(b,
			 "{\"account_id\":\"sim%08llx\",\"login_id\":"
			 "\"10001\",\"account_name\":\"Energy Co\",\"email\":"
			 "\"owner@example.com\",\"first_name\":\"Sam\","
			 "\"last_name\":\"Owner\",\"username\":\"energyco\","
			 "\"role\":\"owner\",\"member_since\":",
			 (unsigned long long)(mc->opt.seed & 0xffffffffu));
	rc |= mc_put_time(b, a->lists[0].created - 86400);
	rc |= buf_printf(b,
			 ",\"pricing_plan_type\":\"monthly\","
			 "\"account_timezone\":\"America/Chicago\","
			 "\"account_industry\":\"Energy\",\"contact\":{"
			 "\"company\":\"Energy Co\",\"country\":\"US\"},"
			 "\"total_subscribers\":%ld,\"last_login\":",
			 subs);
	rc |= mc_put_time(b, a->now - 3600);
	rc |= buf_putc(b, ',');
	rc |= mc_put_links(b, "/");
	rc |= buf_putc(b, '}');
	return rc;
}

int mc_route(struct mc *mc, const struct sim_request *req,
	     struct sim_response *resp, char **segs, int n)
{
	const struct mc_account *a = mc->acct;
	long ci;
	int rc = 0;

	if (n == 0)
		return root_doc(mc, &resp->body);
	if (!strcmp(segs[0], "ping") && n == 1)
		return buf_puts(&resp->body,
				"{\"health_status\":\"Everything's "
				"Chimpy!\"}");
	if (!strcmp(segs[0], "lists"))
		return lists_route(mc, req, resp, segs, n);
	if ((!strcmp(segs[0], "campaigns") || !strcmp(segs[0], "reports")) &&
	    n == 1)
		return campaigns_list(mc, req, resp, segs[0][0] == 'r');
	if (!strcmp(segs[0], "campaigns") && n == 2) {
		ci = mc_find_campaign(a, segs[1]);
		if (ci < 0)
			mc_not_found(resp);
		else
			rc |= put_campaign(a, &a->camps[ci], &resp->body);
		return rc;
	}
	if (!strcmp(segs[0], "reports") && n >= 2) {
		ci = mc_find_campaign(a, segs[1]);
		if (ci < 0 || (n == 2 && a->camps[ci].is_draft))
			mc_not_found(resp);
		else if (n == 2)
			rc |= put_report(a, &a->camps[ci], &resp->body);
		else
			rc |= mc_report_route(mc, req, resp, segs, n);
		return rc;
	}
	mc_not_found(resp);
	return rc;
}

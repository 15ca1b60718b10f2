/* ActiveCampaign v1 report actions at /admin/api.php: campaign_report_
 * open_list, link_list, bounce_list, unsubscription_list and totals, with
 * the numbered-key envelope ("0":{..},"1":{..}, result_code,
 * result_message, result_output), 20 rows per 1-based page, the "Failed:
 * Nothing is returned" end marker, sort_direction, naive tstamp in the
 * account time zone and tstamp_iso with its offset (api doc §6). */
#include "ac_int.h"

#include <string.h>
#include <strings.h>

#include "util/jsonw.h"
#include "util/banned.h"

#define V1_PAGE 20

static void nothing(struct sim_response *r)
{
	buf_reset(&r->body);
	buf_puts(&r->body, "{\"result_code\":0,\"result_message\":\"Failed: "
			   "Nothing is returned\",\"result_output\":\"json\"}");
}

static void success_tail(struct buf *b)
{
	buf_puts(b, "\"result_code\":1,\"result_message\":\"Success: "
		    "Something is returned\",\"result_output\":\"json\"}");
}

/* tstamp (naive local) and, unless naive-only, tstamp_iso. */
static void put_tstamp(const struct ac *ac, struct buf *b, const char *key,
		       int64_t t)
{
	buf_printf(b, "\"%s\":", key);
	ac_put_naive(ac->acct, b, t);
	if (!ac->opt.is_naive) {
		buf_printf(b, ",\"%s_iso\":", key);
		ac_put_iso(ac->acct, b, t);
	}
}

static void put_row(const struct ac *ac, const struct ac_campaign *c,
		    enum ac_ev_type type, const struct ac_event *e,
		    struct buf *b)
{
	const struct ac_contact *ct = &ac->acct->contacts[e->contact];

	buf_printf(b, "{\"subscriberid\":\"%ld\",\"email\":", ct->id);
	jsonw_string(b, ct->email);
	buf_putc(b, ',');
	if (type == AEV_BOUNCE) {
		buf_printf(b,
			   "\"id\":\"%ld\",\"campaignid\":\"%ld\","
			   "\"messageid\":\"%ld\",\"listid\":\"%d\","
			   "\"tstamp\":",
			   e->id, c->id, c->message_id, c->list + 1);
		ac_put_date(ac->acct, b, e->t);
		buf_printf(b,
			   ",\"type\":\"%s\",\"code\":\"%s\",\"counted\":\"1\","
			   "\"reason\":\"%s\",\"descript\":\"%s\"}",
			   e->hard ? "hard" : "soft",
			   e->hard ? "5.1.1" : "4.2.2",
			   e->hard ? "user_unknown" : "mailbox_full",
			   e->hard ? "User unknown" : "Mailbox full");
		return;
	}
	put_tstamp(ac, b, "tstamp", e->t);
	if (type == AEV_UNSUB) {
		buf_putc(b, ',');
		put_tstamp(ac, b, "udate", e->t);
		buf_puts(b, ",\"unsubreason\":\"\"}");
		return;
	}
	buf_printf(b, ",\"times\":\"%u\"}", (unsigned)e->times);
}

static int is_desc(const struct ac *ac, const struct sim_request *req)
{
	const char *v = sim_request_arg(req, "sort_direction");

	if (v && !strcasecmp(v, "DESC"))
		return 1;
	if (v && !strcasecmp(v, "ASC"))
		return 0;
	return ac->opt.is_v1_desc;
}

static void row_list(const struct ac *ac, const struct ac_campaign *c,
		     enum ac_ev_type type, long page, int desc,
		     struct sim_response *resp)
{
	const struct ac_events *ev = &c->ev[type];
	size_t from = (size_t)(page - 1) * V1_PAGE, i;
	struct buf *b = &resp->body;

	if (from >= ev->n) {
		nothing(resp);
		return;
	}
	buf_putc(b, '{');
	for (i = from; i < ev->n && i < from + V1_PAGE; i++) {
		size_t k = desc ? ev->n - 1 - i : i;

		buf_printf(b, "\"%zu\":", i - from);
		put_row(ac, c, type, &ev->v[k], b);
		buf_putc(b, ',');
	}
	success_tail(b);
}

/* Paged over links (20 per page); info holds every clicker. */
static void link_list(const struct ac *ac, const struct ac_campaign *c,
		      long page, int desc, struct sim_response *resp)
{
	const struct ac_events *ev = &c->ev[AEV_CLICK];
	struct buf *b = &resp->body;
	int k;

	if (page > 1 || c->is_draft) {
		nothing(resp);
		return;
	}
	buf_putc(b, '{');
	for (k = 0; k < c->n_links; k++) {
		long uniq = 0, total = 0;
		size_t i;
		int first = 1;

		for (i = 0; i < ev->n; i++)
			if (ev->v[i].link == k) {
				uniq++;
				total += ev->v[i].times;
			}
		buf_printf(b,
			   "\"%d\":{\"id\":\"%ld\",\"name\":\"Link %d\","
			   "\"link\":",
			   k, c->link_id[k], k + 1);
		jsonw_string(b, c->link_url[k]);
		buf_printf(b,
			   ",\"tracked\":\"1\",\"a_unique\":\"%ld\","
			   "\"a_total\":\"%ld\",\"info\":[",
			   uniq, total);
		for (i = 0; i < ev->n; i++) {
			const struct ac_event *e =
			    &ev->v[desc ? ev->n - 1 - i : i];
			const struct ac_contact *ct;

			if (e->link != k)
				continue;
			ct = &ac->acct->contacts[e->contact];
			buf_printf(b, "%s{\"email\":", first ? "" : ",");
			jsonw_string(b, ct->email);
			buf_printf(b, ",\"subscriberid\":\"%ld\",", ct->id);
			put_tstamp(ac, b, "tstamp", e->t);
			buf_printf(b, ",\"times\":\"%u\"}", (unsigned)e->times);
			first = 0;
		}
		buf_puts(b, "]},");
	}
	success_tail(b);
}

static void totals(const struct ac *ac, const struct ac_campaign *c,
		   struct sim_response *resp)
{
	const struct ac_counts *n = &c->cnt;
	struct buf *b = &resp->body;

	buf_printf(b,
		   "{\"type\":\"single\",\"status\":\"%s\",\"total_amt\":"
		   "\"%zu\",\"send_amt\":\"%zu\",\"messageid\":\"%ld\","
		   "\"opens\":\"%ld\",\"uniqueopens\":\"%ld\","
		   "\"linkclicks\":\"%ld\",\"uniquelinkclicks\":\"%ld\","
		   "\"subscriberclicks\":\"%ld\",\"unsubscribes\":\"%ld\","
		   "\"hardbounces\":\"%ld\",\"softbounces\":\"%ld\","
		   "\"totalbounces\":\"%ld\",\"forwards\":\"0\","
		   "\"uniqueforwards\":\"0\",\"ldate\":",
		   c->is_draft ? "0" : "5", c->n_rcpt, c->n_rcpt, c->message_id,
		   n->opens, n->uniqueopens, n->linkclicks, n->uniquelinkclicks,
		   n->uniquelinkclicks, n->unsubscribes, n->hardbounces,
		   n->softbounces, n->hardbounces + n->softbounces);
	ac_put_naive(ac->acct, b, c->is_draft ? -1 : c->sdate + 300);
	buf_puts(b, ",\"ldate_iso\":");
	ac_put_iso(ac->acct, b, c->is_draft ? -1 : c->sdate + 300);
	buf_putc(b, ',');
	success_tail(b);
}

void ac_v1_handle(struct ac *ac, const struct sim_request *req,
		  struct sim_response *resp)
{
	const char *action = sim_request_arg(req, "api_action");
	const char *output = sim_request_arg(req, "api_output");
	const char *pv = sim_request_arg(req, "page");
	long page = pv ? ac_parse_id(pv) : 1, ci;
	const struct ac_campaign *c;

	if (!output || strcmp(output, "json")) {
		/* Only JSON output is simulated; XML is the real default. */
		resp->content_type = "text/xml";
		buf_puts(&resp->body,
			 "<?xml version='1.0' encoding='utf-8'?>\n<root>"
			 "<result_code>0</result_code><result_message>Failed: "
			 "only api_output=json is simulated</result_message>"
			 "<result_output>xml</result_output></root>");
		return;
	}
	if (page < 1)
		page = 1;
	pthread_mutex_lock(&ac->lock);
	ci = ac_find_campaign(ac->acct,
			      ac_parse_id(sim_request_arg(req, "campaignid")));
	c = ci >= 0 ? &ac->acct->camps[ci] : NULL;
	if (!action) {
		buf_puts(&resp->body,
			 "{\"result_code\":0,\"result_message\":\"Failed: "
			 "api_action is required\",\"result_output\":"
			 "\"json\"}");
	} else if (!c) {
		nothing(resp);
	} else if (!strcmp(action, "campaign_report_open_list")) {
		row_list(ac, c, AEV_OPEN, page, is_desc(ac, req), resp);
	} else if (!strcmp(action, "campaign_report_bounce_list")) {
		row_list(ac, c, AEV_BOUNCE, page, is_desc(ac, req), resp);
	} else if (!strcmp(action, "campaign_report_unsubscription_list")) {
		row_list(ac, c, AEV_UNSUB, page, is_desc(ac, req), resp);
	} else if (!strcmp(action, "campaign_report_link_list")) {
		link_list(ac, c, page, is_desc(ac, req), resp);
	} else if (!strcmp(action, "campaign_report_totals")) {
		totals(ac, c, resp);
	} else {
		buf_puts(&resp->body,
			 "{\"result_code\":0,\"result_message\":\"Failed: "
			 "unknown or unsimulated api_action\","
			 "\"result_output\":\"json\"}");
	}
	pthread_mutex_unlock(&ac->lock);
}

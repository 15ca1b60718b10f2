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
	int rc = 0;

	buf_reset(&r->body);
	rc |= buf_puts(&r->body,
		       "{\"result_code\":0,\"result_message\":\"Failed: "
		       "Nothing is returned\",\"result_output\":\"json\"}");
	if (rc < 0)
		sim_response_fail(r);
}

static BUF_MUST_CHECK int success_tail(const struct ac *ac, struct buf *b)
{
	return buf_printf(b,
			  "\"result_code\":1,\"result_message\":\"%s\","
			  "\"result_output\":\"json\"}",
			  ac->opt.is_live ? "Success!"
					  : "Success: Something is returned");
}

/* tstamp (naive local) and, unless naive-only, tstamp_iso. Live rows
 * (variant = row number) write the naive time at the zone's standard
 * offset, leave tstamp_iso out of every fifth row and make every
 * thirteenth one invalid (month 30), as a live account did. */
static BUF_MUST_CHECK int put_tstamp(const struct ac *ac, struct buf *b,
				     const char *key, int64_t t, long variant)
{
	int rc = 0;
	struct ac_tz std = ac->acct->tz;
	char s[26];

	std.rule = DST_NONE;
	rc |= buf_printf(b, "\"%s\":", key);
	if (!ac->opt.is_live) {
		rc |= ac_put_naive(ac->acct, b, t);
	} else {
		ac_tz_naive(&std, t, s);
		rc |= buf_printf(b, "\"%s\"", s);
	}
	if (ac->opt.is_naive || (ac->opt.is_live && variant % 5 == 1))
		return rc;
	rc |= buf_printf(b, ",\"%s_iso\":", key);
	if (ac->opt.is_live && variant % 13 == 6) {
		ac_tz_iso(&ac->acct->tz, t, s);
		s[5] = '3';
		s[6] = '0';
		rc |= buf_printf(b, "\"%s\"", s);
		return rc;
	}
	rc |= ac_put_iso(ac->acct, b, t);
	return rc;
}

/* Live bounce rows: tstamp with the time of day, tstamp_iso at local
 * midnight of the same date. */
static BUF_MUST_CHECK int put_live_bounce_time(const struct ac *ac,
					       struct buf *b, int64_t t)
{
	int rc = 0;

	rc |= buf_puts(b, "\"tstamp\":");
	rc |= ac_put_naive(ac->acct, b, t);
	rc |= buf_puts(b, ",\"tstamp_iso\":");
	rc |= ac_put_iso(ac->acct, b, ac_tz_local_midnight(&ac->acct->tz, t));
	return rc;
}

static BUF_MUST_CHECK int
put_row(const struct ac *ac, const struct ac_campaign *c, enum ac_ev_type type,
	const struct ac_event *e, long variant, struct buf *b)
{
	int rc = 0;
	const struct ac_contact *ct = &ac->acct->contacts[e->contact];
	int is_live = ac->opt.is_live;

	/* Live rows without subscriberid name the contact by id. */
	if (is_live && type != AEV_BOUNCE && variant % 7 == 3)
		rc |= buf_printf(b, "{\"id\":\"%ld\",\"email\":", ct->id);
	else
		rc |= buf_printf(
		    b, "{\"subscriberid\":\"%ld\",\"email\":", ct->id);
	rc |= jsonw_string(b, ct->email);
	rc |= buf_putc(b, ',');
	if (is_live && type == AEV_OPEN)
		rc |= buf_puts(b, "\"tstamp_settings\":\"0\","
				  "\"email_source\":\"1\",");
	if (is_live && type == AEV_OPEN && c->sdate >= 0) {
		rc |= buf_puts(b, "\"sdate\":");
		rc |= ac_put_naive(ac->acct, b, c->sdate);
		rc |= buf_puts(b, ",\"sdate_iso\":");
		rc |= ac_put_iso(ac->acct, b, c->sdate);
		rc |= buf_putc(b, ',');
	}
	if (type == AEV_BOUNCE) {
		rc |= buf_printf(b,
				 "\"id\":\"%ld\",\"campaignid\":\"%ld\","
				 "\"messageid\":\"%ld\",\"listid\":\"%d\",",
				 e->id, c->id, c->message_id, c->list + 1);
		if (is_live) {
			rc |= put_live_bounce_time(ac, b, e->t);
		} else {
			rc |= buf_puts(b, "\"tstamp\":");
			rc |= ac_put_date(ac->acct, b, e->t);
		}
		rc |= buf_printf(
		    b,
		    ",\"type\":\"%s\",\"code\":\"%s\",\"counted\":\"1\","
		    "\"reason\":\"%s\",\"descript\":\"%s\"}",
		    e->hard ? "hard" : "soft", e->hard ? "5.1.1" : "4.2.2",
		    e->hard ? "user_unknown" : "mailbox_full",
		    e->hard ? "User unknown" : "Mailbox full");
		return rc;
	}
	rc |= put_tstamp(ac, b, "tstamp", e->t, variant);
	if (type == AEV_UNSUB) {
		rc |= buf_putc(b, ',');
		rc |= put_tstamp(ac, b, "udate", e->t, variant);
		if (is_live) {
			rc |= buf_puts(b, ",\"a_unsub_date\":");
			rc |= ac_put_date(ac->acct, b, e->t);
			rc |= buf_puts(b, ",\"a_unsub_time\":\"\"");
		}
		rc |= buf_puts(b, ",\"unsubreason\":\"\"}");
		return rc;
	}
	rc |= buf_printf(b, ",\"times\":\"%u\"}", (unsigned)e->times);
	return rc;
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

static BUF_MUST_CHECK int row_list(const struct ac *ac,
				   const struct ac_campaign *c,
				   enum ac_ev_type type, long page, int desc,
				   struct sim_response *resp)
{
	int rc = 0;
	const struct ac_events *ev = &c->ev[type];
	size_t from = (size_t)(page - 1) * V1_PAGE, i;
	struct buf *b = &resp->body;

	if (from >= ev->n) {
		nothing(resp);
		return rc;
	}
	rc |= buf_putc(b, '{');
	for (i = from; i < ev->n && i < from + V1_PAGE; i++) {
		size_t k = desc ? ev->n - 1 - i : i;

		rc |= buf_printf(b, "\"%zu\":", i - from);
		rc |= put_row(ac, c, type, &ev->v[k], (long)i, b);
		rc |= buf_putc(b, ',');
	}
	/* Live: a row naming no contact closes the first page. */
	if (ac->opt.is_live && page == 1 && type != AEV_BOUNCE &&
	    i - from < V1_PAGE)
		rc |= buf_printf(b,
				 "\"%zu\":{\"tstamp\":\"2023-08-28 08:37:19\","
				 "\"times\":\"1\"},",
				 i - from);
	rc |= success_tail(ac, b);
	return rc;
}

/* Paged over links (20 per page); info holds every clicker. */
static BUF_MUST_CHECK int link_list(const struct ac *ac,
				    const struct ac_campaign *c, long page,
				    int desc, struct sim_response *resp)
{
	int rc = 0;
	const struct ac_events *ev = &c->ev[AEV_CLICK];
	struct buf *b = &resp->body;
	int k;

	if (page > 1 || c->is_draft) {
		nothing(resp);
		return rc;
	}
	rc |= buf_putc(b, '{');
	for (k = 0; k < c->n_links; k++) {
		long uniq = 0, total = 0;
		size_t i;
		int first = 1;

		for (i = 0; i < ev->n; i++)
			if (ev->v[i].link == k) {
				uniq++;
				total += ev->v[i].times;
			}
		rc |= buf_printf(b,
				 "\"%d\":{\"id\":\"%ld\",\"name\":\"Link %d\","
				 "\"link\":",
				 k, c->link_id[k], k + 1);
		rc |= jsonw_string(b, c->link_url[k]);
		rc |= buf_printf(b,
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
			rc |= buf_printf(b, "%s{\"email\":", first ? "" : ",");
			rc |= jsonw_string(b, ct->email);
			rc |=
			    buf_printf(b, ",\"subscriberid\":\"%ld\",", ct->id);
			rc |= put_tstamp(ac, b, "tstamp", e->t, (long)i);
			rc |= buf_printf(b, ",\"times\":\"%u\"}",
					 (unsigned)e->times);
			first = 0;
		}
		rc |= buf_puts(b, "]},");
	}
	rc |= success_tail(ac, b);
	return rc;
}

static BUF_MUST_CHECK int totals(const struct ac *ac,
				 const struct ac_campaign *c,
				 struct sim_response *resp)
{
	int rc = 0;
	const struct ac_counts *n = &c->cnt;
	struct buf *b = &resp->body;

	rc |=
	    buf_printf(b,
		       "{\"type\":\"single\",\"status\":\"%s\",\"total_amt\":"
		       "\"%zu\",\"send_amt\":\"%zu\",\"messageid\":\"%ld\","
		       "\"opens\":\"%ld\",\"uniqueopens\":\"%ld\","
		       "\"linkclicks\":\"%ld\",\"uniquelinkclicks\":\"%ld\","
		       "\"subscriberclicks\":\"%ld\",\"unsubscribes\":\"%ld\","
		       "\"hardbounces\":\"%ld\",\"softbounces\":\"%ld\","
		       "\"totalbounces\":\"%ld\",\"forwards\":\"0\","
		       "\"uniqueforwards\":\"0\",\"ldate\":",
		       c->automation ? "1"
		       : c->is_draft ? "0"
				     : "5",
		       c->n_rcpt, c->n_rcpt, c->message_id, n->opens,
		       n->uniqueopens, n->linkclicks, n->uniquelinkclicks,
		       n->uniquelinkclicks, n->unsubscribes, n->hardbounces,
		       n->softbounces, n->hardbounces + n->softbounces);
	rc |= ac_put_naive(ac->acct, b, c->is_draft ? -1 : c->sdate + 300);
	rc |= buf_puts(b, ",\"ldate_iso\":");
	rc |= ac_put_iso(ac->acct, b, c->is_draft ? -1 : c->sdate + 300);
	rc |= buf_putc(b, ',');
	rc |= success_tail(ac, b);
	return rc;
}

int ac_v1_handle(struct ac *ac, const struct sim_request *req,
		 struct sim_response *resp)
{
	int rc = 0;
	const char *action = sim_request_arg(req, "api_action");
	const char *output = sim_request_arg(req, "api_output");
	const char *pv = sim_request_arg(req, "page");
	long page = pv ? ac_parse_id(pv) : 1, ci;
	const struct ac_campaign *c;

	if (!output || strcmp(output, "json")) {
		/* Only JSON output is simulated; XML is the real default. */
		resp->content_type = "text/xml";
		rc |= buf_puts(
		    &resp->body,
		    "<?xml version='1.0' encoding='utf-8'?>\n<root>"
		    "<result_code>0</result_code><result_message>Failed: "
		    "only api_output=json is simulated</result_message>"
		    "<result_output>xml</result_output></root>");
		return rc;
	}
	if (page < 1)
		page = 1;
	pthread_mutex_lock(&ac->lock);
	ci = ac_find_campaign(ac->acct,
			      ac_parse_id(sim_request_arg(req, "campaignid")));
	c = ci >= 0 ? &ac->acct->camps[ci] : NULL;
	if (!action) {
		rc |=
		    buf_puts(&resp->body,
			     "{\"result_code\":0,\"result_message\":\"Failed: "
			     "api_action is required\",\"result_output\":"
			     "\"json\"}");
	} else if (!c) {
		nothing(resp);
	} else if (!strcmp(action, "campaign_report_open_list")) {
		rc |= row_list(ac, c, AEV_OPEN, page, is_desc(ac, req), resp);
	} else if (!strcmp(action, "campaign_report_bounce_list")) {
		rc |= row_list(ac, c, AEV_BOUNCE, page, is_desc(ac, req), resp);
	} else if (!strcmp(action, "campaign_report_unsubscription_list")) {
		rc |= row_list(ac, c, AEV_UNSUB, page, is_desc(ac, req), resp);
	} else if (!strcmp(action, "campaign_report_link_list")) {
		rc |= link_list(ac, c, page, is_desc(ac, req), resp);
	} else if (!strcmp(action, "campaign_report_totals")) {
		rc |= totals(ac, c, resp);
	} else {
		rc |=
		    buf_puts(&resp->body,
			     "{\"result_code\":0,\"result_message\":\"Failed: "
			     "unknown or unsimulated api_action\","
			     "\"result_output\":\"json\"}");
	}
	pthread_mutex_unlock(&ac->lock);
	return rc;
}

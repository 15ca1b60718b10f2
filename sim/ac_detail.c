/* The parts of an ActiveCampaign campaign its object leaves out: the
 * campaign's message link (/campaigns/{id}/campaignMessages, or the
 * singular /campaignMessage), the message itself (/messages/{id}: subject,
 * fromname, fromemail) and the target lists (/campaigns/{id}/campaignLists).
 * The reference marks the first and last undocumented (Singer reads them);
 * the switch detail=plural|singular|lean serves each shape it leaves open:
 * plural (both link endpoints, rows with campaignid, messageid, subject),
 * singular (only /campaignMessage; the plural answers 404) and lean (rows
 * with relation keys only: no subject, no messageid, no listid). */
#include "ac_int.h"

#include <stdio.h>
#include <string.h>

#include "util/jsonw.h"
#include "util/banned.h"

#define LINK_BASE "https://sim.api-us1.com/api/3"

static const char *const sender_names[] = {"Sim Newsroom", "Sim Team"};
static const char *const sender_emails[] = {"news@sim.example.com",
					    "team@sim.example.com"};

const char *ac_from_name(const struct ac_campaign *c)
{
	return sender_names[c->id % 2];
}

const char *ac_from_email(const struct ac_campaign *c)
{
	return sender_emails[c->id % 2];
}

int ac_put_subject(struct buf *b, const struct ac_campaign *c)
{
	struct buf s = BUF_INIT;
	int rc = buf_printf(&s, "%s: this week", c->name);

	rc = rc ? rc : jsonw_string(b, buf_str(&s));
	buf_release(&s);
	return rc;
}

static BUF_MUST_CHECK int put_campaign_message(const struct ac *ac,
					       const struct ac_campaign *c,
					       struct buf *b)
{
	const struct ac_account *a = ac->acct;
	long id = c->message_id;
	int rc = 0;

	rc |= buf_putc(b, '{');
	if (ac->opt.detail_mode != AC_DETAIL_LEAN) {
		rc |= buf_printf(b,
				 "\"campaignid\":\"%ld\",\"messageid\":\"%ld\","
				 "\"percentage\":\"100\",\"sourcesize\":\"0\","
				 "\"send_amt\":\"%zu\",\"total_amt\":\"%zu\","
				 "\"spamcheck_score\":\"0\",\"spamcheck_max\":"
				 "\"0\",\"screenshot\":null,\"subject\":",
				 c->id, id, c->n_rcpt, c->n_rcpt);
		rc |= ac_put_subject(b, c);
		rc |= buf_puts(b, ",\"cdate\":");
		rc |= ac_put_iso(a, b, c->cdate);
		rc |= buf_putc(b, ',');
	}
	rc |= buf_printf(b,
			 "\"links\":{\"message\":\"" LINK_BASE
			 "/campaignMessages/%ld/message\"},\"id\":\"%ld\","
			 "\"campaign\":\"%ld\",\"message\":\"%ld\"}",
			 id, id, c->id, id);
	return rc;
}

static BUF_MUST_CHECK int put_campaign_list(const struct ac *ac,
					    const struct ac_campaign *c,
					    struct buf *b)
{
	long id = c->id * 10 + c->list + 1;
	int rc = 0;

	rc |= buf_putc(b, '{');
	if (ac->opt.detail_mode != AC_DETAIL_LEAN) {
		rc |= buf_printf(b,
				 "\"campaignid\":\"%ld\",\"listid\":\"%d\","
				 "\"userid\":\"1\",\"list_amt\":\"%zu\","
				 "\"name\":",
				 c->id, c->list + 1, c->n_rcpt);
		rc |= jsonw_string(b, ac_list_names[c->list]);
		rc |= buf_putc(b, ',');
	}
	rc |= buf_printf(b,
			 "\"links\":{\"list\":\"" LINK_BASE
			 "/campaignLists/%ld/list\"},\"id\":\"%ld\","
			 "\"user\":\"1\",\"list\":\"%d\",\"campaign\":\"%ld\"}",
			 id, id, c->list + 1, c->id);
	return rc;
}

int ac_detail_route(struct ac *ac, struct sim_response *resp,
		    const struct ac_campaign *c, const char *what)
{
	struct buf *b = &resp->body;
	int rc = 0;

	resp->route = AC_DETAIL_ROUTE;
	if (!strcmp(what, "campaignMessages") &&
	    ac->opt.detail_mode != AC_DETAIL_SINGULAR) {
		/* A sub-collection without meta, like /links. */
		rc |= buf_puts(b, "{\"campaignMessages\":[");
		rc |= put_campaign_message(ac, c, b);
		rc |= buf_puts(b, "]}");
	} else if (!strcmp(what, "campaignMessage")) {
		rc |= buf_puts(b, "{\"campaignMessage\":");
		rc |= put_campaign_message(ac, c, b);
		rc |= buf_putc(b, '}');
	} else if (!strcmp(what, "campaignLists")) {
		rc |= buf_puts(b, "{\"campaignLists\":[");
		rc |= put_campaign_list(ac, c, b);
		rc |= buf_puts(b, "]}");
	} else {
		/* the plural of a singular account is a counted 404 */
		if (strcmp(what, "campaignMessages"))
			resp->route = NULL;
		return 1;
	}
	return rc;
}

int ac_message_route(struct ac *ac, struct sim_response *resp, const char *seg)
{
	const struct ac_account *a = ac->acct;
	const struct ac_campaign *c = NULL;
	struct buf *b = &resp->body;
	long id = ac_parse_id(seg);
	char msg[96];
	size_t i;
	int rc = 0;

	resp->route = AC_DETAIL_ROUTE;
	for (i = 0; id > 0 && i < a->n_camps && !c; i++)
		if (a->camps[i].message_id == id)
			c = &a->camps[i];
	if (!c) {
		snprintf(msg, sizeof(msg),
			 "No Result found for Message with id %.40s", seg);
		ac_message(resp, 404, msg);
		return 0;
	}
	rc |= buf_puts(b, "{\"message\":{\"userid\":\"1\",\"ed_instanceid\":"
			  "\"0\",\"ed_version\":\"2\",\"cdate\":");
	rc |= ac_put_iso(a, b, c->cdate);
	rc |= buf_puts(b, ",\"mdate\":");
	rc |= ac_put_iso(a, b, c->mdate);
	rc |= buf_puts(b, ",\"name\":");
	rc |= jsonw_string(b, c->name);
	rc |= buf_puts(b, ",\"fromname\":");
	rc |= jsonw_string(b, ac_from_name(c));
	rc |= buf_puts(b, ",\"fromemail\":");
	rc |= jsonw_string(b, ac_from_email(c));
	rc |= buf_puts(b, ",\"reply2\":\"\",\"priority\":\"3\",\"charset\":"
			  "\"utf-8\",\"encoding\":\"quoted-printable\","
			  "\"format\":\"mime\",\"subject\":");
	rc |= ac_put_subject(b, c);
	rc |= buf_printf(b,
			 ",\"preheader_text\":\"\",\"text\":\"\",\"html\":"
			 "\"<p>sim</p>\",\"htmlfetch\":\"\",\"textfetch\":"
			 "\"\",\"hidden\":\"0\",\"preview_mime\":\"\","
			 "\"preview_data\":null,\"links\":{},\"id\":\"%ld\","
			 "\"user\":\"1\"}}",
			 c->message_id);
	return rc;
}
